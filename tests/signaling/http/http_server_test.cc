// HttpServer over real sockets: the server runs its own uv loop on a thread; the test plays
// the client with plain blocking sockets on 127.0.0.1.
#include "signaling/http/http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "signaling/http/self_signed_cert.h"
#include "tests/signaling/http/websocket_test_codec.h"

namespace sb::signaling::http {
namespace {

namespace fs = std::filesystem;

constexpr std::array<uint8_t, 4> kMask = {0x12, 0x34, 0x56, 0x78};

// --- A tiny blocking client --------------------------------------------------------------------

class Client {
 public:
  // With `tls`, a TLS client (OpenSSL) that checks nothing itself: see peer_fingerprint().
  explicit Client(uint16_t port, int rcvbuf = 0, bool tls = false) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    if (rcvbuf > 0) setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    timeval tv{5, 0};
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
      SSL_set_tlsext_host_name(ssl_, "localhost");
      connected_ = SSL_connect(ssl_) == 1;
    }
  }
  ~Client() {
    if (ssl_ != nullptr) SSL_free(ssl_);
    if (ctx_ != nullptr) SSL_CTX_free(ctx_);
    close(fd_);
  }
  bool connected() const { return connected_; }

  // SHA-256 of the server's certificate, as "AB:CD:..."; empty without TLS.
  std::string peer_fingerprint() const {
    if (ssl_ == nullptr) return "";
    X509* cert = SSL_get1_peer_certificate(ssl_);
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

  void Send(std::string_view data) {
    while (!data.empty()) {
      const ssize_t n = ssl_ != nullptr
                            ? SSL_write(ssl_, data.data(), static_cast<int>(data.size()))
                            : send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return;
      data.remove_prefix(static_cast<size_t>(n));
    }
  }
  // Reads until `n` bytes are buffered; false on EOF, error or timeout.
  bool Fill(size_t n) {
    while (buffer_.size() < n) {
      char chunk[16384];
      const ssize_t got = ssl_ != nullptr ? SSL_read(ssl_, chunk, sizeof(chunk))
                                          : recv(fd_, chunk, sizeof(chunk), 0);
      if (got <= 0) return false;
      buffer_.append(chunk, static_cast<size_t>(got));
    }
    return true;
  }
  std::optional<std::string> Take(size_t n) {
    if (!Fill(n)) return std::nullopt;
    std::string out = buffer_.substr(0, n);
    buffer_.erase(0, n);
    return out;
  }
  std::optional<std::string> ReadUntil(std::string_view delimiter) {
    size_t pos;
    while ((pos = buffer_.find(delimiter)) == std::string::npos) {
      if (!Fill(buffer_.size() + 1)) return std::nullopt;
    }
    return Take(pos + delimiter.size());
  }
  // True when the server closed the connection (EOF or reset) with nothing more to read.
  bool AtEof() { return buffer_.empty() && !Fill(1); }

 private:
  int fd_ = -1;
  bool connected_ = false;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  std::string buffer_;
};

struct HttpReply {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};

std::optional<HttpReply> ReadReply(Client& client, bool head_request = false) {
  std::optional<std::string> head = client.ReadUntil("\r\n\r\n");
  if (!head) return std::nullopt;
  HttpReply reply;
  std::vector<std::string> lines = absl::StrSplit(head->substr(0, head->size() - 4), "\r\n");
  std::vector<std::string> status_line = absl::StrSplit(lines[0], ' ');
  if (status_line.size() < 2 || !absl::SimpleAtoi(status_line[1], &reply.status)) {
    return std::nullopt;
  }
  for (size_t i = 1; i < lines.size(); ++i) {
    const size_t colon = lines[i].find(':');
    reply.headers[absl::AsciiStrToLower(lines[i].substr(0, colon))] =
        std::string(absl::StripAsciiWhitespace(lines[i].substr(colon + 1)));
  }
  size_t length = 0;
  if (!head_request && reply.headers.count("content-length") &&
      absl::SimpleAtoi(reply.headers["content-length"], &length) && length > 0) {
    std::optional<std::string> body = client.Take(length);
    if (!body) return std::nullopt;
    reply.body = *body;
  }
  return reply;
}

std::optional<HttpReply> Get(Client& client, std::string_view path, std::string_view extra = "") {
  client.Send(std::string("GET ") + std::string(path) + " HTTP/1.1\r\nHost: test\r\n" +
              std::string(extra) + "\r\n");
  return ReadReply(client);
}

// A server frame (never masked): opcode and payload.
std::optional<ws::Message> ReadFrame(Client& client) {
  std::optional<std::string> head = client.Take(2);
  if (!head) return std::nullopt;
  const auto b0 = static_cast<uint8_t>((*head)[0]);
  const auto b1 = static_cast<uint8_t>((*head)[1]);
  if (b1 & 0x80) return std::nullopt;  // servers must not mask
  uint64_t length = b1 & 0x7f;
  if (length >= 126) {
    const size_t n = length == 126 ? 2 : 8;
    std::optional<std::string> ext = client.Take(n);
    if (!ext) return std::nullopt;
    length = 0;
    for (char c : *ext) length = (length << 8) | static_cast<uint8_t>(c);
  }
  std::optional<std::string> payload = client.Take(static_cast<size_t>(length));
  if (!payload) return std::nullopt;
  return ws::Message{static_cast<ws::Opcode>(b0 & 0x0f), *payload};
}

uint16_t CloseCode(const ws::Message& message) {
  if (message.payload.size() < 2) return ws::kCloseNoStatus;
  return static_cast<uint16_t>((static_cast<uint8_t>(message.payload[0]) << 8) |
                               static_cast<uint8_t>(message.payload[1]));
}

HttpServer::Options MakeOptions(std::string ip, uint16_t port, std::string web_root) {
  HttpServer::Options options;
  options.listen_ip = std::move(ip);
  options.port = port;
  options.web_root = std::move(web_root);
  return options;
}

// --- The fixture -------------------------------------------------------------------------------

// Echoes text; "close-me" asks the server to close; "flood:N" sends N messages of 1 MiB.
class EchoListener : public WebSocket::Listener {
 public:
  EchoListener(std::shared_ptr<WebSocket> socket, std::atomic<int>* closed,
               std::atomic<int>* broken)
      : socket_(std::move(socket)), closed_(closed), broken_(broken) {}
  void OnMessage(std::string_view text) override {
    if (text == "close-me") {
      socket_->Close(4000, "asked");
    } else if (text.substr(0, 6) == "flood:") {
      const int n = std::stoi(std::string(text.substr(6)));
      const std::string big(1024 * 1024, 'z');
      for (int i = 0; i < n; ++i) socket_->Send(big);
    } else {
      socket_->Send(text);
    }
  }
  void OnClose() override {
    EXPECT_FALSE(socket_->is_open());
    EXPECT_FALSE(socket_->Send("too late"));
    if (!socket_->closed_cleanly()) broken_->fetch_add(1);
    closed_->fetch_add(1);
  }

