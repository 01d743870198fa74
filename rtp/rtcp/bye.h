// RTCP BYE (RFC 3550 6.6).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/types/span.h"

namespace sb::rtp {

struct Bye {
  std::vector<uint32_t> ssrcs;  // at most 31
  std::string reason;           // optional, at most 255 bytes

  static std::optional<Bye> Parse(absl::Span<const uint8_t> packet);
  size_t Size() const;
  size_t Serialize(uint8_t* out, size_t cap) const;  // 0 if too small or fields too long
  bool operator==(const Bye&) const = default;
};

}  // namespace sb::rtp
