// A token bucket: `rate` tokens a second accumulate up to `burst`; Take() spends one when there
// is one. Pure: the caller passes the time (a libuv loop's uv_now, in tests any clock).
#pragma once

#include <algorithm>
#include <cstdint>

namespace sb {

class TokenBucket {
 public:
  // Starts full.
  TokenBucket(double rate_per_second, double burst)
      : rate_(rate_per_second), burst_(burst), tokens_(burst) {}

  bool Take(uint64_t now_ms) {
    if (started_ && now_ms > last_ms_) {
      tokens_ = std::min(burst_, tokens_ + rate_ * static_cast<double>(now_ms - last_ms_) / 1000);
    }
    started_ = true;
    last_ms_ = std::max(last_ms_, now_ms);
    if (tokens_ < 1) return false;
    tokens_ -= 1;
    return true;
  }

 private:
  const double rate_;
  const double burst_;
  double tokens_;
  uint64_t last_ms_ = 0;
  bool started_ = false;
};

}  // namespace sb
