#include "bwe/rate_control.h"

#include <algorithm>
#include <cmath>

namespace sb::bwe {

AimdRateControl::AimdRateControl(int64_t start_bps, int64_t min_bps, int64_t max_bps)
    : min_bps_(static_cast<double>(min_bps)),
      max_bps_(static_cast<double>(max_bps)),
      estimate_bps_(static_cast<double>(std::clamp(start_bps, min_bps, max_bps))) {}

void AimdRateControl::UpdateLinkCapacity(double acked_bps) {
  if (!link_capacity_bps_) {
    link_capacity_bps_ = acked_bps;
    return;
  }
  constexpr double kAlpha = 0.05;
  const double norm = std::max(*link_capacity_bps_, 1.0);
  const double error = *link_capacity_bps_ - acked_bps;
  link_capacity_variance_ =
      (1 - kAlpha) * link_capacity_variance_ + kAlpha * error * error / (norm * norm);
  link_capacity_variance_ = std::clamp(link_capacity_variance_, 0.4 / 1000, 2.5 / 1000 * 100);
  link_capacity_bps_ = (1 - kAlpha) * *link_capacity_bps_ + kAlpha * acked_bps;
}

int64_t AimdRateControl::Update(BandwidthUsage usage, std::optional<int64_t> acked_bps,
                                int64_t now_us) {
  switch (usage) {
    case BandwidthUsage::kOverusing:
      state_ = State::kDecrease;
      break;
    case BandwidthUsage::kNormal:
      if (state_ == State::kHold) state_ = State::kIncrease;
      break;
    case BandwidthUsage::kUnderusing:
      state_ = State::kHold;  // the queue drains: do not add to it
      break;
  }
  const double elapsed_s =
      last_update_us_ ? std::min(1.0, static_cast<double>(now_us - *last_update_us_) / 1e6) : 0.0;
  last_update_us_ = now_us;
  const double acked = acked_bps ? static_cast<double>(*acked_bps) : 0.0;

  if (state_ == State::kIncrease) {
    if (link_capacity_bps_) {
      // Past the known capacity by three deviations: the link changed; forget it.
      const double deviation = std::sqrt(link_capacity_variance_) * *link_capacity_bps_;
      if (acked > *link_capacity_bps_ + 3 * deviation) link_capacity_bps_.reset();
    }
    const bool proven = !acked_bps || estimate_bps_ <= 1.5 * acked + 10'000;
    if (proven) {
      if (link_capacity_bps_) {
        // Near the capacity: about one 1200-byte packet more per response time.
        const double response_s = static_cast<double>(rtt_us_) / 1e6 + 0.1;
        estimate_bps_ += std::max(1000.0, 1200 * 8 / response_s) * elapsed_s;
      } else {
        estimate_bps_ *= std::pow(kIncreasePerSecond, elapsed_s);
      }
    }
  } else if (state_ == State::kDecrease) {
    const bool once_per_rtt = !last_decrease_us_ || now_us - *last_decrease_us_ >= rtt_us_;
    if (acked_bps && once_per_rtt) {
      double decreased = kBeta * acked;
      if (decreased > estimate_bps_ && link_capacity_bps_) {
        decreased = kBeta * *link_capacity_bps_;
      }
      if (decreased < estimate_bps_) estimate_bps_ = decreased;
      if (link_capacity_bps_ &&
          acked <
              *link_capacity_bps_ - 3 * std::sqrt(link_capacity_variance_) * *link_capacity_bps_) {
        link_capacity_bps_.reset();  // far below what we knew: the link got worse
      }
      UpdateLinkCapacity(acked);
      last_decrease_us_ = now_us;
    }
    state_ = State::kHold;
  }
  estimate_bps_ = std::clamp(estimate_bps_, min_bps_, max_bps_);
  return estimate_bps();
}

void AimdRateControl::RaiseTo(int64_t bps, int64_t now_us) {
  const double raised = std::clamp(static_cast<double>(bps), min_bps_, max_bps_);
  if (raised <= estimate_bps_) return;
  estimate_bps_ = raised;
  last_update_us_ = now_us;
}

LossBasedControl::LossBasedControl(int64_t start_bps, int64_t min_bps, int64_t max_bps)
    : min_bps_(static_cast<double>(min_bps)),
      max_bps_(static_cast<double>(max_bps)),
      estimate_bps_(static_cast<double>(std::clamp(start_bps, min_bps, max_bps))) {}

void LossBasedControl::OnFeedback(size_t packets, size_t lost, int64_t delay_based_bps,
                                  int64_t now_us) {
  window_packets_ += packets;
  window_lost_ += lost;
  if (window_packets_ < kMinPackets) return;
  loss_fraction_ = static_cast<double>(window_lost_) / static_cast<double>(window_packets_);
  window_packets_ = 0;
  window_lost_ = 0;
  if (loss_fraction_ < kLowLoss) {
    estimate_bps_ = static_cast<double>(delay_based_bps);  // loss says nothing against it
  } else if (loss_fraction_ > kHighLoss) {
    if (!last_decrease_us_ || now_us - *last_decrease_us_ >= 300'000 + rtt_us_) {
      estimate_bps_ = std::min(estimate_bps_, static_cast<double>(delay_based_bps)) *
                      (1 - 0.5 * loss_fraction_);
      last_decrease_us_ = now_us;
    }
  }
  estimate_bps_ = std::clamp(estimate_bps_, min_bps_, max_bps_);
}

void LossBasedControl::RaiseTo(int64_t bps) {
  estimate_bps_ = std::max(estimate_bps_, std::clamp(static_cast<double>(bps), min_bps_, max_bps_));
}

}  // namespace sb::bwe
