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

// The VP8 and VP9 setters: rewrite the descriptor's field in place when it has one (the
// offsets are the parsed descriptor's), false when it has none.
template <class Descriptor>
bool SetDescriptorPictureId(const Descriptor& d, uint8_t* payload, uint16_t picture_id) {
  if (!d.has_picture_id) {
    return false;
  }
  WritePictureId(payload + d.picture_id_offset, d.picture_id_15bit, picture_id);
  return true;
}

template <class Descriptor>
bool SetDescriptorTl0PicIdx(const Descriptor& d, uint8_t* payload, uint8_t tl0_pic_idx) {
  if (!d.has_tl0_pic_idx) {
    return false;
  }
  payload[d.tl0_pic_idx_offset] = tl0_pic_idx;
  return true;
}

}  // namespace sb::rtp
