#include "rtp/rate_meter.h"

#include <gtest/gtest.h>

namespace sb::rtp {
namespace {

TEST(RateMeterTest, NothingCountedIsZero) {
  RateMeter meter;
  EXPECT_EQ(meter.BitsPerSecond(0), 0);
  EXPECT_EQ(meter.BitsPerSecond(123456), 0);
}

TEST(RateMeterTest, SteadyStreamMeasuresItsRate) {
  // 1000-byte packets every 10 ms: 800 kbit/s.
  RateMeter meter;
  for (int64_t t = 0; t < 3000; t += 10) meter.Add(1000, t);
  EXPECT_NEAR(meter.BitsPerSecond(2999), 800'000, 800'000 * 0.02);
  // Halfway through a bucket: the bucket counts for the half that has run.
  RateMeter half;
  for (int64_t t = 0; t <= 2950; t += 10) half.Add(1000, t);
  EXPECT_NEAR(half.BitsPerSecond(2959), 800'000, 800'000 * 0.02);
}

TEST(RateMeterTest, ForgetsWhatIsOlderThanTheWindow) {
  RateMeter meter;
  for (int64_t t = 0; t < 1000; t += 10) meter.Add(1000, t);
  EXPECT_GT(meter.BitsPerSecond(999), 0);
  // Half a second of silence halves it; a full window of silence empties it.
  EXPECT_NEAR(meter.BitsPerSecond(1499), 400'000, 400'000 * 0.1);
  EXPECT_EQ(meter.BitsPerSecond(2000), 0);
  // A bucket slot reused a window later starts from zero.
  meter.Add(500, 2050);
  EXPECT_NEAR(meter.BitsPerSecond(2099), 500 * 8 * 1000 / 1000, 10);
}

TEST(RateMeterTest, FollowsAStepDown) {
  RateMeter meter;
  for (int64_t t = 0; t < 2000; t += 10) meter.Add(2000, t);    // 1.6 Mbit/s
  for (int64_t t = 2000; t < 4000; t += 10) meter.Add(250, t);  // 200 kbit/s
  EXPECT_NEAR(meter.BitsPerSecond(3999), 200'000, 200'000 * 0.05);
}

TEST(RateMeterTest, NegativeTimesFallInTheirOwnBuckets) {
  RateMeter meter;
  for (int64_t t = -1000; t < 0; t += 10) meter.Add(1000, t);
  EXPECT_NEAR(meter.BitsPerSecond(-1), 800'000, 800'000 * 0.02);
}

}  // namespace
}  // namespace sb::rtp
