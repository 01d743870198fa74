// The receive-side estimator on synthetic traces: a paced sender behind a bottleneck link (a
// FIFO of fixed capacity and 20 ms propagation), stamping abs-send-time, and, in closed loop,
// sending at what the REMBs say as a REMB-only sender does.
#include "bwe/receive_side_bwe.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <utility>
#include <vector>

#include "rtp/header_extensions.h"

namespace sb::bwe {
namespace {

// The two ends' clocks have nothing in common; the sender's starts near the 64 s wrap.
constexpr int64_t kSendClockOffsetUs = 60'000'000;
constexpr int64_t kArrivalClockOffsetUs = 1'000'000'000;
constexpr int64_t kPropagationUs = 20'000;
constexpr size_t kPacketSize = 1200;

struct Sim {
  ReceiveSideBwe bwe;
  int64_t capacity_bps = 5'000'000;
  int64_t rate_bps = 300'000;  // what the sender sends at
  int64_t max_rate_bps = 2'500'000;
  bool follow_remb = true;
  double loss = 0;
  int64_t now_us = 0;  // the sender's clock, from 0
  int64_t link_free_us = 0;
  std::mt19937 rng{7};
  std::vector<std::pair<int64_t, int64_t>> rembs;  // (sender time, bps)

  // Sends one packet now: through the link, lost or delivered.
  void Send(size_t size) {
    const int64_t start = std::max(now_us, link_free_us);
    link_free_us = start + static_cast<int64_t>(size) * 8'000'000 / capacity_bps;
    const int64_t arrival = link_free_us + kPropagationUs + kArrivalClockOffsetUs;
    if (loss > 0 && std::uniform_real_distribution<>(0, 1)(rng) < loss) return;
    bwe.OnPacket(rtp::AbsSendTimeFromUs(now_us + kSendClockOffsetUs), arrival, size);
    if (auto remb = bwe.TakeRemb(arrival)) {
      rembs.emplace_back(now_us, *remb);
      if (follow_remb) rate_bps = std::clamp<int64_t>(*remb, 50'000, max_rate_bps);
    }
  }
  // Paced packets at rate_bps for `duration_us`.
  void Run(int64_t duration_us) {
    const int64_t end = now_us + duration_us;
    while (now_us < end) {
      now_us += static_cast<int64_t>(kPacketSize) * 8'000'000 / rate_bps;
      Send(kPacketSize);
    }
  }
  // A probe: `count` packets at `bps`.
  void Probe(int count, int64_t bps) {
    for (int i = 0; i < count; ++i) {
      now_us += static_cast<int64_t>(kPacketSize) * 8'000'000 / bps;
      Send(kPacketSize);
    }
  }
  int64_t queue_delay_us() const { return std::max<int64_t>(0, link_free_us - now_us); }
  size_t RembsBetween(int64_t from_us, int64_t to_us) const {
    return static_cast<size_t>(std::count_if(rembs.begin(), rembs.end(), [&](const auto& r) {
      return r.first >= from_us && r.first < to_us;
    }));
  }
};

TEST(AbsSendTimeUnwrapperTest, UnwrapsAcrossTheWrapAndBack) {
  AbsSendTimeUnwrapper u;
  const uint32_t near_end = 0xFFFFFF - (1 << 18) / 10;  // 100 ms before the wrap
  const int64_t first = u.Unwrap(near_end);
  EXPECT_NEAR(u.Unwrap(near_end + (1 << 18) / 5) - first, 200'000, 5);  // past the wrap
  EXPECT_NEAR(u.Unwrap(near_end) - first, 0, 5);                        // reordered back
  EXPECT_NEAR(u.Unwrap(0x10) - first, 100'000 + 61, 5);
  // Only the low 24 bits count.
  EXPECT_EQ(u.Unwrap(0xFF000010), u.Unwrap(0x10));
}

TEST(ReceiveSideBweTest, NoEstimateNorRembBeforeAnythingArrives) {
  ReceiveSideBwe bwe;
  EXPECT_FALSE(bwe.estimate_bps());
  EXPECT_FALSE(bwe.TakeRemb(0));
}

TEST(ReceiveSideBweTest, SteadyLinkHoldsAndSendsARembEverySecond) {
  Sim sim;
  sim.follow_remb = false;
  sim.rate_bps = 1'000'000;
  sim.Run(20'000'000);
  ASSERT_TRUE(sim.bwe.estimate_bps());
  // It grows while what arrives proves it, up to 1.5 times that, and never sees overuse.
  EXPECT_GE(*sim.bwe.estimate_bps(), 1'000'000);
  EXPECT_LE(*sim.bwe.estimate_bps(), 1'600'000);
  EXPECT_EQ(sim.bwe.usage(), BandwidthUsage::kNormal);
  // One REMB a second (the first at one second in), none at once (it never fell).
  EXPECT_NEAR(static_cast<double>(sim.rembs.size()), 19.0, 1.0);
  for (size_t i = 1; i < sim.rembs.size(); ++i) {
    EXPECT_GE(sim.rembs[i].first - sim.rembs[i - 1].first, 990'000) << i;
    EXPECT_GE(sim.rembs[i].second, sim.rembs[i - 1].second) << i;
  }
  EXPECT_EQ(sim.bwe.counters().send_time_jumps, 0u);  // across the 64 s wrap
}

TEST(ReceiveSideBweTest, AProbeAtTheStartSetsTheEstimate) {
  Sim sim;
  sim.capacity_bps = 10'000'000;
  sim.Run(300'000);
  sim.Probe(10, 3'000'000);
  sim.Run(100'000);
  ASSERT_TRUE(sim.bwe.estimate_bps()) << "valid from the probe, before the first second";
  EXPECT_NEAR(static_cast<double>(*sim.bwe.estimate_bps()), 3e6, 0.1 * 3e6);
  EXPECT_GE(sim.bwe.counters().probes_taken, 1u);
  ASSERT_FALSE(sim.rembs.empty());
  EXPECT_LT(sim.rembs.front().first, 500'000) << "the first REMB goes out at once";
}

TEST(ReceiveSideBweTest, AProbeFasterThanTheLinkMeasuresTheLink) {
  Sim sim;
  sim.capacity_bps = 1'000'000;
  sim.Run(300'000);
  sim.Probe(10, 3'000'000);
  sim.Run(1);  // the next packet ends the cluster
  ASSERT_TRUE(sim.bwe.estimate_bps());
  EXPECT_NEAR(static_cast<double>(*sim.bwe.estimate_bps()), 1e6, 0.15 * 1e6);
  // The queue the probe left is overuse: the estimate goes under the link, not back up.
  sim.Run(3'000'000);
  EXPECT_LT(*sim.bwe.estimate_bps(), 1'000'000);
  EXPECT_GT(*sim.bwe.estimate_bps(), 300'000);
}

TEST(ReceiveSideBweTest, CompressedArrivalsAreNoProbe) {
  ReceiveSideBwe bwe;
  // Sent 5 ms apart, arrived together (released from some queue), then a pause.
  for (int i = 0; i < 10; ++i) {
    bwe.OnPacket(rtp::AbsSendTimeFromUs(i * 5'000), 100'000 + i * 100, 1200);
  }
  bwe.OnPacket(rtp::AbsSendTimeFromUs(200'000), 300'000, 1200);
  EXPECT_EQ(bwe.counters().probes_taken, 0u);
  EXPECT_FALSE(bwe.estimate_bps());
}

TEST(ReceiveSideBweTest, ABurstIsNoProbe) {
  ReceiveSideBwe bwe;
  // Ten packets sent and received 0.1 ms apart (100 Mbit/s), then a pause.
  for (int i = 0; i < 10; ++i) {
    bwe.OnPacket(rtp::AbsSendTimeFromUs(i * 100), 100'000 + i * 100, 1200);
  }
  bwe.OnPacket(rtp::AbsSendTimeFromUs(100'000), 200'000, 1200);
  EXPECT_EQ(bwe.counters().probes_taken, 0u);
  EXPECT_FALSE(bwe.estimate_bps());
}

TEST(ReceiveSideBweTest, ProbesAreOnlyLookedForAtTheStart) {
  Sim sim;
  sim.capacity_bps = 10'000'000;
  sim.follow_remb = false;
  sim.Run(5'000'000);
  const int64_t before = *sim.bwe.estimate_bps();
  sim.Probe(10, 5'000'000);
  sim.Run(100'000);
  EXPECT_EQ(sim.bwe.counters().probes_taken, 0u);
  EXPECT_LT(*sim.bwe.estimate_bps(), before + 100'000);
}

TEST(ReceiveSideBweTest, StepDownCutsTheEstimateAndSendsARembAtOnce) {
  Sim sim;
  sim.capacity_bps = 3'000'000;
  sim.rate_bps = 2'000'000;
  sim.Run(10'000'000);
  ASSERT_GE(*sim.bwe.estimate_bps(), 1'900'000);
  const int64_t step = sim.now_us;
  sim.capacity_bps = 1'000'000;
  sim.Run(3'000'000);
  // The queue grew, the estimate fell under the new capacity, and the REMB saying so did not
  // wait for the next second.
  bool early = false;
  int64_t lowest = INT64_MAX;
  for (size_t i = 1; i < sim.rembs.size(); ++i) {
    if (sim.rembs[i].first < step) continue;
    lowest = std::min(lowest, sim.rembs[i].second);
    if (sim.rembs[i].second < sim.rembs[i - 1].second &&
        sim.rembs[i].first - sim.rembs[i - 1].first < 900'000) {
      early = true;
    }
  }
  EXPECT_TRUE(early);
  EXPECT_LE(lowest, 1'000'000);
  // And the sender that follows it settles near the link, its queue drained.
  sim.Run(20'000'000);
  EXPECT_GE(*sim.bwe.estimate_bps(), 500'000);
  EXPECT_LE(*sim.bwe.estimate_bps(), 1'300'000);
  EXPECT_LT(sim.queue_delay_us(), 200'000);
}

TEST(ReceiveSideBweTest, StepUpIsFollowed) {
  Sim sim;
  sim.capacity_bps = 600'000;
  sim.Run(20'000'000);
  ASSERT_LE(*sim.bwe.estimate_bps(), 800'000);
  sim.capacity_bps = 4'000'000;
  const int64_t step = sim.now_us;
  while (sim.now_us - step < 25'000'000 && *sim.bwe.estimate_bps() < 1'500'000) sim.Run(100'000);
  EXPECT_GE(*sim.bwe.estimate_bps(), 1'500'000);
  EXPECT_LT(sim.now_us - step, 20'000'000) << "1.5 Mbit/s within 20 s of the step";
}

TEST(ReceiveSideBweTest, RandomLossIsNotCongestion) {
  Sim sim;
  sim.capacity_bps = 5'000'000;
  sim.rate_bps = 1'000'000;
  sim.loss = 0.05;
  sim.Run(15'000'000);
  EXPECT_GE(*sim.bwe.estimate_bps(), 2'000'000);
  EXPECT_GE(sim.RembsBetween(5'000'000, 15'000'000), 9u);
}

TEST(ReceiveSideBweTest, ASenderClockJumpRestartsTheDelayHistory) {
  ReceiveSideBwe bwe;
  int64_t t = 0;
  for (int i = 0; i < 300; ++i, t += 10'000) bwe.OnPacket(rtp::AbsSendTimeFromUs(t), t, 1200);
  const int64_t before = *bwe.estimate_bps();
  for (int i = 0; i < 300; ++i, t += 10'000) {
    bwe.OnPacket(rtp::AbsSendTimeFromUs(t + 20'000'000), t, 1200);
  }
  EXPECT_EQ(bwe.counters().send_time_jumps, 1u);
  EXPECT_EQ(bwe.usage(), BandwidthUsage::kNormal);
  EXPECT_GE(*bwe.estimate_bps(), before);
}

TEST(ReceiveSideBweTest, GarbageStaysInBounds) {
  ReceiveSideBwe bwe({.min_bps = 50'000, .max_bps = 20'000'000});
  std::mt19937 rng(3);
  int64_t t = 0;
  for (int i = 0; i < 20'000; ++i) {
    t += rng() % 20'000;
    bwe.OnPacket(rng(), t, rng() % 1500);
    if (auto remb = bwe.TakeRemb(t)) {
      EXPECT_GE(*remb, 50'000);
      EXPECT_LE(*remb, 20'000'000);
    }
  }
  EXPECT_EQ(bwe.counters().packets, 20'000u);
}

}  // namespace
}  // namespace sb::bwe
