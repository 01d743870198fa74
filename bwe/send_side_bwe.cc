#include "bwe/send_side_bwe.h"

#include <algorithm>
#include <vector>

namespace sb::bwe {

SendSideBwe::SendSideBwe(Config config)
    : aimd_(config.start_bps, config.min_bps, config.max_bps),
      loss_(config.start_bps, config.min_bps, config.max_bps) {}

void SendSideBwe::OnPacketSent(uint16_t seq, int64_t send_us, size_t size, int probe_cluster) {
  const int64_t unwrapped = unwrapper_.Unwrap(seq);
  Sent* slot = &history_[static_cast<size_t>(unwrapped) % history_.size()];
  // Doubling may land on a packet twice as old that is still recent: double again.
  while (slot->seq >= 0 && slot->seq != unwrapped && send_us - slot->send_us < kHistoryKeepUs &&
         history_.size() < kMaxHistorySize) {
    GrowHistory();
    slot = &history_[static_cast<size_t>(unwrapped) % history_.size()];
  }
  *slot = Sent{unwrapped, send_us, static_cast<uint32_t>(size), probe_cluster};
  if (probe_cluster >= 0) {
    ++probes_[probe_cluster].sent;
    // Old clusters that were never judged (their feedback lost) go.
    while (probes_.size() > 8) probes_.erase(probes_.begin());
  }
}

void SendSideBwe::GrowHistory() {
  std::vector<Sent> bigger(history_.size() * 2);
  // The ring's packets have distinct numbers modulo its size, so modulo twice that too.
  for (const Sent& sent : history_) {
    if (sent.seq >= 0) bigger[static_cast<size_t>(sent.seq) % bigger.size()] = sent;
  }
  history_ = std::move(bigger);
}

void SendSideBwe::OnRtt(int64_t rtt_us) {
  aimd_.SetRtt(rtt_us);
  loss_.SetRtt(rtt_us);
}

int64_t SendSideBwe::target_bps() const {
  return std::min(aimd_.estimate_bps(), loss_.estimate_bps());
}

void SendSideBwe::OnFeedback(const rtp::TransportFeedback& feedback, int64_t now_us) {
  ++counters_.feedbacks;
  if (!unwrapper_.last()) return;  // nothing sent yet: it cannot be about us
  const std::vector<int64_t> arrivals = feedback.ArrivalTimesUs();
  size_t next_arrival = 0;
  size_t reported = 0, lost = 0;
  for (const rtp::TwccPacketStatus& status : feedback.packets) {
    const int64_t seq = unwrapper_.Peek(status.sequence_number);
    const Sent& sent = history_[static_cast<size_t>(seq) % history_.size()];
    const int64_t arrival = status.received ? arrivals[next_arrival++] : 0;
    if (sent.seq != seq) {
      ++counters_.unknown;
      continue;
    }
    ++reported;
    if (!status.received) {
      ++lost;
      if (sent.probe_cluster >= 0) {
        if (auto it = probes_.find(sent.probe_cluster); it != probes_.end()) ++it->second.lost;
      }
      continue;
    }
    OnAcked(sent, arrival);
  }
  JudgeProbes(now_us);
  counters_.packets_lost += lost;
  if (reported == 0) return;
  aimd_.Update(detector_.usage(), acked_bps_, now_us);
  loss_.OnFeedback(reported, lost, aimd_.estimate_bps(), now_us);
}

void SendSideBwe::OnAcked(const Sent& sent, int64_t arrival_us) {
  ++counters_.packets_acked;
  detector_.OnPacket({sent.send_us, arrival_us, sent.size});
  acked_window_.emplace_back(arrival_us, sent.size);
  acked_window_bytes_ += sent.size;
  while (!acked_window_.empty() && acked_window_.front().first < arrival_us - kAckedWindowUs) {
    acked_window_bytes_ -= acked_window_.front().second;
    acked_window_.pop_front();
  }
  // A rate once the window spans most of its length (at start, a burst would overstate it).
  const int64_t span = arrival_us - acked_window_.front().first;
  if (span >= kAckedWindowUs / 2) {
    acked_bps_ = static_cast<int64_t>(acked_window_bytes_) * 8 * 1'000'000 / kAckedWindowUs;
  }
  if (sent.probe_cluster >= 0) OnProbeAcked(sent, arrival_us);
}

void SendSideBwe::OnProbeAcked(const Sent& sent, int64_t arrival_us) {
  auto it = probes_.find(sent.probe_cluster);
  if (it == probes_.end() || it->second.judged) return;
  ProbeCluster& c = it->second;
  ++c.acked;
  c.bytes += sent.size;
  c.first_send_us = std::min(c.first_send_us, sent.send_us);
  if (sent.send_us >= c.last_send_us) {
    c.last_send_us = sent.send_us;
    c.last_send_size = sent.size;
  }
  if (arrival_us < c.first_arrival_us) {
    c.first_arrival_us = arrival_us;
    c.first_arrival_size = sent.size;
  }
  c.last_arrival_us = std::max(c.last_arrival_us, arrival_us);
  if (c.arrivals.size() < kMaxProbeArrivals) c.arrivals.emplace_back(arrival_us, sent.size);
}

void SendSideBwe::JudgeProbes(int64_t now_us) {
  for (auto& [id, c] : probes_) {
    if (c.judged) continue;
    // A probe that lost more than a fifth of its packets went faster than the path: its
    // arrival timing mostly measures the queue's burst allowance (a token bucket lets its depth
    // through at line rate), not the rate, so it raises nothing. A packet or two lost is the
    // path's random loss (5 % loses one of ten packets in two clusters of five), not overflow.
    if (c.lost * 5 > c.sent) {
      c.judged = true;
      ++counters_.probes_failed;
      continue;
    }
    if (c.acked < kMinProbePackets || c.acked * 5 < c.sent * 4) continue;
    c.judged = true;
    // As the sender of the probe measures it: the rate it went out at (without the last
    // packet's bytes, which took no send time) and the rate it arrived at (without the first's),
    // the smaller of the two. An arrival much faster than the sending means the timing is not
    // to be trusted (a burst released from some queue): no result.
    const int64_t send_interval = c.last_send_us - c.first_send_us;
    const int64_t receive_interval = c.last_arrival_us - c.first_arrival_us;
    if (send_interval <= 0 || receive_interval <= 0 || send_interval > 1'000'000 ||
        receive_interval > 1'000'000) {
      ++counters_.probes_failed;
      continue;
    }
    const double send_bps =
        static_cast<double>(c.bytes - c.last_send_size) * 8e6 / static_cast<double>(send_interval);
    const double receive_bps = static_cast<double>(c.bytes - c.first_arrival_size) * 8e6 /
                               static_cast<double>(receive_interval);
    if (receive_bps > 2 * send_bps) {
      ++counters_.probes_failed;
      continue;
    }
    double path_bps = receive_bps;
    if (c.arrivals.size() >= kMinProbePacketsForLaterHalf) {
      std::sort(c.arrivals.begin(), c.arrivals.end());
      const size_t from = c.arrivals.size() / 2;
      const int64_t interval = c.arrivals.back().first - c.arrivals[from].first;
      size_t bytes = 0;
      for (size_t i = from + 1; i < c.arrivals.size(); ++i) bytes += c.arrivals[i].second;
      if (interval > 0) path_bps = static_cast<double>(bytes) * 8e6 / static_cast<double>(interval);
    }
    double result = std::min(send_bps, path_bps);
    if (path_bps < 0.9 * send_bps) result = 0.95 * path_bps;  // the path was saturated
    ++counters_.probes_succeeded;
    aimd_.RaiseTo(static_cast<int64_t>(result), now_us);
    loss_.RaiseTo(static_cast<int64_t>(result));
  }
}

}  // namespace sb::bwe
