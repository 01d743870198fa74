// SendSideBwe against a simulated bottleneck: a FIFO link of a given capacity with a drop-tail
// queue, 20 ms each way, random loss and cross traffic; the receiver is the worker's own
// rtp::TransportCcReceiver with feedback every 100 ms. The sender is greedy: it sends at the
// target rate. Each scenario asserts what a subscriber would notice: the rate reaches what the
// link carries without standing queues, follows a step down within seconds and a step up within
// tens of seconds, survives light random loss, backs off under heavy loss, shares with cross
// traffic, and takes a probe's measurement at once.
#include "bwe/send_side_bwe.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <deque>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "rtp/transport_cc_receiver.h"

namespace sb::bwe {
namespace {

constexpr size_t kPacketBytes = 1200;
constexpr int64_t kOneWayUs = 20'000;

struct Sample {
  int64_t t_us;
  int64_t target_bps;
  int64_t queue_us;
};

class Simulation {
 public:
  explicit Simulation(double capacity_bps, SendSideBwe::Config config = {})
      : bwe_(config), capacity_bps_(capacity_bps) {
    bwe_.OnRtt(2 * kOneWayUs);
  }

  double capacity_bps = 0;  // set by the constructor and by steps
  double loss = 0;
  double cross_bps = 0;
  int64_t max_queue_us = 400'000;
  // Called every millisecond before sending: scenario steps.
  std::function<void(int64_t now_us)> on_tick;

  // Sends `count` probe packets of cluster `id` at `rate_bps` from now on (on top of media).
  void Probe(int id, int count, double rate_bps) {
    probe_id_ = id;
    probe_left_ = count;
    probe_gap_us_ = static_cast<int64_t>(kPacketBytes * 8 * 1e6 / rate_bps);
    next_probe_us_ = now_us_;
  }

  void Run(int64_t until_us) {
    for (; now_us_ < until_us; now_us_ += 1000) {
      if (on_tick) on_tick(now_us_);
      // Media at the target rate, and cross traffic into the same queue.
      budget_bits_ += static_cast<double>(bwe_.target_bps()) / 1000.0;
      while (budget_bits_ >= kPacketBytes * 8) {
        budget_bits_ -= kPacketBytes * 8;
        Send(-1);
      }
      cross_bits_ += cross_bps / 1000.0;
      while (cross_bits_ >= kPacketBytes * 8) {
        cross_bits_ -= kPacketBytes * 8;
        Enqueue(kPacketBytes);
      }
      while (probe_left_ > 0 && next_probe_us_ <= now_us_) {
        Send(probe_id_);
        --probe_left_;
        next_probe_us_ += probe_gap_us_;
      }
      // Arrivals at the receiver, feedback every 100 ms, feedback reaching us 20 ms later.
      while (!in_flight_.empty() && in_flight_.front().first <= now_us_) {
        receiver_.OnPacket(in_flight_.front().second, in_flight_.front().first);
        in_flight_.pop_front();
      }
      if (now_us_ % 100'000 == 0) {
        for (auto& fb : receiver_.TakeFeedback(1, 2))
          feedback_.push_back({now_us_ + kOneWayUs, fb});
      }
      while (!feedback_.empty() && feedback_.front().first <= now_us_) {
        bwe_.OnFeedback(feedback_.front().second, now_us_);
        feedback_.pop_front();
      }
      if (now_us_ % 100'000 == 0) {
        samples_.push_back(
            {now_us_, bwe_.target_bps(), std::max<int64_t>(0, link_free_us_ - now_us_)});
      }
    }
  }

