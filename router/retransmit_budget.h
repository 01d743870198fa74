// How much a subscriber's NACKs may make a consumer send again: retransmitted bytes stay within
// a share of the media bytes sent to that subscriber over a sliding window, or kMinBytes for a
// slow stream. A NACK costs its sender a
// few bytes and each packet it names up to an MTU here, so without a budget a subscriber could
// multiply what it receives many times over.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace sb::router {

class RetransmitBudget {
 public:
  // The window the shares are measured over, in buckets of kBucketMs.
  static constexpr int64_t kWindowMs = 1000;
  static constexpr int64_t kBucketMs = 100;
  static constexpr size_t kBuckets = kWindowMs / kBucketMs;
  // Retransmissions may add up to half of the media: a path losing a third of its packets is
  // still repaired, and no subscriber makes us send more than 1.5 times its stream.
  static constexpr uint64_t kSharePercent = 50;
  // What a slow stream (a few packets a second, a layer that just started) may have again
  // whatever its rate: ten full-size packets a second, about 100 kbit/s.
  static constexpr uint64_t kMinBytes = 12000;

  // Media (not retransmitted) bytes sent to the subscriber.
  void OnMediaSent(size_t bytes, int64_t now_ms);
  // True (and accounted) when `bytes` more may be retransmitted now.
  bool TryRetransmit(size_t bytes, int64_t now_ms);

  // Totals over the window ending now.
  uint64_t media_bytes(int64_t now_ms);
  uint64_t retransmitted_bytes(int64_t now_ms);

 private:
  // Moves the window to now_ms, forgetting the buckets that fell out of it.
  void Advance(int64_t now_ms);

  struct Bucket {
    uint64_t media = 0;
    uint64_t retransmitted = 0;
  };
  std::array<Bucket, kBuckets> buckets_{};
  bool started_ = false;
  int64_t head_ = 0;  // index (now_ms / kBucketMs) of the newest bucket
  uint64_t media_ = 0;
  uint64_t retransmitted_ = 0;
};

}  // namespace sb::router
