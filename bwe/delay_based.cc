#include "bwe/delay_based.h"

#include <algorithm>
#include <cmath>

namespace sb::bwe {

const char* ToString(BandwidthUsage usage) {
  switch (usage) {
    case BandwidthUsage::kNormal:
      return "normal";
    case BandwidthUsage::kUnderusing:
      return "underusing";
    case BandwidthUsage::kOverusing:
      return "overusing";
  }
  return "?";
}

bool DelayBasedDetector::BelongsToGroup(const PacketTiming& p) const {
  if (p.send_us - current_->first_send_us <= kGroupSpanUs) return true;
  const int64_t arrival_delta = p.arrival_us - current_->last_arrival_us;
  const int64_t send_delta = p.send_us - current_->last_send_us;
  return arrival_delta >= 0 && arrival_delta < kGroupSpanUs && arrival_delta - send_delta < 0;
}

BandwidthUsage DelayBasedDetector::OnPacket(const PacketTiming& p) {
  if (!current_) {
    current_ = Group{p.send_us, p.send_us, p.arrival_us, p.arrival_us, p.size};
    return usage_;
  }
  if (p.send_us < current_->first_send_us) return usage_;  // reordered across groups: skip
  if (BelongsToGroup(p)) {
    current_->last_send_us = std::max(current_->last_send_us, p.send_us);
    current_->last_arrival_us = std::max(current_->last_arrival_us, p.arrival_us);
    current_->size += p.size;
    return usage_;
  }
  // A new group starts: the one that ended is compared with the one before it.
  if (previous_) {
    OnGroupDelta(current_->last_send_us - previous_->last_send_us,
                 current_->last_arrival_us - previous_->last_arrival_us, current_->last_arrival_us);
  }
  previous_ = current_;
  current_ = Group{p.send_us, p.send_us, p.arrival_us, p.arrival_us, p.size};
  return usage_;
}

void DelayBasedDetector::OnGroupDelta(int64_t send_delta_us, int64_t arrival_delta_us,
                                      int64_t arrival_us) {
  const double delta_ms = static_cast<double>(arrival_delta_us - send_delta_us) / 1000.0;
  ++deltas_;
  accumulated_delay_ms_ += delta_ms;
  smoothed_delay_ms_ = kSmoothing * smoothed_delay_ms_ + (1 - kSmoothing) * accumulated_delay_ms_;
  if (!first_arrival_us_) first_arrival_us_ = arrival_us;
  window_.emplace_back(static_cast<double>(arrival_us - *first_arrival_us_) / 1000.0,
                       smoothed_delay_ms_);
  if (window_.size() > kWindow) window_.pop_front();
  if (window_.size() == kWindow) {
    // Least-squares slope of smoothed delay over arrival time.
    double mean_x = 0, mean_y = 0;
    for (const auto& [x, y] : window_) {
      mean_x += x;
      mean_y += y;
    }
    mean_x /= kWindow;
    mean_y /= kWindow;
    double num = 0, den = 0;
    for (const auto& [x, y] : window_) {
      num += (x - mean_x) * (y - mean_y);
      den += (x - mean_x) * (x - mean_x);
    }
    if (den != 0) trend_ = num / den;
  }
  const double modified_trend =
      static_cast<double>(std::min<size_t>(deltas_, 60)) * trend_ * kThresholdGain;
  Detect(modified_trend, static_cast<double>(send_delta_us) / 1000.0, arrival_us);
}

void DelayBasedDetector::Detect(double modified_trend, double group_send_delta_ms, int64_t now_us) {
  if (deltas_ < 2) {
    usage_ = BandwidthUsage::kNormal;
    return;
  }
  if (modified_trend > threshold_ms_) {
    if (time_over_using_ms_ < 0) {
      time_over_using_ms_ = group_send_delta_ms / 2;  // assume half the gap was overuse
    } else {
      time_over_using_ms_ += group_send_delta_ms;
    }
    ++overuse_count_;
    if (time_over_using_ms_ > kOveruseTimeMs && overuse_count_ > 1 && trend_ >= previous_trend_) {
      time_over_using_ms_ = 0;
      overuse_count_ = 0;
      usage_ = BandwidthUsage::kOverusing;
    }
  } else if (modified_trend < -threshold_ms_) {
    time_over_using_ms_ = -1;
    overuse_count_ = 0;
    usage_ = BandwidthUsage::kUnderusing;
  } else {
    time_over_using_ms_ = -1;
    overuse_count_ = 0;
    usage_ = BandwidthUsage::kNormal;
  }
  previous_trend_ = trend_;
  UpdateThreshold(modified_trend, now_us);
}

void DelayBasedDetector::UpdateThreshold(double modified_trend, int64_t now_us) {
  if (!last_threshold_update_us_) last_threshold_update_us_ = now_us;
  const double magnitude = std::fabs(modified_trend);
  // A spike far above the threshold (a route change, a stalled receiver) does not drag it up.
  if (magnitude > threshold_ms_ + 15.0) {
    last_threshold_update_us_ = now_us;
    return;
  }
  const double gain = magnitude < threshold_ms_ ? kDownGain : kUpGain;
  const double elapsed_ms =
      std::min(100.0, static_cast<double>(now_us - *last_threshold_update_us_) / 1000.0);
  threshold_ms_ += gain * (magnitude - threshold_ms_) * std::max(0.0, elapsed_ms);
  threshold_ms_ = std::clamp(threshold_ms_, kMinThresholdMs, kMaxThresholdMs);
  last_threshold_update_us_ = now_us;
}

}  // namespace sb::bwe
