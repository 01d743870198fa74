// Pipes between two routers over real loopback UDP: each end takes only the connected address,
// with SRTP only what authenticates under the other end's key, and counts what it drops.
#include "transport/pipe_transport.h"

#include <gtest/gtest.h>
#include <netinet/in.h>

#include <memory>
#include <string>
#include <vector>

#include "tests/transport/test_loop.h"

namespace sb::transport {
namespace {

using Bytes = std::vector<uint8_t>;

struct Received : PipeTransport::Listener {
  void OnRtpPacket(uint8_t* data, size_t len) override { rtp.emplace_back(data, data + len); }
  void OnRtcpPacket(const uint8_t* data, size_t len) override {
    rtcp.emplace_back(data, data + len);
  }
  std::vector<Bytes> rtp, rtcp;
};

// An RTP packet: version 2, payload type 96, the sequence number, ssrc 0x01020304, 100 bytes of
// payload made from `seq`.
Bytes Rtp(uint16_t seq) {
  Bytes p = {0x80, 96, static_cast<uint8_t>(seq >> 8), static_cast<uint8_t>(seq), 0, 0, 0, 1, 1, 2,
             3,    4};
  for (int i = 0; i < 100; ++i) p.push_back(static_cast<uint8_t>(seq + i));
  return p;
}

// An RTCP receiver report with no blocks (RFC 3550 6.4.2): 8 bytes.
Bytes Rtcp() { return {0x80, 201, 0, 1, 0xAA, 0xBB, 0xCC, 0xDD}; }

bool Send(PipeTransport& pipe, Bytes packet, bool rtcp = false) {
  const size_t len = packet.size();
  packet.resize(len + SrtpMaxOverhead() + 4);
  return rtcp ? pipe.SendRtcp(packet.data(), len, packet.size())
              : pipe.SendRtp(packet.data(), len, packet.size());
}

// A stranger: a socket of its own on loopback that sends whatever it is given.
struct Stranger : UdpSocket::Listener {
  explicit Stranger(uv_loop_t* loop) { socket = *UdpSocket::Create(loop, "127.0.0.1", 0, 0, this); }
  void OnUdpPacket(uint8_t*, size_t, const sockaddr*) override {}
  void SendTo(uint16_t port, const Bytes& bytes) {
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(port);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socket->Send(bytes.data(), bytes.size(), reinterpret_cast<const sockaddr*>(&to));
  }
  std::unique_ptr<UdpSocket> socket;
};

class PipeTransportTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    PipeTransport::Options options;
    options.srtp = GetParam();
    auto a = PipeTransport::Create(loop_.get(), options, &a_in_);
    auto b = PipeTransport::Create(loop_.get(), options, &b_in_);
    ASSERT_TRUE(a.ok() && b.ok());
    a_ = *std::move(a);
    b_ = *std::move(b);
  }
  void ConnectBoth() {
    ASSERT_TRUE(a_->Connect("127.0.0.1", b_->local_port(), b_->local_srtp_key()).ok());
    ASSERT_TRUE(b_->Connect("127.0.0.1", a_->local_port(), a_->local_srtp_key()).ok());
  }

  testing::TestLoop loop_;
  Received a_in_, b_in_;
  std::unique_ptr<PipeTransport> a_, b_;
};

// RTP and RTCP cross both ways intact and in order, told apart by their packet type (RFC 5761).
TEST_P(PipeTransportTest, RtpAndRtcpCrossBothWays) {
  EXPECT_EQ(a_->local_srtp_key().size(), GetParam() ? 44u : 0u);
  EXPECT_FALSE(Send(*a_, Rtp(1))) << "not connected yet";
  ConnectBoth();
  for (uint16_t seq = 0; seq < 50; ++seq) ASSERT_TRUE(Send(*a_, Rtp(seq)));
  ASSERT_TRUE(Send(*a_, Rtcp(), /*rtcp=*/true));
  ASSERT_TRUE(Send(*b_, Rtp(7)));
  ASSERT_TRUE(loop_.RunUntil(
      [&] { return b_in_.rtp.size() == 50 && b_in_.rtcp.size() == 1 && a_in_.rtp.size() == 1; }));
  for (uint16_t seq = 0; seq < 50; ++seq) EXPECT_EQ(b_in_.rtp[seq], Rtp(seq));
  EXPECT_EQ(b_in_.rtcp[0], Rtcp());
  EXPECT_EQ(a_in_.rtp[0], Rtp(7));
  EXPECT_EQ(b_->stats().rtp_received, 50u);
  EXPECT_EQ(b_->stats().rtcp_received, 1u);
  EXPECT_EQ(a_->stats().rtp_sent, 50u);
  EXPECT_EQ(a_->stats().send_failures, 1u);
}

