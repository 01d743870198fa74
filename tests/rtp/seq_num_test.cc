#include "rtp/seq_num.h"

#include <gtest/gtest.h>

namespace sb::rtp {
namespace {

TEST(SeqNumTest, IsSeqNewer) {
  EXPECT_TRUE(IsSeqNewer(1, 0));
  EXPECT_FALSE(IsSeqNewer(0, 1));
  EXPECT_FALSE(IsSeqNewer(5, 5));
  EXPECT_TRUE(IsSeqNewer(0, 65535));
  EXPECT_TRUE(IsSeqNewer(10, 65500));
  EXPECT_FALSE(IsSeqNewer(65500, 10));
  EXPECT_TRUE(IsSeqNewer(0x7FFF, 0));
  EXPECT_FALSE(IsSeqNewer(0x8000, 0));
  EXPECT_EQ(SeqDiff(2, 65534), 4);
  EXPECT_EQ(SeqDiff(65534, 2), -4);
}

TEST(SeqNumTest, IsTimestampNewer) {
  EXPECT_TRUE(IsTimestampNewer(100, 0xFFFFFF00u));
  EXPECT_FALSE(IsTimestampNewer(0xFFFFFF00u, 100));
}

TEST(SeqNumTest, UnwrapperAcrossWrap) {
  SeqUnwrapper u;
  EXPECT_EQ(u.Unwrap(65534), 65534);
  EXPECT_EQ(u.Unwrap(65535), 65535);
  EXPECT_EQ(u.Unwrap(0), 65536);
  EXPECT_EQ(u.Unwrap(1), 65537);
  // A reordered packet from before the wrap maps below.
  EXPECT_EQ(u.Unwrap(65533), 65533);
  EXPECT_EQ(*u.last(), 65537);
  EXPECT_EQ(u.Unwrap(2), 65538);
  // Many wraps.
  int64_t v = 0;
  for (int i = 0; i < 5 * 65536; i += 1000) v = u.Unwrap(static_cast<uint16_t>(2 + i));
  EXPECT_EQ(v, 65538 + (5 * 65536 - 1) / 1000 * 1000);
}

TEST(SeqNumTest, UnwrapperBackwardsAtStart) {
  SeqUnwrapper u;
  EXPECT_EQ(u.Unwrap(1), 1);
  EXPECT_EQ(u.Unwrap(65535), -1);
  EXPECT_EQ(u.Peek(3), 3);
}

TEST(SeqNumTest, TimestampUnwrapper) {
  TimestampUnwrapper u;
  EXPECT_EQ(u.Unwrap(0xFFFFFFF0u), 0xFFFFFFF0ll);
  EXPECT_EQ(u.Unwrap(0x10), 0x100000010ll);
  EXPECT_EQ(u.Unwrap(0xFFFFFFFFu), 0xFFFFFFFFll);
}

TEST(SeqNumTest, TimestampUnwrapperAcrossManyWrapsAndReordering) {
  TimestampUnwrapper u;
  // 90 kHz video, 3000 ticks a frame, from just before a wrap through five of them.
  uint32_t ts = 0xFFFFFFFFu - 4 * 3000 + 1;
  int64_t expected = ts;
  int wraps = 0;
  for (int i = 0; wraps < 5; ++i) {  // about 1.4 million frames a wrap
    ASSERT_EQ(u.Unwrap(ts), expected) << "frame " << i;
    const uint32_t next = ts + 3000;
    if (next < ts) ++wraps;
    ts = next;
    expected += 3000;
  }
  // The last frame unwrapped was the last one before the fifth wrap; this one is after it.
  ASSERT_EQ(u.Unwrap(ts), expected);
  EXPECT_LT(ts, 3000u);
  EXPECT_EQ(expected >> 32, 5);
  // A late frame from before that wrap maps below, without pulling the state back.
  const int64_t newest = *u.last();
  EXPECT_EQ(u.Peek(ts - 9000), newest - 9000);
  EXPECT_EQ(u.Unwrap(ts - 9000), newest - 9000);
  EXPECT_EQ(*u.last(), newest);
  EXPECT_EQ(u.Unwrap(ts + 3000), newest + 3000);
}

}  // namespace
}  // namespace sb::rtp
