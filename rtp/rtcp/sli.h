// Slice Loss Indication (RFC 4585 6.3.2): PSFB, FMT 2, FCI entries of (first, number,
// picture id) packed as 13 + 13 + 6 bits.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "absl/types/span.h"

namespace sb::rtp {

inline constexpr uint8_t kPsfbSli = 2;

struct SliItem {
  static constexpr uint16_t kMaxFirst = 0x1FFF;  // 13 bits
  static constexpr uint16_t kMaxNumber = 0x1FFF;
  static constexpr uint8_t kMaxPictureId = 0x3F;  // 6 bits

  uint16_t first = 0;      // first lost macroblock
  uint16_t number = 0;     // number of lost macroblocks
  uint8_t picture_id = 0;  // six least significant bits of the codec picture id
  bool operator==(const SliItem&) const = default;
};

struct Sli {
  uint32_t sender_ssrc = 0;
  uint32_t media_ssrc = 0;
  std::vector<SliItem> items;  // RFC 4585 6.3.2.1: at least one

  // nullopt when malformed or without any item.
  static std::optional<Sli> Parse(absl::Span<const uint8_t> packet);
  size_t Size() const { return 12 + 4 * items.size(); }
  // 0 if cap is too small, no items, or a field does not fit its bits.
  size_t Serialize(uint8_t* out, size_t cap) const;
  bool operator==(const Sli&) const = default;
};

}  // namespace sb::rtp
