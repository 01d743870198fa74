// The delay-based half of Google Congestion Control (draft-ietf-rmcat-gcc-02 section 5): from
// each packet's send and arrival time, whether the path's queue is growing (overuse), draining
// (underuse) or steady (normal).
//
// Packets are grouped by send time (a group spans 5 ms, as a pacer's burst); for each pair of
// consecutive groups the one-way delay variation is the arrival-time delta minus the send-time
// delta. A trendline (least squares over the last 20 groups of the smoothed accumulated
// variation) is compared with an adaptive threshold: a trend above it for 10 ms and two groups
// is overuse.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <utility>

namespace sb::bwe {

enum class BandwidthUsage { kNormal, kUnderusing, kOverusing };

const char* ToString(BandwidthUsage usage);

// One acknowledged packet, in sequence order. Times in microseconds, each from its own clock
// (send: ours; arrival: the receiver's; only differences of each are used).
struct PacketTiming {
  int64_t send_us = 0;
  int64_t arrival_us = 0;
  size_t size = 0;
};

class DelayBasedDetector {
 public:
  static constexpr int64_t kGroupSpanUs = 5'000;
  static constexpr size_t kWindow = 20;
  static constexpr double kSmoothing = 0.9;
  static constexpr double kThresholdGain = 4.0;
  static constexpr double kInitialThresholdMs = 12.5;
  static constexpr double kMinThresholdMs = 6.0;
  static constexpr double kMaxThresholdMs = 600.0;
  static constexpr double kUpGain = 0.0087;   // threshold rises slowly...
  static constexpr double kDownGain = 0.039;  // ...and falls faster
  static constexpr double kOveruseTimeMs = 10.0;

  // Feeds one received packet (lost ones are not given). Returns the usage after it.
  BandwidthUsage OnPacket(const PacketTiming& packet);
  BandwidthUsage usage() const { return usage_; }
  double threshold_ms() const { return threshold_ms_; }
  double trend() const { return trend_; }

 private:
  struct Group {
    int64_t first_send_us = 0;
    int64_t last_send_us = 0;
    int64_t first_arrival_us = 0;
    int64_t last_arrival_us = 0;
    size_t size = 0;
  };
  // A packet that arrives within 5 ms of the group's last one and, by its send time, "early"
  // (it was queued behind the group) belongs to it: a burst the network delivered together.
  bool BelongsToGroup(const PacketTiming& p) const;
  void OnGroupDelta(int64_t send_delta_us, int64_t arrival_delta_us, int64_t arrival_us);
  void Detect(double modified_trend, double group_send_delta_ms, int64_t now_us);
  void UpdateThreshold(double modified_trend, int64_t now_us);

  std::optional<Group> current_;
  std::optional<Group> previous_;
  // Trendline state.
  double accumulated_delay_ms_ = 0;
  double smoothed_delay_ms_ = 0;
  std::optional<int64_t> first_arrival_us_;
  std::deque<std::pair<double, double>> window_;  // (arrival ms since first, smoothed delay)
  size_t deltas_ = 0;
  double trend_ = 0;
  double previous_trend_ = 0;
  // Overuse detector state.
  double threshold_ms_ = kInitialThresholdMs;
  std::optional<int64_t> last_threshold_update_us_;
  double time_over_using_ms_ = -1;
  int overuse_count_ = 0;
  BandwidthUsage usage_ = BandwidthUsage::kNormal;
};

}  // namespace sb::bwe