 private:
  std::shared_ptr<WebSocket> socket_;
  std::atomic<int>* closed_;
  std::atomic<int>* broken_;  // ended without a close frame either way
};

class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/sb_http_test_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    const fs::path www = dir_ / "www";
    fs::create_directories(www / "sub");
    WriteFile(www / "index.html", kIndex);
    WriteFile(www / "app.js", "export const x = 1;\n");
    WriteFile(www / "style.css", "body { margin: 0; }\n");
    WriteFile(www / "sub" / "index.html", "sub index");
    WriteFile(dir_ / "secret.txt", "top secret");
    fs::create_symlink(dir_ / "secret.txt", www / "link.txt");

    ASSERT_EQ(uv_loop_init(&loop_), 0);
    HttpServer::Options options;
    options.listen_ip = "127.0.0.1";
    options.port = 0;
    options.web_root = www.string();
    Customize(options);
    server_ = std::make_unique<HttpServer>(&loop_, options);
    server_->Handle("/api/health", [](const Request& request) {
      return Response{200, "application/json",
                      request.method == "GET" ? R"({"status":"ok"})" : R"({"other":true})"};
    });
    server_->Handle("/api/private", [](const Request&) {
      return Response{
          401, "text/plain", "who are you?\n", {"WWW-Authenticate: Bearer realm=\"t\""}};
    });
    auto accept = [this](std::shared_ptr<WebSocket> socket) {
      auto listener = std::make_unique<EchoListener>(socket, &closed_, &broken_);
      socket->SetListener(listener.get());
      listeners_.push_back(std::move(listener));
      accepted_.fetch_add(1);
    };
    server_->OnWebSocket("/ws", accept);
    // Refuses pages from one origin, as the switchboard's Origin check does.
    server_->OnWebSocket(
        "/ws-checked", accept, [](const Request& request) -> std::optional<Response> {
          if (request.Header("Origin") != "http://evil.test") return std::nullopt;
          return Response{403, "text/plain", "not from there\n", {"X-Why: origin"}};
        });
    ASSERT_TRUE(server_->Start().ok());
    port_ = server_->port();
    ASSERT_NE(port_, 0);

