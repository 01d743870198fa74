// ICE-TCP over real loopback TCP sockets: a WebRtcServer and a WebRtcTransport on one side, a
// browser played by a plain socket with the library's DTLS and SRTP on the other (RFC 6544
// active candidate, RFC 4571 framing).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "tests/transport/test_loop.h"
#include "transport/stun_message.h"
#include "transport/tcp_framing.h"
#include "transport/webrtc_server.h"
#include "transport/webrtc_transport.h"

namespace sb::transport {
namespace {

using Bytes = std::vector<uint8_t>;

struct ServerListener : WebRtcTransport::Listener {
  void OnIceStateChange(IceState s) override { ice_state = s; }
  void OnDtlsStateChange(DtlsState s, const std::string& r) override {
    dtls_state = s;
    reason = r;
  }
  void OnRtpPacket(uint8_t* data, size_t len) override { rtp.emplace_back(data, data + len); }
  void OnRtcpPacket(const uint8_t*, size_t) override {}
  IceState ice_state = IceState::kNew;
  DtlsState dtls_state = DtlsState::kNew;
  std::string reason;
  std::vector<Bytes> rtp;
};

// The browser's end of one TCP connection: a non-blocking socket read from the test loop's pump.
struct TcpBrowser : DtlsTransport::Listener {
  ~TcpBrowser() override { CloseSocket(); }
  bool Connect(uint16_t port) {
    fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(port);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof(to)) != 0) return false;
    socklen_t len = sizeof(local);
    getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len);
    return true;
  }
  void CloseSocket() {
    if (fd >= 0) close(fd);
    fd = -1;
    dtls.reset();
  }
  void SendRaw(const Bytes& bytes) {
    ASSERT_EQ(send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(bytes.size()));
  }
  void SendFrame(const uint8_t* data, size_t len) {
    Bytes frame(kTcpFrameHeaderSize);
    WriteTcpFrameHeader(len, frame.data());
    frame.insert(frame.end(), data, data + len);
    SendRaw(frame);
  }
  // Reads what is there; false once the server closed the connection.
  void Pump() {
    if (fd < 0 || eof) return;
    uint8_t buf[65536];
    for (;;) {
      const ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
        eof = true;
        return;
      }
      if (n < 0) return;
      decoder.Feed(buf, static_cast<size_t>(n), [this](uint8_t* data, size_t len) {
        if (data[0] <= 3) {
          stun.emplace_back(data, data + len);
        } else if (data[0] >= 20 && data[0] <= 63) {
          if (dtls) dtls->ProcessPacket(data, len);
        } else if (data[0] >= 128 && data[0] <= 191) {
          media.emplace_back(data, data + len);
        }
        return true;
      });
    }
  }
  // close_notify may come after the socket is gone: not an error here.
  void SendDtlsData(const uint8_t* data, size_t len) override {
    if (fd >= 0 && !eof) SendFrame(data, len);
  }
  void OnDtlsStateChange(DtlsState s, const std::string&) override { dtls_state = s; }
  void OnDtlsConnected(SrtpProfile profile, std::vector<uint8_t> l,
                       std::vector<uint8_t> r) override {
    srtp_out = *SrtpSession::Create(SrtpSession::Direction::kOutbound, profile, l);
    srtp_in = *SrtpSession::Create(SrtpSession::Direction::kInbound, profile, r);
  }
  void OnDtlsApplicationData(const uint8_t*, size_t) override {}

  int fd = -1;
  sockaddr_in local{};
  bool eof = false;
  TcpFrameDecoder decoder;
  std::unique_ptr<DtlsTransport> dtls;
  DtlsState dtls_state = DtlsState::kNew;
  std::unique_ptr<SrtpSession> srtp_out, srtp_in;
  std::vector<Bytes> stun, media;
};

Bytes BindingRequest(const std::string& username, const std::string& password, uint8_t id = 1) {
  uint8_t tid[12];
  for (int i = 0; i < 12; ++i) tid[i] = static_cast<uint8_t>(id + i);
  StunMessageBuilder b(kStunMethodBinding, StunClass::kRequest, tid);
  b.AddUsername(username).AddPriority(0x6e7f1eff).AddIceControlling(0x1122334455667788ull);
  b.AddUseCandidate();
  return b.AddMessageIntegrity(password).AddFingerprint().Take();
}

