// MSB-first bit writer for hand-assembled test inputs (codec descriptors, the AV1 dependency
// descriptor), zero padded to whole bytes. Shared by the unit tests and the fuzz seed corpus.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace sb::testing {

class BitWriter {
 public:
  // The low `n` bits of `value`, most significant first (n may exceed 32: leading zeros).
  BitWriter& Bits(uint32_t value, size_t n) {
    for (size_t i = n; i-- > 0;) {
      if (bits_ % 8 == 0) bytes_.push_back(0);
      bytes_.back() |= static_cast<uint8_t>(((i < 32 ? value >> i : 0u) & 1u) << (7 - bits_ % 8));
      ++bits_;
    }
    return *this;
  }
  const std::vector<uint8_t>& bytes() const { return bytes_; }

 private:
  std::vector<uint8_t> bytes_;
  size_t bits_ = 0;
};

}  // namespace sb::testing