    stop_.data = this;
    uv_async_init(&loop_, &stop_, [](uv_async_t* async) {
      static_cast<HttpServerTest*>(async->data)->server_->Stop();
      uv_close(reinterpret_cast<uv_handle_t*>(async), nullptr);
    });
    thread_ = std::thread([this] { uv_run(&loop_, UV_RUN_DEFAULT); });
  }

  virtual void Customize(HttpServer::Options&) {}

  void TearDown() override {
    StopServer();
    server_.reset();
    listeners_.clear();
    EXPECT_EQ(uv_loop_close(&loop_), 0);
    fs::remove_all(dir_);
  }

  // Stop() on the loop thread; returns once the loop ran out of handles.
  void StopServer() {
    if (!thread_.joinable()) return;
    uv_async_send(&stop_);
    thread_.join();
  }

  static void WriteFile(const fs::path& path, std::string_view text) {
    std::ofstream(path, std::ios::binary) << text;
  }

  bool WaitFor(const std::atomic<int>& counter, int value) {
    for (int i = 0; i < 500 && counter.load() < value; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return counter.load() >= value;
  }

  // Upgrades a fresh connection on /ws.
  std::unique_ptr<Client> OpenWebSocket(int rcvbuf = 0, bool tls = false) {
    auto client = std::make_unique<Client>(port_, rcvbuf, tls);
    EXPECT_TRUE(client->connected());
    client->Send(
        "GET /ws HTTP/1.1\r\nHost: test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
    std::optional<HttpReply> reply = ReadReply(*client, /*head_request=*/true);
    EXPECT_TRUE(reply);
    if (!reply) return client;
    EXPECT_EQ(reply->status, 101);
    EXPECT_EQ(reply->headers["sec-websocket-accept"], "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    EXPECT_EQ(absl::AsciiStrToLower(reply->headers["upgrade"]), "websocket");
    return client;
  }

  static constexpr std::string_view kIndex = "<!doctype html><title>t</title>";

  fs::path dir_;
  uv_loop_t loop_{};
  uv_async_t stop_{};
  std::unique_ptr<HttpServer> server_;
  std::vector<std::unique_ptr<EchoListener>> listeners_;  // touched on the loop thread only
  std::atomic<int> accepted_{0};
  std::atomic<int> closed_{0};
  std::atomic<int> broken_{0};
  uint16_t port_ = 0;
  std::thread thread_;
};

// --- HTTP --------------------------------------------------------------------------------------

TEST_F(HttpServerTest, ServesStaticFilesWithKeepAlive) {
  Client client(port_);
  ASSERT_TRUE(client.connected());
  auto index = Get(client, "/");
  ASSERT_TRUE(index);
  EXPECT_EQ(index->status, 200);
  EXPECT_EQ(index->body, kIndex);
  EXPECT_EQ(index->headers["content-type"], "text/html; charset=utf-8");
  EXPECT_EQ(index->headers["cache-control"], "no-cache");

  // Same connection: keep-alive.
  auto js = Get(client, "/app.js");
  ASSERT_TRUE(js);
  EXPECT_EQ(js->status, 200);
  EXPECT_EQ(js->headers["content-type"], "text/javascript; charset=utf-8");
  EXPECT_EQ(js->body, "export const x = 1;\n");

  client.Send("HEAD /style.css HTTP/1.1\r\nHost: test\r\n\r\n");
  auto css = ReadReply(client, /*head_request=*/true);
  ASSERT_TRUE(css);
  EXPECT_EQ(css->status, 200);
  EXPECT_EQ(css->headers["content-type"], "text/css; charset=utf-8");
  EXPECT_EQ(css->headers["content-length"], "20");

  auto sub = Get(client, "/sub/");
  ASSERT_TRUE(sub);
  EXPECT_EQ(sub->body, "sub index");
  auto sub_no_slash = Get(client, "/sub");
  ASSERT_TRUE(sub_no_slash);
  EXPECT_EQ(sub_no_slash->body, "sub index");
}

TEST_F(HttpServerTest, PipelinedRequests) {
  Client client(port_);
  client.Send("GET /app.js HTTP/1.1\r\nHost: t\r\n\r\nGET /style.css HTTP/1.1\r\nHost: t\r\n\r\n");
  auto first = ReadReply(client);
  auto second = ReadReply(client);
  ASSERT_TRUE(first && second);
  EXPECT_EQ(first->body, "export const x = 1;\n");
  EXPECT_EQ(second->body, "body { margin: 0; }\n");
}

TEST_F(HttpServerTest, NotFoundAndTraversal) {
  for (const char* path :
       {"/missing.html", "/../etc/passwd", "/../secret.txt", "/%2e%2e/secret.txt",
        "/sub/../../secret.txt", "/link.txt", "/..%2fsecret.txt"}) {
    Client client(port_);
    auto reply = Get(client, path);
    ASSERT_TRUE(reply) << path;
    EXPECT_EQ(reply->status, 404) << path;
    EXPECT_EQ(reply->body.find("top secret"), std::string::npos) << path;
  }
  // And the server goes on serving.
  Client client(port_);
  auto index = Get(client, "/app.js");
  ASSERT_TRUE(index) << "the server stopped answering";
  EXPECT_EQ(index->status, 200);
  EXPECT_EQ(index->body, "export const x = 1;\n");
}

TEST_F(HttpServerTest, MethodNotAllowedOnStaticFiles) {
  Client client(port_);
  client.Send("POST /index.html HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nhi");
  auto reply = ReadReply(client);
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 405);
  EXPECT_EQ(reply->headers["allow"], "GET, HEAD");
}

TEST_F(HttpServerTest, ApiRoute) {
  Client client(port_);
  auto reply = Get(client, "/api/health");
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 200);
  EXPECT_EQ(reply->headers["content-type"], "application/json");
  EXPECT_EQ(reply->body, R"({"status":"ok"})");
}

