// Picture Loss Indication (RFC 4585 6.3.1): PSFB, FMT 1, no FCI.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "absl/types/span.h"

namespace sb::rtp {

struct Pli {
  static constexpr size_t kSize = 12;

  uint32_t sender_ssrc = 0;
  uint32_t media_ssrc = 0;

  static std::optional<Pli> Parse(absl::Span<const uint8_t> packet);
  size_t Size() const { return kSize; }
  size_t Serialize(uint8_t* out, size_t cap) const;
  bool operator==(const Pli&) const = default;
};

}  // namespace sb::rtp
