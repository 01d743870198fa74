#include "rtp/receive_stats.h"

#include <gtest/gtest.h>

#include "rtp/ntp.h"

namespace sb::rtp {
namespace {

constexpr uint32_t kOpusClock = 48000;

TEST(ReceiveStatsTest, NoLossAcrossWrapAndZeroJitter) {
  ReceiveStats s;
  for (int i = 0; i < 100; ++i) {
    // 20 ms packets, constant transit: jitter stays 0.
    s.OnPacket(static_cast<uint16_t>(65500 + i), 1000 + 960u * i, 5000 + 20 * i, kOpusClock, 120);
  }
  EXPECT_EQ(s.packets(), 100u);
  EXPECT_EQ(s.bytes(), 12000u);
  EXPECT_EQ(s.ext_highest_seq(), 65599u);
  ReportBlock b = s.MakeReportBlock(0xAB, 7000);
  EXPECT_EQ(b.ssrc, 0xABu);
  EXPECT_EQ(b.fraction_lost, 0);
  EXPECT_EQ(b.cumulative_lost, 0);
  EXPECT_EQ(b.ext_highest_seq, 65599u);
  EXPECT_EQ(b.jitter, 0u);
  EXPECT_EQ(b.lsr, 0u);
  EXPECT_EQ(b.dlsr, 0u);
}

TEST(ReceiveStatsTest, LossPatternFractionAndCumulative) {
  ReceiveStats s;
  for (int i = 0; i < 100; ++i) {
    if (i % 10 == 5) continue;  // 10 lost
    s.OnPacket(static_cast<uint16_t>(i), 960u * i, 20 * i, kOpusClock, 100);
  }
  ReportBlock b = s.MakeReportBlock(1, 2000);
  EXPECT_EQ(b.cumulative_lost, 10);
  EXPECT_EQ(b.fraction_lost, 10 * 256 / 100);
  EXPECT_EQ(b.ext_highest_seq, 99u);
  // Next interval without loss: fraction 0, cumulative unchanged.
  for (int i = 100; i < 200; ++i)
    s.OnPacket(static_cast<uint16_t>(i), 960u * i, 20 * i, kOpusClock, 100);
  b = s.MakeReportBlock(1, 4000);
  EXPECT_EQ(b.fraction_lost, 0);
  EXPECT_EQ(b.cumulative_lost, 10);
  // An interval where half is lost: 200, 202, ... 298 received (50 of 99 expected).
  for (int i = 200; i < 300; i += 2)
    s.OnPacket(static_cast<uint16_t>(i), 960u * i, 20 * i, kOpusClock, 100);
  b = s.MakeReportBlock(1, 6000);
  EXPECT_EQ(b.cumulative_lost, 10 + 49);
  EXPECT_EQ(b.fraction_lost, 49 * 256 / 99);
  // A late packet recovers one: the interval has negative loss, reported as 0.
  s.OnPacket(201, 960u * 201, 6010, kOpusClock, 100);
  b = s.MakeReportBlock(1, 6100);
  EXPECT_EQ(b.fraction_lost, 0);
  EXPECT_EQ(b.cumulative_lost, 58);
}

TEST(ReceiveStatsTest, DuplicatesMakeLossNegative) {
  ReceiveStats s;
  s.OnPacket(10, 0, 0, kOpusClock, 1);
  s.OnPacket(11, 960, 20, kOpusClock, 1);
  s.OnPacket(11, 960, 21, kOpusClock, 1);
  EXPECT_EQ(s.cumulative_lost(), -1);
  EXPECT_EQ(s.MakeReportBlock(1, 0).fraction_lost, 0);
}

TEST(ReceiveStatsTest, LargeJumpNeedsConfirmation) {
  ReceiveStats s;
  for (int i = 0; i < 10; ++i) s.OnPacket(static_cast<uint16_t>(i), 0, 0, kOpusClock, 1);
  s.OnPacket(30000, 0, 0, kOpusClock, 1);  // ignored for loss
  EXPECT_EQ(s.ext_highest_seq(), 9u);
  EXPECT_EQ(s.cumulative_lost(), 0);
  s.OnPacket(10, 0, 0, kOpusClock, 1);  // in order again: no restart
  EXPECT_EQ(s.ext_highest_seq(), 10u);
  s.OnPacket(40000, 0, 0, kOpusClock, 1);
  s.OnPacket(40001, 0, 0, kOpusClock, 1);  // confirms: restart at 40001
  EXPECT_EQ(s.ext_highest_seq(), 40001u);
  EXPECT_EQ(s.cumulative_lost(), 0);
  EXPECT_EQ(s.packets(), 14u);
}

TEST(ReceiveStatsTest, ReorderAcrossWrapDoesNotAddCycle) {
  ReceiveStats s;
  s.OnPacket(65534, 0, 0, kOpusClock, 1);
  s.OnPacket(0, 0, 0, kOpusClock, 1);
  s.OnPacket(65535, 0, 0, kOpusClock, 1);  // late
  s.OnPacket(1, 0, 0, kOpusClock, 1);
  EXPECT_EQ(s.ext_highest_seq(), 65536u + 1);
  EXPECT_EQ(s.cumulative_lost(), 0);
}

TEST(ReceiveStatsTest, CumulativeLostClampsTo24Bits) {
  ReceiveStats s;
  uint16_t seq = 0;
  for (int i = 0; i < 3000; ++i) {
    s.OnPacket(seq, 0, 0, kOpusClock, 1);
    seq = static_cast<uint16_t>(seq + 2999);
  }
  EXPECT_EQ(s.cumulative_lost(), ReportBlock::kMaxCumulativeLost);
  EXPECT_EQ(s.MakeReportBlock(1, 0).fraction_lost, 255);
}

TEST(ReceiveStatsTest, JitterFromAlternatingTransit) {
  ReceiveStats s;
  // Clock 1 kHz so that one ms is one tick; transit alternates 0 / 5 ms: |D| = 5 each time.
  for (int i = 0; i < 500; ++i) {
    s.OnPacket(static_cast<uint16_t>(i), 10u * i, 10 * i + (i % 2 ? 5 : 0), 1000, 1);
  }
  EXPECT_GE(s.jitter(), 4u);
  EXPECT_LE(s.jitter(), 5u);
  // At 90 kHz, 5 ms is 450 ticks.
  ReceiveStats v;
  for (int i = 0; i < 500; ++i) {
    v.OnPacket(static_cast<uint16_t>(i), 3000u * i, 100 * i / 3 + (i % 2 ? 5 : 0), 90000, 1);
  }
  EXPECT_NEAR(static_cast<double>(v.jitter()), 450.0, 60.0);
}

// A.8's transit difference is taken modulo 2^32: a source timestamp crossing the wrap is not a
// 2^32-tick jump in transit time. Steady 20 ms packets keep jitter at 0, across both wraps.
TEST(ReceiveStatsTest, JitterAcrossTheTimestampWrap) {
  ReceiveStats s;
  const uint32_t first_ts = 0xFFFFFFFFu - 10 * 960 + 1;  // wraps after 10 packets
  for (int i = 0; i < 100; ++i) {
    s.OnPacket(static_cast<uint16_t>(65530 + i), first_ts + 960u * i, 1000 + 20 * i, kOpusClock,
               100);
  }
  EXPECT_EQ(s.jitter(), 0u);
  EXPECT_EQ(s.ext_highest_seq(), 65530u + 99);
  EXPECT_EQ(s.cumulative_lost(), 0);

  // Alternating transit (0 / 5 ms at 1 kHz) gives the same jitter whether or not the
  // timestamps wrap on the way.
  ReceiveStats plain;
  ReceiveStats wrapping;
  for (int i = 0; i < 500; ++i) {
    const int64_t arrival = 10 * i + (i % 2 ? 5 : 0);
    plain.OnPacket(static_cast<uint16_t>(i), 1000u + 10u * i, arrival, 1000, 1);
    wrapping.OnPacket(static_cast<uint16_t>(i), 0xFFFFFFFFu - 2000 + 10u * i, arrival, 1000, 1);
  }
  EXPECT_GE(plain.jitter(), 4u);
  EXPECT_EQ(wrapping.jitter(), plain.jitter());
}

TEST(ReceiveStatsTest, LsrAndDlsr) {
  ReceiveStats s;
  s.OnPacket(1, 0, 0, kOpusClock, 1);
  s.OnSenderReport(0x12345678, 0x9ABCDEF0, 1000);
  ReportBlock b = s.MakeReportBlock(1, 1500);
  EXPECT_EQ(b.lsr, 0x56789ABCu);
  EXPECT_EQ(b.dlsr, 32768u);  // 0.5 s in 1/65536 s
}

TEST(SendStatsTest, CountsAndExtrapolates) {
  SendStats s;
  EXPECT_FALSE(s.started());
  s.OnPacket(1000, 100, 50);
  s.OnPacket(1960, 120, 70);
  EXPECT_EQ(s.packets(), 2u);
  EXPECT_EQ(s.octets(), 220u);
  EXPECT_EQ(s.last_rtp_timestamp(), 1960u);
  EXPECT_EQ(s.RtpTimestampAt(90, 48000), 1960u + 960);
}

TEST(SendStatsTest, ExtrapolatesAcrossTheTimestampWrap) {
  SendStats s;
  s.OnPacket(0xFFFFFFFFu - 479, 100, 1000);  // 480 ticks (10 ms at 48 kHz) before the wrap
  EXPECT_EQ(s.RtpTimestampAt(1020, 48000), 960u - 480);
  EXPECT_EQ(s.RtpTimestampAt(1010, 48000), 0u);
}

TEST(NtpTest, Conversions) {
  NtpTime t = NtpFromUnixMs(1500);
  EXPECT_EQ(t.seconds, kNtpUnixOffsetSeconds + 1);
  EXPECT_EQ(t.fraction, 0x80000000u);
  EXPECT_EQ(NtpToUnixMs(t), 1500);
  EXPECT_EQ(NtpToUnixMs(NtpFromUnixMs(1700000000123)), 1700000000123);
  EXPECT_EQ((NtpTime{0x12345678, 0x9ABCDEF0}.Compact()), 0x56789ABCu);
  EXPECT_EQ(NtpTime::FromU64(t.ToU64()), t);
  EXPECT_EQ(MsToCompactNtp(1000), 65536u);
  EXPECT_EQ(CompactNtpToMs(65536 / 4), 250);
}

}  // namespace
}  // namespace sb::rtp
