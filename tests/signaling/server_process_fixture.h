// A real switchboard process (and its workers) on 127.0.0.1 for tests, and blocking signaling
// clients to talk to it. The same pieces as server_process_test.cc's fixture, shared so that
// tests in other folders (tests/signaling/workers) can drive the whole server too.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "gtest/gtest.h"
#include "tests/signaling/http/websocket_test_codec.h"

namespace sb::signaling::testing {

namespace ws = ::sb::signaling::http::ws;
using json = nlohmann::json;

// A blocking TCP connection to 127.0.0.1 with a receive timeout; with `tls`, TLS over it
// (OpenSSL, no verification: the tests compare the certificate's fingerprint instead).
class Connection {
 public:
  explicit Connection(uint16_t port, bool tls = false, int timeout_seconds = 10) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{timeout_seconds, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    if (connected_ && tls) {
      ctx_ = SSL_CTX_new(TLS_client_method());
      ssl_ = SSL_new(ctx_);
      SSL_set_fd(ssl_, fd_);
      connected_ = SSL_connect(ssl_) == 1;
    }
  }
  ~Connection() {
    if (ssl_ != nullptr) SSL_free(ssl_);
    if (ctx_ != nullptr) SSL_CTX_free(ctx_);
    close(fd_);
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  bool connected() const { return connected_; }

  // "AB:CD:..." for the SHA-256 of the server's certificate; empty without TLS.
  std::string PeerFingerprint() const {
    X509* cert = ssl_ != nullptr ? SSL_get1_peer_certificate(ssl_) : nullptr;
    if (cert == nullptr) return "";
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    X509_digest(cert, EVP_sha256(), digest, &size);
    X509_free(cert);
    std::string out;
    for (unsigned int i = 0; i < size; ++i) {
      char hex[4];
      std::snprintf(hex, sizeof(hex), i == 0 ? "%02X" : ":%02X", digest[i]);
      out += hex;
    }
    return out;
  }

  // False when the peer stopped taking bytes (reset, closed).
  bool Send(std::string_view data) const {
    while (!data.empty()) {
      const ssize_t n = ssl_ != nullptr
                            ? SSL_write(ssl_, data.data(), static_cast<int>(data.size()))
                            : send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }
  // Some bytes, or nullopt on EOF, error or timeout.
  std::optional<std::string> Receive() const {
    char chunk[65536];
    const ssize_t got =
        ssl_ != nullptr ? SSL_read(ssl_, chunk, sizeof(chunk)) : recv(fd_, chunk, sizeof(chunk), 0);
    if (got <= 0) return std::nullopt;
    return std::string(chunk, static_cast<size_t>(got));
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
};

// A signaling client: the opening handshake, masked text frames out, the server's frames parsed
// by our own client-side frame parser. Destroying it drops the TCP connection without a close
// frame (a broken connection, to the server).
class WsClient {
 public:
  // `headers`: the Host line and any others (an Origin, say), each ending in CRLF.
  explicit WsClient(uint16_t port, const std::string& headers = "Host: 127.0.0.1\r\n",
                    bool tls = false)
      : connection_(port, tls), parser_(ws::Role::kClient) {
    if (!connection_.connected()) return;
    const std::string key = ws::GenerateClientKey();
    connection_.Send("GET /ws HTTP/1.1\r\n" + headers +
                     "Upgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " +
                     key + "\r\n\r\n");
    std::string head;
    while (head.find("\r\n\r\n") == std::string::npos) {
      std::optional<std::string> bytes = connection_.Receive();
      if (!bytes) return;
      head += *bytes;
    }
    const size_t end = head.find("\r\n\r\n") + 4;
    response_head_ = head.substr(0, end);
    open_ = head.rfind("HTTP/1.1 101 ", 0) == 0 &&
            head.find(ws::ComputeAcceptKey(key)) != std::string::npos;
    if (end < head.size()) parser_.Feed(std::string_view(head).substr(end), &frames_);
  }
  bool open() const { return open_; }
  // The server's answer to the upgrade: status line and header fields.
  const std::string& response_head() const { return response_head_; }

  bool SendText(std::string_view text) const {
    return connection_.Send(ws::EncodeClientFrame(ws::Opcode::kText, text));
  }
  bool Send(const json& message) const { return SendText(message.dump()); }

  // The next frame from the server; nullopt on EOF, a framing error or a timeout.
  std::optional<ws::Message> NextFrame() {
    while (frames_.empty()) {
      std::optional<std::string> bytes = connection_.Receive();
      if (!bytes) return std::nullopt;
      if (parser_.Feed(*bytes, &frames_)) return std::nullopt;
    }
    ws::Message frame = std::move(frames_.front());
    frames_.erase(frames_.begin());
    return frame;
  }
  // The next text message as JSON; nullopt when the connection ended or sent something else.
  std::optional<json> NextMessage() {
    std::optional<ws::Message> frame = NextFrame();
    if (!frame || frame->opcode != ws::Opcode::kText) return std::nullopt;
    json message = json::parse(frame->payload, nullptr, /*allow_exceptions=*/false);
    if (message.is_discarded()) return std::nullopt;
    last_size_ = frame->payload.size();
    return message;
  }
  // The next message of `type`, skipping others (kept in `skipped` when given); nullopt when the
  // connection ended or went quiet first.
  std::optional<json> Next(const std::string& type, std::vector<json>* skipped = nullptr) {
    while (std::optional<json> message = NextMessage()) {
      if ((*message)["type"] == type) return message;
      if (skipped != nullptr) skipped->push_back(*message);
    }
    return std::nullopt;
  }
  // Size of the last text message, for "nothing unbounded came back".
  size_t last_size() const { return last_size_; }
  // True once the server closed the TCP connection (after its close frame).
  bool AtEof() const { return !connection_.Receive().has_value(); }
  const Connection& connection() const { return connection_; }

 private:
  Connection connection_;
  ws::FrameParser parser_;
  std::vector<ws::Message> frames_;
  bool open_ = false;
  size_t last_size_ = 0;
  std::string response_head_;
};

// Starts switchboard (1 worker, a free port, the flags of ExtraFlags()) before each test and
// stops it with SIGTERM after, expecting exit status 0 unless the test already reaped it.
class ServerProcessFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/sb_server_process_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    log_path_ = dir_ / "switchboard.log";
    pid_ = fork();
    ASSERT_GE(pid_, 0);
    if (pid_ == 0) {
      FILE* log = std::fopen(log_path_.c_str(), "w");
      if (log != nullptr) {
        dup2(fileno(log), STDOUT_FILENO);
        dup2(fileno(log), STDERR_FILENO);
      }
      std::vector<std::string> args = {
          SB_SWITCHBOARD_BINARY,    "--listen=127.0.0.1", "--port=0",
          "--rtc-listen=127.0.0.1", "--workers=1",        "--log-level=info"};
      for (const std::string& flag : ExtraFlags()) args.push_back(flag);
      std::vector<char*> argv;
      for (std::string& arg : args) argv.push_back(arg.data());
      argv.push_back(nullptr);
      execv(SB_SWITCHBOARD_BINARY, argv.data());
      _exit(127);
    }
    // The server logs its port once it listens: "serving http(s)://127.0.0.1:PORT/ ...".
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    while (port_ == 0 && std::chrono::steady_clock::now() < deadline) {
      const std::string log = Log();
      const std::string marker = tls_ ? "serving https://127.0.0.1:" : "serving http://127.0.0.1:";
      if (const size_t at = log.find(marker); at != std::string::npos) {
        const size_t start = at + marker.size();
        uint32_t port = 0;
        if (absl::SimpleAtoi(log.substr(start, log.find('/', start) - start), &port)) {
          port_ = static_cast<uint16_t>(port);
        }
      }
      ASSERT_TRUE(Alive()) << Log();
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ASSERT_NE(port_, 0) << Log();
  }

  // Flags a test adds to the server's command line (a later flag overrides an earlier one).
  virtual std::vector<std::string> ExtraFlags() const { return {}; }

  void TearDown() override {
    if (pid_ <= 0) return;
    if (!reaped_) {
      EXPECT_TRUE(Alive()) << "switchboard " << exit_description_ << "\n" << Log();
      if (exit_description_.empty()) {
        const int status = Terminate();
        EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
            << "after SIGTERM switchboard " << Describe(status) << "\n"
            << Log();
      }
    }
    std::filesystem::remove_all(dir_);
  }

  static std::string Describe(int status) {
    return WIFSIGNALED(status) ? "was killed by signal " + std::to_string(WTERMSIG(status))
                               : "exited with " + std::to_string(WEXITSTATUS(status));
  }

  bool Alive() {
    if (!exit_description_.empty()) return false;
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == 0) return true;
    exit_description_ = Describe(status);
    reaped_ = true;
    return false;
  }

  // SIGTERM, then waits for the exit (SIGKILL after `timeout`); the wait status.
  int Terminate(std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    kill(pid_, SIGTERM);
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    int status = 0;
    while (waitpid(pid_, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        ADD_FAILURE() << "switchboard did not exit within " << timeout.count()
                      << " ms of SIGTERM; killing it";
        kill(pid_, SIGKILL);
        waitpid(pid_, &status, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    reaped_ = true;
    exit_description_ = Describe(status);
    return status;
  }

  std::string Log() const {
    std::ifstream in(log_path_);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

  // GET path over a fresh connection, with `headers` (lines ending in CRLF); the whole reply.
  std::string Fetch(const std::string& path, const std::string& headers = "") const {
    Connection connection(port_, tls_);
    connection.Send("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" +
                    headers + "\r\n");
    std::string reply;
    while (std::optional<std::string> bytes = connection.Receive()) reply += *bytes;
    return reply;
  }
  // GET path (with the admin token when the test set one); the body.
  std::string Get(const std::string& path) const {
    const std::string reply =
        Fetch(path, admin_token_.empty() ? "" : "Authorization: Bearer " + admin_token_ + "\r\n");
    const size_t body = reply.find("\r\n\r\n");
    return body == std::string::npos ? "" : reply.substr(body + 4);
  }

  // One sample of /metrics, e.g.
  // Metric("switchboard_messages_rejected_total{reason=\"too_deep\"}"); -1 when the line is
  // missing.
  int64_t Metric(const std::string& name) const {
    std::istringstream lines(Get("/metrics"));
    for (std::string line; std::getline(lines, line);) {
      if (line.rfind(name + " ", 0) != 0) continue;
      int64_t value = -1;
      if (absl::SimpleAtoi(line.substr(name.size() + 1), &value)) return value;
    }
    return -1;
  }

  int64_t Rejected(const std::string& reason) const {
    return Metric("switchboard_messages_rejected_total{reason=\"" + reason + "\"}");
  }

  // For failure messages: whether the server died (that may take a moment, e.g. a core dump).
  std::string State() {
    for (int i = 0; i < 100 && Alive(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return Alive() ? "switchboard is running" : "switchboard " + exit_description_;
  }

  // /api/rooms' entry for `room`; null when there is none.
  nlohmann::json Room(const std::string& room) const {
    const nlohmann::json rooms = nlohmann::json::parse(Get("/api/rooms"), nullptr, false);
    if (rooms.is_discarded() || !rooms.contains("rooms")) return nullptr;
    for (const nlohmann::json& entry : rooms["rooms"]) {
      if (entry["name"] == room) return entry;
    }
    return nullptr;
  }

  std::unique_ptr<WsClient> Connect() {
    auto client = std::make_unique<WsClient>(port_, "Host: 127.0.0.1\r\n", tls_);
    EXPECT_TRUE(client->open());
    return client;
  }

  // Joins `room` (retrying while the workers start, which answers server-error); the joined
  // message, or null.
  nlohmann::json Join(WsClient& client, const std::string& room, const std::string& name,
                      const nlohmann::json& extra = nlohmann::json::object()) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      nlohmann::json join = {{"type", "join"}, {"room", room}, {"name", name}};
      join.update(extra);
      client.Send(join);
      std::optional<nlohmann::json> reply = client.NextMessage();
      if (!reply) break;
      if ((*reply)["type"] == "joined") return *reply;
      if ((*reply)["type"] != "error" || (*reply)["code"] != "server-error") {
        ADD_FAILURE() << "join " << room << ": " << reply->dump();
        return nullptr;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ADD_FAILURE() << name << " could not join " << room << ":\n" << Log();
    return nullptr;
  }

  // A ping is answered with its pong, and nothing came before it.
  void ExpectUnaffected(WsClient& client, const std::string& what) {
    ASSERT_TRUE(client.Send({{"type", "ping"}, {"requestId", "still-there"}})) << what;
    std::optional<nlohmann::json> pong = client.NextMessage();
    ASSERT_TRUE(pong) << what << ": no pong; " << State() << "\n" << Log();
    EXPECT_EQ(*pong, nlohmann::json({{"type", "pong"}, {"requestId", "still-there"}})) << what;
  }

  std::filesystem::path dir_;
  std::filesystem::path log_path_;
  bool tls_ = false;         // the server speaks TLS (set before SetUp)
  std::string admin_token_;  // sent with Get() (and so Metric()) when set
  pid_t pid_ = -1;
  uint16_t port_ = 0;
  bool reaped_ = false;
  std::string exit_description_;
};

}  // namespace sb::signaling::testing
