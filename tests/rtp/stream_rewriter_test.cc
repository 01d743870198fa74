// One continuous output stream across pauses and source switches.
#include "rtp/stream_rewriter.h"

#include <gtest/gtest.h>

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
  for (int i = 0; i < 200000; ++i) {
    auto out = r.Rewrite(seq, ts, i);
    ASSERT_TRUE(out.has_value()) << "packet " << i;
    ASSERT_EQ(out->sequence_number, expected);
    r.OnSent(*out, i);
    ++seq;
    ++expected;
    ts += 960;
  }
}

}  // namespace
}  // namespace sb::rtp
