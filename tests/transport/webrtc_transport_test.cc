// WebRtcTransport end to end over loopback UDP: the test plays the browser (ICE controlling
// agent + DTLS client + SRTP) with the library's own pieces.
#include "transport/webrtc_transport.h"

#include <gtest/gtest.h>
#include <netinet/in.h>

#include <cstring>
#include <vector>

#include "tests/transport/test_loop.h"
#include "transport/stun_message.h"

namespace sb::transport {
namespace {

struct ServerListener : WebRtcTransport::Listener {
  void OnIceStateChange(IceState s) override { ice_states.push_back(s); }
  void OnDtlsStateChange(DtlsState s, const std::string& r) override {
    dtls_state = s;
    reason = r;
  }
  void OnRtpPacket(uint8_t* data, size_t len) override { rtp.emplace_back(data, data + len); }
  void OnRtcpPacket(const uint8_t* data, size_t len) override {
    rtcp.emplace_back(data, data + len);
  }
  std::vector<IceState> ice_states;
  DtlsState dtls_state = DtlsState::kNew;
  std::string reason;
  std::vector<std::vector<uint8_t>> rtp, rtcp;
};

// The browser: a UDP socket, a DTLS client and SRTP sessions from its exported keys.
struct Browser : UdpSocket::Listener, DtlsTransport::Listener {
  void OnUdpPacket(uint8_t* data, size_t len, const sockaddr*) override {
    if (len == 0) return;
    if (data[0] <= 3) {
      stun.emplace_back(data, data + len);
    } else if (data[0] >= 20 && data[0] <= 63) {
      if (dtls) dtls->ProcessPacket(data, len);
    } else if (data[0] >= 128 && data[0] <= 191) {
      media.emplace_back(data, data + len);
    }
  }
  void SendDtlsData(const uint8_t* data, size_t len) override {
    socket->Send(data, len, reinterpret_cast<const sockaddr*>(&server));
  }
  void OnDtlsStateChange(DtlsState s, const std::string&) override { dtls_state = s; }
  void OnDtlsConnected(SrtpProfile profile, std::vector<uint8_t> local,
                       std::vector<uint8_t> remote) override {
    srtp_out = *SrtpSession::Create(SrtpSession::Direction::kOutbound, profile, local);
    srtp_in = *SrtpSession::Create(SrtpSession::Direction::kInbound, profile, remote);
  }
  void OnDtlsApplicationData(const uint8_t*, size_t) override {}

  void SendStun(const std::vector<uint8_t>& bytes) {
    ASSERT_TRUE(
        socket->Send(bytes.data(), bytes.size(), reinterpret_cast<const sockaddr*>(&server)));
  }

  std::unique_ptr<UdpSocket> socket;
  sockaddr_in server{};
  std::unique_ptr<DtlsCertificate> cert;
  std::unique_ptr<DtlsTransport> dtls;
  DtlsState dtls_state = DtlsState::kNew;
  std::unique_ptr<SrtpSession> srtp_out, srtp_in;
  std::vector<std::vector<uint8_t>> stun, media;
};

// A DTLS endpoint that only records what it would send.
struct Endpoint : DtlsTransport::Listener {
  void SendDtlsData(const uint8_t* data, size_t len) override {
    datagrams.emplace_back(data, data + len);
  }
  void OnDtlsStateChange(DtlsState, const std::string&) override {}
  void OnDtlsConnected(SrtpProfile, std::vector<uint8_t>, std::vector<uint8_t>) override {}
  void OnDtlsApplicationData(const uint8_t*, size_t) override {}
  std::unique_ptr<DtlsCertificate> cert;
  std::vector<std::vector<uint8_t>> datagrams;
};

std::vector<uint8_t> BindingRequest(const std::string& username, const std::string& password,
                                    bool use_candidate) {
  uint8_t tid[12];
  for (int i = 0; i < 12; ++i) tid[i] = static_cast<uint8_t>(0xA0 + i);
  StunMessageBuilder b(kStunMethodBinding, StunClass::kRequest, tid);
  b.AddUsername(username).AddPriority(0x6e7f1eff).AddIceControlling(0x1122334455667788ull);
  if (use_candidate) b.AddUseCandidate();
  return b.AddMessageIntegrity(password).AddFingerprint().Take();
}

class WebRtcTransportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cert = DtlsCertificate::Generate();
    ASSERT_TRUE(cert.ok());
    server_cert_ = *std::move(cert);
    WebRtcTransport::Options options;
    options.listen = {{.ip = "127.0.0.1", .announced = {"192.0.2.10"}}};
    auto transport = WebRtcTransport::Create(loop_.get(), options, server_cert_.get(), &server_);
    ASSERT_TRUE(transport.ok()) << transport.status();
    transport_ = *std::move(transport);

