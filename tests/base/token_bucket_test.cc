#include "base/token_bucket.h"

#include <gtest/gtest.h>

namespace sb {
namespace {

int TakeAll(TokenBucket& bucket, uint64_t now_ms, int tries) {
  int taken = 0;
  for (int i = 0; i < tries; ++i) taken += bucket.Take(now_ms) ? 1 : 0;
  return taken;
}

TEST(TokenBucket, StartsFullThenRefillsAtItsRate) {
  TokenBucket bucket(10, 5);
  EXPECT_EQ(TakeAll(bucket, 1000, 100), 5);  // the burst
  EXPECT_EQ(TakeAll(bucket, 1050, 100), 0);  // half a token came
  EXPECT_EQ(TakeAll(bucket, 1100, 100), 1);
  EXPECT_EQ(TakeAll(bucket, 2100, 100), 5);  // a second is 10 tokens, capped at the burst
}

TEST(TokenBucket, SustainedRateIsTheRate) {
  TokenBucket bucket(20, 10);
  int taken = 0;
  for (uint64_t ms = 0; ms < 10'000; ms += 5) taken += TakeAll(bucket, ms, 3);
  EXPECT_GE(taken, 10 + 199);  // burst + 20/s for 9.995 s
  EXPECT_LE(taken, 10 + 200);
}

TEST(TokenBucket, ClockGoingBackwardsGivesNothing) {
  TokenBucket bucket(10, 1);
  EXPECT_TRUE(bucket.Take(5000));
  EXPECT_FALSE(bucket.Take(1000));
  EXPECT_FALSE(bucket.Take(5000));
  EXPECT_TRUE(bucket.Take(5100));
}

}  // namespace
}  // namespace sb