TEST_F(HttpServerTest, ConnectionCloseIsHonoured) {
  Client client(port_);
  auto reply = Get(client, "/app.js", "Connection: close\r\n");
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->headers["connection"], "close");
  EXPECT_TRUE(client.AtEof());
}

TEST_F(HttpServerTest, MalformedRequestGets400AndClose) {
  // libwebsockets parses the head; what it hands over is checked by us (BuildRequest): an
  // HTTP/1.1 request must name its Host (RFC 9112 section 3.2).
  Client client(port_);
  client.Send("GET / HTTP/1.1\r\nUser-Agent: test\r\n\r\n");
  auto reply = ReadReply(client);
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 400);
  EXPECT_EQ(reply->headers["connection"], "close");
  EXPECT_TRUE(client.AtEof());
  EXPECT_EQ(server_->counters().requests_rejected, 1u);
  // A declared body over the bound is refused before it is read.
  Client big(port_);
  big.Send("POST /api/health HTTP/1.1\r\nHost: t\r\nContent-Length: 2000000\r\n\r\n");
  reply = ReadReply(big);
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 413);
  EXPECT_TRUE(big.AtEof());
  EXPECT_EQ(server_->counters().requests_rejected, 2u);
}

TEST_F(HttpServerTest, OversizeHeaderIsRefused) {
  // libwebsockets refuses a head over its header table (kMaxHeaderBytes) itself: it closes the
  // connection without an answer (the old server answered 431), and never calls us.
  Client client(port_);
  client.Send("GET / HTTP/1.1\r\nHost: t\r\nX-Big: " + std::string(20000, 'a') + "\r\n\r\n");
  EXPECT_FALSE(ReadReply(client));
  EXPECT_TRUE(client.AtEof());
  // And the server goes on serving.
  Client again(port_);
  auto reply = Get(again, "/app.js");
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 200);
}

// --- WebSocket ---------------------------------------------------------------------------------

