#include "rtp/codecs/vp8.h"

#include "rtp/codecs/picture_id.h"

namespace sb::rtp {

std::optional<Vp8Descriptor> Vp8Descriptor::Parse(absl::Span<const uint8_t> payload) {
  const size_t n = payload.size();
  if (n < 1) {
    return std::nullopt;
  }
  Vp8Descriptor d;
  const uint8_t b0 = payload[0];
  d.extended = b0 & 0x80;
  d.non_reference = b0 & 0x20;
  d.start_of_partition = b0 & 0x10;
  d.partition_id = b0 & 0x07;
  size_t i = 1;
  if (d.extended) {
    if (i >= n) {
      return std::nullopt;
    }
    const uint8_t x = payload[i++];
    d.has_picture_id = x & 0x80;
    d.has_tl0_pic_idx = x & 0x40;
    d.has_tid = x & 0x20;
    d.has_key_idx = x & 0x10;
    if (d.has_picture_id) {
      if (i >= n) {
        return std::nullopt;
      }
      d.picture_id_offset = i;
      if (payload[i] & 0x80) {
        if (n - i < 2) {
          return std::nullopt;
        }
        d.picture_id_15bit = true;
        d.picture_id = static_cast<uint16_t>(((payload[i] & 0x7F) << 8) | payload[i + 1]);
        i += 2;
      } else {
        d.picture_id = payload[i] & 0x7F;
        i += 1;
      }
    }
    if (d.has_tl0_pic_idx) {
      if (i >= n) {
        return std::nullopt;
      }
      d.tl0_pic_idx_offset = i;
      d.tl0_pic_idx = payload[i++];
    }
    if (d.has_tid || d.has_key_idx) {
      if (i >= n) {
        return std::nullopt;
      }
      const uint8_t t = payload[i++];
      if (d.has_tid) {
        d.tid = t >> 6;
        d.layer_sync = t & 0x20;
      }
      if (d.has_key_idx) {
        d.key_idx = t & 0x1F;
      }
    }
  }
  if (i >= n) {
    return std::nullopt;  // no VP8 data
  }
  d.size = i;
  return d;
}

bool Vp8IsKeyFrame(absl::Span<const uint8_t> payload) {
  std::optional<Vp8Descriptor> d = Vp8Descriptor::Parse(payload);
  // The payload header is only present at the start of partition 0.
  return d && d->IsFrameStart() && (payload[d->size] & 0x01) == 0;
}

bool Vp8SetPictureId(const Vp8Descriptor& d, uint8_t* payload, uint16_t picture_id) {
  return SetDescriptorPictureId(d, payload, picture_id);
}

bool Vp8SetTl0PicIdx(const Vp8Descriptor& d, uint8_t* payload, uint8_t tl0_pic_idx) {
  return SetDescriptorTl0PicIdx(d, payload, tl0_pic_idx);
}

}  // namespace sb::rtp
