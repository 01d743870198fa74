// The picture id field VP8 (RFC 7741 4.2) and VP9 (RFC 9628 4.2) descriptors share: 7 bits, or
// 15 bits with the M bit set in the first octet.
#pragma once

#include <cstdint>

namespace sb::rtp {

// Rewrites a picture id in place, keeping the field's width (the low 7 or 15 bits of `id`).
inline void WritePictureId(uint8_t* p, bool is_15bit, uint16_t id) {
  if (is_15bit) {
    p[0] = static_cast<uint8_t>(0x80 | ((id >> 8) & 0x7F));
    p[1] = static_cast<uint8_t>(id);
  } else {
    p[0] = static_cast<uint8_t>(id & 0x7F);
  }
}

}  // namespace sb::rtp