class IceTcpTest : public ::testing::Test {
 protected:
  void SetUp() override { MakeServer({.listen_ips = {"127.0.0.1"}, .tcp = true}); }
  void MakeServer(WebRtcServer::Options options) {
    auto server = WebRtcServer::Create(loop_.get(), options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    ASSERT_NE(server_->tcp_port(), 0);
    auto cert = DtlsCertificate::Generate();
    ASSERT_TRUE(cert.ok());
    cert_ = *std::move(cert);
    WebRtcTransport::Options t;
    t.listen = {{.ip = "127.0.0.1", .announced = {}}};
    t.server = server_.get();
    auto transport = WebRtcTransport::Create(loop_.get(), t, cert_.get(), &listener_);
    ASSERT_TRUE(transport.ok()) << transport.status();
    transport_ = *std::move(transport);
  }
  void TearDown() override {
    transport_.reset();
    server_.reset();
  }
  bool Run(const std::function<bool()>& done, uint64_t timeout_ms = 5000) {
    return loop_.RunUntil(done, timeout_ms, [this] {
      for (TcpBrowser* b : browsers_) b->Pump();
    });
  }
  // Connects and sends one nominating check with the transport's credentials.
  void ConnectIce(TcpBrowser& b, const std::string& pwd = "") {
    browsers_.push_back(&b);
    ASSERT_TRUE(b.Connect(server_->tcp_port()));
    Bytes check = BindingRequest(transport_->ice_ufrag() + ":browser",
                                 pwd.empty() ? transport_->ice_pwd() : pwd);
    b.SendFrame(check.data(), check.size());
  }
  void ConnectDtls(TcpBrowser& b) {
    auto cert = DtlsCertificate::Generate();
    ASSERT_TRUE(cert.ok());
    browser_cert_ = *std::move(cert);
    ASSERT_TRUE(transport_->Connect(DtlsRole::kClient, browser_cert_->Fingerprints()).ok());
    auto dtls = DtlsTransport::Create(loop_.get(), browser_cert_.get(), &b);
    ASSERT_TRUE(dtls.ok());
    b.dtls = *std::move(dtls);
    b.dtls->SetRemoteFingerprints(transport_->local_fingerprints());
    ASSERT_TRUE(b.dtls->Start(DtlsRole::kClient).ok());
    ASSERT_TRUE(Run([&] {
      return b.dtls_state == DtlsState::kConnected && listener_.dtls_state == DtlsState::kConnected;
    })) << listener_.reason;
  }

  testing::TestLoop loop_;
  std::unique_ptr<WebRtcServer> server_;
  std::unique_ptr<DtlsCertificate> cert_, browser_cert_;
  ServerListener listener_;
  std::unique_ptr<WebRtcTransport> transport_;
  std::vector<TcpBrowser*> browsers_;
};

TEST_F(IceTcpTest, PassiveCandidateBelowUdp) {
  auto candidates = transport_->candidates();
  ASSERT_EQ(candidates.size(), 2u);
  EXPECT_EQ(candidates[0].protocol, "udp");
  EXPECT_EQ(candidates[1].protocol, "tcp");
  EXPECT_EQ(candidates[1].port, server_->tcp_port());
  EXPECT_EQ(candidates[1].ip, "127.0.0.1");
  EXPECT_EQ(candidates[1].type, "host");
  EXPECT_LT(candidates[1].priority, candidates[0].priority);
  EXPECT_NE(candidates[1].foundation, candidates[0].foundation);
}

TEST_F(IceTcpTest, CheckDtlsAndSrtpOverOneConnection) {
  TcpBrowser b;
  ConnectIce(b);
  ASSERT_TRUE(Run([&] { return !b.stun.empty(); }));
  auto response = StunMessage::Parse(b.stun[0]);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->message_class(), StunClass::kSuccessResponse);
  EXPECT_TRUE(response->CheckIntegrity(std::string_view(transport_->ice_pwd())));
  // XOR-MAPPED-ADDRESS is the browser's end of the TCP connection.
  const auto* mapped = reinterpret_cast<const sockaddr_in*>(&*response->xor_mapped_address());
  EXPECT_EQ(mapped->sin_port, b.local.sin_port);
  EXPECT_EQ(transport_->ice_state(), IceState::kCompleted);
  EXPECT_TRUE(transport_->selected_tcp());
  EXPECT_EQ(transport_->tcp_connection_count(), 1u);
  EXPECT_EQ(server_->stats().tcp_handed_over, 1u);
  EXPECT_EQ(server_->pending_connections(), 0u);

