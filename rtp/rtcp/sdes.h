// RTCP Source Description (RFC 3550 6.5). CNAME is kept by name; other items are kept raw.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/types/span.h"

namespace sb::rtp {

inline constexpr uint8_t kSdesCname = 1;  // RFC 3550 6.5.1

struct SdesItem {
  uint8_t type = 0;   // 2..8 (NAME, EMAIL, ...), PRIV = 8
  std::string value;  // at most 255 bytes
  bool operator==(const SdesItem&) const = default;
};

struct SdesChunk {
  uint32_t ssrc = 0;
  std::string cname;                  // empty = no CNAME item
  std::vector<SdesItem> other_items;  // written after the CNAME
  bool operator==(const SdesChunk&) const = default;
};

struct Sdes {
  std::vector<SdesChunk> chunks;  // at most 31

  // `packet` is one whole RTCP packet. Every item length is checked against the chunk.
  static std::optional<Sdes> Parse(absl::Span<const uint8_t> packet);
  size_t Size() const;
  // 0 if cap is too small, more than 31 chunks, or an item longer than 255 bytes.
  size_t Serialize(uint8_t* out, size_t cap) const;
  bool operator==(const Sdes&) const = default;
};

}  // namespace sb::rtp
