// The bitrate of a stream over the last second, from the packets counted into it: ten buckets
// of 100 ms (one bucket is the resolution; a second spans several frames of even a slow
// layer, so a key frame does not double the figure). Pure; the caller gives the time.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace sb::rtp {

class RateMeter {
 public:
  static constexpr int64_t kBucketMs = 100;
  static constexpr size_t kBuckets = 10;
  static constexpr int64_t kWindowMs = kBucketMs * kBuckets;

  void Add(size_t bytes, int64_t now_ms);
  // Bits per second over the window ending at `now_ms` (the bucket in progress counts for the
  // time it has run); 0 when nothing was counted in the window.
  int64_t BitsPerSecond(int64_t now_ms) const;

 private:
  struct Bucket {
    int64_t index = INT64_MIN;  // now_ms / kBucketMs of the time it counts
    uint64_t bytes = 0;
  };
  std::array<Bucket, kBuckets> buckets_{};
};

}  // namespace sb::rtp
