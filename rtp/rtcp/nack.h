// Generic NACK (RFC 4585 6.2.1): RTPFB, FMT 1, FCI entries of (PID, BLP).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "absl/types/span.h"

namespace sb::rtp {

struct NackItem {
  uint16_t pid = 0;  // a lost packet
  uint16_t blp = 0;  // bit i set: pid + i + 1 lost too
  bool operator==(const NackItem&) const = default;
};

struct Nack {
  uint32_t sender_ssrc = 0;
  uint32_t media_ssrc = 0;
  std::vector<NackItem> items;

  // Packs sequence numbers (in increasing modulo-2^16 order) into as few items as that order
  // allows.
  static Nack FromSequenceNumbers(uint32_t sender_ssrc, uint32_t media_ssrc,
                                  absl::Span<const uint16_t> seqs);
  // All sequence numbers the items name, in item order.
  std::vector<uint16_t> SequenceNumbers() const;

  static std::optional<Nack> Parse(absl::Span<const uint8_t> packet);
  size_t Size() const;
  size_t Serialize(uint8_t* out, size_t cap) const;
  bool operator==(const Nack&) const = default;
};

}  // namespace sb::rtp