    auto socket = UdpSocket::Create(loop_.get(), "127.0.0.1", 50000, 59999, &browser_);
    ASSERT_TRUE(socket.ok()) << socket.status();
    browser_.socket = *std::move(socket);
    browser_.server.sin_family = AF_INET;
    browser_.server.sin_port = htons(transport_->local_port());
    browser_.server.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cert = DtlsCertificate::Generate();
    ASSERT_TRUE(cert.ok());
    browser_.cert = *std::move(cert);
  }
  void TearDown() override {
    if (transport_) transport_->Close();
    transport_.reset();
    browser_.dtls.reset();
    browser_.socket.reset();
  }

  // ICE (one nominating check) and DTLS with the browser as client; `profiles` are the SRTP
  // profiles the browser offers.
  void StartBrowserDtls(const char* profiles = kDtlsSrtpProfiles) {
    auto dtls = DtlsTransport::Create(loop_.get(), browser_.cert.get(), &browser_, 5000, profiles);
    ASSERT_TRUE(dtls.ok());
    browser_.dtls = *std::move(dtls);
    browser_.dtls->SetRemoteFingerprints(transport_->local_fingerprints());
    ASSERT_TRUE(browser_.dtls->Start(DtlsRole::kClient).ok());
  }
  void Nominate() {
    browser_.SendStun(
        BindingRequest(transport_->ice_ufrag() + ":browser", transport_->ice_pwd(), true));
    ASSERT_TRUE(loop_.RunUntil([&] { return transport_->ice_state() == IceState::kCompleted; }));
  }
  void ConnectBrowser() {
    ASSERT_TRUE(transport_->Connect(DtlsRole::kClient, browser_.cert->Fingerprints()).ok());
    Nominate();
    StartBrowserDtls();
    ASSERT_TRUE(loop_.RunUntil([&] {
      return browser_.dtls_state == DtlsState::kConnected &&
             server_.dtls_state == DtlsState::kConnected;
    })) << server_.reason;
  }
  // `plain` protected with the browser's SRTP (RTCP when rtcp).
  std::vector<uint8_t> Protect(std::vector<uint8_t> plain, bool rtcp = false) {
    size_t len = plain.size();
    plain.resize(len + 256);
    const bool ok = rtcp ? browser_.srtp_out->ProtectRtcp(plain.data(), &len, plain.size())
                         : browser_.srtp_out->ProtectRtp(plain.data(), &len, plain.size());
    EXPECT_TRUE(ok);
    plain.resize(len);
    return plain;
  }

  testing::TestLoop loop_;
  ServerListener server_;
  Browser browser_;
  std::unique_ptr<DtlsCertificate> server_cert_;
  std::unique_ptr<WebRtcTransport> transport_;
};

