// router::RembSender on packets with hand-set arrival times: what it sends is a REMB naming the
// ssrcs its listener gives, with the receive-side estimate; values of the wrong length are
// counted and not used; packets without the extension are skipped.
#include "router/remb_sender.h"

#include <gtest/gtest.h>

#include <optional>
#include <vector>

#include "rtp/header_extensions.h"
#include "rtp/rtcp/remb.h"
#include "tests/router/rtp_test_packets.h"

namespace sb::router {
namespace {

constexpr uint8_t kAbsSendTimeId = 2;
constexpr uint32_t kSsrc = 0xA0000001;

struct Recorder : RembSender::Listener {
  std::vector<uint32_t> ssrcs = {kSsrc, 0xA0000002};
  std::vector<rtp::Remb> sent;
  std::vector<int64_t> reported;
  void CollectRembSsrcs(std::vector<uint32_t>* out) override {
    out->insert(out->end(), ssrcs.begin(), ssrcs.end());
  }
  void OnRembSenderRtcp(uint8_t* data, size_t len, size_t capacity) override {
    ASSERT_LE(len, capacity);
    auto remb = rtp::Remb::Parse({data, len});
    ASSERT_TRUE(remb.has_value());
    sent.push_back(*remb);
  }
  void OnRembSent(int64_t estimate_bps) override { reported.push_back(estimate_bps); }
};

std::vector<uint8_t> AbsSendTime(int64_t us) {
  std::vector<uint8_t> value(3);
  rtp::WriteAbsSendTime(rtp::AbsSendTimeFromUs(us), value.data(), value.size());
  return value;
}

void Feed(RembSender& sender, uint16_t seq, int64_t send_us, int64_t arrival_us,
          std::optional<std::vector<uint8_t>> abs = std::nullopt) {
  testing::TestPacket packet(96, seq, seq * 3000u, kSsrc, std::vector<uint8_t>(1000, 0x42),
                             {{kAbsSendTimeId, abs ? *abs : AbsSendTime(send_us)}});
  ASSERT_TRUE(packet.ok());
  sender.OnRtpPacket(packet.get(), arrival_us);
}

TEST(RembSenderTest, SendsARembWithTheEstimateAndThePublishersSsrcs) {
  Recorder listener;
  RembSender sender(kAbsSendTimeId, 0x5AB5C1BE, &listener);
  // 1000-byte packets every 10 ms (about 830 kbit/s) for 3 s.
  for (uint16_t i = 0; i < 300; ++i) Feed(sender, i, i * 10'000, 5'000'000 + i * 10'000);
  ASSERT_GE(listener.sent.size(), 2u) << "one a second from the first second on";
  EXPECT_LE(listener.sent.size(), 3u);
  const rtp::Remb& remb = listener.sent.back();
  EXPECT_EQ(remb.sender_ssrc, 0x5AB5C1BEu);
  EXPECT_EQ(remb.ssrcs, listener.ssrcs);
  EXPECT_GE(remb.bitrate_bps, 700'000u);
  EXPECT_LE(remb.bitrate_bps, 1'400'000u);
  EXPECT_EQ(sender.counters().remb_sent, listener.sent.size());
  // Reported up from the first on, then on 10 % moves (it grows 8 %/s here), not every REMB.
  ASSERT_FALSE(listener.reported.empty());
  // (the REMB's 18-bit mantissa rounds the bitrate down a little)
  EXPECT_NEAR(static_cast<double>(listener.reported.front()),
              static_cast<double>(listener.sent.front().bitrate_bps), 16.0);
  EXPECT_LE(listener.reported.size(), listener.sent.size());
  EXPECT_EQ(sender.counters().abs_send_time_malformed, 0u);
}

TEST(RembSenderTest, MalformedAndMissingValuesAreCountedAndNotUsed) {
  Recorder listener;
  RembSender sender(kAbsSendTimeId, 1, &listener);
  Feed(sender, 1, 0, 0, std::vector<uint8_t>{1, 2});
  Feed(sender, 2, 0, 0, std::vector<uint8_t>{1, 2, 3, 4});
  testing::TestPacket bare(96, 3, 0, kSsrc, std::vector<uint8_t>(100, 0), {});
  ASSERT_TRUE(bare.ok());
  sender.OnRtpPacket(bare.get(), 0);
  EXPECT_EQ(sender.counters().abs_send_time_malformed, 2u);
  EXPECT_EQ(sender.counters().packets_without_abs_send_time, 1u);
  EXPECT_EQ(sender.bwe().counters().packets, 0u);
}

TEST(RembSenderTest, NoSsrcsNoRemb) {
  Recorder listener;
  listener.ssrcs.clear();
  RembSender sender(kAbsSendTimeId, 1, &listener);
  for (uint16_t i = 0; i < 300; ++i) Feed(sender, i, i * 10'000, i * 10'000);
  EXPECT_TRUE(sender.estimate_bps().has_value());
  EXPECT_TRUE(listener.sent.empty());
  EXPECT_EQ(sender.counters().remb_sent, 0u);
}

}  // namespace
}  // namespace sb::router
