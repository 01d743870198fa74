// One continuous output stream across pauses and source switches.
#include "rtp/stream_rewriter.h"

#include <gtest/gtest.h>

#include <optional>

#include "rtp/seq_num.h"

namespace sb::rtp {
namespace {

constexpr uint32_t kVideoClock = 90000;

StreamRewriter::Output Send(StreamRewriter& r, uint16_t seq, uint32_t ts, int64_t now_ms) {
  auto out = r.Rewrite(seq, ts, now_ms);
  EXPECT_TRUE(out.has_value());
  if (!out) return {};
  r.OnSent(*out, now_ms);
  return *out;
}

TEST(StreamRewriter, FirstRunKeepsTheSourceNumbers) {
  StreamRewriter r(kVideoClock);
  EXPECT_TRUE(r.sync_required());
  auto out = Send(r, 1000, 5000, 0);
  EXPECT_EQ(out.sequence_number, 1000);
  EXPECT_EQ(out.timestamp, 5000u);
  EXPECT_FALSE(r.sync_required());
  EXPECT_TRUE(r.started());
}

TEST(StreamRewriter, SwitchingSourcesContinuesTheStream) {
  StreamRewriter r(kVideoClock);
  Send(r, 100, 9000, 0);
  auto last = Send(r, 101, 12000, 33);
  // Another source with unrelated numbers, 100 ms later.
  r.RequestSync();
  auto next = Send(r, 40000, 777777, 133);
  EXPECT_EQ(next.sequence_number, static_cast<uint16_t>(last.sequence_number + 1));
  EXPECT_EQ(next.timestamp, last.timestamp + 100 * kVideoClock / 1000);
  auto after = Send(r, 40001, 777777 + 3000, 166);
  EXPECT_EQ(after.sequence_number, static_cast<uint16_t>(next.sequence_number + 1));
  EXPECT_EQ(after.timestamp, next.timestamp + 3000);
}

TEST(StreamRewriter, ResyncWithinTheSameMillisecondStillAdvancesTheTimestamp) {
  StreamRewriter r(kVideoClock);
  auto last = Send(r, 1, 100, 50);
  r.RequestSync();
  auto next = Send(r, 9, 100, 50);
  EXPECT_EQ(next.timestamp, last.timestamp + 1);
}

TEST(StreamRewriter, LatePacketFromBeforeTheSyncPointIsDropped) {
  StreamRewriter r(kVideoClock);
  Send(r, 500, 0, 0);
  r.RequestSync();
  Send(r, 510, 3000, 40);
  EXPECT_FALSE(r.Rewrite(505, 1500, 41).has_value());
  // Reordering after the sync point is fine.
  Send(r, 512, 6000, 42);
  auto reordered = r.Rewrite(511, 6000, 43);
  ASSERT_TRUE(reordered.has_value());
}

TEST(StreamRewriter, WrapsAndKeepsFlowingOnLongStreams) {
  StreamRewriter r(kVideoClock);
  uint16_t seq = 65000;
  uint32_t ts = 0xFFFFF000u;
  uint16_t expected = seq;
  uint32_t expected_ts = ts;
  // 200000 packets of 960 ticks: both numbers wrap (the timestamp about 45 times).
  for (int i = 0; i < 200000; ++i) {
    auto out = r.Rewrite(seq, ts, i);
    ASSERT_TRUE(out.has_value()) << "packet " << i;
    ASSERT_EQ(out->sequence_number, expected) << "packet " << i;
    ASSERT_EQ(out->timestamp, expected_ts) << "packet " << i;
    r.OnSent(*out, i);
    ++seq;
    ++expected;
    ts += 960;
    expected_ts += 960;
  }
}

// The receiver's view of a stream: every packet exactly one number and `ticks` after the
// previous one, modulo 2^16 and 2^32, however the source numbers jump.
struct Continuity {
  std::optional<StreamRewriter::Output> last;
  void Expect(StreamRewriter::Output out, uint32_t ticks, const char* what) {
    if (last) {
      EXPECT_EQ(out.sequence_number, static_cast<uint16_t>(last->sequence_number + 1)) << what;
      EXPECT_EQ(out.timestamp, last->timestamp + ticks) << what;
      EXPECT_TRUE(IsTimestampNewer(out.timestamp, last->timestamp)) << what;
    }
    last = out;
  }
};

// A source whose timestamps wrap mid-run, after a switch gave it a non-zero offset: the output
// keeps advancing by the source's step, though the output itself is far from its own wrap.
TEST(StreamRewriter, SourceTimestampWrapInsideARunAfterASwitch) {
  StreamRewriter r(kVideoClock);
  Continuity c;
  c.Expect(Send(r, 100, 90000, 0), 0, "first");
  c.Expect(Send(r, 101, 93000, 33), 3000, "second");
  r.RequestSync();
  // The new layer is 8 frames before its timestamp wrap and 3 before its sequence wrap.
  uint32_t ts = 0xFFFFFFFFu - 8 * 3000 + 1;
  uint16_t seq = 65533;
  int64_t now = 66;
  c.Expect(Send(r, seq, ts, now), 33 * kVideoClock / 1000, "switch");
  EXPECT_NE(r.timestamp_offset(), 0u);
  for (int i = 0; i < 20; ++i) {
    ts += 3000;
    ++seq;
    now += 33;
    c.Expect(Send(r, seq, ts, now), 3000, "after the switch, across the source's wraps");
  }
  EXPECT_LT(ts, 90000u) << "the source timestamp wrapped";
  EXPECT_LT(seq, 100) << "the source sequence number wrapped";
}

// The output wraps while the source does not: the receiver's stream crosses 2^32 (and 2^16)
// exactly at the right step.
TEST(StreamRewriter, OutputTimestampWrapsAcrossAResume) {
  StreamRewriter r(kVideoClock);
  Continuity c;
  // The first run maps one to one: take the output to 2000 ticks and 2 numbers before its wraps.
  uint32_t ts = 0xFFFFFFFFu - 2000 - 3000 + 1;
  uint16_t seq = 65532;
  c.Expect(Send(r, seq, ts, 1000), 0, "first");
  c.Expect(Send(r, ++seq, ts += 3000, 1033), 3000, "before the pause");
  EXPECT_EQ(c.last->timestamp, 0xFFFFFFFFu - 2000 + 1);
  // Paused for 200 ms (18000 ticks); the source went on meanwhile (and does not wrap).
  r.RequestSync();
  ts = 5000000;
  seq = 7;
  auto resumed = Send(r, seq, ts, 1233);
  c.Expect(resumed, 200 * kVideoClock / 1000, "resume");
  EXPECT_EQ(resumed.timestamp, 18000u - 2000) << "past 2^32 by what is left of the pause";
  EXPECT_EQ(resumed.sequence_number, 65534);
  c.Expect(Send(r, ++seq, ts += 3000, 1266), 3000, "after the resume");
  c.Expect(Send(r, ++seq, ts += 3000, 1300), 3000, "past the sequence wrap");
  EXPECT_EQ(c.last->sequence_number, 0);
  // A late packet from before the resume is still refused across the wraps.
  EXPECT_FALSE(r.Rewrite(65533, 0xFFFFFFFFu - 2000 + 1, 1301).has_value());
}

// The last packet sent sits right at 2^32 - 1 when the stream resyncs: the new run starts on
// the other side of the wrap and every later packet of it keeps the step.
TEST(StreamRewriter, ResyncFromTheLastTimestampBeforeTheWrap) {
  StreamRewriter r(kVideoClock);
  Continuity c;
  c.Expect(Send(r, 65535, 0xFFFFFFFFu, 0), 0, "first");
  r.RequestSync();
  // Resync in the same millisecond: one tick later, that is 0.
  auto next = Send(r, 300, 12345, 0);
  c.Expect(next, 1, "resync");
  EXPECT_EQ(next.timestamp, 0u);
  EXPECT_EQ(next.sequence_number, 0);
  for (int i = 1; i <= 5; ++i) c.Expect(Send(r, 300 + i, 12345 + 3000u * i, i), 3000, "run");
}

// Pause and resume over and over near the wrap, each time on a source whose timestamps are on
// the other side of 2^31 from the output's: the receiver's stream stays continuous.
TEST(StreamRewriter, RepeatedSwitchesAcrossTheWrapStayContinuous) {
  StreamRewriter r(kVideoClock);
  Continuity c;
  int64_t now = 0;
  uint32_t ts = 0xFFFF0000u;
  uint16_t seq = 65000;
  c.Expect(Send(r, seq, ts, now), 0, "first");
  for (int round = 0; round < 50; ++round) {
    for (int i = 0; i < 10; ++i) {
      now += 10;
      c.Expect(Send(r, ++seq, ts += 900, now), 900, "within a run");
    }
    r.RequestSync();
    now += 50;
    ts += 0x80000000u + 12345;  // unrelated numbers from another layer
    seq += 30000;
    c.Expect(Send(r, seq, ts, now), 50 * kVideoClock / 1000, "switch");
  }
  // 50 rounds of 10 * 900 + 4500 ticks went past 2^32 from 0xFFFF0000.
  EXPECT_LT(c.last->timestamp, 0xFFFF0000u);
}

// Packets a forwarder drops (a temporal layer above the receiver's) leave no gap: the ones
// after them are numbered on from the last one sent.
TEST(StreamRewriter, DroppedPacketsLeaveNoGap) {
  StreamRewriter r(kVideoClock);
  EXPECT_FALSE(r.Drop(99)) << "nothing to shift before the first packet";
  Send(r, 100, 9000, 0);
  Send(r, 101, 9000, 0);
  EXPECT_TRUE(r.Drop(102));
  EXPECT_TRUE(r.Drop(103));
  auto out = Send(r, 104, 12000, 33);
  EXPECT_EQ(out.sequence_number, 102);
  EXPECT_EQ(out.timestamp, 12000u) << "timestamps are not touched";
  // A packet from before the drop arrives late: its number may be taken, it is refused.
  EXPECT_FALSE(r.Rewrite(101, 9000, 40).has_value());
  EXPECT_FALSE(r.Rewrite(103, 9000, 40).has_value());
  // A drop of a packet older than one mapped shifts nothing (its number stays a gap).
  EXPECT_FALSE(r.Drop(103));
  out = Send(r, 105, 12000, 40);
  EXPECT_EQ(out.sequence_number, 103);
  // Across the wrap.
  StreamRewriter w(kVideoClock);
  Send(w, 65534, 0, 0);
  EXPECT_TRUE(w.Drop(65535));
  EXPECT_TRUE(w.Drop(0));
  EXPECT_EQ(Send(w, 1, 3000, 33).sequence_number, 65535);
  EXPECT_EQ(Send(w, 2, 3000, 33).sequence_number, 0);
}

}  // namespace
}  // namespace sb::rtp