TEST_F(HttpServerTest, WebSocketEchoPingAndCloseHandshake) {
  auto client = OpenWebSocket();
  ASSERT_TRUE(WaitFor(accepted_, 1));

  client->Send(ws::EncodeFrame(ws::Opcode::kText, "hello", true, kMask));
  auto echo = ReadFrame(*client);
  ASSERT_TRUE(echo);
  EXPECT_EQ(echo->opcode, ws::Opcode::kText);
  EXPECT_EQ(echo->payload, "hello");

  client->Send(ws::EncodeFrame(ws::Opcode::kPing, "p1", true, kMask));
  auto pong = ReadFrame(*client);
  ASSERT_TRUE(pong);
  EXPECT_EQ(pong->opcode, ws::Opcode::kPong);
  EXPECT_EQ(pong->payload, "p1");

  // Fragmented, with a ping in the middle: the pong comes first, then the whole message.
  client->Send(ws::EncodeFrame(ws::Opcode::kText, "frag", false, kMask) +
               ws::EncodeFrame(ws::Opcode::kPing, "p2", true, kMask) +
               ws::EncodeFrame(ws::Opcode::kContinuation, "mented", true, kMask));
  pong = ReadFrame(*client);
  ASSERT_TRUE(pong);
  EXPECT_EQ(pong->opcode, ws::Opcode::kPong);
  echo = ReadFrame(*client);
  ASSERT_TRUE(echo);
  EXPECT_EQ(echo->payload, "fragmented");

  // Larger than one read and than a 16-bit length.
  const std::string big(200000, 'b');
  client->Send(ws::EncodeFrame(ws::Opcode::kText, big, true, kMask));
  echo = ReadFrame(*client);
  ASSERT_TRUE(echo);
  EXPECT_EQ(echo->payload, big);

  client->Send(ws::EncodeFrame(ws::Opcode::kClose, std::string("\x03\xe8", 2), true, kMask));
  auto close = ReadFrame(*client);
  ASSERT_TRUE(close);
  EXPECT_EQ(close->opcode, ws::Opcode::kClose);
  EXPECT_EQ(CloseCode(*close), 1000);
  EXPECT_TRUE(client->AtEof());
  EXPECT_TRUE(WaitFor(closed_, 1));
}

TEST_F(HttpServerTest, WebSocketFramesRightAfterHandshake) {
  Client client(port_);
  client.Send(
      "GET /ws HTTP/1.1\r\nHost: test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n" +
      ws::EncodeFrame(ws::Opcode::kText, "early", true, kMask));
  auto reply = ReadReply(client, true);
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 101);
  auto echo = ReadFrame(client);
  ASSERT_TRUE(echo);
  EXPECT_EQ(echo->payload, "early");
}

TEST_F(HttpServerTest, WebSocketFramingErrorIsProtocolError) {
  // A reserved opcode (RFC 6455 section 5.2). (The old server also failed unmasked client
  // frames; libwebsockets 4.1 takes them, see docs/architecture.md.)
  auto client = OpenWebSocket();
  client->Send(ws::EncodeFrame(static_cast<ws::Opcode>(0x3), "reserved", true, kMask));
  auto close = ReadFrame(*client);
  ASSERT_TRUE(close);
  EXPECT_EQ(close->opcode, ws::Opcode::kClose);
  EXPECT_EQ(CloseCode(*close), ws::kCloseProtocolError);
  EXPECT_TRUE(client->AtEof());
  EXPECT_TRUE(WaitFor(closed_, 1));
  EXPECT_EQ(server_->counters().websocket_protocol_errors, 1u);
  EXPECT_EQ(server_->counters().websocket_messages_too_big, 0u);
}

TEST_F(HttpServerTest, WebSocketInvalidUtf8Is1007) {
  auto client = OpenWebSocket();
  client->Send(ws::EncodeFrame(ws::Opcode::kText, "\xff\xfe", true, kMask));
  auto close = ReadFrame(*client);
  ASSERT_TRUE(close);
  EXPECT_EQ(CloseCode(*close), ws::kCloseInvalidPayload);
}

TEST_F(HttpServerTest, WebSocketTooBigIs1009) {
  auto client = OpenWebSocket();
  // The header and the first 64 KiB: the server decides from the announced length with the
  // first piece libwebsockets hands over (its receive buffer), not after 1 MiB.
  client->Send(
      ws::EncodeFrame(ws::Opcode::kText, std::string(ws::kMaxMessageBytes + 1, 'a'), true, kMask)
          .substr(0, 14 + 64 * 1024));
  auto close = ReadFrame(*client);
  ASSERT_TRUE(close);
  EXPECT_EQ(CloseCode(*close), ws::kCloseMessageTooBig);
  EXPECT_TRUE(client->AtEof());
  EXPECT_TRUE(WaitFor(closed_, 1));
  EXPECT_EQ(server_->counters().websocket_messages_too_big, 1u);
  EXPECT_EQ(server_->counters().websocket_protocol_errors, 0u);
}

TEST_F(HttpServerTest, WebSocketServerInitiatedClose) {
  auto client = OpenWebSocket();
  client->Send(ws::EncodeFrame(ws::Opcode::kText, "close-me", true, kMask));
  auto close = ReadFrame(*client);
  ASSERT_TRUE(close);
  EXPECT_EQ(close->opcode, ws::Opcode::kClose);
  EXPECT_EQ(CloseCode(*close), 4000);
  EXPECT_EQ(close->payload.substr(2), "asked");
  EXPECT_EQ(closed_.load(), 0);  // still waiting for our answer
  client->Send(ws::EncodeFrame(ws::Opcode::kClose, std::string("\x0f\xa0", 2), true, kMask));
  EXPECT_TRUE(client->AtEof());
  EXPECT_TRUE(WaitFor(closed_, 1));
}

