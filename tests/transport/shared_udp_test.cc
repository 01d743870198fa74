// One UDP socket for all of a worker's transports (WebRtcServer with `udp`): each test plays
// several browsers (ICE controlling agent, DTLS client, SRTP) on loopback sockets of their own
// and checks that what each one sends reaches its transport only, and what each transport sends
// reaches its browser only, also when a remote address moves from one peer to another.
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "tests/transport/fake_browser.h"
#include "tests/transport/test_loop.h"
#include "transport/stun_message.h"
#include "transport/webrtc_server.h"
#include "transport/webrtc_transport.h"

namespace sb::transport {
namespace {

using Bytes = std::vector<uint8_t>;

struct Sink : WebRtcTransport::Listener {
  void OnIceStateChange(IceState s) override { ice_state = s; }
  void OnDtlsStateChange(DtlsState s, const std::string&) override { dtls_state = s; }
  void OnRtpPacket(uint8_t* data, size_t len) override { rtp.emplace_back(data, data + len); }
  void OnRtcpPacket(const uint8_t*, size_t) override {}
  IceState ice_state = IceState::kNew;
  DtlsState dtls_state = DtlsState::kNew;
  std::vector<Bytes> rtp;
};

using Browser = testing::FakeBrowser;

uint32_t SsrcOf(const Bytes& rtp) {
  return (uint32_t{rtp[8]} << 24) | (uint32_t{rtp[9]} << 16) | (uint32_t{rtp[10]} << 8) | rtp[11];
}

class SharedUdpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cert = DtlsCertificate::Generate();
    ASSERT_TRUE(cert.ok());
    cert_ = *std::move(cert);
  }
  void MakeServer(std::vector<std::string> ips) {
    auto server = WebRtcServer::Create(loop_.get(), {.listen_ips = ips, .udp = true});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }
  // A transport on the shared socket(s), listening on `ips`.
  WebRtcTransport* AddTransport(Sink* sink, std::vector<std::string> ips = {"127.0.0.1"}) {
    WebRtcTransport::Options options;
    for (const auto& ip : ips) options.listen.push_back({.ip = ip, .announced = {}});
    options.server = server_.get();
    auto t = WebRtcTransport::Create(loop_.get(), options, cert_.get(), sink);
    EXPECT_TRUE(t.ok()) << t.status();
    transports_.push_back(*std::move(t));
    return transports_.back().get();
  }
  // Points `b` at the server's port of `ip`'s family.
  void Aim(Browser& b, const std::string& ip) {
    const bool v6 = ip.find(':') != std::string::npos;
    b.AimAt(server_->udp_port(v6 ? AF_INET6 : AF_INET), v6);
  }
  // ICE (one nominating check) and DTLS between `b` and `t`.
  void Connect(Browser& b, WebRtcTransport* t, Sink& sink) {
    const size_t answered = b.stun.size();
    ASSERT_NO_FATAL_FAILURE(b.ConnectTo(*t));
    ASSERT_TRUE(loop_.RunUntil([&] { return b.stun.size() > answered; }, 5000));
    ASSERT_TRUE(loop_.RunUntil([&] {
      return b.dtls_state == DtlsState::kConnected && sink.dtls_state == DtlsState::kConnected;
    }));
  }
  // Sends an RTP packet of `ssrc` from `t` (SendRtp protects in place).
  bool SendFrom(WebRtcTransport* t, uint32_t ssrc) {
    uint8_t packet[1500] = {0x80, 96};
    packet[11] = static_cast<uint8_t>(ssrc);
    packet[10] = static_cast<uint8_t>(ssrc >> 8);
    return t->SendRtp(packet, 32, sizeof(packet));
  }
  void Settle() {
    loop_.RunUntil([] { return false; }, 100);
  }

  testing::TestLoop loop_;
  std::unique_ptr<DtlsCertificate> cert_;
  std::unique_ptr<WebRtcServer> server_;
  std::vector<std::unique_ptr<WebRtcTransport>> transports_;
};