  ConnectDtls(b);
  // Browser -> server.
  uint8_t packet[1500] = {0x80, 0x60, 0x12, 0x34, 0, 0, 0, 9, 0xDE, 0xAD, 0xBE, 0xEF};
  const Bytes plain(packet, packet + 200);
  for (int i = 0; i < 50; ++i) {
    size_t len = plain.size();
    std::memcpy(packet, plain.data(), len);
    packet[3] = static_cast<uint8_t>(i);
    ASSERT_TRUE(b.srtp_out->ProtectRtp(packet, &len, sizeof(packet)));
    b.SendFrame(packet, len);
  }
  ASSERT_TRUE(Run([&] { return listener_.rtp.size() == 50; }));
  EXPECT_EQ(transport_->stats().srtp_auth_failed, 0u);
  // Server -> browser.
  for (int i = 0; i < 50; ++i) {
    size_t len = plain.size();
    std::memcpy(packet, plain.data(), len);
    packet[3] = static_cast<uint8_t>(i);
    ASSERT_TRUE(transport_->SendRtp(packet, len, sizeof(packet)));
  }
  ASSERT_TRUE(Run([&] { return b.media.size() == 50; }));
  size_t len = b.media[7].size();
  ASSERT_TRUE(b.srtp_in->UnprotectRtp(b.media[7].data(), &len));
  EXPECT_EQ(len, plain.size());
  EXPECT_EQ(b.media[7][3], 7);

  // The browser closes: the path is gone, ICE has no tuple left.
  b.CloseSocket();
  ASSERT_TRUE(Run([&] { return transport_->tcp_connection_count() == 0; }));
  EXPECT_EQ(transport_->ice_state(), IceState::kDisconnected);
  EXPECT_FALSE(transport_->SendRtp(packet, plain.size(), sizeof(packet)));
}

TEST_F(IceTcpTest, UnknownUfragWrongPasswordAndNonStunAreClosed) {
  TcpBrowser unknown, wrong, http, toolong;
  browsers_ = {&unknown, &wrong, &http, &toolong};
  ASSERT_TRUE(unknown.Connect(server_->tcp_port()));
  Bytes check = BindingRequest("nosuchufrag0000:browser", transport_->ice_pwd());
  unknown.SendFrame(check.data(), check.size());
  ASSERT_TRUE(wrong.Connect(server_->tcp_port()));
  check = BindingRequest(transport_->ice_ufrag() + ":browser", "not-the-password-0123456789");
  wrong.SendFrame(check.data(), check.size());
  ASSERT_TRUE(http.Connect(server_->tcp_port()));
  const Bytes rtp = {0, 12, 0x80, 0x60, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1};
  http.SendRaw(rtp);
  ASSERT_TRUE(toolong.Connect(server_->tcp_port()));
  toolong.SendRaw({0xFF, 0xFF, 1, 2, 3});
  ASSERT_TRUE(Run([&] { return unknown.eof && wrong.eof && http.eof && toolong.eof; }));
  EXPECT_TRUE(unknown.stun.empty());
  EXPECT_TRUE(wrong.stun.empty());
  EXPECT_EQ(server_->stats().tcp_unknown_ufrag, 1u);
  EXPECT_EQ(server_->stats().tcp_not_stun, 1u);
  EXPECT_EQ(server_->stats().tcp_closed_pending, 1u);  // the frame over the bound
  EXPECT_EQ(transport_->stats().tcp_auth_failed, 1u);
  EXPECT_EQ(transport_->tcp_connection_count(), 0u);
  EXPECT_EQ(transport_->ice_state(), IceState::kNew);
}

