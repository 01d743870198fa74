// SRTP/SRTCP round trips, tampering, replays and bad input for every profile.
#include "transport/srtp_session.h"

#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <vector>

namespace sb::transport {
namespace {

constexpr size_t kCapacity = 1500;

std::vector<uint8_t> KeySalt(SrtpProfile profile, uint8_t seed) {
  std::vector<uint8_t> key(SrtpKeyLength(profile) + SrtpSaltLength(profile));
  for (size_t i = 0; i < key.size(); ++i) key[i] = static_cast<uint8_t>(seed + i * 7);
  return key;
}

std::array<uint8_t, kCapacity> RtpPacket(uint16_t seq, size_t* len) {
  std::array<uint8_t, kCapacity> p{};
  p[0] = 0x80;
  p[1] = 96;
  p[2] = static_cast<uint8_t>(seq >> 8);
  p[3] = static_cast<uint8_t>(seq);
  p[4] = 0x00, p[5] = 0x01, p[6] = 0x02, p[7] = 0x03;    // Timestamp.
  p[8] = 0xCA, p[9] = 0xFE, p[10] = 0xBA, p[11] = 0xBE;  // SSRC.
  for (size_t i = 12; i < 172; ++i) p[i] = static_cast<uint8_t>(i);
  *len = 172;
  return p;
}

std::array<uint8_t, kCapacity> RtcpPacket(size_t* len) {
  // A receiver report with no report blocks, then an SDES-sized filler APP packet.
  std::array<uint8_t, kCapacity> p{};
  const uint8_t rr[] = {0x80, 201, 0x00, 0x01, 0xCA, 0xFE, 0xBA, 0xBE};
  std::copy(std::begin(rr), std::end(rr), p.begin());
  *len = sizeof(rr);
  return p;
}

class SrtpSessionTest : public ::testing::TestWithParam<SrtpProfile> {
 protected:
  void SetUp() override {
    auto out =
        SrtpSession::Create(SrtpSession::Direction::kOutbound, GetParam(), KeySalt(GetParam(), 1));
    auto in =
        SrtpSession::Create(SrtpSession::Direction::kInbound, GetParam(), KeySalt(GetParam(), 1));
    ASSERT_TRUE(out.ok()) << out.status();
    ASSERT_TRUE(in.ok()) << in.status();
    out_ = *std::move(out);
    in_ = *std::move(in);
  }
  std::unique_ptr<SrtpSession> out_;
  std::unique_ptr<SrtpSession> in_;
};

TEST_P(SrtpSessionTest, RtpRoundTrip) {
  for (uint16_t seq = 1000; seq < 1010; ++seq) {
    size_t len = 0;
    auto packet = RtpPacket(seq, &len);
    const auto original = packet;
    const size_t original_len = len;
    ASSERT_TRUE(out_->ProtectRtp(packet.data(), &len, packet.size()));
    EXPECT_GT(len, original_len);
    EXPECT_LE(len, original_len + SrtpMaxOverhead());
    EXPECT_NE(0, std::memcmp(packet.data() + 12, original.data() + 12, original_len - 12));
    ASSERT_TRUE(in_->UnprotectRtp(packet.data(), &len));
    ASSERT_EQ(len, original_len);
    EXPECT_EQ(0, std::memcmp(packet.data(), original.data(), len));
  }
}

TEST_P(SrtpSessionTest, RtpTamperedFails) {
  size_t len = 0;
  auto packet = RtpPacket(7, &len);
  ASSERT_TRUE(out_->ProtectRtp(packet.data(), &len, packet.size()));
  for (size_t i : {size_t{2}, size_t{20}, len - 1}) {
    auto tampered = packet;
    size_t n = len;
    tampered[i] ^= 0x10;
    SrtpError error = SrtpError::kNone;
    EXPECT_FALSE(in_->UnprotectRtp(tampered.data(), &n, &error)) << "byte " << i;
    EXPECT_EQ(error, SrtpError::kAuth) << "byte " << i;
  }
  // The untouched packet still passes afterwards.
  EXPECT_TRUE(in_->UnprotectRtp(packet.data(), &len));
}

TEST_P(SrtpSessionTest, RtpReplayFails) {
  size_t len = 0;
  auto packet = RtpPacket(42, &len);
  ASSERT_TRUE(out_->ProtectRtp(packet.data(), &len, packet.size()));
  auto copy = packet;
  size_t copy_len = len;
  ASSERT_TRUE(in_->UnprotectRtp(packet.data(), &len));
  SrtpError error = SrtpError::kNone;
  EXPECT_FALSE(in_->UnprotectRtp(copy.data(), &copy_len, &error));
  EXPECT_EQ(error, SrtpError::kReplay);
}

// A packet older than the replay window is refused as a replay too, even if never seen.
TEST_P(SrtpSessionTest, RtpOlderThanWindowFails) {
  size_t old_len = 0;
  auto old_packet = RtpPacket(100, &old_len);
  ASSERT_TRUE(out_->ProtectRtp(old_packet.data(), &old_len, old_packet.size()));
  size_t len = 0;
  auto packet = RtpPacket(static_cast<uint16_t>(100 + kSrtpReplayWindow + 10), &len);
  ASSERT_TRUE(out_->ProtectRtp(packet.data(), &len, packet.size()));
  ASSERT_TRUE(in_->UnprotectRtp(packet.data(), &len));
  SrtpError error = SrtpError::kNone;
  EXPECT_FALSE(in_->UnprotectRtp(old_packet.data(), &old_len, &error));
  EXPECT_EQ(error, SrtpError::kReplay);
}

TEST_P(SrtpSessionTest, OutboundAllowsRetransmission) {
  for (int i = 0; i < 2; ++i) {
    size_t len = 0;
    auto packet = RtpPacket(99, &len);
    EXPECT_TRUE(out_->ProtectRtp(packet.data(), &len, packet.size()));
  }
}

TEST_P(SrtpSessionTest, RtcpRoundTripTamperReplay) {
  size_t len = 0;
  auto packet = RtcpPacket(&len);
  const auto original = packet;
  const size_t original_len = len;
  ASSERT_TRUE(out_->ProtectRtcp(packet.data(), &len, packet.size()));
  EXPECT_GT(len, original_len);
  auto tampered = packet;
  size_t tampered_len = len;
  tampered[5] ^= 0x01;
  SrtpError error = SrtpError::kNone;
  EXPECT_FALSE(in_->UnprotectRtcp(tampered.data(), &tampered_len, &error));
  EXPECT_EQ(error, SrtpError::kAuth);
  auto replay = packet;
  size_t replay_len = len;
  ASSERT_TRUE(in_->UnprotectRtcp(packet.data(), &len));
  ASSERT_EQ(len, original_len);
  EXPECT_EQ(0, std::memcmp(packet.data(), original.data(), len));
  EXPECT_FALSE(in_->UnprotectRtcp(replay.data(), &replay_len, &error));
  EXPECT_EQ(error, SrtpError::kReplay);
}

TEST_P(SrtpSessionTest, WrongKeyFails) {
  auto other =
      SrtpSession::Create(SrtpSession::Direction::kInbound, GetParam(), KeySalt(GetParam(), 2));
  ASSERT_TRUE(other.ok());
  size_t len = 0;
  auto packet = RtpPacket(1, &len);
  ASSERT_TRUE(out_->ProtectRtp(packet.data(), &len, packet.size()));
  EXPECT_FALSE((*other)->UnprotectRtp(packet.data(), &len));
}

TEST_P(SrtpSessionTest, RejectsShortAndNoRoom) {
  size_t len = 0;
  auto packet = RtpPacket(1, &len);
  size_t short_len = 11;
  SrtpError error = SrtpError::kNone;
  EXPECT_FALSE(in_->UnprotectRtp(packet.data(), &short_len, &error));
  EXPECT_EQ(error, SrtpError::kMalformed);
  EXPECT_FALSE(out_->ProtectRtp(packet.data(), &len, len + 4));
  std::array<uint8_t, 4> garbage = {0x80, 0x60, 0, 0};
  size_t garbage_len = garbage.size();
  EXPECT_FALSE(in_->UnprotectRtp(garbage.data(), &garbage_len));
  EXPECT_FALSE(in_->UnprotectRtcp(garbage.data(), &garbage_len));
}

INSTANTIATE_TEST_SUITE_P(AllProfiles, SrtpSessionTest,
                         ::testing::Values(SrtpProfile::kAes128CmSha1_80,
                                           SrtpProfile::kAeadAes128Gcm,
                                           SrtpProfile::kAeadAes256Gcm),
                         [](const auto& info) { return std::string(SrtpProfileName(info.param)); });

TEST(SrtpSessionCreateTest, RejectsWrongKeyLength) {
  std::vector<uint8_t> key(10);
  EXPECT_FALSE(
      SrtpSession::Create(SrtpSession::Direction::kInbound, SrtpProfile::kAeadAes128Gcm, key).ok());
  EXPECT_EQ(SrtpProfileName(SrtpProfile::kAeadAes256Gcm), "SRTP_AEAD_AES_256_GCM");
}

}  // namespace
}  // namespace sb::transport
