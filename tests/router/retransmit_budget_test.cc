// RetransmitBudget: retransmitted bytes stay within half the media bytes of the last second
// (a slow stream: up to kMinBytes).
#include "router/retransmit_budget.h"

#include <gtest/gtest.h>

namespace sb::router {
namespace {

constexpr int64_t kStartMs = 1'000'000;

TEST(RetransmitBudgetTest, TheMinimumWithoutMedia) {
  RetransmitBudget budget;
  EXPECT_TRUE(budget.TryRetransmit(RetransmitBudget::kMinBytes, kStartMs));
  EXPECT_FALSE(budget.TryRetransmit(1, kStartMs));
  EXPECT_EQ(budget.retransmitted_bytes(kStartMs), RetransmitBudget::kMinBytes);
}

TEST(RetransmitBudgetTest, HalfOfTheMediaInTheWindow) {
  RetransmitBudget budget;
  for (int i = 0; i < 10; ++i) budget.OnMediaSent(10000, kStartMs + 100 * i);
  const int64_t now = kStartMs + 950;
  EXPECT_EQ(budget.media_bytes(now), 100000u);
  EXPECT_TRUE(budget.TryRetransmit(40000, now));
  EXPECT_TRUE(budget.TryRetransmit(10000, now));  // exactly 50%
  EXPECT_FALSE(budget.TryRetransmit(1, now));
  EXPECT_EQ(budget.retransmitted_bytes(now), 50000u) << "a refusal is not charged";
}

// A slow stream may have up to kMinBytes again a second, even more than it was sent.
TEST(RetransmitBudgetTest, SlowStreamGetsTheMinimum) {
  RetransmitBudget budget;
  budget.OnMediaSent(3000, kStartMs);
  EXPECT_TRUE(budget.TryRetransmit(3000, kStartMs + 10));
  budget.OnMediaSent(20000, kStartMs + 20);  // 23000: half is below the minimum
  EXPECT_TRUE(budget.TryRetransmit(RetransmitBudget::kMinBytes - 3000, kStartMs + 30));
  EXPECT_FALSE(budget.TryRetransmit(1, kStartMs + 30));
  budget.OnMediaSent(2000, kStartMs + 40);  // 25000: half is above it
  EXPECT_TRUE(budget.TryRetransmit(500, kStartMs + 50));
  EXPECT_FALSE(budget.TryRetransmit(1, kStartMs + 50));
}

TEST(RetransmitBudgetTest, WindowSlides) {
  RetransmitBudget budget;
  budget.OnMediaSent(100000, kStartMs);
  ASSERT_TRUE(budget.TryRetransmit(50000, kStartMs));
  EXPECT_FALSE(budget.TryRetransmit(100, kStartMs + 500));
  // A second later the old media and its retransmissions have left the window.
  EXPECT_EQ(budget.media_bytes(kStartMs + RetransmitBudget::kWindowMs), 0u);
  EXPECT_EQ(budget.retransmitted_bytes(kStartMs + RetransmitBudget::kWindowMs), 0u);
  EXPECT_TRUE(budget.TryRetransmit(RetransmitBudget::kMinBytes, kStartMs + 1000));
  EXPECT_FALSE(budget.TryRetransmit(100, kStartMs + 1100));
  budget.OnMediaSent(40000, kStartMs + 1500);
  EXPECT_TRUE(budget.TryRetransmit(20000 - RetransmitBudget::kMinBytes, kStartMs + 1500));
  EXPECT_FALSE(budget.TryRetransmit(1, kStartMs + 1500));
  // After a long silence everything is forgotten at once.
  EXPECT_EQ(budget.media_bytes(kStartMs + 100000), 0u);
}

// At a steady rate, whatever a flood asks, retransmissions over any second stay within half
// the media of that second.
TEST(RetransmitBudgetTest, SteadyStreamUnderAFlood) {
  RetransmitBudget budget;
  uint64_t granted = 0;
  std::vector<std::pair<int64_t, uint64_t>> log;  // (time, bytes granted)
  for (int64_t t = 0; t < 5000; t += 10) {
    budget.OnMediaSent(1200, kStartMs + t);  // 120 KB/s
    for (int i = 0; i < 10; ++i) {
      if (budget.TryRetransmit(1200, kStartMs + t)) {
        granted += 1200;
        log.emplace_back(t, 1200);
      }
    }
  }
  // About half of 5 s of media.
  EXPECT_GE(granted, 280'000u);
  EXPECT_LE(granted, 300'000u);
  for (int64_t start = 0; start + 1000 <= 5000; start += 100) {
    uint64_t in_window = 0;
    for (const auto& [t, bytes] : log) {
      if (t >= start && t < start + 1000) in_window += bytes;
    }
    EXPECT_LE(in_window, 120'000u / 2 + 1200) << start;
  }
}

}  // namespace
}  // namespace sb::router