TEST_F(IceTcpTest, SilentConnectionsTimeOutAndPendingAreBounded) {
  std::vector<std::unique_ptr<TcpBrowser>> silent;
  for (size_t i = 0; i < kMaxPendingTcpConnections + 1; ++i) {
    silent.push_back(std::make_unique<TcpBrowser>());
    ASSERT_TRUE(silent.back()->Connect(server_->tcp_port()));
    browsers_.push_back(silent.back().get());
  }
  // The one over the bound is closed at once; the others after kPendingTcpTimeoutMs.
  ASSERT_TRUE(Run([&] { return server_->stats().tcp_over_pending == 1; }));
  EXPECT_EQ(server_->pending_connections(), kMaxPendingTcpConnections);
  ASSERT_TRUE(
      Run([&] { return server_->pending_connections() == 0; }, kPendingTcpTimeoutMs + 3000));
  EXPECT_EQ(server_->stats().tcp_timed_out, kMaxPendingTcpConnections);
  ASSERT_TRUE(Run([&] {
    for (const auto& b : silent) {
      if (!b->eof) return false;
    }
    return true;
  }));
}

// A browser that stops reading: media beyond the queue bound is dropped, counted, the loop never
// blocks, and the connection is closed once it stayed full for kMaxTcpSendBlockedMs.
TEST_F(IceTcpTest, SlowReaderIsDroppedNotWaitedFor) {
  TcpBrowser b;
  ConnectIce(b);
  ASSERT_TRUE(Run([&] { return transport_->ice_state() == IceState::kCompleted; }));
  ConnectDtls(b);
  browsers_.clear();  // Stop reading.
  int small = 4096;
  setsockopt(b.fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
  uint8_t packet[1500] = {0x80, 0x60, 0, 0, 0, 0, 0, 9, 0xDE, 0xAD, 0xBE, 0xEF};
  const uint64_t start = uv_now(loop_.get());
  auto blast = [&] {
    for (int i = 0; i < 20000 && transport_->tcp_connection_count() > 0; ++i) {
      packet[2] = static_cast<uint8_t>(i >> 8);
      packet[3] = static_cast<uint8_t>(i);
      transport_->SendRtp(packet, 1100, sizeof(packet));
    }
  };
  blast();
  uv_update_time(loop_.get());
  EXPECT_LT(uv_now(loop_.get()) - start, 3000u) << "sending must never wait for the peer";
  EXPECT_GT(transport_->stats().tcp_send_drops, 0u);
  // Still over the bound later: closed (from the loop, not inside SendRtp).
  ASSERT_TRUE(Run(
      [&] {
        blast();
        return transport_->tcp_connection_count() == 0;
      },
      kMaxTcpSendBlockedMs + 5000));
}

// After an ICE restart the new ufrag reaches the transport over TCP too.
TEST_F(IceTcpTest, RestartRegistersTheNewUfrag) {
  const std::string old_ufrag = transport_->ice_ufrag();
  ASSERT_TRUE(transport_->RestartIce().ok());
  TcpBrowser b;
  ConnectIce(b);
  ASSERT_TRUE(Run([&] { return transport_->ice_state() == IceState::kCompleted; }));
  EXPECT_EQ(server_->registered(), 2u);  // the previous one still accepted until used
  ASSERT_TRUE(transport_->RestartIce().ok());
  EXPECT_EQ(server_->registered(), 2u);
  transport_->Close();
  EXPECT_EQ(server_->registered(), 0u);
  // A check naming the first ufrag (no longer accepted) finds no transport.
  TcpBrowser late;
  browsers_.push_back(&late);
  ASSERT_TRUE(late.Connect(server_->tcp_port()));
  Bytes check = BindingRequest(old_ufrag + ":browser", "whatever-password-0123456789");
  late.SendFrame(check.data(), check.size());
  ASSERT_TRUE(Run([&] { return late.eof; }));
  EXPECT_EQ(server_->stats().tcp_unknown_ufrag, 1u);
}

}  // namespace
}  // namespace sb::transport
