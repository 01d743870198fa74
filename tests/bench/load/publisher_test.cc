// The publisher's pure pieces: the RTCP sender report it sends per stream, the media clock the
// report and the packets share, and the simulcast bitrate split.
#include "bench/load/publisher.h"

#include <ctime>
#include <vector>

#include "gtest/gtest.h"
#include "rtp/rtcp/rtcp_packet.h"
#include "rtp/rtcp/sdes.h"
#include "rtp/rtcp/sender_report.h"

namespace sb::bench {
namespace {

TEST(Publisher, SenderReportIsSrThenSdesCname) {
  SenderReportFields f;
  f.ssrc = 0x11223344;
  f.ntp = {3900000000u, 0x80000000u};
  f.rtp_timestamp = 123456789;
  f.packet_count = 1000;
  f.octet_count = 987654;
  f.cname = "abcdefghijklmnop";
  uint8_t buffer[256];
  const size_t len = BuildSenderReport(f, buffer, sizeof(buffer));
  ASSERT_GT(len, 0u);
  EXPECT_EQ(len % 4, 0u);
  std::vector<uint8_t> types;
  std::optional<rtp::SenderReport> sr;
  std::optional<rtp::Sdes> sdes;
  ASSERT_TRUE(
      rtp::ForEachRtcpPacket(absl::Span<const uint8_t>(buffer, len), [&](const rtp::RtcpHeader& h) {
        types.push_back(h.packet_type);
        if (h.packet_type == rtp::kRtcpSr) {
          sr = rtp::SenderReport::Parse(h.packet);
        } else if (h.packet_type == rtp::kRtcpSdes) {
          sdes = rtp::Sdes::Parse(h.packet);
        }
      }).ok());
  // RFC 3550 6.1: the compound starts with the report and carries the CNAME.
  EXPECT_EQ(types, (std::vector<uint8_t>{rtp::kRtcpSr, rtp::kRtcpSdes}));
  ASSERT_TRUE(sr);
  EXPECT_EQ(sr->sender_ssrc, f.ssrc);
  EXPECT_EQ(sr->ntp_seconds, f.ntp.seconds);
  EXPECT_EQ(sr->ntp_fraction, f.ntp.fraction);
  EXPECT_EQ(sr->rtp_timestamp, f.rtp_timestamp);
  EXPECT_EQ(sr->packet_count, f.packet_count);
  EXPECT_EQ(sr->octet_count, f.octet_count);
  EXPECT_TRUE(sr->report_blocks.empty());
  ASSERT_TRUE(sdes);
  ASSERT_EQ(sdes->chunks.size(), 1u);
  EXPECT_EQ(sdes->chunks[0].ssrc, f.ssrc);
  EXPECT_EQ(sdes->chunks[0].cname, f.cname);

  EXPECT_EQ(BuildSenderReport(f, buffer, 30), 0u);  // too small for both
}

TEST(Publisher, MediaClockAdvancesAtItsRate) {
  const int64_t t = 123'456'789'012;  // any monotonic time, in microseconds
  EXPECT_EQ(MediaTimestamp(1000, 90000, t + 1'000'000) - MediaTimestamp(1000, 90000, t), 90000u);
  EXPECT_EQ(MediaTimestamp(7, 48000, t + 20'000) - MediaTimestamp(7, 48000, t), 960u);
  EXPECT_EQ(MediaTimestamp(0, 90000, 0), 0u);
  EXPECT_EQ(MediaTimestamp(0xFFFFFFF0u, 90000, 1000), 0xFFFFFFF0u + 90u);  // wraps
}

TEST(Publisher, WallClockNtpIsNow) {
  const rtp::NtpTime ntp = WallClockNtp();
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  const int64_t unix_seconds =
      static_cast<int64_t>(ntp.seconds) - static_cast<int64_t>(rtp::kNtpUnixOffsetSeconds);
  EXPECT_LE(std::abs(unix_seconds - now), 1);
}

TEST(Publisher, SimulcastSplitFollowsChromiumsLayers) {
  // At libwebrtc's own total the split gives back its table.
  EXPECT_EQ(SimulcastLayerKbps(0, 3150), 150u);
  EXPECT_EQ(SimulcastLayerKbps(1, 3150), 500u);
  EXPECT_EQ(SimulcastLayerKbps(2, 3150), 2500u);
  uint32_t sum = 0;
  for (size_t i = 0; i < 3; ++i) sum += SimulcastLayerKbps(i, 1000);
  EXPECT_LE(sum, 1000u);
  EXPECT_GE(sum, 998u);
  EXPECT_EQ(SimulcastLayerKbps(0, 1), 1u);  // never 0
  EXPECT_STREQ(kSimulcastLayers[0].rid, "q");
  EXPECT_STREQ(kSimulcastLayers[2].rid, "f");
}

}  // namespace
}  // namespace sb::bench
