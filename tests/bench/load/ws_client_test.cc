// WsClient against our own HttpServer on the same libuv loop (both on libwebsockets), plain and
// TLS: messages both ways, a clean close and a reset as the server sees them, failures told once,
// many clients on one loop, and the loop left idle.
#include "bench/load/ws_client.h"

#include <uv.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "signaling/http/http_server.h"
#include "signaling/http/self_signed_cert.h"

namespace sb::bench {
namespace {

using signaling::http::HttpServer;
using signaling::http::WebSocket;

TEST(ParseWsUrl, PlainAndTls) {
  auto plain = ParseWsUrl("ws://127.0.0.1:8080/ws");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->host, "127.0.0.1");
  EXPECT_EQ(plain->port, 8080);
  EXPECT_EQ(plain->path, "/ws");
  EXPECT_FALSE(plain->tls);
  auto tls = ParseWsUrl("wss://127.0.0.1/ws");
  ASSERT_TRUE(tls.ok());
  EXPECT_TRUE(tls->tls);
  EXPECT_EQ(tls->port, 443);
  auto janus = ParseWsUrl("ws://127.0.0.1:8188");
  ASSERT_TRUE(janus.ok());
  EXPECT_EQ(janus->path, "/");
  EXPECT_FALSE(ParseWsUrl("http://127.0.0.1/ws").ok());
  EXPECT_FALSE(ParseWsUrl("ws://localhost:80/ws").ok());
  EXPECT_FALSE(ParseWsUrl("ws://127.0.0.1:0/ws").ok());
}

// The server's side of one connection: echoes text, remembers how it ended.
class ServerPeer : public WebSocket::Listener {
 public:
  explicit ServerPeer(std::shared_ptr<WebSocket> socket) : socket_(std::move(socket)) {
    socket_->SetListener(this);
  }
  ~ServerPeer() override { socket_->SetListener(nullptr); }
  void OnMessage(std::string_view text) override {
    received.emplace_back(text);
    socket_->Send("echo " + std::string(text));
  }
  void OnClose() override {
    closed = true;
    closed_cleanly = socket_->closed_cleanly();
  }
  WebSocket& socket() { return *socket_; }

  std::vector<std::string> received;
  bool closed = false;
  bool closed_cleanly = false;

 private:
  std::shared_ptr<WebSocket> socket_;
};

class ClientPeer : public WsClient::Listener {
 public:
  void OnWsOpen() override { ++opened; }
  void OnWsMessage(std::string text) override {
    messages.push_back(std::move(text));
    if (on_message) on_message();
  }
  void OnWsClosed(const std::string& why) override {
    ++closed;
    reason = why;
  }

  int opened = 0;
  int closed = 0;
  std::string reason;
  std::vector<std::string> messages;
  std::function<void()> on_message;
};

class WsClientTest : public ::testing::Test {
 protected:
  void SetUp() override { uv_loop_init(&loop_); }
  void TearDown() override {
    clients_.clear();
    peers_.clear();
    server_.reset();
    // Everything libwebsockets opened on the loop closes by itself.
    for (int i = 0; i < 1000 && uv_run(&loop_, UV_RUN_NOWAIT) != 0; ++i) uv_sleep(1);
    EXPECT_EQ(uv_loop_close(&loop_), 0) << "handles left open on the loop";
  }

  void StartServer(bool tls) {
    HttpServer::Options options;
    options.listen_ip = "127.0.0.1";
    options.port = 0;
    if (tls) {
      auto cert = signaling::http::GenerateSelfSignedCertificate({"127.0.0.1"}, 1);
      ASSERT_TRUE(cert.ok());
      options.tls_cert_pem = cert->cert_pem;
      options.tls_key_pem = cert->key_pem;
    }
    server_ = std::make_unique<HttpServer>(&loop_, options);
    server_->OnWebSocket("/ws", [this](std::shared_ptr<WebSocket> socket) {
      peers_.push_back(std::make_unique<ServerPeer>(std::move(socket)));
    });
    ASSERT_TRUE(server_->Start().ok());
  }