  // Mean target and queue delay over [from, to) seconds.
  double MeanTarget(double from_s, double to_s) const { return Mean(from_s, to_s, true); }
  double MeanQueueMs(double from_s, double to_s) const { return Mean(from_s, to_s, false) / 1000; }
  int64_t TargetAt(double s) const {
    for (const auto& x : samples_) {
      if (x.t_us >= s * 1e6) return x.target_bps;
    }
    return samples_.back().target_bps;
  }
  const SendSideBwe& bwe() const { return bwe_; }
  // The trace every 5 s, for the test log: "t=5s 0.41M q=3ms".
  std::string Trace() const {
    std::string out;
    for (const auto& x : samples_) {
      if (x.t_us % 5'000'000 != 0) continue;
      out += "t=" + std::to_string(x.t_us / 1'000'000 - 1) + "s " +
             std::to_string(x.target_bps / 10'000 / 100.0).substr(0, 4) +
             "M q=" + std::to_string(x.queue_us / 1000) + "ms  ";
    }
    return out;
  }
  void set_capacity(double bps) { capacity_bps_ = bps; }

 private:
  // Into the bottleneck queue: the time it leaves the link, or nullopt when the queue is full.
  std::optional<int64_t> Enqueue(size_t bytes) {
    const int64_t start = std::max(now_us_, link_free_us_);
    if (start - now_us_ > max_queue_us) return std::nullopt;
    link_free_us_ = start + static_cast<int64_t>(static_cast<double>(bytes) * 8e6 / capacity_bps_);
    return link_free_us_;
  }
  void Send(int probe_cluster) {
    const uint16_t seq = next_seq_++;
    bwe_.OnPacketSent(seq, now_us_, kPacketBytes, probe_cluster);
    auto left = Enqueue(kPacketBytes);
    if (!left || uniform_(rng_) < loss) return;
    in_flight_.emplace_back(*left + kOneWayUs, seq);
  }
  double Mean(double from_s, double to_s, bool target) const {
    double sum = 0;
    int n = 0;
    for (const auto& x : samples_) {
      if (x.t_us >= from_s * 1e6 && x.t_us < to_s * 1e6) {
        sum += static_cast<double>(target ? x.target_bps : x.queue_us);
        ++n;
      }
    }
    return n ? sum / n : 0;
  }

  SendSideBwe bwe_;
  rtp::TransportCcReceiver receiver_;
  double capacity_bps_;
  int64_t now_us_ = 1'000'000;
  int64_t link_free_us_ = 0;
  double budget_bits_ = 0;
  double cross_bits_ = 0;
  uint16_t next_seq_ = 1;
  std::deque<std::pair<int64_t, uint16_t>> in_flight_;
  std::deque<std::pair<int64_t, rtp::TransportFeedback>> feedback_;
  std::vector<Sample> samples_;
  std::mt19937 rng_{42};
  std::uniform_real_distribution<double> uniform_{0.0, 1.0};
  int probe_id_ = -1, probe_left_ = 0;
  int64_t probe_gap_us_ = 0, next_probe_us_ = 0;
};

TEST(SendSideBweTest, SteadyLinkIsFilledWithoutAStandingQueue) {
  Simulation sim(2'500'000);
  sim.Run(61'000'000);
  std::printf("%s\n", sim.Trace().c_str());
  const double mean = sim.MeanTarget(40, 60);
  EXPECT_GT(mean, 0.6 * 2'500'000) << "uses the link";
  EXPECT_LT(mean, 1.1 * 2'500'000) << "does not overshoot it";
  EXPECT_LT(sim.MeanQueueMs(40, 60), 100) << "no standing queue";
  EXPECT_EQ(sim.bwe().counters().unknown, 0u);
  EXPECT_GT(sim.bwe().counters().packets_acked, 5000u);
}

TEST(SendSideBweTest, StepDownIsFollowedWithinSeconds) {
  Simulation sim(4'000'000);
  sim.on_tick = [&](int64_t now) {
    if (now == 41'000'000) sim.set_capacity(1'000'000);
  };
  sim.Run(61'000'000);
  std::printf("%s\n", sim.Trace().c_str());
  EXPECT_GT(sim.TargetAt(40), 2'400'000) << "had reached the first capacity";
  EXPECT_LT(sim.TargetAt(45), 1'200'000) << "4 s after the step";
  EXPECT_LT(sim.MeanQueueMs(50, 60), 150) << "the queue drained";
  EXPECT_GT(sim.MeanTarget(50, 60), 500'000) << "and the new link is used";
}

TEST(SendSideBweTest, StepUpIsFollowedWithinTensOfSeconds) {
  Simulation sim(1'000'000);
  sim.on_tick = [&](int64_t now) {
    if (now == 41'000'000) sim.set_capacity(3'000'000);
  };
  sim.Run(91'000'000);
  std::printf("%s\n", sim.Trace().c_str());
  EXPECT_LT(sim.TargetAt(40), 1'200'000);
  EXPECT_GT(sim.MeanTarget(80, 90), 2'000'000) << "grew into the new capacity";
}

TEST(SendSideBweTest, LightRandomLossDoesNotStopTheRamp) {
  Simulation sim(3'000'000);
  sim.loss = 0.01;
  sim.Run(61'000'000);
  std::printf("%s\n", sim.Trace().c_str());
  EXPECT_GT(sim.MeanTarget(40, 60), 0.6 * 3'000'000);
  EXPECT_NEAR(sim.bwe().loss_fraction(), 0.01, 0.02);
}

TEST(SendSideBweTest, HeavyRandomLossBacksOff) {
  Simulation sim(3'000'000, {.start_bps = 1'000'000});
  sim.loss = 0.2;
  sim.Run(21'000'000);
  std::printf("%s\n", sim.Trace().c_str());
  EXPECT_LT(sim.TargetAt(20), 500'000) << "20 % loss: the rate is cut, not held";
  EXPECT_GT(sim.bwe().loss_fraction(), 0.1);
}

TEST(SendSideBweTest, CrossTrafficGetsItsShare) {
  Simulation sim(3'000'000);
  sim.cross_bps = 1'500'000;
  sim.Run(61'000'000);
  std::printf("%s\n", sim.Trace().c_str());
  const double mean = sim.MeanTarget(40, 60);
  EXPECT_LT(mean, 1'900'000) << "leaves the cross traffic its 1.5 Mbit/s";
  EXPECT_GT(mean, 600'000);
  EXPECT_LT(sim.MeanQueueMs(40, 60), 150);
}

TEST(SendSideBweTest, AProbeRaisesTheEstimateAtOnce) {
  Simulation sim(5'000'000);
  sim.Probe(1, 15, 2'000'000);
  sim.Run(1'500'000);
  std::printf("%s\n", sim.Trace().c_str());
  EXPECT_EQ(sim.bwe().counters().probes_succeeded, 1u)
      << "failed " << sim.bwe().counters().probes_failed;
  EXPECT_GT(sim.TargetAt(1.4), 1'500'000) << "the probe's 2 Mbit/s, not 300 kbit/s plus 8 %";
}

TEST(SendSideBweTest, AProbeIntoANarrowLinkMeasuresTheLink) {
  Simulation sim(800'000);
  sim.Probe(1, 15, 3'000'000);
  sim.Run(1'500'000);
  std::printf("%s\n", sim.Trace().c_str());
  EXPECT_EQ(sim.bwe().counters().probes_succeeded, 1u);
  EXPECT_LT(sim.TargetAt(1.4), 900'000) << "what arrived, not what was sent";
  EXPECT_GT(sim.TargetAt(1.4), 500'000);
}

// A shallow queue (a token bucket's): the probe overflows it. What arrived of it came partly at
// line rate from the queue's allowance and says nothing trustworthy: no raise.
TEST(SendSideBweTest, AProbeThatLosesPacketsRaisesNothing) {
  Simulation sim(300'000);
  sim.max_queue_us = 30'000;
  sim.Probe(1, 10, 900'000);
  sim.Run(1'500'000);
  std::printf("%s\n", sim.Trace().c_str());
  EXPECT_EQ(sim.bwe().counters().probes_succeeded, 0u);
  EXPECT_EQ(sim.bwe().counters().probes_failed, 1u);
  EXPECT_LT(sim.TargetAt(1.4), 360'000);
}

// A token bucket in front of a 500 kbit/s link lets its depth through at line rate: the first
// packets of a probe arrive back to back, the rest at the link's rate. The measurement is the
// link's, not the burst's.
TEST(SendSideBweTest, AProbeThroughATokenBucketMeasuresTheRateAfterTheBurst) {
  SendSideBwe bwe;
  constexpr int kPackets = 12;
  constexpr size_t kSize = 1000;
  constexpr int64_t kStartUs = 1'000'000;
  std::vector<rtp::TwccPacketStatus> statuses;
  int64_t arrival_us = kStartUs + 20'000;
  for (int i = 0; i < kPackets; ++i) {
    // Sent at 2 Mbit/s: 4 ms apart.
    bwe.OnPacketSent(static_cast<uint16_t>(i + 1), kStartUs + i * 4000, kSize, /*cluster=*/1);
    // The first four arrive 0.1 ms apart (the bucket's depth), the rest 16 ms apart (500k).
    const int64_t gap = i == 0 ? 0 : (i < 4 ? 100 : 16'000);
    arrival_us += gap;
    statuses.push_back(
        {static_cast<uint16_t>(i + 1), true, static_cast<int32_t>(i == 0 ? 0 : gap / 250)});
  }
  // Deltas are in 250 us units: 100 us rounds to 0, as a receiver's clock would.
  bwe.OnFeedback(rtp::TransportFeedback::Build(1, 2, 1, 0, statuses), arrival_us + 20'000);
  EXPECT_EQ(bwe.counters().probes_succeeded, 1u);
  EXPECT_GT(bwe.target_bps(), 400'000);
  EXPECT_LT(bwe.target_bps(), 520'000) << "the link (500k), not the burst";
}

TEST(SendSideBweTest, FeedbackAboutUnknownNumbersIsCountedAndIgnored) {
  SendSideBwe bwe;
  auto fb = rtp::TransportFeedback::Build(
      1, 2, 0, 0, std::vector<rtp::TwccPacketStatus>{{100, true, 4}, {101, false, 0}});
  bwe.OnFeedback(fb, 1'000'000);  // nothing sent yet
  bwe.OnPacketSent(1, 1'000'000, 1200);
  bwe.OnFeedback(fb, 1'100'000);  // about numbers never sent
  EXPECT_EQ(bwe.counters().unknown, 2u);
  EXPECT_EQ(bwe.target_bps(), 300'000);
}

// The feedback history starts small and grows while packets come faster than it holds for
// kHistoryKeepUs: a busy subscriber's late feedback still finds its packets, and a light one
// keeps a small ring (bench/capacity webinar: memory per viewer).
TEST(SendSideBweTest, HistoryGrowsForAFastSenderAndFeedbackStillFindsItsPackets) {
  SendSideBwe bwe;
  // 3,000 packets in 600 ms (5,000 a second), more than the first ring holds.
  constexpr int kPackets = 3000;
  static_assert(kPackets > SendSideBwe::kMinHistorySize);
  constexpr int64_t kStartUs = 1'000'000;
  for (int i = 0; i < kPackets; ++i) {
    bwe.OnPacketSent(static_cast<uint16_t>(i + 1), kStartUs + i * 200, 1000);
  }
  // Feedback about the first packets, after all were sent.
  std::vector<rtp::TwccPacketStatus> statuses;
  for (int i = 0; i < 20; ++i)
    statuses.push_back({static_cast<uint16_t>(i + 1), true, i == 0 ? 0 : 1});
  bwe.OnFeedback(rtp::TransportFeedback::Build(1, 2, 4, 0, statuses), kStartUs + 700'000);
  EXPECT_EQ(bwe.counters().unknown, 0u) << "the first packets were overwritten";
}

TEST(SendSideBweTest, ASlowSenderForgetsOldPacketsInsteadOfGrowing) {
  SendSideBwe bwe;
  // One packet every 10 ms: the first ring spans 10 s, beyond kHistoryKeepUs.
  constexpr int kPackets = SendSideBwe::kMinHistorySize + 10;
  for (int i = 0; i < kPackets; ++i) {
    bwe.OnPacketSent(static_cast<uint16_t>(i + 1), 1'000'000 + i * 10'000, 1000);
  }
  auto fb =
      rtp::TransportFeedback::Build(1, 2, 0, 0, std::vector<rtp::TwccPacketStatus>{{1, true, 0}});
  bwe.OnFeedback(fb, 1'000'000 + kPackets * 10'000);
  EXPECT_EQ(bwe.counters().unknown, 1u) << "packet 1 was replaced: the ring did not grow";
}

}  // namespace
}  // namespace sb::bwe
