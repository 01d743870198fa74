// Hostile clients against a real switchboard process (and its worker) on 127.0.0.1: messages
// that used to crash it or that exceed its limits get a clear error or close, are counted in
// /metrics, and neither the server nor another client's session notices.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "gtest/gtest.h"
#include "signaling/auth.h"
#include "tests/signaling/http/websocket_test_codec.h"
#include "tests/test_data.h"

namespace {

namespace fs = std::filesystem;
namespace ws = sb::signaling::http::ws;
using nlohmann::json;

// A blocking TCP connection to 127.0.0.1 with a receive timeout; with `tls`, TLS over it
// (OpenSSL, no verification: the tests compare the certificate's fingerprint instead).
class Connection {
 public:
  explicit Connection(uint16_t port, bool tls = false) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{10, 0};
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
// by our own client-side frame parser.
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

uint16_t CloseCode(const ws::Message& frame) {
  std::optional<ws::ClosePayload> payload = ws::ParseClosePayload(frame.payload);
  return payload ? payload->code : 0;
}

// The nested-array ping of the bug report: a few hundred KB of '['.
std::string NestedPing(size_t depth) {
  return R"({"type":"ping","requestId":)" + std::string(depth, '[') + std::string(depth, ']') + "}";
}

class ServerProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/sb_server_process_test_XXXXXX";
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

  // Flags a test adds to the server's command line.
  virtual std::vector<std::string> ExtraFlags() const { return {}; }

  void TearDown() override {
    if (pid_ <= 0) return;
    // The point of every test here: the server is still running when the test ends.
    EXPECT_TRUE(Alive()) << "switchboard " << exit_description_ << "\n" << Log();
    if (exit_description_.empty()) {
      kill(pid_, SIGTERM);
      int status = 0;
      waitpid(pid_, &status, 0);
      EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
          << "after SIGTERM switchboard " << Describe(status) << "\n"
          << Log();
    }
    fs::remove_all(dir_);
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
    return false;
  }