  WsUrl Url(bool tls) {
    auto url =
        ParseWsUrl(absl::StrCat(tls ? "wss" : "ws", "://127.0.0.1:", server_->port(), "/ws"));
    EXPECT_TRUE(url.ok());
    url->verify_tls = false;
    return *url;
  }

  WsClient* NewClient(const WsUrl& url, ClientPeer* peer) {
    clients_.push_back(std::make_unique<WsClient>(&loop_, url, peer));
    return clients_.back().get();
  }

  // Runs the loop until `done` or about 5 s.
  bool RunUntil(const std::function<bool()>& done) {
    for (int i = 0; i < 5000 && !done(); ++i) {
      uv_run(&loop_, UV_RUN_NOWAIT);
      uv_sleep(1);
    }
    return done();
  }

  // Opens a client and exchanges one message both ways.
  void OpenAndEcho(WsClient* client, ClientPeer* peer) {
    client->Connect();
    ASSERT_TRUE(RunUntil([&] { return peer->opened == 1; })) << peer->reason;
    EXPECT_TRUE(client->open());
    EXPECT_TRUE(client->Send("hello"));
    ASSERT_TRUE(RunUntil([&] { return !peer->messages.empty(); }));
    EXPECT_EQ(peer->messages[0], "echo hello");
  }

  // A server, and a client that exchanged one message with it.
  WsClient* StartAndOpen(ClientPeer* peer, bool tls) {
    StartServer(tls);
    WsClient* client = NewClient(Url(tls), peer);
    OpenAndEcho(client, peer);
    return client;
  }

  // A client that never opens: told once, by OnWsClosed.
  void ExpectRefused(const WsUrl& url) {
    ClientPeer peer;
    WsClient* client = NewClient(url, &peer);
    client->Connect();
    ASSERT_TRUE(RunUntil([&] { return peer.closed == 1; }));
    for (int i = 0; i < 50; ++i) uv_run(&loop_, UV_RUN_NOWAIT);
    EXPECT_EQ(peer.closed, 1);
    EXPECT_EQ(peer.opened, 0);
    EXPECT_FALSE(client->open());
  }

