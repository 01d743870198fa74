// The delay-based detector on hand-made timings: a steady path is normal, a growing queue is
// overuse, a draining one underuse; bursts the network delivered together are one group.
#include "bwe/delay_based.h"

#include <gtest/gtest.h>

#include <cstdint>

namespace sb::bwe {
namespace {

// Feeds packets sent every `send_gap_us` whose one-way delay grows by `delay_step_us` each.
BandwidthUsage Feed(DelayBasedDetector& d, int count, int64_t send_gap_us, int64_t delay_step_us,
                    int64_t* t, int64_t* delay) {
  BandwidthUsage last = d.usage();
  for (int i = 0; i < count; ++i) {
    *t += send_gap_us;
    *delay += delay_step_us;
    last = d.OnPacket({*t, *t + *delay, 1200});
  }
  return last;
}

TEST(DelayBasedDetectorTest, SteadyPathIsNormal) {
  DelayBasedDetector d;
  int64_t t = 0, delay = 20'000;
  EXPECT_EQ(Feed(d, 500, 10'000, 0, &t, &delay), BandwidthUsage::kNormal);
  EXPECT_NEAR(d.trend(), 0.0, 1e-9);
}

TEST(DelayBasedDetectorTest, JitterWithoutTrendIsNormal) {
  DelayBasedDetector d;
  int64_t t = 0;
  for (int i = 0; i < 1000; ++i) {
    t += 10'000;
    const int64_t jitter = (i * 7919) % 5 * 1000;  // 0-4 ms, no trend
    EXPECT_NE(d.OnPacket({t, t + 20'000 + jitter, 1200}), BandwidthUsage::kOverusing) << i;
  }
}

TEST(DelayBasedDetectorTest, GrowingQueueIsOveruse) {
  DelayBasedDetector d;
  int64_t t = 0, delay = 20'000;
  Feed(d, 100, 10'000, 0, &t, &delay);
  // The queue grows 1 ms every 10 ms: the sender is 10 % over the link.
  bool overuse = false;
  for (int i = 0; i < 100 && !overuse; ++i) {
    overuse = Feed(d, 1, 10'000, 1'000, &t, &delay) == BandwidthUsage::kOverusing;
  }
  EXPECT_TRUE(overuse) << "trend " << d.trend() << " threshold " << d.threshold_ms();
}

TEST(DelayBasedDetectorTest, DrainingQueueIsUnderuse) {
  DelayBasedDetector d;
  int64_t t = 0, delay = 300'000;
  Feed(d, 100, 10'000, 0, &t, &delay);
  bool underuse = false;
  for (int i = 0; i < 100 && !underuse; ++i) {
    underuse = Feed(d, 1, 10'000, -2'000, &t, &delay) == BandwidthUsage::kUnderusing;
  }
  EXPECT_TRUE(underuse) << "trend " << d.trend();
}

TEST(DelayBasedDetectorTest, ABurstDeliveredTogetherIsOneGroup) {
  // Packets sent 10 ms apart but delivered within 1 ms of each other after a stall (a Wi-Fi
  // aggregation burst): the delay falls inside the burst, which is not underuse.
  DelayBasedDetector d;
  int64_t t = 0, delay = 20'000;
  Feed(d, 100, 10'000, 0, &t, &delay);
  const int64_t stall_end = t + 100'000;
  for (int i = 0; i < 10; ++i) {
    t += 10'000;
    EXPECT_NE(d.OnPacket({t, stall_end + i * 500, 1200}), BandwidthUsage::kOverusing);
  }
  delay = stall_end + 10 * 500 - t;
  EXPECT_NE(Feed(d, 50, 10'000, 0, &t, &delay), BandwidthUsage::kOverusing);
}

}  // namespace
}  // namespace sb::bwe
