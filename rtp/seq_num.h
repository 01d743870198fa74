// Sequence-number and timestamp arithmetic modulo 2^16 / 2^32 (RFC 3550 A.1).
#pragma once

#include <cstdint>
#include <optional>

namespace sb::rtp {

// True when `a` is after `b` in modulo-2^16 order (half the space ahead). Equal is not newer.
inline bool IsSeqNewer(uint16_t a, uint16_t b) {
  return a != b && static_cast<uint16_t>(a - b) < 0x8000;
}
// Same for 32-bit RTP timestamps.
inline bool IsTimestampNewer(uint32_t a, uint32_t b) {
  return a != b && static_cast<uint32_t>(a - b) < 0x80000000u;
}
// Signed distance a - b in modulo-2^16 order, in [-32768, 32767].
inline int32_t SeqDiff(uint16_t a, uint16_t b) {
  return static_cast<int16_t>(static_cast<uint16_t>(a - b));
}

// Extends 16-bit sequence numbers to a monotonic-ish int64 by tracking wraparound.
// Old (reordered) values map below the last one, across a wrap too.
class SeqUnwrapper {
 public:
  int64_t Unwrap(uint16_t seq);
  // Looks at the value `seq` would unwrap to without updating state.
  int64_t Peek(uint16_t seq) const;
  std::optional<int64_t> last() const { return last_; }
  void Reset() { last_.reset(); }

 private:
  std::optional<int64_t> last_;
};

// Same for 32-bit RTP timestamps.
class TimestampUnwrapper {
 public:
  int64_t Unwrap(uint32_t ts);
  int64_t Peek(uint32_t ts) const;
  std::optional<int64_t> last() const { return last_; }
  void Reset() { last_.reset(); }

 private:
  std::optional<int64_t> last_;
};

}  // namespace sb::rtp