TEST_F(HttpServerTest, RouteAddsItsHeaders) {
  Client client(port_);
  auto reply = Get(client, "/api/private");
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 401);
  EXPECT_EQ(reply->headers["www-authenticate"], "Bearer realm=\"t\"");
  EXPECT_EQ(reply->body, "who are you?\n");
  // The connection stays usable.
  reply = Get(client, "/api/health");
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 200);
}

TEST_F(HttpServerTest, UpgradeCheckRefusesBeforeTheHandshake) {
  constexpr std::string_view kHandshake =
      "Upgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";
  {
    Client client(port_);
    auto reply =
        Get(client, "/ws-checked", std::string(kHandshake) + "Origin: http://evil.test\r\n");
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->status, 403);
    EXPECT_EQ(reply->headers["x-why"], "origin");
    EXPECT_EQ(reply->headers["connection"], "close");
    EXPECT_EQ(reply->headers.count("sec-websocket-accept"), 0u);
    EXPECT_TRUE(client.AtEof());
  }
  EXPECT_EQ(accepted_.load(), 0);
  // Another origin (or none) is accepted and talks.
  Client client(port_);
  auto reply = Get(client, "/ws-checked", std::string(kHandshake) + "Origin: http://good.test\r\n");
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 101);
  EXPECT_TRUE(WaitFor(accepted_, 1));
  client.Send(ws::EncodeFrame(ws::Opcode::kText, "hi", true, kMask));
  auto echo = ReadFrame(client);
  ASSERT_TRUE(echo);
  EXPECT_EQ(echo->payload, "hi");
}

TEST_F(HttpServerTest, WebSocketUpgradeValidation) {
  {
    Client client(port_);
    auto reply = Get(client, "/ws");
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->status, 426);
  }
  {
    Client client(port_);
    auto reply = Get(client, "/ws",
                     "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n");
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->status, 426);
    EXPECT_EQ(reply->headers["sec-websocket-version"], "13");
  }
  {
    Client client(port_);
    auto reply = Get(client, "/ws",
                     "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Key: short\r\nSec-WebSocket-Version: 13\r\n");
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->status, 400);
  }
  EXPECT_EQ(accepted_.load(), 0);
}

TEST_F(HttpServerTest, SlowReaderIsDropped) {
  auto client = OpenWebSocket(/*rcvbuf=*/4096);
  ASSERT_TRUE(WaitFor(accepted_, 1));
  // 12 MiB queued in one go is past the 8 MiB bound.
  client->Send(ws::EncodeFrame(ws::Opcode::kText, "flood:12", true, kMask));
  EXPECT_TRUE(WaitFor(closed_, 1));
}

TEST_F(HttpServerTest, StopClosesEverything) {
  auto socket = OpenWebSocket();
  Client idle_http(port_);
  ASSERT_TRUE(Get(idle_http, "/app.js"));
  ASSERT_TRUE(WaitFor(accepted_, 1));

  StopServer();  // returns only when the loop has no handles left
  EXPECT_EQ(closed_.load(), 1);
  auto close = ReadFrame(*socket);
  ASSERT_TRUE(close);
  EXPECT_EQ(close->opcode, ws::Opcode::kClose);
  EXPECT_EQ(CloseCode(*close), ws::kCloseGoingAway);
  EXPECT_TRUE(socket->AtEof());
  EXPECT_TRUE(idle_http.AtEof());
  EXPECT_EQ(server_->connection_count(), 0u);
}

}  // namespace
}  // namespace sb::signaling::http