  // For failure messages: whether the server died (that may take a moment, e.g. a core dump).
  std::string State() {
    for (int i = 0; i < 100 && Alive(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return Alive() ? "switchboard is running" : "switchboard " + exit_description_;
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
  // Metric("switchboard_messages_rejected_total{reason=\"too_deep\"}"). -1 when the line is
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

  std::unique_ptr<WsClient> Connect() {
    auto client = std::make_unique<WsClient>(port_, "Host: 127.0.0.1\r\n", tls_);
    EXPECT_TRUE(client->open());
    return client;
  }

  // A client in room "calm": the bystander whose call must not notice anything.
  std::unique_ptr<WsClient> JoinBystander() {
    auto client = Connect();
    // The worker may still be starting: "server-error" until it runs.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      json join = {{"type", "join"}, {"room", "calm"}, {"name", "Grace"}, {"requestId", 1}};
      if (!bystander_token_.empty()) join["token"] = bystander_token_;
      client->Send(join);
      std::optional<json> reply = client->NextMessage();
      EXPECT_TRUE(reply);
      if (!reply) return client;
      if ((*reply)["type"] == "joined") {
        bystander_id_ = (*reply)["id"].get<std::string>();
        return client;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ADD_FAILURE() << "the bystander could not join:\n" << Log();
    return client;
  }

  // A ping is answered with its pong; the client is still in its room if it was in one.
  void ExpectUnaffected(WsClient& client, const std::string& what) {
    ASSERT_TRUE(client.Send({{"type", "ping"}, {"requestId", "still-there"}})) << what;
    std::optional<json> pong = client.NextMessage();
    ASSERT_TRUE(pong) << what << ": no pong; " << State() << "\n" << Log();
    EXPECT_EQ(*pong, json({{"type", "pong"}, {"requestId", "still-there"}})) << what;
  }
  void ExpectBystanderInRoom() {
    const json rooms = json::parse(Get("/api/rooms"), nullptr, false);
    EXPECT_NE(rooms.dump().find('"' + bystander_id_ + '"'), std::string::npos) << rooms.dump();
    EXPECT_EQ(Metric("switchboard_participants"), 1);
  }

  fs::path dir_;
  fs::path log_path_;
  bool tls_ = false;  // the server speaks TLS (set before SetUp)
  pid_t pid_ = -1;
  uint16_t port_ = 0;
  std::string exit_description_;
  std::string bystander_id_;
  std::string bystander_token_;  // sent in the bystander's join when set
  std::string admin_token_;      // sent with Get() (and so Metric()) when set
};

TEST_F(ServerProcessTest, DeeplyNestedRequestIdGetsBadJsonAndTheServerStaysUp) {
  auto bystander = JoinBystander();
  auto hostile = Connect();
  ASSERT_EQ(Rejected("too_deep"), 0);

  // 300,000 levels, 600 KB: under the 1 MiB message limit, so the JSON check must catch it.
  ASSERT_TRUE(hostile->SendText(NestedPing(300'000)));
  std::optional<json> reply = hostile->NextMessage();
  ASSERT_TRUE(reply) << "no reply to the nested ping; " << State();
  EXPECT_EQ((*reply)["type"], "error");
  EXPECT_EQ((*reply)["code"], "bad-json");
  EXPECT_EQ((*reply)["message"], "nesting deeper than 32");
  EXPECT_FALSE(reply->contains("requestId"));
  EXPECT_FALSE(reply->contains("inReplyTo"));
  EXPECT_EQ(Rejected("too_deep"), 1);

  // The same connection keeps working, and so does everyone else's.
  ExpectUnaffected(*hostile, "the sender");
  ExpectUnaffected(*bystander, "the bystander");
  ExpectBystanderInRoom();
  // Once more, in a join: rtpCapabilities is copied too.
  ASSERT_TRUE(hostile->SendText(R"({"type":"join","room":"calm","name":"Eve","rtpCapabilities":)" +
                                std::string(200'000, '[') + std::string(200'000, ']') + "}"));
  reply = hostile->NextMessage();
  ASSERT_TRUE(reply);
  EXPECT_EQ((*reply)["code"], "bad-json");
  EXPECT_EQ(Rejected("too_deep"), 2);
  ExpectUnaffected(*bystander, "the bystander after the join");
  EXPECT_EQ(Metric("switchboard_participants"), 1);
}

TEST_F(ServerProcessTest, HugeObjectRequestIdIsRefusedAndNotEchoed) {
  auto bystander = JoinBystander();
  auto hostile = Connect();
  json id = json::object();
  for (int i = 0; i < 5000; ++i) id["key" + std::to_string(i)] = std::string(100, 'x');
  const json ping = {{"type", "ping"}, {"requestId", id}};
  ASSERT_GT(ping.dump().size(), 500'000u);
  ASSERT_TRUE(hostile->Send(ping));
  std::optional<json> reply = hostile->NextMessage();
  ASSERT_TRUE(reply);
  EXPECT_EQ((*reply)["type"], "error") << reply->dump().substr(0, 200);
  EXPECT_EQ((*reply)["code"], "bad-message");
  EXPECT_EQ((*reply)["inReplyTo"], "ping");
  EXPECT_FALSE(reply->contains("requestId"));
  EXPECT_LT(hostile->last_size(), 256u);  // nothing of the object came back
  EXPECT_EQ(Rejected("bad_request_id"), 1);

  // A long string id too; an id of 64 bytes is echoed.
  ASSERT_TRUE(hostile->Send({{"type", "ping"}, {"requestId", std::string(100'000, 'r')}}));
  reply = hostile->NextMessage();
  ASSERT_TRUE(reply);
  EXPECT_EQ((*reply)["code"], "bad-message");
  EXPECT_LT(hostile->last_size(), 256u);
  EXPECT_EQ(Rejected("bad_request_id"), 2);
  const std::string longest(64, 'r');
  ASSERT_TRUE(hostile->Send({{"type", "ping"}, {"requestId", longest}}));
  reply = hostile->NextMessage();
  ASSERT_TRUE(reply);
  EXPECT_EQ(*reply, json({{"type", "pong"}, {"requestId", longest}}));

  ExpectUnaffected(*bystander, "the bystander");
  ExpectBystanderInRoom();
}

TEST_F(ServerProcessTest, TwoMiBMessageIsClosedWith1009) {
  auto bystander = JoinBystander();
  auto hostile = Connect();
  ASSERT_EQ(Rejected("too_large"), 0);
  // The whole message, from another thread: the server closes after the frame header and may
  // reset the connection while we are still sending.
  const std::string big =
      R"({"type":"publish","sdp":")" + std::string(2 * 1024 * 1024, 'a') + R"("})";
  std::thread sender([&] { hostile->SendText(big); });
  std::optional<ws::Message> close = hostile->NextFrame();
  sender.join();
  ASSERT_TRUE(close);
  EXPECT_EQ(close->opcode, ws::Opcode::kClose);
  EXPECT_EQ(CloseCode(*close), ws::kCloseMessageTooBig);
  EXPECT_TRUE(hostile->AtEof());
  EXPECT_EQ(Rejected("too_large"), 1);

  ExpectUnaffected(*bystander, "the bystander");
  ExpectBystanderInRoom();
  // New clients are served.
  auto next = Connect();
  ExpectUnaffected(*next, "a new client");
}

TEST_F(ServerProcessTest, LargestMessageIsAccepted) {
  // 1 MiB exactly: the room-of-100 SDP case. Not joined, so the publish is refused as such.
  auto client = Connect();
  const std::string head = R"({"type":"publish","sdp":")";
  const std::string text = head + std::string(ws::kMaxMessageBytes - head.size() - 2, 'a') + "\"}";
  ASSERT_EQ(text.size(), ws::kMaxMessageBytes);
  ASSERT_TRUE(client->SendText(text));
  std::optional<json> reply = client->NextMessage();
  ASSERT_TRUE(reply);
  EXPECT_EQ((*reply)["code"], "not-joined");
  EXPECT_EQ(Rejected("too_large"), 0);
  ExpectUnaffected(*client, "the sender");
}

// --- Limits on rates and counts ------------------------------------------------------------------

class ServerLimitsTest : public ServerProcessTest {
 protected:
  std::vector<std::string> ExtraFlags() const override {
    return {"--messages-per-second=5", "--joins-per-second=2", "--max-rooms=2"};
  }

  // A join's reply (joined, or an error).
  json Join(WsClient& client, const std::string& room, const std::string& name) {
    client.Send({{"type", "join"}, {"room", room}, {"name", name}});
    std::optional<json> reply = client.NextMessage();
    return reply ? *reply : json();
  }
};

TEST_F(ServerLimitsTest, AFloodingClientIsRateLimitedAndOthersAreNot) {
  auto bystander = JoinBystander();
  auto hostile = Connect();
  // 5 a second, bursts of 20: of 200 pings sent at once about 20 are answered, the rest get
  // rate-limited errors. Nothing is lost for the bystander.
  std::string burst;
  for (int i = 0; i < 200; ++i) {
    burst +=
        ws::EncodeClientFrame(ws::Opcode::kText, json({{"type", "ping"}, {"requestId", i}}).dump());
  }
  ASSERT_TRUE(hostile->connection().Send(burst));
  int pongs = 0, limited = 0;
  for (int i = 0; i < 200; ++i) {
    std::optional<json> reply = hostile->NextMessage();
    ASSERT_TRUE(reply) << i << "; " << State();
    if ((*reply)["type"] == "pong") ++pongs;
    if ((*reply)["type"] == "error" && (*reply)["code"] == "rate-limited") ++limited;
  }
  EXPECT_GE(pongs, 20);
  EXPECT_LE(pongs, 25);
  EXPECT_EQ(pongs + limited, 200);
  EXPECT_EQ(Rejected("rate_limited"), limited);
  ExpectUnaffected(*bystander, "the bystander");
  // A second later the sender may talk again.
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  ExpectUnaffected(*hostile, "the sender, a second later");
}

TEST_F(ServerLimitsTest, JoinsPerSecondAndRoomsAreLimited) {
  auto bystander = JoinBystander();  // in room "calm"
  // Bursts of 4 joins (2 a second): after a refill, four go in and the next are refused.
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  std::vector<std::unique_ptr<WsClient>> clients;
  int joined = 0, rate_limited = 0;
  for (int i = 0; i < 6; ++i) {
    clients.push_back(Connect());
    const json reply = Join(*clients.back(), "guests", "Guest" + std::to_string(i));
    if (reply["type"] == "joined") ++joined;
    if (reply["type"] == "error" && reply["code"] == "rate-limited") ++rate_limited;
  }
  EXPECT_EQ(joined, 4);
  EXPECT_EQ(rate_limited, 2);
  EXPECT_EQ(Metric("switchboard_joins_refused_total{reason=\"rate\"}"), 2);

  // Two rooms at most ("calm" and "guests"): a third is refused with server-full.
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  auto third = Connect();
  const json refused = Join(*third, "third", "Linus");
  EXPECT_EQ(refused["type"], "error");
  EXPECT_EQ(refused["code"], "server-full");
  EXPECT_EQ(Metric("switchboard_joins_refused_total{reason=\"rooms\"}"), 1);
  EXPECT_EQ(Metric("switchboard_rooms"), 2);
  ExpectUnaffected(*bystander, "the bystander");
}

// --- Reconnection ------------------------------------------------------------------------------

class ServerResumeTest : public ServerProcessTest {
 protected:
  std::vector<std::string> ExtraFlags() const override { return {"--resume-grace=1"}; }
};

TEST_F(ServerResumeTest, BrokenConnectionResumesWithinTheGraceAndLeavesAfterIt) {
  auto bystander = JoinBystander();
  std::string token, id;
  {
    auto dropper = Connect();
    dropper->Send({{"type", "join"}, {"room", "calm"}, {"name", "Ada"}});
    std::optional<json> joined = dropper->NextMessage();
    ASSERT_TRUE(joined);
    ASSERT_EQ((*joined)["type"], "joined");
    token = (*joined)["resumeToken"].get<std::string>();
    id = (*joined)["id"].get<std::string>();
    EXPECT_EQ(token.size(), 32u);
    // The connection ends without a close frame (the WsClient goes away).
  }
  std::optional<json> seen = bystander->NextMessage();  // Ada joined
  ASSERT_TRUE(seen);
  EXPECT_EQ((*seen)["type"], "participant-joined");
  // Resumed on a new connection within the grace: the same participant, nobody told it left.
  auto back = Connect();
  back->Send({{"type", "resume"}, {"resumeToken", token}, {"requestId", 7}});
  std::optional<json> resumed = back->NextMessage();
  ASSERT_TRUE(resumed) << State();
  EXPECT_EQ((*resumed)["type"], "resumed");
  EXPECT_EQ((*resumed)["id"], id);
  EXPECT_EQ((*resumed)["requestId"], 7);
  ExpectUnaffected(*bystander, "the bystander after the resume");  // no participant-left queued
  EXPECT_EQ(Metric("switchboard_resumes_total"), 1);
  // A wrong token is refused.
  auto stranger = Connect();
  stranger->Send({{"type", "resume"}, {"resumeToken", "0123456789abcdef0123456789abcdef"}});
  std::optional<json> refused = stranger->NextMessage();
  ASSERT_TRUE(refused);
  EXPECT_EQ((*refused)["code"], "resume-failed");

  // Dropped again and not back within the grace: it leaves, and the others are told.
  back.reset();
  std::optional<json> left = bystander->NextMessage();
  ASSERT_TRUE(left) << State();
  EXPECT_EQ((*left)["type"], "participant-left");
  EXPECT_EQ((*left)["id"], id);
  EXPECT_EQ(Metric("switchboard_resume_expired_total"), 1);
  auto late = Connect();
  late->Send({{"type", "resume"}, {"resumeToken", token}});
  std::optional<json> too_late = late->NextMessage();
  ASSERT_TRUE(too_late);
  EXPECT_EQ((*too_late)["code"], "resume-failed");
  ExpectUnaffected(*bystander, "the bystander at the end");
}

// --- Authentication ------------------------------------------------------------------------------

constexpr char kSecret[] = "server-process-test-secret-of-32-bytes-or-more";

// What `switchboard token ARGS` prints (without its newline): tokens as an operator makes them.
std::string TokenFromCli(const std::string& args) {
  const std::string command = std::string(SB_SWITCHBOARD_BINARY) + " token " + args;
  FILE* pipe = popen(command.c_str(), "r");
  EXPECT_NE(pipe, nullptr) << command;
  if (pipe == nullptr) return "";
  std::string out;
  char buf[1024];
  while (size_t n = std::fread(buf, 1, sizeof(buf), pipe)) out.append(buf, n);
  EXPECT_EQ(pclose(pipe), 0) << command;
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

std::string JoinToken(const std::string& room, const std::string& identity,
                      const std::string& more = "") {
  return TokenFromCli(std::string("--secret=") + kSecret + " --room=" + room +
                      " --identity=" + identity + " " + more);
}

// A join's direct reply (joined, full or error), skipping nothing: a fresh socket gets no other.
json JoinReply(WsClient& client, json join) {
  join["type"] = "join";
  join["requestId"] = "j";
  client.Send(join);
  std::optional<json> reply = client.NextMessage();
  return reply ? *reply : json();
}

class ServerAuthTest : public ServerProcessTest {
 protected:
  std::vector<std::string> ExtraFlags() const override {
    return {std::string("--auth-secret=") + kSecret};
  }
  void SetUp() override {
    ServerProcessTest::SetUp();
    admin_token_ = TokenFromCli(std::string("--secret=") + kSecret + " --admin --ttl=600");
    bystander_token_ = JoinToken("calm", "grace", "--name=Grace");
    ASSERT_FALSE(admin_token_.empty());
    ASSERT_FALSE(bystander_token_.empty());
  }
  int64_t AuthFailures(const std::string& reason) const {
    return Metric("switchboard_auth_failures_total{reason=\"" + reason + "\"}");
  }
  // The reply to an upgrade or a GET, up to the body.
  static std::string Head(const std::string& reply) {
    return reply.substr(0, reply.find("\r\n\r\n"));
  }
};

TEST_F(ServerAuthTest, JoinsWithoutAValidTokenForTheRoomAreUnauthorized) {
  auto bystander = JoinBystander();
  ASSERT_FALSE(bystander_id_.empty()) << Log();
  const int64_t now = std::time(nullptr);
  auto forged = [&](sb::signaling::TokenClaims claims, const std::string& secret, int64_t at) {
    auto token = sb::signaling::IssueToken(claims, secret, at);
    EXPECT_TRUE(token.ok()) << token.status();
    return token.ok() ? *token : "";
  };
  sb::signaling::TokenClaims calm;
  calm.room = "calm";
  calm.identity = "eve";
  calm.can_publish = calm.can_subscribe = true;
  calm.exp = now - 120;  // two minutes ago: beyond the 30 s of leeway
  const std::string expired = forged(calm, kSecret, now - 3600);
  calm.exp = now + 600;
  const std::string wrong_secret = forged(calm, "not-the-server-secret-but-32-bytes-long", now);
  const std::string valid = JoinToken("calm", "eve");
  // Unsigned ("alg": "none"), with the claims of the valid token.
  const std::string unsigned_token =
      "eyJhbGciOiJub25lIn0." +
      valid.substr(valid.find('.') + 1, valid.rfind('.') - valid.find('.'));

  struct Attempt {
    std::string what;
    json join;
    std::string reason;
  };
  const std::vector<Attempt> attempts = {
      {"no token", {{"room", "calm"}, {"name", "Eve"}}, "missing"},
      {"garbage", {{"room", "calm"}, {"name", "Eve"}, {"token", "not.a.jwt"}}, "invalid"},
      {"a number", {{"room", "calm"}, {"name", "Eve"}, {"token", 42}}, "invalid"},
      {"wrong secret", {{"room", "calm"}, {"token", wrong_secret}}, "invalid"},
      {"alg none", {{"room", "calm"}, {"token", unsigned_token}}, "invalid"},
      {"tampered",
       {{"room", "calm"}, {"token", valid.substr(0, valid.size() - 2) + "xy"}},
       "invalid"},
      {"expired", {{"room", "calm"}, {"token", expired}}, "expired"},
      {"another room", {{"room", "board"}, {"token", valid}}, "wrong_room"},
      {"admin token", {{"room", "calm"}, {"token", admin_token_}}, "claims"},
  };
  std::map<std::string, int64_t> expected;
  auto hostile = Connect();
  for (const Attempt& attempt : attempts) {
    const json reply = JoinReply(*hostile, attempt.join);
    EXPECT_EQ(reply["type"], "error") << attempt.what << ": " << reply.dump();
    EXPECT_EQ(reply["code"], "unauthorized") << attempt.what << ": " << reply.dump();
    EXPECT_EQ(reply["inReplyTo"], "join") << attempt.what;
    EXPECT_EQ(reply["requestId"], "j") << attempt.what;
    ++expected[attempt.reason];
  }
  for (const auto& [reason, count] : expected) EXPECT_EQ(AuthFailures(reason), count) << reason;
  EXPECT_EQ(Metric("switchboard_joins_total"), 1);  // the bystander's
  EXPECT_EQ(Metric("switchboard_participants"), 1);
  // The call beside lost nothing: nobody joined as far as it knows, and it still answers.
  ExpectUnaffected(*bystander, "the bystander");
  ExpectBystanderInRoom();

  // The same socket joins with a valid token; its display name is the token's, not the "name"
  // it sends.
  const json joined = JoinReply(
      *hostile,
      {{"room", "calm"}, {"name", "Mallory"}, {"token", JoinToken("calm", "eve", "--name=Eve")}});
  ASSERT_EQ(joined["type"], "joined") << joined.dump();
  EXPECT_EQ(joined["name"], "Eve");
  ASSERT_EQ(joined["participants"].size(), 1u);
  EXPECT_EQ(joined["participants"][0]["name"], "Grace");
  std::optional<json> seen = bystander->NextMessage();
  ASSERT_TRUE(seen);
  EXPECT_EQ((*seen)["type"], "participant-joined");
  EXPECT_EQ((*seen)["participant"]["name"], "Eve");
  EXPECT_EQ(Metric("switchboard_participants"), 2);
}

TEST_F(ServerAuthTest, GrantsDecidePublishingAndReceiving) {
  const std::string offer = sb::test_data::Read("chromium_publish_offer.sdp");
  ASSERT_FALSE(offer.empty());
  auto publish = [&](WsClient& client) {
    client.Send({{"type", "publish"}, {"sdp", offer}, {"requestId", "p"}});
    std::optional<json> reply = client.NextMessage();
    return reply ? *reply : json();
  };
  // Joined with --no-publish: its publish is forbidden, and nothing is produced.
  auto viewer = Connect();
  ASSERT_EQ(JoinReply(*viewer, {{"room", "calm"},
                                {"token", JoinToken("calm", "viewer", "--no-publish")}})["type"],
            "joined");
  const json refused = publish(*viewer);
  EXPECT_EQ(refused["type"], "error") << refused.dump();
  EXPECT_EQ(refused["code"], "forbidden");
  EXPECT_EQ(refused["inReplyTo"], "publish");
  EXPECT_EQ(AuthFailures("publish_denied"), 1);
  const json rooms = json::parse(Get("/api/rooms"));
  EXPECT_EQ(rooms["rooms"][0]["participants"][0]["audio"], false) << rooms.dump();
  EXPECT_EQ(rooms["rooms"][0]["participants"][0]["video"], false);

  // Joined with --no-subscribe: a publisher's tracks are offered to the viewer, not to it.
  auto deaf = Connect();
  ASSERT_EQ(JoinReply(*deaf, {{"room", "calm"},
                              {"token", JoinToken("calm", "deaf", "--no-subscribe")}})["type"],
            "joined");
  auto publisher = Connect();
  ASSERT_EQ(JoinReply(*publisher, {{"room", "calm"}, {"token", JoinToken("calm", "ada")}})["type"],
            "joined");
  const json answer = publish(*publisher);
  ASSERT_EQ(answer["type"], "publish-answer") << answer.dump();
  // The viewer: participant-joined (deaf), participant-joined (ada), participant-updated, and an
  // offer with ada's two tracks.
  std::optional<json> offer_to_viewer;
  for (int i = 0; i < 6 && !offer_to_viewer; ++i) {
    std::optional<json> m = viewer->NextMessage();
    ASSERT_TRUE(m) << "the viewer got no subscribe-offer\n" << Log();
    if ((*m)["type"] == "subscribe-offer") offer_to_viewer = m;
  }
  EXPECT_EQ((*offer_to_viewer)["streams"].size(), 2u);
  // The deaf one gets the others' news, never an offer: a ping's pong comes after all of it.
  ASSERT_TRUE(deaf->Send({{"type", "ping"}, {"requestId", "end"}}));
  std::vector<std::string> types;
  for (;;) {
    std::optional<json> m = deaf->NextMessage();
    ASSERT_TRUE(m) << Log();
    if ((*m)["type"] == "pong") break;
    types.push_back((*m)["type"].get<std::string>());
  }
  EXPECT_EQ(std::count(types.begin(), types.end(), "subscribe-offer"), 0);
  EXPECT_EQ(std::count(types.begin(), types.end(), "participant-joined"), 1);  // ada
  EXPECT_EQ(Metric("switchboard_participants"), 3);
}

TEST_F(ServerAuthTest, AdminApiAndMetricsNeedAnAdminToken) {
  auto bystander = JoinBystander();
  const std::string participant = JoinToken("calm", "ada");
  for (const std::string path : {"/api/rooms", "/metrics", "/api/health"}) {
    std::string reply = Fetch(path);
    EXPECT_EQ(reply.rfind("HTTP/1.1 401 ", 0), 0u) << path << ": " << Head(reply);
    EXPECT_NE(reply.find("\r\nWWW-Authenticate: Bearer realm=\"switchboard\"\r\n"),
              std::string::npos)
        << Head(reply);
    EXPECT_EQ(reply.find(bystander_id_), std::string::npos) << path;  // nothing of the rooms
    reply = Fetch(path, "Authorization: Bearer not-a-token\r\n");
    EXPECT_EQ(reply.rfind("HTTP/1.1 401 ", 0), 0u) << path << ": " << Head(reply);
    EXPECT_NE(reply.find("error=\"invalid_token\""), std::string::npos) << Head(reply);
    reply = Fetch(path, "Authorization: Basic YWRtaW46YWRtaW4=\r\n");
    EXPECT_EQ(reply.rfind("HTTP/1.1 401 ", 0), 0u) << path << ": " << Head(reply);
    // A participant's token is a valid one without the scope (RFC 6750 section 3.1): 403.
    reply = Fetch(path, "Authorization: Bearer " + participant + "\r\n");
    EXPECT_EQ(reply.rfind("HTTP/1.1 403 ", 0), 0u) << path << ": " << Head(reply);
    EXPECT_NE(reply.find("error=\"insufficient_scope\""), std::string::npos) << Head(reply);
    reply = Fetch(path, "Authorization: bearer " + admin_token_ + "\r\n");
    EXPECT_EQ(reply.rfind("HTTP/1.1 200 ", 0), 0u) << path << ": " << Head(reply);
  }
  EXPECT_NE(Get("/api/rooms").find(bystander_id_), std::string::npos);
  EXPECT_EQ(AuthFailures("missing"), 6);  // no Authorization, and Basic: no bearer token
  EXPECT_EQ(AuthFailures("invalid"), 3);
  EXPECT_EQ(AuthFailures("not_admin"), 3);
  // The web app itself stays open: a join needs its token, not the page.
  EXPECT_EQ(Fetch("/").rfind("HTTP/1.1 200 ", 0), 0u);
  ExpectUnaffected(*bystander, "the bystander");
}

// Origin needs no secret: it is checked on every server.
TEST_F(ServerProcessTest, WebSocketFromAForeignOriginIsRefused) {
  auto bystander = JoinBystander();
  const std::string host = "Host: 127.0.0.1:" + std::to_string(port_) + "\r\n";
  WsClient foreign(port_, host + "Origin: http://evil.example\r\n");
  EXPECT_FALSE(foreign.open());
  EXPECT_EQ(foreign.response_head().rfind("HTTP/1.1 403 ", 0), 0u) << foreign.response_head();
  EXPECT_TRUE(foreign.AtEof());
  WsClient other_port(port_, host + "Origin: http://127.0.0.1:1\r\n");
  EXPECT_FALSE(other_port.open());
  EXPECT_EQ(Metric("switchboard_auth_failures_total{reason=\"origin\"}"), 2);

  // The server's own origin (as a page it served sends it), and no Origin (not a browser).
  WsClient own(port_, host + "Origin: http://127.0.0.1:" + std::to_string(port_) + "\r\n");
  ASSERT_TRUE(own.open()) << own.response_head();
  ExpectUnaffected(own, "the own-origin client");
  WsClient none(port_, host);
  ASSERT_TRUE(none.open()) << none.response_head();
  ExpectUnaffected(none, "the client without Origin");
  EXPECT_EQ(Metric("switchboard_auth_failures_total{reason=\"origin\"}"), 2);
  ExpectUnaffected(*bystander, "the bystander");
  ExpectBystanderInRoom();
}

class ServerAllowedOriginsTest : public ServerProcessTest {
 protected:
  std::vector<std::string> ExtraFlags() const override {
    return {"--allowed-origins=https://meet.example.com"};
  }
};

TEST_F(ServerAllowedOriginsTest, OnlyTheListedOriginsMayConnect) {
  // Behind a proxy: the Host is the proxy's upstream, the Origin the public site.
  WsClient listed(port_, "Host: 127.0.0.1\r\nOrigin: https://meet.example.com\r\n");
  ASSERT_TRUE(listed.open()) << listed.response_head();
  ExpectUnaffected(listed, "the listed origin");
  const std::string own = "127.0.0.1:" + std::to_string(port_);
  WsClient same_host(port_, "Host: " + own + "\r\nOrigin: http://" + own + "\r\n");
  EXPECT_FALSE(same_host.open());
  EXPECT_EQ(same_host.response_head().rfind("HTTP/1.1 403 ", 0), 0u) << same_host.response_head();
  WsClient none(port_);
  EXPECT_TRUE(none.open());
}

}  // namespace

namespace {

// --tls-self-signed: HTTPS and WSS on the one port with a certificate made at startup, whose
// fingerprint the log shows; the default Origin check wants the https origin then.
class ServerTlsTest : public ServerProcessTest {
 protected:
  void SetUp() override {
    tls_ = true;
    ServerProcessTest::SetUp();
  }
  std::vector<std::string> ExtraFlags() const override { return {"--tls-self-signed"}; }
};

TEST_F(ServerTlsTest, WssJoinWithTheLoggedCertificate) {
  // The certificate the server presents is the one whose fingerprint it logged.
  Connection probe(port_, /*tls=*/true);
  ASSERT_TRUE(probe.connected());
  const std::string fingerprint = probe.PeerFingerprint();
  ASSERT_EQ(fingerprint.size(), 95u);
  EXPECT_NE(Log().find("fingerprint (the browser shows it when it warns) is " + fingerprint),
            std::string::npos)
      << Log();

  // The web app over HTTPS, and a join over WSS.
  EXPECT_NE(Fetch("/").find("HTTP/1.1 200 OK"), std::string::npos);
  auto bystander = JoinBystander();
  ExpectUnaffected(*bystander, "a WSS client");
  ExpectBystanderInRoom();

  // Plain HTTP on the TLS port gets no page.
  Connection plain(port_);
  ASSERT_TRUE(plain.connected());
  plain.Send("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
  std::string reply;
  while (std::optional<std::string> bytes = plain.Receive()) reply += *bytes;
  EXPECT_EQ(reply.find("200 OK"), std::string::npos) << reply;

  // The server's own origin is the https one now.
  const std::string host = "Host: 127.0.0.1:" + std::to_string(port_) + "\r\n";
  WsClient https_page(port_, host + "Origin: https://127.0.0.1:" + std::to_string(port_) + "\r\n",
                      /*tls=*/true);
  EXPECT_TRUE(https_page.open()) << https_page.response_head();
  WsClient http_page(port_, host + "Origin: http://127.0.0.1:" + std::to_string(port_) + "\r\n",
                     /*tls=*/true);
  EXPECT_FALSE(http_page.open());
  EXPECT_EQ(http_page.response_head().rfind("HTTP/1.1 403 ", 0), 0u) << http_page.response_head();
}

}  // namespace