TEST_F(WebRtcTransportTest, Description) {
  auto candidates = transport_->candidates();
  ASSERT_EQ(candidates.size(), 1u);
  EXPECT_EQ(candidates[0].ip, "192.0.2.10");
  EXPECT_EQ(candidates[0].port, transport_->local_port());
  EXPECT_GE(candidates[0].port, 40000);
  EXPECT_LE(candidates[0].port, 49999);
  EXPECT_EQ(candidates[0].protocol, "udp");
  EXPECT_EQ(candidates[0].type, "host");
  EXPECT_EQ(transport_->ice_ufrag().size(), 16u);
  EXPECT_EQ(transport_->ice_pwd().size(), 32u);
  ASSERT_FALSE(transport_->local_fingerprints().empty());
  EXPECT_EQ(transport_->local_fingerprints()[0].algorithm, "sha-256");
  EXPECT_EQ(transport_->ice_state(), IceState::kNew);
  EXPECT_EQ(transport_->dtls_state(), DtlsState::kNew);
  EXPECT_FALSE(transport_->Connect(DtlsRole::kClient, {}).ok());
  uint8_t rtp[256] = {0x80, 0x60};
  EXPECT_FALSE(transport_->SendRtp(rtp, 12, sizeof(rtp)));
}

// ICE restart changes the credentials only: same socket, candidate and certificate. (The
// old/new credential switch is in ice_server_test.cc, end to end in the worker tests.)
TEST_F(WebRtcTransportTest, RestartIceChangesCredentialsOnly) {
  const std::string ufrag = transport_->ice_ufrag();
  const std::string pwd = transport_->ice_pwd();
  const uint16_t port = transport_->local_port();
  ASSERT_TRUE(transport_->RestartIce().ok());
  EXPECT_NE(transport_->ice_ufrag(), ufrag);
  EXPECT_NE(transport_->ice_pwd(), pwd);
  EXPECT_EQ(transport_->ice_ufrag().size(), 16u);
  EXPECT_EQ(transport_->ice_pwd().size(), 32u);
  EXPECT_EQ(transport_->local_port(), port);
  EXPECT_EQ(transport_->candidates()[0].port, port);
  EXPECT_EQ(transport_->local_fingerprints()[0].value, server_cert_->Fingerprints()[0].value);
  transport_->Close();
  EXPECT_EQ(transport_->RestartIce().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(WebRtcTransportTest, EndToEnd) {
  ASSERT_TRUE(transport_->Connect(DtlsRole::kClient, browser_.cert->Fingerprints()).ok());

  // A media packet before ICE is dropped: the source is not validated.
  uint8_t early[40] = {0x80, 0x60, 0, 1};
  browser_.SendStun(std::vector<uint8_t>(early, early + sizeof(early)));
  ASSERT_TRUE(loop_.RunUntil([&] { return transport_->stats().packets_dropped == 1; }));
  EXPECT_EQ(transport_->stats().unknown_source, 1u);

  // ICE: one nominating check.
  browser_.SendStun(
      BindingRequest(transport_->ice_ufrag() + ":browser", transport_->ice_pwd(), true));
  ASSERT_TRUE(loop_.RunUntil([&] { return !browser_.stun.empty(); }));
  auto response = StunMessage::Parse(browser_.stun[0]);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->message_class(), StunClass::kSuccessResponse);
  EXPECT_TRUE(response->CheckIntegrity(std::string_view(transport_->ice_pwd())));
  EXPECT_TRUE(response->CheckFingerprint());
  ASSERT_TRUE(response->xor_mapped_address());
  const auto* mapped = reinterpret_cast<const sockaddr_in*>(&*response->xor_mapped_address());
  const auto* local = reinterpret_cast<const sockaddr_in*>(&browser_.socket->local_address());
  EXPECT_EQ(mapped->sin_port, local->sin_port);
  EXPECT_EQ(mapped->sin_addr.s_addr, htonl(INADDR_LOOPBACK));
  EXPECT_EQ(transport_->ice_state(), IceState::kCompleted);
  EXPECT_EQ(server_.ice_states, (std::vector<IceState>{IceState::kCompleted}));

  // DTLS: the browser is the client.
  auto dtls = DtlsTransport::Create(loop_.get(), browser_.cert.get(), &browser_);
  ASSERT_TRUE(dtls.ok());
  browser_.dtls = *std::move(dtls);
  browser_.dtls->SetRemoteFingerprints(transport_->local_fingerprints());
  ASSERT_TRUE(browser_.dtls->Start(DtlsRole::kClient).ok());
  ASSERT_TRUE(loop_.RunUntil([&] {
    return browser_.dtls_state == DtlsState::kConnected &&
           server_.dtls_state == DtlsState::kConnected;
  })) << server_.reason;
  EXPECT_EQ(transport_->srtp_profile_name(), "SRTP_AEAD_AES_256_GCM");
  ASSERT_TRUE(browser_.srtp_out && browser_.srtp_in);

  // Browser -> server RTP and RTCP, decrypted at the listener.
  uint8_t packet[1500] = {0x80, 0x60, 0x12, 0x34, 0, 0, 0, 9, 0xDE, 0xAD, 0xBE, 0xEF};
  for (size_t i = 12; i < 112; ++i) packet[i] = static_cast<uint8_t>(i);
  const std::vector<uint8_t> plain(packet, packet + 112);
  size_t len = 112;
  ASSERT_TRUE(browser_.srtp_out->ProtectRtp(packet, &len, sizeof(packet)));
  browser_.SendStun(std::vector<uint8_t>(packet, packet + len));
  uint8_t rr[256] = {0x80, 201, 0x00, 0x01, 0xDE, 0xAD, 0xBE, 0xEF};
  const std::vector<uint8_t> plain_rr(rr, rr + 8);
  len = 8;
  ASSERT_TRUE(browser_.srtp_out->ProtectRtcp(rr, &len, sizeof(rr)));
  browser_.SendStun(std::vector<uint8_t>(rr, rr + len));
  ASSERT_TRUE(loop_.RunUntil([&] { return !server_.rtp.empty() && !server_.rtcp.empty(); }));
  EXPECT_EQ(server_.rtp[0], plain);
  EXPECT_EQ(server_.rtcp[0], plain_rr);
  EXPECT_EQ(transport_->stats().rtp_packets_received, 1u);
  EXPECT_EQ(transport_->stats().rtcp_packets_received, 1u);

  // A replay of the same SRTP packet is dropped and counted.
  const uint64_t dropped = transport_->stats().packets_dropped;
  browser_.SendStun(std::vector<uint8_t>(rr, rr + len));
  ASSERT_TRUE(loop_.RunUntil([&] { return transport_->stats().packets_dropped == dropped + 1; }));
  EXPECT_EQ(transport_->stats().srtp_replayed, 1u);

  // Server -> browser.
  uint8_t out[1500] = {0x80, 0x6F, 0x00, 0x07, 0, 0, 1, 0, 0x01, 0x02, 0x03, 0x04, 'm', 'e', 'd'};
  const std::vector<uint8_t> plain_out(out, out + 15);
  ASSERT_TRUE(transport_->SendRtp(out, 15, sizeof(out)));
  uint8_t sr[256] = {0x80, 200, 0x00, 0x01, 0x01, 0x02, 0x03, 0x04};
  ASSERT_TRUE(transport_->SendRtcp(sr, 8, sizeof(sr)));
  ASSERT_TRUE(loop_.RunUntil([&] { return browser_.media.size() == 2; }));
  auto& got = browser_.media[0];
  size_t got_len = got.size();
  ASSERT_TRUE(browser_.srtp_in->UnprotectRtp(got.data(), &got_len));
  EXPECT_EQ(std::vector<uint8_t>(got.begin(), got.begin() + got_len), plain_out);
  auto& got_rtcp = browser_.media[1];
  size_t rtcp_len = got_rtcp.size();
  ASSERT_TRUE(browser_.srtp_in->UnprotectRtcp(got_rtcp.data(), &rtcp_len));
  EXPECT_EQ(rtcp_len, 8u);
  EXPECT_EQ(transport_->stats().rtp_packets_sent, 1u);
  EXPECT_EQ(transport_->stats().rtcp_packets_sent, 1u);

  // Close: close_notify reaches the browser, no more listener calls, sends fail.
  transport_->Close();
  transport_->Close();
  ASSERT_TRUE(loop_.RunUntil([&] { return browser_.dtls_state == DtlsState::kClosed; }));
  EXPECT_FALSE(transport_->SendRtp(out, 15, sizeof(out)));
}

TEST_F(WebRtcTransportTest, BadIntegrityGetsNoResponse) {
  browser_.SendStun(BindingRequest(transport_->ice_ufrag() + ":browser", "wrong password", true));
  browser_.SendStun(BindingRequest("wrongufrag:browser", transport_->ice_pwd(), true));
  ASSERT_TRUE(loop_.RunUntil([&] { return transport_->ice_stats().auth_failures == 2; }));
  // Give a response time to arrive if one were sent.
  loop_.RunUntil([] { return false; }, 200);
  EXPECT_TRUE(browser_.stun.empty());
  EXPECT_EQ(transport_->ice_state(), IceState::kNew);
  EXPECT_TRUE(server_.ice_states.empty());
}

TEST_F(WebRtcTransportTest, DtlsBeforeConnectIsBuffered) {
  // ICE completes and the browser starts DTLS before the server's Connect().
  browser_.SendStun(
      BindingRequest(transport_->ice_ufrag() + ":browser", transport_->ice_pwd(), true));
  ASSERT_TRUE(loop_.RunUntil([&] { return transport_->ice_state() == IceState::kCompleted; }));
  auto dtls = DtlsTransport::Create(loop_.get(), browser_.cert.get(), &browser_);
  ASSERT_TRUE(dtls.ok());
  browser_.dtls = *std::move(dtls);
  browser_.dtls->SetRemoteFingerprints(transport_->local_fingerprints());
  ASSERT_TRUE(browser_.dtls->Start(DtlsRole::kClient).ok());
  loop_.RunUntil([] { return false; }, 100);  // ClientHello arrives and waits.
  EXPECT_EQ(transport_->dtls_state(), DtlsState::kNew);
  ASSERT_TRUE(transport_->Connect(DtlsRole::kAuto, browser_.cert->Fingerprints()).ok());
  ASSERT_TRUE(loop_.RunUntil([&] {
    return browser_.dtls_state == DtlsState::kConnected &&
           server_.dtls_state == DtlsState::kConnected;
  })) << server_.reason;
}

TEST_F(WebRtcTransportTest, ActsAsDtlsClientWhenRemoteIsServer) {
  ASSERT_TRUE(transport_->Connect(DtlsRole::kServer, browser_.cert->Fingerprints()).ok());
  auto dtls = DtlsTransport::Create(loop_.get(), browser_.cert.get(), &browser_);
  ASSERT_TRUE(dtls.ok());
  browser_.dtls = *std::move(dtls);
  browser_.dtls->SetRemoteFingerprints(transport_->local_fingerprints());
  ASSERT_TRUE(browser_.dtls->Start(DtlsRole::kServer).ok());
  // Before nomination the transport already has a tuple to send its ClientHello to.
  browser_.SendStun(
      BindingRequest(transport_->ice_ufrag() + ":browser", transport_->ice_pwd(), false));
  ASSERT_TRUE(loop_.RunUntil([&] {
    return browser_.dtls_state == DtlsState::kConnected &&
           server_.dtls_state == DtlsState::kConnected;
  })) << server_.reason;
  EXPECT_EQ(transport_->ice_state(), IceState::kConnected);
  EXPECT_EQ(browser_.dtls->role(), DtlsRole::kServer);
}

// What strangers and a misbehaving peer send: every datagram dropped is counted once, by
// kind, nothing is answered, and the session goes on.
TEST_F(WebRtcTransportTest, HostileDatagramsAreDroppedAndCountedByKind) {
  ASSERT_TRUE(transport_->Connect(DtlsRole::kClient, browser_.cert->Fingerprints()).ok());
  Nominate();
  // Media after ICE, before the DTLS keys.
  uint8_t early[40] = {0x80, 0x60, 0, 1};
  browser_.SendStun(std::vector<uint8_t>(early, early + sizeof(early)));
  ASSERT_TRUE(loop_.RunUntil([&] { return transport_->stats().srtp_no_keys == 1; }));
  StartBrowserDtls();
  ASSERT_TRUE(loop_.RunUntil([&] {
    return browser_.dtls_state == DtlsState::kConnected &&
           server_.dtls_state == DtlsState::kConnected;
  })) << server_.reason;
  const WebRtcTransport::Stats before = transport_->stats();
  const size_t stun_answers = browser_.stun.size();

  // A stranger on another port: nothing it sends reaches DTLS or SRTP, nothing is answered.
  Browser stranger;
  auto socket = UdpSocket::Create(loop_.get(), "127.0.0.1", 50000, 59999, &stranger);
  ASSERT_TRUE(socket.ok());
  stranger.socket = *std::move(socket);
  stranger.server = browser_.server;

  std::vector<uint8_t> rtp = {0x80, 0x60, 0x00, 0x10, 0, 0, 0, 9, 0xDE, 0xAD, 0xBE, 0xEF};
  rtp.resize(100, 0x55);
  const std::vector<uint8_t> protected_rtp = Protect(rtp);
  std::vector<uint8_t> rr = {0x80, 201, 0x00, 0x01, 0xDE, 0xAD, 0xBE, 0xEF};
  const std::vector<uint8_t> protected_rr = Protect(rr, /*rtcp=*/true);
  std::vector<uint8_t> next_rtp = rtp;
  next_rtp[3] = 0x11;
  std::vector<uint8_t> forged = Protect(next_rtp);
  forged[40] ^= 0x01;
  const std::vector<uint8_t> short_rtp = {0x80, 0x60, 0, 2, 0, 0, 0, 0};
  const std::vector<uint8_t> dtls_record = {22, 0xFE, 0xFD, 0, 1, 0, 0, 0, 0, 0, 9, 0, 1, 1};

  for (const auto& garbage : std::vector<std::vector<uint8_t>>{
           {0x04}, {0x13, 1, 2, 3}, {0x40, 0, 0}, {0x7F}, {0xC0, 0xC8, 0, 1}, {0xFF, 0xFF}}) {
    browser_.SendStun(garbage);
    stranger.SendStun(garbage);
  }
  stranger.SendStun(protected_rtp);
  stranger.SendStun(protected_rr);
  stranger.SendStun(dtls_record);
  browser_.SendStun(protected_rtp);  // accepted
  browser_.SendStun(protected_rtp);  // replayed
  browser_.SendStun(protected_rr);   // accepted
  browser_.SendStun(protected_rr);   // replayed
  browser_.SendStun(forged);         // the tag does not verify
  browser_.SendStun(short_rtp);      // too short for SRTP
  // A second ClientHello from the peer's own address.
  Endpoint second_client;
  auto cert = DtlsCertificate::Generate();
  ASSERT_TRUE(cert.ok());
  second_client.cert = *std::move(cert);
  auto dtls = DtlsTransport::Create(loop_.get(), second_client.cert.get(), &second_client);
  ASSERT_TRUE(dtls.ok());
  ASSERT_TRUE((*dtls)->Start(DtlsRole::kClient).ok());
  ASSERT_EQ(second_client.datagrams.size(), 1u);
  browser_.SendStun(second_client.datagrams[0]);
  (*dtls)->Close();

  const auto delta = [&](uint64_t WebRtcTransport::Stats::*field) {
    return transport_->stats().*field - before.*field;
  };
  ASSERT_TRUE(loop_.RunUntil([&] {
    return transport_->dtls_stats().client_hellos_after_handshake == 1 &&
           delta(&WebRtcTransport::Stats::packets_dropped) == 19;
  })) << transport_->stats().packets_dropped - before.packets_dropped;
  EXPECT_EQ(delta(&WebRtcTransport::Stats::unknown_packets), 12u);
  EXPECT_EQ(delta(&WebRtcTransport::Stats::unknown_source), 3u);
  EXPECT_EQ(delta(&WebRtcTransport::Stats::srtp_replayed), 2u);
  EXPECT_EQ(delta(&WebRtcTransport::Stats::srtp_auth_failed), 1u);
  EXPECT_EQ(delta(&WebRtcTransport::Stats::srtp_malformed), 1u);
  EXPECT_EQ(delta(&WebRtcTransport::Stats::srtp_no_keys), 0u);
  EXPECT_EQ(delta(&WebRtcTransport::Stats::dtls_dropped), 0u);
  EXPECT_EQ(delta(&WebRtcTransport::Stats::rtp_packets_received), 1u);
  EXPECT_EQ(delta(&WebRtcTransport::Stats::rtcp_packets_received), 1u);
  EXPECT_EQ(server_.rtp.size(), 1u);
  EXPECT_EQ(server_.rtcp.size(), 1u);

  // The session goes on: the genuine next packet (same number as the forged one) gets in.
  browser_.SendStun(Protect(next_rtp));
  ASSERT_TRUE(loop_.RunUntil([&] { return server_.rtp.size() == 2; }));
  EXPECT_EQ(server_.rtp[1], next_rtp);
  EXPECT_EQ(transport_->dtls_state(), DtlsState::kConnected);
  EXPECT_TRUE(stranger.stun.empty() && stranger.media.empty()) << "a stranger was answered";
  EXPECT_EQ(browser_.stun.size(), stun_answers);
  stranger.socket.reset();
}

// The browser's certificate is not the one signalled: the handshake is refused (no keys ever
// exist), the failure is reported with its reason, and the transport stops answering ICE.
TEST_F(WebRtcTransportTest, WrongRemoteFingerprintFails) {
  ASSERT_TRUE(transport_->Connect(DtlsRole::kClient, server_cert_->Fingerprints()).ok());
  Nominate();
  StartBrowserDtls();
  ASSERT_TRUE(loop_.RunUntil([&] { return server_.dtls_state == DtlsState::kFailed; }));
  EXPECT_EQ(server_.reason, "remote fingerprint mismatch");
  EXPECT_EQ(transport_->dtls_stats().fingerprint_mismatches, 1u);
  EXPECT_TRUE(transport_->srtp_profile_name().empty());
  uint8_t out[256] = {0x80, 0x6F};
  EXPECT_FALSE(transport_->SendRtp(out, 12, sizeof(out)));
  // The browser hears the refusal (a bad_certificate alert).
  ASSERT_TRUE(loop_.RunUntil([&] { return browser_.dtls_state == DtlsState::kFailed; }));
  // Closed: checks get no answer.
  EXPECT_EQ(transport_->ice_state(), IceState::kClosed);
  const size_t answers = browser_.stun.size();
  browser_.SendStun(
      BindingRequest(transport_->ice_ufrag() + ":browser", transport_->ice_pwd(), true));
  loop_.RunUntil([] { return false; }, 200);
  EXPECT_EQ(browser_.stun.size(), answers);
}

// A browser that offers no SRTP profile we accept: the handshake completes without one, the
// transport fails with that reason and closes.
TEST_F(WebRtcTransportTest, NoCommonSrtpProfileFails) {
  ASSERT_TRUE(transport_->Connect(DtlsRole::kClient, browser_.cert->Fingerprints()).ok());
  Nominate();
  StartBrowserDtls("SRTP_AES128_CM_SHA1_32");
  ASSERT_TRUE(loop_.RunUntil([&] { return server_.dtls_state == DtlsState::kFailed; }));
  EXPECT_NE(server_.reason.find("SRTP profile"), std::string::npos) << server_.reason;
  EXPECT_TRUE(transport_->srtp_profile_name().empty());
  EXPECT_EQ(transport_->ice_state(), IceState::kClosed);
  EXPECT_EQ(transport_->dtls_stats().fingerprint_mismatches, 0u);
}

}  // namespace
}  // namespace sb::transport