TEST_F(SharedUdpTest, EveryTransportOnOnePortAndEachPeerReachesOnlyItsOwn) {
  MakeServer({"127.0.0.1"});
  Sink s1, s2;
  WebRtcTransport* t1 = AddTransport(&s1);
  WebRtcTransport* t2 = AddTransport(&s2);
  ASSERT_NE(server_->udp_port(), 0);
  EXPECT_EQ(t1->candidates()[0].port, server_->udp_port());
  EXPECT_EQ(t2->candidates()[0].port, server_->udp_port());
  EXPECT_EQ(t1->local_port(), server_->udp_port());

  Browser b1(loop_.get(), "127.0.0.1"), b2(loop_.get(), "127.0.0.1");
  Aim(b1, "127.0.0.1");
  Aim(b2, "127.0.0.1");
  ASSERT_NO_FATAL_FAILURE(Connect(b1, t1, s1));
  ASSERT_NO_FATAL_FAILURE(Connect(b2, t2, s2));
  // Each check was answered with its own transport's password.
  ASSERT_FALSE(b1.stun.empty());
  auto response = StunMessage::Parse(b1.stun.back());
  ASSERT_TRUE(response.ok());
  EXPECT_TRUE(response->CheckIntegrity(std::string_view(t1->ice_pwd())));
  EXPECT_EQ(server_->bound_tuples(), 2u);

  for (uint16_t i = 0; i < 10; ++i) {
    b1.SendRtp(0x1111, i);
    b2.SendRtp(0x2222, i);
  }
  ASSERT_TRUE(loop_.RunUntil([&] { return s1.rtp.size() == 10 && s2.rtp.size() == 10; }));
  for (const Bytes& p : s1.rtp) EXPECT_EQ(SsrcOf(p), 0x1111u);
  for (const Bytes& p : s2.rtp) EXPECT_EQ(SsrcOf(p), 0x2222u);

  ASSERT_TRUE(SendFrom(t1, 0xAAAA));
  ASSERT_TRUE(SendFrom(t2, 0xBBBB));
  ASSERT_TRUE(loop_.RunUntil([&] { return !b1.media.empty() && !b2.media.empty(); }));
  Settle();
  ASSERT_EQ(b1.media.size(), 1u);
  ASSERT_EQ(b2.media.size(), 1u);
  EXPECT_EQ(SsrcOf(b1.media[0]), 0xAAAAu);
  EXPECT_EQ(SsrcOf(b2.media[0]), 0xBBBBu);
}

