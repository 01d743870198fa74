#include "bwe/receive_side_bwe.h"

#include <algorithm>
#include <cmath>

namespace sb::bwe {

int64_t AbsSendTimeUnwrapper::Unwrap(uint32_t abs_send_time) {
  abs_send_time &= kMask;
  if (last_) {
    // The step from the previous value, taken in (-2^23, 2^23] ticks (+-32 s).
    int64_t step = static_cast<int64_t>((abs_send_time - *last_) & kMask);
    if (step > static_cast<int64_t>(kMask / 2)) step -= static_cast<int64_t>(kMask) + 1;
    ticks_ += step;
  } else {
    ticks_ = abs_send_time;
  }
  last_ = abs_send_time;
  return static_cast<int64_t>(
      std::llround(static_cast<double>(ticks_) * 1e6 / static_cast<double>(1 << kFractionBits)));
}

ReceiveSideBwe::ReceiveSideBwe(Config config) : config_(config) {}

void ReceiveSideBwe::OnRtt(int64_t rtt_us) {
  rtt_us_ = std::clamp<int64_t>(rtt_us, 1'000, 10'000'000);
  if (aimd_) aimd_->SetRtt(rtt_us_);
}

std::optional<int64_t> ReceiveSideBwe::estimate_bps() const {
  if (!aimd_) return std::nullopt;
  return aimd_->estimate_bps();
}

int64_t ReceiveSideBwe::incoming_bps(int64_t now_us) const {
  if (!first_arrival_us_) return 0;
  const int64_t elapsed_us = now_us - *first_arrival_us_;
  if (elapsed_us < kInitialWindowUs) {
    // The meter divides by its whole window: in the first one, what arrived over the time that
    // passed (a decrease at 0.4 s must not take 0.85 of 40 % of the rate).
    if (elapsed_us < kMinIncomingSpanUs) return 0;
    return static_cast<int64_t>(static_cast<double>(first_window_bytes_) * 8e6 /
                                static_cast<double>(elapsed_us));
  }
  return incoming_.BitsPerSecond(now_us / 1000);
}

void ReceiveSideBwe::OnPacket(uint32_t abs_send_time, int64_t arrival_us, size_t size) {
  ++counters_.packets;
  const int64_t send_us = unwrapper_.Unwrap(abs_send_time);
  if (last_send_us_ && last_arrival_us_) {
    // Compare how far the send time moved with how far the arrival time did.
    const int64_t drift = (send_us - *last_send_us_) - (arrival_us - *last_arrival_us_);
    if (drift > kMaxSendTimeJumpUs || drift < -kMaxSendTimeJumpUs) {
      ++counters_.send_time_jumps;
      detector_ = DelayBasedDetector{};
      recent_count_ = 0;
    }
  }
  last_send_us_ = send_us;
  last_arrival_us_ = arrival_us;
  if (!first_arrival_us_) first_arrival_us_ = arrival_us;
  incoming_.Add(size, arrival_us / 1000);
  if (arrival_us - *first_arrival_us_ < kInitialWindowUs) first_window_bytes_ += size;
  bytes_received_ += size;

  const BandwidthUsage before = detector_.usage();
  const BandwidthUsage usage = detector_.OnPacket({send_us, arrival_us, size});

  if (size >= kMinProbePacketSize && arrival_us - *first_arrival_us_ < kProbingPeriodUs) {
    OnProbeCandidate(send_us, arrival_us);
  }
  if (!aimd_ && arrival_us - *first_arrival_us_ >= kInitialWindowUs) {
    // No probe seen: start from what arrives.
    aimd_.emplace(std::max(incoming_bps(arrival_us), config_.min_bps), config_.min_bps,
                  config_.max_bps);
    aimd_->SetRtt(rtt_us_);
    last_update_us_ = arrival_us;
  }
  const bool overuse = usage == BandwidthUsage::kOverusing && before != usage;
  if (aimd_ &&
      (overuse || !last_update_us_ || arrival_us - *last_update_us_ >= kUpdateIntervalUs)) {
    UpdateRate(arrival_us);
  }
}

void ReceiveSideBwe::UpdateRate(int64_t now_us) {
  last_update_us_ = now_us;
  const int64_t incoming = incoming_bps(now_us);
  aimd_->Update(detector_.usage(), incoming > 0 ? std::optional<int64_t>(incoming) : std::nullopt,
                now_us);
}

void ReceiveSideBwe::OnProbeCandidate(int64_t send_us, int64_t arrival_us) {
  if (recent_count_ > 0) {
    const Full& previous = recent_[(recent_next_ + kMaxProbePackets - 1) % kMaxProbePackets];
    const int64_t gap = send_us - previous.send_us;
    if (gap < 0 || gap > kMaxProbeGapUs) recent_count_ = 0;  // a run ends
  }
  recent_[recent_next_] = {send_us, arrival_us, bytes_received_};
  recent_next_ = (recent_next_ + 1) % kMaxProbePackets;
  recent_count_ = std::min(recent_count_ + 1, kMaxProbePackets);
  const int64_t probe_bps = ProbeRate();
  if (probe_bps <= 0 || (aimd_ && probe_bps <= aimd_->estimate_bps())) return;
  ++counters_.probes_taken;
  if (!aimd_) {
    aimd_.emplace(probe_bps, config_.min_bps, config_.max_bps);
    aimd_->SetRtt(rtt_us_);
  } else {
    aimd_->RaiseTo(probe_bps, arrival_us);
  }
  last_update_us_ = arrival_us;
}

int64_t ReceiveSideBwe::ProbeRate() const {
  int64_t best = 0;
  const Full& last = recent_[(recent_next_ + kMaxProbePackets - 1) % kMaxProbePackets];
  int64_t first_arrival = last.arrival_us, last_arrival = last.arrival_us;
  for (size_t n = 2; n <= recent_count_; ++n) {
    const Full& first = recent_[(recent_next_ + kMaxProbePackets - n) % kMaxProbePackets];
    first_arrival = std::min(first_arrival, first.arrival_us);
    last_arrival = std::max(last_arrival, first.arrival_us);
    if (n < kMinProbePackets) continue;
    const int64_t send_span = last.send_us - first.send_us;
    const int64_t arrival_span = last_arrival - first_arrival;
    const auto gaps = static_cast<int64_t>(n - 1);
    // Not paced (a burst), or arrivals bunched much tighter than the sending (they waited in
    // some queue and were released together): the spacing says nothing about the path.
    if (send_span < kMinProbeSpacingUs * gaps || arrival_span < kMinProbeSpacingUs * gaps ||
        arrival_span * 2 < send_span) {
      continue;
    }
    // What came after the first packet and up to the last, over the time between their sending
    // and between their arrivals; the path carried at least the smaller of the two rates.
    const double bytes = static_cast<double>(last.bytes_through - first.bytes_through);
    const double send_bps = bytes * 8e6 / static_cast<double>(send_span);
    const double arrival_bps = bytes * 8e6 / static_cast<double>(arrival_span);
    best = std::max(best, static_cast<int64_t>(std::min(send_bps, arrival_bps)));
  }
  return best;
}

std::optional<int64_t> ReceiveSideBwe::TakeRemb(int64_t now_us) {
  if (!aimd_) return std::nullopt;
  const int64_t estimate = aimd_->estimate_bps();
  const bool due =
      !last_remb_us_ || now_us - *last_remb_us_ >= kRembIntervalUs ||
      static_cast<double>(estimate) < kRembDropRatio * static_cast<double>(last_remb_bps_);
  if (!due) return std::nullopt;
  last_remb_us_ = now_us;
  last_remb_bps_ = estimate;
  ++counters_.rembs;
  return estimate;
}

}  // namespace sb::bwe
