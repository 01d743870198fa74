#include "rtp/rate_meter.h"

namespace sb::rtp {
namespace {

// Floor division, so that times before 0 (tests, clocks starting low) fall in the right bucket.
int64_t BucketIndex(int64_t now_ms) {
  return now_ms >= 0 ? now_ms / RateMeter::kBucketMs
                     : -((-now_ms + RateMeter::kBucketMs - 1) / RateMeter::kBucketMs);
}

}  // namespace

void RateMeter::Add(size_t bytes, int64_t now_ms) {
  const int64_t index = BucketIndex(now_ms);
  Bucket& bucket = buckets_[static_cast<size_t>(index % static_cast<int64_t>(kBuckets) +
                                                static_cast<int64_t>(kBuckets)) %
                            kBuckets];
  if (bucket.index != index) bucket = {index, 0};
  bucket.bytes += bytes;
}

int64_t RateMeter::BitsPerSecond(int64_t now_ms) const {
  const int64_t newest = BucketIndex(now_ms);
  uint64_t bytes = 0;
  for (const Bucket& bucket : buckets_) {
    if (bucket.index <= newest && bucket.index > newest - static_cast<int64_t>(kBuckets)) {
      bytes += bucket.bytes;
    }
  }
  if (bytes == 0) return 0;
  // The full buckets before the current one, plus the part of the current one that has run.
  const int64_t elapsed_ms =
      (static_cast<int64_t>(kBuckets) - 1) * kBucketMs + (now_ms - newest * kBucketMs) + 1;
  return static_cast<int64_t>(bytes * 8 * 1000 / static_cast<uint64_t>(elapsed_ms));
}

}  // namespace sb::rtp