namespace sb::signaling::http {
namespace {

// Destroying the server while its connections' close callbacks are still pending is safe: they
// free themselves, and WebSocket listeners still hear OnClose.
// --- Limits -------------------------------------------------------------------------------------

class HttpServerLimitsTest : public HttpServerTest {
 protected:
  void Customize(HttpServer::Options& options) override {
    options.max_connections = 5;
    options.max_connections_per_ip = 3;
    options.websocket_ping_interval_ms = 100;
    options.websocket_timeout_ms = 400;
  }
};

TEST_F(HttpServerLimitsTest, ConnectionsPerAddressAreCapped) {
  std::vector<std::unique_ptr<Client>> held;
  for (int i = 0; i < 3; ++i) {
    held.push_back(std::make_unique<Client>(port_));
    std::optional<HttpReply> reply = Get(*held.back(), "/api/health");
    ASSERT_TRUE(reply) << i;
    EXPECT_EQ(reply->status, 200);
  }
  // The fourth from 127.0.0.1 is accepted by the kernel, then closed at once.
  Client fourth(port_);
  ASSERT_TRUE(fourth.connected());
  fourth.Send("GET /api/health HTTP/1.1\r\nHost: test\r\n\r\n");
  EXPECT_TRUE(fourth.AtEof());
  // One of the three goes: there is room again.
  held.pop_back();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  Client again(port_);
  std::optional<HttpReply> reply = Get(again, "/api/health");
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 200);
  StopServer();
  EXPECT_EQ(server_->counters().connections_refused, 1u);
}

TEST_F(HttpServerLimitsTest, SilentWebSocketIsPingedAndAnAnsweringOneStays) {
  auto client = OpenWebSocket();
  // Nothing sent for the ping interval: the server pings (and keeps pinging).
  std::optional<ws::Message> frame = ReadFrame(*client);
  ASSERT_TRUE(frame);
  EXPECT_EQ(frame->opcode, ws::Opcode::kPing);
  // Answering every ping (as browsers do, echoing its payload: RFC 6455 section 5.5.3) keeps
  // it open well past the timeout.
  for (int i = 0; i < 8; ++i) {
    client->Send(ws::EncodeFrame(ws::Opcode::kPong, frame->payload, true, kMask));
    frame = ReadFrame(*client);
    ASSERT_TRUE(frame) << i;
    EXPECT_EQ(frame->opcode, ws::Opcode::kPing);
  }
  client->Send(ws::EncodeFrame(ws::Opcode::kText, "still here", true, kMask));
  for (frame = ReadFrame(*client); frame && frame->opcode == ws::Opcode::kPing;) {
    frame = ReadFrame(*client);
  }
  ASSERT_TRUE(frame);
  EXPECT_EQ(frame->payload, "still here");
  EXPECT_EQ(closed_.load(), 0);
}

TEST_F(HttpServerLimitsTest, DeadWebSocketIsClosedAsBroken) {
  auto client = OpenWebSocket();
  // A peer that never answers: after the timeout the connection is closed without a close
  // frame, and the listener hears a broken connection, not a goodbye.
  for (;;) {
    std::optional<ws::Message> frame = ReadFrame(*client);
    if (!frame) break;  // EOF
    ASSERT_EQ(frame->opcode, ws::Opcode::kPing) << "only pings, never a close frame";
  }
  ASSERT_TRUE(WaitFor(closed_, 1));
  EXPECT_EQ(broken_.load(), 1);
  StopServer();
  EXPECT_EQ(server_->counters().websockets_timed_out, 1u);
}

TEST(HttpServerLifetime, DestroyedBeforeCloseCallbacksRun) {
  uv_loop_t loop;
  ASSERT_EQ(uv_loop_init(&loop), 0);
  auto server = std::make_unique<HttpServer>(&loop, MakeOptions("127.0.0.1", 0, ""));
  std::atomic<int> closed{0};
  std::atomic<int> broken{0};
  std::unique_ptr<EchoListener> listener;
  std::shared_ptr<WebSocket> socket;
  server->OnWebSocket("/ws", [&](std::shared_ptr<WebSocket> s) {
    socket = s;
    listener = std::make_unique<EchoListener>(s, &closed, &broken);
    s->SetListener(listener.get());
  });
  ASSERT_TRUE(server->Start().ok());
  Client ws_client(server->port());
  Client http_client(server->port());
  ws_client.Send(
      "GET /ws HTTP/1.1\r\nHost: test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
  for (int i = 0; i < 500 && (!socket || server->connection_count() < 2); ++i) {
    uv_run(&loop, UV_RUN_NOWAIT);
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  ASSERT_TRUE(socket);
  EXPECT_TRUE(socket->is_open());

  server.reset();  // Stop() inside; close callbacks not run yet
  EXPECT_EQ(closed.load(), 0);
  uv_run(&loop, UV_RUN_DEFAULT);  // returns once every handle is closed and freed
  EXPECT_EQ(closed.load(), 1);
  EXPECT_FALSE(socket->is_open());
  EXPECT_FALSE(socket->Send("gone"));
  EXPECT_EQ(uv_loop_close(&loop), 0);
}

TEST(HttpServerLifetime, StartFailures) {
  uv_loop_t loop;
  ASSERT_EQ(uv_loop_init(&loop), 0);
  {
    HttpServer bad_ip(&loop, MakeOptions("not-an-ip", 0, ""));
    EXPECT_FALSE(bad_ip.Start().ok());
    HttpServer bad_root(&loop, MakeOptions("127.0.0.1", 0, "/nonexistent/sb/root"));
    EXPECT_FALSE(bad_root.Start().ok());
    HttpServer first(&loop, MakeOptions("127.0.0.1", 0, ""));
    ASSERT_TRUE(first.Start().ok());
    HttpServer second(&loop, MakeOptions("127.0.0.1", first.port(), ""));
    EXPECT_FALSE(second.Start().ok());
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  EXPECT_EQ(uv_loop_close(&loop), 0);
}

}  // namespace
}  // namespace sb::signaling::http

namespace sb::signaling::http {
namespace {

// --- TLS ----------------------------------------------------------------------------------------

class HttpServerTlsTest : public HttpServerTest {
 protected:
  void Customize(HttpServer::Options& options) override {
    auto cert = GenerateSelfSignedCertificate({"localhost", "127.0.0.1"}, 1);
    ASSERT_TRUE(cert.ok()) << cert.status();
    options.tls_cert_pem = cert->cert_pem;
    options.tls_key_pem = cert->key_pem;
    fingerprint_ = cert->sha256_fingerprint;
  }
  std::string fingerprint_;
};

TEST_F(HttpServerTlsTest, ServesHttpsWithTheGivenCertificate) {
  Client client(port_, 0, /*tls=*/true);
  ASSERT_TRUE(client.connected());
  EXPECT_EQ(client.peer_fingerprint(), fingerprint_);
  auto index = Get(client, "/");
  ASSERT_TRUE(index);
  EXPECT_EQ(index->status, 200);
  EXPECT_EQ(index->body, kIndex);
  auto api = Get(client, "/api/health");  // keep-alive inside TLS too
  ASSERT_TRUE(api);
  EXPECT_EQ(api->body, R"({"status":"ok"})");
}

TEST_F(HttpServerTlsTest, WebSocketOverTls) {
  auto client = OpenWebSocket(0, /*tls=*/true);
  ASSERT_TRUE(WaitFor(accepted_, 1));
  const std::string big(100000, 'w');
  client->Send(ws::EncodeFrame(ws::Opcode::kText, "over tls", true, kMask) +
               ws::EncodeFrame(ws::Opcode::kText, big, true, kMask));
  auto echo = ReadFrame(*client);
  ASSERT_TRUE(echo);
  EXPECT_EQ(echo->payload, "over tls");
  echo = ReadFrame(*client);
  ASSERT_TRUE(echo);
  EXPECT_EQ(echo->payload, big);
  client->Send(ws::EncodeFrame(ws::Opcode::kText, "close-me", true, kMask));
  auto close = ReadFrame(*client);
  ASSERT_TRUE(close);
  EXPECT_EQ(close->opcode, ws::Opcode::kClose);
  EXPECT_EQ(CloseCode(*close), 4000);
  client->Send(ws::EncodeFrame(ws::Opcode::kClose, std::string("\x0f\xa0", 2), true, kMask));
  EXPECT_TRUE(client->AtEof());
  EXPECT_TRUE(WaitFor(closed_, 1));
  EXPECT_EQ(broken_.load(), 0);
}

TEST_F(HttpServerTlsTest, PlainHttpOnTheTlsPortGetsNoPage) {
  Client client(port_);
  ASSERT_TRUE(client.connected());
  client.Send("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
  std::optional<HttpReply> reply = ReadReply(client);
  EXPECT_TRUE(!reply || reply->body != kIndex);
}

TEST(HttpServerTls, BadCertificateFailsStart) {
  uv_loop_t loop;
  ASSERT_EQ(uv_loop_init(&loop), 0);
  {
    HttpServer::Options options = MakeOptions("127.0.0.1", 0, "");
    options.tls_cert_pem = "not a certificate";
    options.tls_key_pem = "not a key";
    HttpServer server(&loop, options);
    EXPECT_FALSE(server.Start().ok());
    HttpServer::Options half = MakeOptions("127.0.0.1", 0, "");
    half.tls_cert_file = "/nonexistent.pem";
    HttpServer half_server(&loop, half);
    EXPECT_FALSE(half_server.Start().ok());
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  EXPECT_EQ(uv_loop_close(&loop), 0);
}

}  // namespace
}  // namespace sb::signaling::http
