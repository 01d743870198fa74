#include "rtp/nack_generator.h"

#include <algorithm>

namespace sb::rtp {

bool NackGenerator::OnPacket(uint16_t sequence_number, int64_t now_ms) {
  const int64_t seq = unwrapper_.Unwrap(sequence_number);
  if (!newest_) {
    newest_ = seq;
    return true;
  }
  if (seq <= *newest_) {
    auto it = missing_.find(seq);
    if (it == missing_.end()) return false;  // a duplicate, or older than what we track
    missing_.erase(it);
    ++stats_.recovered;
    return true;
  }
  const int64_t gap = seq - *newest_ - 1;
  if (gap > 0) {
    if (missing_.size() + static_cast<size_t>(gap) > kMaxMissing) {
      // Too much to ask for: what is missing now is left to a key frame.
      stats_.given_up += missing_.size() + static_cast<uint64_t>(gap);
      missing_.clear();
    } else {
      for (int64_t s = *newest_ + 1; s < seq; ++s) missing_.emplace(s, Missing{now_ms});
    }
  }
  newest_ = seq;
  return true;
}

std::vector<uint16_t> NackGenerator::Due(int64_t now_ms, int64_t retry_interval_ms) {
  const int64_t interval = std::max(retry_interval_ms, kMinRetryIntervalMs);
  std::vector<uint16_t> due;
  for (auto it = missing_.begin(); it != missing_.end();) {
    Missing& m = it->second;
    if (now_ms - m.missed_ms > kMaxAgeMs || m.retries >= kMaxRetries) {
      ++stats_.given_up;
      it = missing_.erase(it);
      continue;
    }
    if (!m.asked_ms || now_ms - *m.asked_ms >= interval) {
      m.asked_ms = now_ms;
      ++m.retries;
      ++stats_.requested;
      due.push_back(static_cast<uint16_t>(it->first));
    }
    ++it;
  }
  return due;
}

}  // namespace sb::rtp
