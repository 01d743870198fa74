// Full Intra Request (RFC 5104 4.3.1): PSFB, FMT 4, FCI entries of (ssrc, seq nr).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "absl/types/span.h"

namespace sb::rtp {

struct FirEntry {
  uint32_t ssrc = 0;
  uint8_t seq_nr = 0;  // incremented by the sender for each new request
  bool operator==(const FirEntry&) const = default;
};

struct Fir {
  uint32_t sender_ssrc = 0;
  uint32_t media_ssrc = 0;  // RFC 5104 4.3.1.2: SHALL be 0
  std::vector<FirEntry> entries;

  static std::optional<Fir> Parse(absl::Span<const uint8_t> packet);
  size_t Size() const { return 12 + 8 * entries.size(); }
  size_t Serialize(uint8_t* out, size_t cap) const;
  bool operator==(const Fir&) const = default;
};

}  // namespace sb::rtp
