// What GCC does with a usage signal and with loss (draft-ietf-rmcat-gcc-02 sections 5.5 and 6).
//
// AimdRateControl: overuse cuts the rate to 0.85 of what the receiver acknowledged and
// remembers that as the link's capacity; in normal use the rate grows by 8 % a second far
// from the known capacity, and by about a packet per response time near it; underuse holds.
// The rate never grows past 1.5 times what is acknowledged (it must be used to be proven).
//
// LossBasedControl: under 2 % loss it follows the delay-based rate; over 10 % it is cut by half
// the loss fraction, at most once per 300 ms plus a round trip; in between it holds (so random
// loss of a few percent stops the rate from growing but does not cut it).
#pragma once

#include <cstdint>
#include <optional>

#include "bwe/delay_based.h"

namespace sb::bwe {

class AimdRateControl {
 public:
  static constexpr double kBeta = 0.85;
  static constexpr double kIncreasePerSecond = 1.08;

  AimdRateControl(int64_t start_bps, int64_t min_bps, int64_t max_bps);

  // A usage signal from the delay-based detector; `acked_bps` is what the receiver got lately.
  int64_t Update(BandwidthUsage usage, std::optional<int64_t> acked_bps, int64_t now_us);
  // A probe measured more than the estimate: take it.
  void RaiseTo(int64_t bps, int64_t now_us);
  void SetRtt(int64_t rtt_us) { rtt_us_ = rtt_us; }

  int64_t estimate_bps() const { return static_cast<int64_t>(estimate_bps_); }
  std::optional<double> link_capacity_bps() const { return link_capacity_bps_; }

 private:
  enum class State { kHold, kIncrease, kDecrease };
  void UpdateLinkCapacity(double acked_bps);

  const double min_bps_;
  const double max_bps_;
  double estimate_bps_;
  State state_ = State::kIncrease;
  std::optional<int64_t> last_update_us_;
  std::optional<int64_t> last_decrease_us_;
  int64_t rtt_us_ = 100'000;
  // Exponential average of the acknowledged rate at overuse, and its normalised variance.
  std::optional<double> link_capacity_bps_;
  double link_capacity_variance_ = 0.4;
};

class LossBasedControl {
 public:
  static constexpr double kLowLoss = 0.02;
  static constexpr double kHighLoss = 0.10;
  static constexpr size_t kMinPackets = 20;

  LossBasedControl(int64_t start_bps, int64_t min_bps, int64_t max_bps);

  // Packets a feedback reported, lost among them; `delay_based_bps` is the other half's estimate.
  void OnFeedback(size_t packets, size_t lost, int64_t delay_based_bps, int64_t now_us);
  void RaiseTo(int64_t bps);
  void SetRtt(int64_t rtt_us) { rtt_us_ = rtt_us; }

  int64_t estimate_bps() const { return static_cast<int64_t>(estimate_bps_); }
  // The loss fraction of the last window of at least kMinPackets packets.
  double loss_fraction() const { return loss_fraction_; }

 private:
  const double min_bps_;
  const double max_bps_;
  double estimate_bps_;
  size_t window_packets_ = 0;
  size_t window_lost_ = 0;
  double loss_fraction_ = 0;
  std::optional<int64_t> last_decrease_us_;
  int64_t rtt_us_ = 100'000;
};

}  // namespace sb::bwe
