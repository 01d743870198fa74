// RTCP APP: application-defined packet (RFC 3550 6.7).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "absl/types/span.h"

namespace sb::rtp {

struct App {
  uint8_t subtype = 0;  // 5 bits
  uint32_t ssrc = 0;
  std::array<char, 4> name{};  // four ASCII characters
  std::vector<uint8_t> data;   // application-dependent; a multiple of 4 bytes

  // `packet` is one whole RTCP packet; data that is not a multiple of 4 bytes is rejected.
  static std::optional<App> Parse(absl::Span<const uint8_t> packet);
  size_t Size() const { return 12 + data.size(); }
  // 0 if cap is too small, subtype > 31 or data is not a multiple of 4 bytes.
  size_t Serialize(uint8_t* out, size_t cap) const;
  bool operator==(const App&) const = default;
};

}  // namespace sb::rtp
