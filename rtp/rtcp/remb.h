// Receiver Estimated Maximum Bitrate (draft-alvestrand-rmcat-remb-03): PSFB, FMT 15 (AFB) with
// the "REMB" identifier, a bitrate as 6-bit exponent and 18-bit mantissa, and the ssrcs it
// applies to.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "absl/types/span.h"

namespace sb::rtp {

struct Remb {
  uint32_t sender_ssrc = 0;
  uint64_t bitrate_bps = 0;     // rounded down to what exp/mantissa can express when serialized
  std::vector<uint32_t> ssrcs;  // at most 255

  // nullopt for other AFB messages too (no "REMB" identifier).
  static std::optional<Remb> Parse(absl::Span<const uint8_t> packet);
  size_t Size() const { return 20 + 4 * ssrcs.size(); }
  size_t Serialize(uint8_t* out, size_t cap) const;
  bool operator==(const Remb&) const = default;
};

}  // namespace sb::rtp