  uv_loop_t loop_;
  std::unique_ptr<HttpServer> server_;
  std::vector<std::unique_ptr<ServerPeer>> peers_;
  std::vector<std::unique_ptr<WsClient>> clients_;
};

TEST_F(WsClientTest, CloseIsCleanForTheServer) {
  ClientPeer peer;
  WsClient* client = StartAndOpen(&peer, /*tls=*/false);
  // A message queued right before the close still goes out, before the close frame.
  EXPECT_TRUE(client->Send("last"));
  client->Close();
  EXPECT_FALSE(client->open());
  EXPECT_FALSE(client->Send("after"));
  ASSERT_TRUE(RunUntil([&] { return peers_.size() == 1 && peers_[0]->closed; }));
  EXPECT_TRUE(peers_[0]->closed_cleanly);
  EXPECT_EQ(peers_[0]->received, (std::vector<std::string>{"hello", "last"}));
  EXPECT_EQ(peer.closed, 0);  // no listener calls after Close()
}

TEST_F(WsClientTest, DestroyingAnOpenClientClosesCleanly) {
  ClientPeer peer;
  StartAndOpen(&peer, /*tls=*/false);
  clients_.clear();  // the connection outlives the client for its close handshake
  ASSERT_TRUE(RunUntil([&] { return peers_[0]->closed; }));
  EXPECT_TRUE(peers_[0]->closed_cleanly);
}

TEST_F(WsClientTest, AbortIsABrokenConnectionForTheServer) {
  ClientPeer peer;
  WsClient* client = StartAndOpen(&peer, /*tls=*/false);
  client->Abort();
  EXPECT_FALSE(client->open());
  ASSERT_TRUE(RunUntil([&] { return peers_[0]->closed; }));
  EXPECT_FALSE(peers_[0]->closed_cleanly);
  EXPECT_EQ(peer.closed, 0);
}

TEST_F(WsClientTest, ServerCloseIsToldOnce) {
  ClientPeer peer;
  WsClient* client = StartAndOpen(&peer, /*tls=*/false);
  peers_[0]->socket().Close(1000, "bye");
  ASSERT_TRUE(RunUntil([&] { return peer.closed == 1; }));
  EXPECT_FALSE(client->open());
  ASSERT_TRUE(RunUntil([&] { return peers_[0]->closed; }));
  EXPECT_TRUE(peers_[0]->closed_cleanly);
  for (int i = 0; i < 50; ++i) uv_run(&loop_, UV_RUN_NOWAIT);
  EXPECT_EQ(peer.closed, 1);
}

TEST_F(WsClientTest, LargeMessagesBothWays) {
  ClientPeer peer;
  WsClient* client = StartAndOpen(&peer, /*tls=*/false);
  const std::string big(512 * 1024, 'x');  // many of libwebsockets' 64 KiB pieces
  EXPECT_TRUE(client->Send(big));
  ASSERT_TRUE(RunUntil([&] { return peer.messages.size() == 2; }));
  EXPECT_EQ(peer.messages[1], "echo " + big);
}

TEST_F(WsClientTest, ConnectionRefusedIsToldOnce) {
  // A port nobody listens on: bind one, take its number, close it.
  uv_tcp_t probe;
  uv_tcp_init(&loop_, &probe);
  sockaddr_in addr;
  uv_ip4_addr("127.0.0.1", 0, &addr);
  ASSERT_EQ(uv_tcp_bind(&probe, reinterpret_cast<const sockaddr*>(&addr), 0), 0);
  int len = sizeof(addr);
  uv_tcp_getsockname(&probe, reinterpret_cast<sockaddr*>(&addr), &len);
  uv_close(reinterpret_cast<uv_handle_t*>(&probe), nullptr);
  auto url = ParseWsUrl(absl::StrCat("ws://127.0.0.1:", ntohs(addr.sin_port), "/ws"));
  ASSERT_TRUE(url.ok());
  ExpectRefused(*url);
}

TEST_F(WsClientTest, SubprotocolRefusedByOurServer) {
  StartServer(false);
  WsUrl url = Url(false);
  url.protocol = "janus-protocol";
  ExpectRefused(url);
}

TEST_F(WsClientTest, ManyClientsOnOneLoop) {
  StartServer(false);
  constexpr int kClients = 200;
  std::vector<ClientPeer> peers(kClients);
  for (ClientPeer& peer : peers) NewClient(Url(false), &peer)->Connect();
  ASSERT_TRUE(RunUntil([&] {
    for (const ClientPeer& peer : peers) {
      if (peer.opened != 1) return false;
    }
    return true;
  }));
  for (auto& client : clients_) client->Send("hi");
  ASSERT_TRUE(RunUntil([&] {
    for (const ClientPeer& peer : peers) {
      if (peer.messages.size() != 1) return false;
    }
    return true;
  }));
  // Half leave cleanly, half drop.
  for (int i = 0; i < kClients; ++i) {
    if (i % 2 == 0) {
      clients_[i]->Close();
    } else {
      clients_[i]->Abort();
    }
  }
  ASSERT_TRUE(RunUntil([&] {
    for (const auto& server_peer : peers_) {
      if (!server_peer->closed) return false;
    }
    return true;
  }));
  int clean = 0;
  for (const auto& server_peer : peers_) clean += server_peer->closed_cleanly ? 1 : 0;
  EXPECT_EQ(clean, kClients / 2);
}

TEST_F(WsClientTest, TlsWithoutVerification) {
  ClientPeer peer;
  WsClient* client = StartAndOpen(&peer, /*tls=*/true);
  client->Close();
  ASSERT_TRUE(RunUntil([&] { return peers_[0]->closed; }));
  EXPECT_TRUE(peers_[0]->closed_cleanly);
}

TEST_F(WsClientTest, TlsWithVerificationRefusesASelfSignedServer) {
  StartServer(true);
  WsUrl url = Url(true);
  url.verify_tls = true;
  ExpectRefused(url);
}

}  // namespace
}  // namespace sb::bench
