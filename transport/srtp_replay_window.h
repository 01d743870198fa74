// The receiver's replay list of SRTP/SRTCP (RFC 3711 3.3.2): which of the last kBits packet
// indices, counted back from the highest authenticated one, have been received.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace sb::transport {

template <size_t kBits>
class SrtpReplayWindow {
  static_assert(kBits % 64 == 0 && kBits >= 64, "whole 64-bit words");

 public:
  enum class Verdict { kNew, kSeen, kTooOld };

  // `index` is the 48-bit SRTP index (ROC || SEQ) or the 31-bit SRTCP index.
  Verdict Check(uint64_t index) const {
    if (!started_ || index > top_) return Verdict::kNew;
    if (top_ - index >= kBits) return Verdict::kTooOld;
    return Bit(index) ? Verdict::kSeen : Verdict::kNew;
  }

  // Records an index that authenticated; Check() must not have said kTooOld.
  void Add(uint64_t index) {
    if (!started_) {
      started_ = true;
      top_ = index;
    } else if (index > top_) {
      // The indices between the old top and the new one become "not received"; the ring
      // position of index i is i mod kBits, so only those positions need clearing.
      const uint64_t advance = index - top_;
      if (advance >= kBits) {
        bits_.fill(0);
      } else {
        for (uint64_t i = top_ + 1; i < index; ++i) Clear(i);
      }
      top_ = index;
    }
    Set(index);
  }

  uint64_t top() const { return top_; }
  bool started() const { return started_; }

 private:
  bool Bit(uint64_t i) const { return (bits_[(i % kBits) / 64] >> (i % 64)) & 1; }
  void Set(uint64_t i) { bits_[(i % kBits) / 64] |= uint64_t{1} << (i % 64); }
  void Clear(uint64_t i) { bits_[(i % kBits) / 64] &= ~(uint64_t{1} << (i % 64)); }

  std::array<uint64_t, kBits / 64> bits_{};
  uint64_t top_ = 0;
  bool started_ = false;
};

}  // namespace sb::transport
