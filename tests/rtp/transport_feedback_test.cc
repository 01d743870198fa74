// Transport-wide congestion control feedback
// (draft-holmer-rmcat-transport-wide-cc-extensions-01 3.1), and reduced-size RTCP (RFC 5506).
#include "rtp/rtcp/transport_feedback.h"

#include <gtest/gtest.h>

#include <random>

#include "rtp/rtcp/pli.h"
#include "rtp/rtcp/rtcp_packet.h"
#include "tests/rtp/rtcp_test_util.h"

namespace sb::rtp {
namespace {

using testing::Bytes;
using testing::ExpectParsesAndRebuilds;
using testing::ExpectRoundTrip;
using testing::Serialized;

// Hand-built from the draft's layout: base sequence 65534 (wraps), 4 packets: received +1 ms,
// lost, received +4 ms, received -1 ms (large delta). One 2-bit status vector chunk
// 11|01 00 01 10 00 00 00 = 0xD180, deltas 04 10 FFFC, then two bytes of RTCP padding.
const Bytes kWrapPacket = {
    0xAF, 0xCD, 0x00, 0x06,  // P=1 FMT=15 PT=205, length 6
    0x00, 0x00, 0x00, 0x01,  // sender ssrc
    0x00, 0x00, 0x00, 0x02,  // media ssrc
    0xFF, 0xFE, 0x00, 0x04,  // base seq 65534, status count 4
    0x00, 0x00, 0x10, 0x07,  // reference time 16 (1.024 s), fb pkt count 7
    0xD1, 0x80, 0x04, 0x10,  // chunk, small deltas 4 and 16
    0xFF, 0xFC, 0x00, 0x02,  // large delta -4, padding
};

TEST(TransportFeedbackTest, KnownBytesWithBaseWrap) {
  TransportFeedback fb = ExpectParsesAndRebuilds<TransportFeedback>(kWrapPacket);
  EXPECT_EQ(fb.sender_ssrc, 1u);
  EXPECT_EQ(fb.media_ssrc, 2u);
  EXPECT_EQ(fb.base_sequence_number, 65534);
  EXPECT_EQ(fb.reference_time, 16);
  EXPECT_EQ(fb.feedback_packet_count, 7);
  EXPECT_EQ(fb.packets, (std::vector<TwccPacketStatus>{
                            {65534, true, 4}, {65535, false, 0}, {0, true, 16}, {1, true, -4}}));
  EXPECT_EQ(fb.ArrivalTimesUs(),
            (std::vector<int64_t>{1024000 + 1000, 1024000 + 5000, 1024000 + 4000}));
}

TEST(TransportFeedbackTest, OneBitVectorAndRunLengthChunks) {
  // Base 100, 20 packets: a 1-bit vector 1|0|10101010101010 (0xAAAA: 14 symbols, received,
  // lost, ...) and a run-length chunk of 6 received (0|01|6 = 0x2006), deltas 1..13.
  Bytes bytes = {0x8F, 0xCD, 0x00, 0x09, 0,    0,    0,    1,    0,    0,    0,    2,
                 0x00, 0x64, 0x00, 0x14, 0xFF, 0xFF, 0xFF, 0x00, 0xAA, 0xAA, 0x20, 0x06};
  for (int i = 1; i <= 13; ++i) {
    bytes.push_back(static_cast<uint8_t>(i));
  }
  bytes.insert(bytes.end(), 3, 0);  // zero padding without the P bit: accepted
  ASSERT_EQ(bytes.size(), 40u);
  std::optional<TransportFeedback> fb = TransportFeedback::Parse(bytes);
  ASSERT_TRUE(fb);
  EXPECT_EQ(fb->reference_time, -1);
  ASSERT_EQ(fb->packets.size(), 20u);
  int received = 0;
  for (size_t i = 0; i < 20; ++i) {
    EXPECT_EQ(fb->packets[i].sequence_number, 100 + i);
    const bool expect = i < 14 ? (i % 2 == 0) : true;
    EXPECT_EQ(fb->packets[i].received, expect) << i;
    if (expect) {
      EXPECT_EQ(fb->packets[i].delta_ticks, ++received);
    }
  }
  ExpectRoundTrip(*fb);
}

TEST(TransportFeedbackTest, LargeAndNegativeDeltas) {
  TransportFeedback fb;
  fb.sender_ssrc = 9;
  fb.media_ssrc = 10;
  fb.base_sequence_number = 65530;
  fb.reference_time = TransportFeedback::kMinReferenceTime;
  fb.feedback_packet_count = 255;
  const int32_t deltas[] = {0, 255, 256, -1, -32768, 32767, 300, 1};
  for (size_t i = 0; i < 8; ++i) {
    fb.packets.push_back({static_cast<uint16_t>(65530 + i), true, deltas[i]});
  }
  ExpectRoundTrip(fb);
  fb.reference_time = TransportFeedback::kMaxReferenceTime;
  ExpectRoundTrip(fb);
  // Deltas beyond 16 bits signed cannot be written.
  uint8_t buf[256];
  fb.packets[3].delta_ticks = -32769;
  EXPECT_EQ(fb.Serialize(buf, sizeof(buf)), 0u);
  fb.packets[3].delta_ticks = 32768;
  EXPECT_EQ(fb.Serialize(buf, sizeof(buf)), 0u);
}

TEST(TransportFeedbackTest, LongRunOfLostPacketsUsesRunLength) {
  std::vector<TwccPacketStatus> list = {{65000, true, 10}, {1000, true, 20}};
  // 65000 .. 1000 wraps: 536 + 1000 - 1 = 1535 lost in between.
  TransportFeedback fb = TransportFeedback::Build(1, 2, 100, 3, list);
  ASSERT_EQ(fb.packets.size(), 1537u);
  EXPECT_EQ(fb.base_sequence_number, 65000);
  EXPECT_FALSE(fb.packets[1].received);
  EXPECT_EQ(fb.packets[1].sequence_number, 65001);
  EXPECT_EQ(fb.packets.back(), (TwccPacketStatus{1000, true, 20}));
  // 1-bit vector (first received + 13 lost), run of lost, run of one received: 3 chunks.
  EXPECT_EQ(fb.Size(), 20u + 6u + 2u);
  ExpectRoundTrip(fb);
}

TEST(TransportFeedbackTest, RunsLongerThanOneChunk) {
  std::vector<TwccPacketStatus> list;
  for (int i = 0; i < 10000; ++i) {
    list.push_back({static_cast<uint16_t>(60000 + i), true, 1});
  }
  TransportFeedback fb = TransportFeedback::Build(1, 2, 0, 0, list);
  // 8191 + 1809: two run-length chunks and 10000 one-byte deltas.
  EXPECT_EQ(fb.Size(), 20u + 4u + 10000u);
  ExpectRoundTrip(fb);
}

TEST(TransportFeedbackTest, RandomStatusesRoundTrip) {
  std::mt19937 rng(1234);
  for (int round = 0; round < 50; ++round) {
    TransportFeedback fb;
    fb.base_sequence_number = static_cast<uint16_t>(rng());
    fb.reference_time = static_cast<int32_t>(rng() % 0xFFFFFF) - 0x800000;
    const size_t n = 1 + rng() % 300;
    for (size_t i = 0; i < n; ++i) {
      TwccPacketStatus p{static_cast<uint16_t>(fb.base_sequence_number + i), false, 0};
      switch (rng() % 4) {
        case 0:
          break;
        case 1:
        case 2:
          p.received = true;
          p.delta_ticks = static_cast<int32_t>(rng() % 256);
          break;
        default:
          p.received = true;
          p.delta_ticks = static_cast<int32_t>(rng() % 65536) - 32768;
      }
      // Runs, to exercise run-length chunks between vectors.
      const size_t repeat = rng() % 8 == 0 ? rng() % 40 : 0;
      for (size_t k = 0; k <= repeat && i < n; ++k, ++i) {
        p.sequence_number = static_cast<uint16_t>(fb.base_sequence_number + i);
        fb.packets.push_back(p);
      }
      --i;
    }
    ExpectRoundTrip(fb);
  }
}

TEST(TransportFeedbackTest, BuildSkipsDuplicatesAndKeepsLostDeltasZero) {
  std::vector<TwccPacketStatus> list = {{5, true, 3}, {5, true, 4}, {7, false, 99}, {6, true, 1}};
  TransportFeedback fb = TransportFeedback::Build(1, 2, 0, 0, list);
  EXPECT_EQ(fb.packets,
            (std::vector<TwccPacketStatus>{{5, true, 3}, {6, false, 0}, {7, false, 0}}));
}

TEST(TransportFeedbackTest, RejectsMalformed) {
  // Status count 0.
  Bytes b = kWrapPacket;
  b[14] = b[15] = 0;
  EXPECT_FALSE(TransportFeedback::Parse(b));
  // Reserved symbol 11 in a 2-bit vector.
  b = kWrapPacket;
  b[20] = 0xF1;
  EXPECT_FALSE(TransportFeedback::Parse(b));
  // More status symbols than the chunks and deltas carry.
  b = kWrapPacket;
  b[15] = 8;
  EXPECT_FALSE(TransportFeedback::Parse(b));
  // Four stray bytes after the deltas.
  Bytes extra = kWrapPacket;
  extra[0] = 0x8F;  // no padding: the two pad bytes become stray data
  extra.insert(extra.end(), {0, 0, 0, 0});
  extra[3] = 0x07;
  EXPECT_FALSE(TransportFeedback::Parse(extra));
  // Another FMT.
  b = kWrapPacket;
  b[0] = 0xA1;
  EXPECT_FALSE(TransportFeedback::Parse(b));
  // Serialize refuses an empty list and a gap in the sequence numbers.
  uint8_t buf[64];
  TransportFeedback fb;
  EXPECT_EQ(fb.Serialize(buf, sizeof(buf)), 0u);
  fb.packets = {{0, true, 1}, {2, true, 1}};
  EXPECT_EQ(fb.Serialize(buf, sizeof(buf)), 0u);
  fb.packets = {{0, true, 1}};
  fb.reference_time = 0x800000;
  EXPECT_EQ(fb.Serialize(buf, sizeof(buf)), 0u);
}

// RFC 5506: a reduced-size compound need not start with SR/RR; here a PLI then a TWCC packet.
TEST(ReducedSizeRtcpTest, FeedbackFirstIsAccepted) {
  Bytes compound = Serialized(Pli{1, 2});
  compound.insert(compound.end(), kWrapPacket.begin(), kWrapPacket.end());
  std::vector<uint8_t> types;
  std::vector<uint8_t> fmts;
  ASSERT_TRUE(ForEachRtcpPacket(compound, [&](const RtcpHeader& h) {
                types.push_back(h.packet_type);
                fmts.push_back(h.count_or_fmt);
              }).ok());
  EXPECT_EQ(types, (std::vector<uint8_t>{kRtcpPsfb, kRtcpRtpfb}));
  EXPECT_EQ(fmts, (std::vector<uint8_t>{kPsfbPli, kRtpfbTwcc}));
  // A single feedback packet on its own, padding included.
  int n = 0;
  ASSERT_TRUE(ForEachRtcpPacket(kWrapPacket, [&](const RtcpHeader& h) {
                ++n;
                EXPECT_TRUE(TransportFeedback::Parse(h.packet).has_value());
              }).ok());
  EXPECT_EQ(n, 1);
}

}  // namespace
}  // namespace sb::rtp