// What does not come from the connected address is dropped and counted, even a copy of a real
// packet; so is what is not RTP, and everything before Connect.
TEST_P(PipeTransportTest, StrangersAreDroppedAndCounted) {
  Stranger stranger(loop_.get());
  stranger.SendTo(b_->local_port(), Rtp(1));
  ASSERT_TRUE(loop_.RunUntil([&] { return b_->stats().packets_received == 1; }));
  EXPECT_EQ(b_->stats().not_connected, 1u);
  ConnectBoth();
  stranger.SendTo(b_->local_port(), Rtp(2));
  stranger.SendTo(b_->local_port(), Rtcp());
  if (!GetParam()) {
    // From the right address but not RTP (SRTP would not protect these: see ReplayIsRefused
    // for what the SRTP end refuses).
    ASSERT_TRUE(Send(*a_, Bytes(20, 0x16)));     // DTLS-looking bytes
    ASSERT_TRUE(Send(*a_, Bytes{0x80, 96, 0}));  // too short
  }
  ASSERT_TRUE(Send(*a_, Rtp(3)));
  ASSERT_TRUE(loop_.RunUntil([&] { return b_in_.rtp.size() == 1; }));
  loop_.RunUntil([] { return false; }, 50);
  EXPECT_EQ(b_in_.rtp[0], Rtp(3));
  EXPECT_TRUE(b_in_.rtcp.empty());
  EXPECT_EQ(b_->stats().unknown_source, 2u);
  EXPECT_EQ(b_->stats().not_rtp, GetParam() ? 0u : 2u);
  EXPECT_EQ(b_->stats().packets_received, GetParam() ? 4u : 6u);
}

INSTANTIATE_TEST_SUITE_P(PlainAndSrtp, PipeTransportTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "Srtp" : "Plain"; });

// Between hosts: an end that was given the wrong key takes nothing (every packet fails to
// authenticate); a key of the wrong size, or a second Connect, is refused.
TEST(PipeTransportSrtpTest, WrongKeyIsRefused) {
  testing::TestLoop loop;
  Received a_in, b_in, c_in;
  PipeTransport::Options options;
  options.srtp = true;
  auto a = *PipeTransport::Create(loop.get(), options, &a_in);
  auto b = *PipeTransport::Create(loop.get(), options, &b_in);
  auto c = *PipeTransport::Create(loop.get(), options, &c_in);
  // b believes c's key is a's.
  ASSERT_TRUE(a->Connect("127.0.0.1", b->local_port(), b->local_srtp_key()).ok());
  ASSERT_TRUE(b->Connect("127.0.0.1", a->local_port(), c->local_srtp_key()).ok());
  EXPECT_FALSE(c->Connect("127.0.0.1", a->local_port(), Bytes(10, 1)).ok()) << "key too short";
  for (uint16_t seq = 0; seq < 5; ++seq) ASSERT_TRUE(Send(*a, Rtp(seq)));
  ASSERT_TRUE(loop.RunUntil([&] { return b->stats().srtp_auth_failed == 5; }));
  EXPECT_TRUE(b_in.rtp.empty());

  EXPECT_FALSE(a->Connect("127.0.0.1", c->local_port(), c->local_srtp_key()).ok())
      << "a pipe connects once";
}

// The right key: a packet gets through once; the same bytes again are a replay, refused.
TEST(PipeTransportSrtpTest, ReplayIsRefused) {
  testing::TestLoop loop;
  Received in;
  PipeTransport::Options options;
  options.srtp = true;
  auto pipe = *PipeTransport::Create(loop.get(), options, &in);
  // The other end is a plain socket that protects with a key of its own.
  Stranger other(loop.get());
  const Bytes key(pipe->local_srtp_key().size(), 0x5A);
  ASSERT_TRUE(pipe->Connect("127.0.0.1", other.socket->local_port(), key).ok());
  auto out = *SrtpSession::Create(SrtpSession::Direction::kOutbound, pipe->srtp_profile(), key);
  Bytes packet = Rtp(42);
  size_t len = packet.size();
  packet.resize(len + SrtpMaxOverhead());
  ASSERT_TRUE(out->ProtectRtp(packet.data(), &len, packet.size()));
  packet.resize(len);
  other.SendTo(pipe->local_port(), packet);
  other.SendTo(pipe->local_port(), packet);
  ASSERT_TRUE(loop.RunUntil([&] { return pipe->stats().packets_received == 2; }));
  ASSERT_EQ(in.rtp.size(), 1u);
  EXPECT_EQ(in.rtp[0], Rtp(42));
  EXPECT_EQ(pipe->stats().srtp_replayed, 1u);
}

}  // namespace
}  // namespace sb::transport