TEST_F(SharedUdpTest, StrangersAndUnknownUfragsAreDroppedAndCounted) {
  MakeServer({"127.0.0.1"});
  Sink s1;
  WebRtcTransport* t1 = AddTransport(&s1);
  Browser b1(loop_.get(), "127.0.0.1"), stranger(loop_.get(), "127.0.0.1");
  Aim(b1, "127.0.0.1");
  Aim(stranger, "127.0.0.1");
  ASSERT_NO_FATAL_FAILURE(Connect(b1, t1, s1));

  // DTLS- and RTP-looking datagrams from an address no check authenticated.
  const uint8_t dtls[] = {22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  uint8_t rtp[40] = {0x80, 96};
  stranger.Send(dtls, sizeof(dtls));
  stranger.Send(rtp, sizeof(rtp));
  // A check naming no transport, and one naming t1 with a wrong password.
  uint8_t tid[12] = {9};
  StunMessageBuilder unknown(kStunMethodBinding, StunClass::kRequest, tid);
  unknown.AddUsername("nosuchufrag:x");
  Bytes bytes = unknown.AddMessageIntegrity("whatever-password-22chars").AddFingerprint().Take();
  stranger.Send(bytes.data(), bytes.size());
  stranger.Check(*t1, "a-wrong-password-of-22-chars");
  ASSERT_TRUE(loop_.RunUntil([&] {
    return server_->stats().udp_unknown_source >= 2 && server_->stats().udp_unknown_ufrag >= 1 &&
           t1->ice_stats().auth_failures >= 1;
  }));
  Settle();
  EXPECT_TRUE(stranger.stun.empty());
  EXPECT_EQ(server_->bound_tuples(), 1u);
  EXPECT_TRUE(s1.rtp.empty());
  // The call goes on.
  b1.SendRtp(0x1111, 1);
  ASSERT_TRUE(loop_.RunUntil([&] { return s1.rtp.size() == 1; }));
}

// A peer leaves and a new one appears at the same address (a NAT reusing a port, another
// browser on the same machine): once it authenticates with another transport's credentials the
// address is that transport's, and the first transport sends nothing there any more.
TEST_F(SharedUdpTest, AnAddressThatMovesToAnotherPeerTakesNoMediaOfTheFirst) {
  MakeServer({"127.0.0.1"});
  Sink s1, s2;
  WebRtcTransport* t1 = AddTransport(&s1);
  WebRtcTransport* t2 = AddTransport(&s2);
  auto b1 = std::make_unique<Browser>(loop_.get(), "127.0.0.1");
  Aim(*b1, "127.0.0.1");
  ASSERT_NO_FATAL_FAILURE(Connect(*b1, t1, s1));
  const uint16_t port = b1->port();
  ASSERT_TRUE(SendFrom(t1, 0xAAAA));
  ASSERT_TRUE(loop_.RunUntil([&] { return b1->media.size() == 1; }));
  b1.reset();
  Settle();

  Browser b2(loop_.get(), "127.0.0.1", port);
  ASSERT_EQ(b2.port(), port);
  Aim(b2, "127.0.0.1");
  ASSERT_NO_FATAL_FAILURE(Connect(b2, t2, s2));
  EXPECT_EQ(server_->stats().udp_tuples_moved, 1u);
  EXPECT_EQ(server_->bound_tuples(), 1u);
  // t1 lost its only path: it cannot send, and b2 gets only t2's media.
  EXPECT_EQ(s1.ice_state, IceState::kDisconnected);
  EXPECT_FALSE(SendFrom(t1, 0xAAAA));
  ASSERT_TRUE(SendFrom(t2, 0xBBBB));
  ASSERT_TRUE(loop_.RunUntil([&] { return !b2.media.empty(); }));
  Settle();
  ASSERT_EQ(b2.media.size(), 1u);
  EXPECT_EQ(SsrcOf(b2.media[0]), 0xBBBBu);
  // What comes from the address goes to t2 only.
  b2.SendRtp(0x2222, 1);
  ASSERT_TRUE(loop_.RunUntil([&] { return s2.rtp.size() == 1; }));
  EXPECT_TRUE(s1.rtp.empty());
  EXPECT_EQ(t1->stats().rtp_packets_received, 0u);
}

TEST_F(SharedUdpTest, AClosedTransportLeavesNoAddressBehind) {
  MakeServer({"127.0.0.1"});
  Sink s1, s2;
  WebRtcTransport* t1 = AddTransport(&s1);
  AddTransport(&s2);
  Browser b1(loop_.get(), "127.0.0.1");
  Aim(b1, "127.0.0.1");
  ASSERT_NO_FATAL_FAILURE(Connect(b1, t1, s1));
  EXPECT_EQ(server_->registered(), 2u);
  EXPECT_EQ(server_->bound_tuples(), 1u);
  const std::string ufrag = t1->ice_ufrag();
  const std::string pwd = t1->ice_pwd();
  transports_.erase(transports_.begin());
  EXPECT_EQ(server_->registered(), 1u);
  EXPECT_EQ(server_->bound_tuples(), 0u);
  const uint64_t unknown = server_->stats().udp_unknown_source;
  b1.SendRtp(0x1111, 1);
  ASSERT_TRUE(loop_.RunUntil([&] { return server_->stats().udp_unknown_source == unknown + 1; }));
}

TEST_F(SharedUdpTest, Ipv4AndIpv6EachWithItsOwnSocketAndCandidates) {
  MakeServer({"127.0.0.1", "::1"});
  ASSERT_NE(server_->udp_port(AF_INET), 0);
  ASSERT_NE(server_->udp_port(AF_INET6), 0);
  Sink s1, s2;
  WebRtcTransport* t1 = AddTransport(&s1, {"127.0.0.1", "::1"});
  WebRtcTransport* t2 = AddTransport(&s2, {"127.0.0.1", "::1"});
  auto candidates = t1->candidates();
  ASSERT_EQ(candidates.size(), 2u);
  EXPECT_EQ(candidates[0].ip, "127.0.0.1");
  EXPECT_EQ(candidates[0].port, server_->udp_port(AF_INET));
  EXPECT_EQ(candidates[1].ip, "::1");
  EXPECT_EQ(candidates[1].port, server_->udp_port(AF_INET6));
  EXPECT_GT(candidates[0].priority, candidates[1].priority);
  EXPECT_NE(candidates[0].foundation, candidates[1].foundation);

  Browser b6(loop_.get(), "::1"), b4(loop_.get(), "127.0.0.1");
  Aim(b6, "::1");
  Aim(b4, "127.0.0.1");
  ASSERT_NO_FATAL_FAILURE(Connect(b6, t1, s1));
  ASSERT_NO_FATAL_FAILURE(Connect(b4, t2, s2));
  b6.SendRtp(0x6666, 1);
  b4.SendRtp(0x4444, 1);
  ASSERT_TRUE(loop_.RunUntil([&] { return s1.rtp.size() == 1 && s2.rtp.size() == 1; }));
  EXPECT_EQ(SsrcOf(s1.rtp[0]), 0x6666u);
  EXPECT_EQ(SsrcOf(s2.rtp[0]), 0x4444u);
  ASSERT_TRUE(SendFrom(t1, 0xAAAA));
  ASSERT_TRUE(loop_.RunUntil([&] { return b6.media.size() == 1; }));
  EXPECT_TRUE(b4.media.empty());
}

TEST_F(SharedUdpTest, PortInUseIsAnError) {
  MakeServer({"127.0.0.1"});
  auto second = WebRtcServer::Create(
      loop_.get(), {.listen_ips = {"127.0.0.1"}, .udp = true, .udp_port = server_->udp_port()});
  EXPECT_FALSE(second.ok());
  auto two_v4 = WebRtcServer::Create(loop_.get(), {.listen_ips = {"127.0.0.1", "127.0.0.2"}});
  EXPECT_FALSE(two_v4.ok());
}

// Without a shared socket a transport has a port of its own per family, and candidates for
// every announced address of each.
TEST(WebRtcTransportAddresses, OwnPortsPerFamilyAndEveryAnnouncedAddress) {
  testing::TestLoop loop;
  auto cert = DtlsCertificate::Generate();
  ASSERT_TRUE(cert.ok());
  Sink sink;
  WebRtcTransport::Options options;
  options.listen = {{.ip = "127.0.0.1", .announced = {"203.0.113.5", "192.0.2.5"}},
                    {.ip = "::1", .announced = {}}};
  auto t = WebRtcTransport::Create(loop.get(), options, cert->get(), &sink);
  ASSERT_TRUE(t.ok()) << t.status();
  auto candidates = (*t)->candidates();
  ASSERT_EQ(candidates.size(), 3u);
  EXPECT_EQ(candidates[0].ip, "203.0.113.5");
  EXPECT_EQ(candidates[1].ip, "192.0.2.5");
  EXPECT_EQ(candidates[2].ip, "::1");
  EXPECT_EQ(candidates[0].port, candidates[1].port);
  EXPECT_NE(candidates[2].port, 0);
  EXPECT_GT(candidates[0].priority, candidates[1].priority);
  EXPECT_GT(candidates[1].priority, candidates[2].priority);
  for (const auto& c : candidates) EXPECT_EQ(c.protocol, "udp");
  // Two addresses of one family cannot both be bound by one transport.
  options.listen = {{.ip = "127.0.0.1", .announced = {}}, {.ip = "127.0.0.2", .announced = {}}};
  EXPECT_FALSE(WebRtcTransport::Create(loop.get(), options, cert->get(), &sink).ok());
  // No free port in the range: an error, not a half-built transport (it used to crash).
  options.listen = {{.ip = "127.0.0.1", .announced = {}}};
  options.port_min = options.port_max = candidates[0].port;
  auto taken = WebRtcTransport::Create(loop.get(), options, cert->get(), &sink);
  ASSERT_FALSE(taken.ok());
  EXPECT_EQ(taken.status().code(), absl::StatusCode::kResourceExhausted) << taken.status();
}

}  // namespace
}  // namespace sb::transport
