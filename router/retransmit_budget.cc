#include "router/retransmit_budget.h"

#include <algorithm>

namespace sb::router {

void RetransmitBudget::Advance(int64_t now_ms) {
  const int64_t slot = now_ms / kBucketMs;
  if (!started_) {
    started_ = true;
    head_ = slot;
    return;
  }
  if (slot <= head_) return;  // the same bucket (or a clock that went back: keep counting there)
  const int64_t steps =
      slot - head_ < static_cast<int64_t>(kBuckets) ? slot - head_ : static_cast<int64_t>(kBuckets);
  for (int64_t i = 1; i <= steps; ++i) {
    Bucket& b = buckets_[static_cast<size_t>((head_ + i) % static_cast<int64_t>(kBuckets))];
    media_ -= b.media;
    retransmitted_ -= b.retransmitted;
    b = {};
  }
  head_ = slot;
}

void RetransmitBudget::OnMediaSent(size_t bytes, int64_t now_ms) {
  Advance(now_ms);
  buckets_[static_cast<size_t>(head_ % static_cast<int64_t>(kBuckets))].media += bytes;
  media_ += bytes;
}

bool RetransmitBudget::TryRetransmit(size_t bytes, int64_t now_ms) {
  Advance(now_ms);
  const uint64_t allowed = std::max(media_ * kSharePercent / 100, kMinBytes);
  if (retransmitted_ + bytes > allowed) return false;
  buckets_[static_cast<size_t>(head_ % static_cast<int64_t>(kBuckets))].retransmitted += bytes;
  retransmitted_ += bytes;
  return true;
}

uint64_t RetransmitBudget::media_bytes(int64_t now_ms) {
  Advance(now_ms);
  return media_;
}

uint64_t RetransmitBudget::retransmitted_bytes(int64_t now_ms) {
  Advance(now_ms);
  return retransmitted_;
}

}  // namespace sb::router
