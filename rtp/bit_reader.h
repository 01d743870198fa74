// A bounds-checked MSB-first bit reader. A read past the end returns 0 and makes ok() false
// for good, so a parser can read a group of fields and check once.
#pragma once

#include <cstddef>
#include <cstdint>

#include "absl/types/span.h"

namespace sb::rtp {

class BitReader {
 public:
  explicit BitReader(absl::Span<const uint8_t> data) : data_(data) {}

  // n <= 32.
  uint32_t ReadBits(size_t n) {
    if (!ok_ || n > 32 || n > RemainingBits()) {
      ok_ = false;
      return 0;
    }
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i, ++pos_) {
      v = (v << 1) | ((data_[pos_ / 8] >> (7 - pos_ % 8)) & 1u);
    }
    return static_cast<uint32_t>(v);
  }
  bool ReadBit() { return ReadBits(1) != 0; }

  // ns(n) of the AV1 specification (4.10.7): a value in 0..n-1 in w-1 or w bits.
  uint32_t ReadNonSymmetric(uint32_t n) {
    if (n <= 1) {
      return 0;  // a single possible value takes no bits
    }
    size_t w = 0;
    for (uint32_t x = n; x != 0; x >>= 1) {
      ++w;
    }
    const uint32_t m = (uint32_t{1} << w) - n;
    const uint32_t v = ReadBits(w - 1);
    if (v < m) {
      return v;
    }
    return (v << 1) - m + ReadBits(1);
  }

  bool ok() const { return ok_; }
  size_t ConsumedBits() const { return pos_; }
  size_t RemainingBits() const { return data_.size() * 8 - pos_; }

 private:
  absl::Span<const uint8_t> data_;
  size_t pos_ = 0;
  bool ok_ = true;
};

}  // namespace sb::rtp
