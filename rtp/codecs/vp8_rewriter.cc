#include "rtp/codecs/vp8_rewriter.h"

namespace sb::rtp {
namespace {

constexpr uint16_t kPictureIdMask15 = 0x7FFF;
constexpr uint16_t kPictureIdMask7 = 0x7F;

// True when `a` follows `b` within half of a field `mask` wide (equal is not newer).
bool IsNewer(uint16_t a, uint16_t b, uint16_t mask) {
  const uint16_t diff = static_cast<uint16_t>(a - b) & mask;
  return diff != 0 && diff <= mask / 2;
}

}  // namespace

void Vp8Rewriter::Rewrite(const Vp8Descriptor& d, uint8_t* payload) {
  if (sync_required_) {
    // Continue right after what the receiver saw last. A run that starts without a field
    // keeps the source's values for it until the next sync (nothing to continue from).
    if (d.has_picture_id && picture_id_started_) {
      picture_id_offset_ =
          static_cast<uint16_t>(max_picture_id_ + 1 - d.picture_id) & kPictureIdMask15;
    }
    if (d.has_tl0_pic_idx && tl0_started_) {
      tl0_offset_ = static_cast<uint8_t>(max_tl0_ + 1 - d.tl0_pic_idx);
    }
    sync_required_ = false;
  }
  if (d.has_picture_id) {
    const uint16_t out =
        static_cast<uint16_t>(d.picture_id + picture_id_offset_) & kPictureIdMask15;
    const uint16_t width = d.picture_id_15bit ? kPictureIdMask15 : kPictureIdMask7;
    if (!picture_id_started_ || IsNewer(out, max_picture_id_, width)) max_picture_id_ = out;
    picture_id_started_ = true;
    Vp8SetPictureId(d, payload, out);
  }
  if (d.has_tl0_pic_idx) {
    const uint8_t out = static_cast<uint8_t>(d.tl0_pic_idx + tl0_offset_);
    if (!tl0_started_ || IsNewer(out, max_tl0_, 0xFF)) max_tl0_ = out;
    tl0_started_ = true;
    Vp8SetTl0PicIdx(d, payload, out);
  }
}

bool Vp8Rewriter::DropPicture(const Vp8Descriptor& d) {
  if (sync_required_ || !d.has_picture_id || !picture_id_started_) return false;
  const uint16_t out = static_cast<uint16_t>(d.picture_id + picture_id_offset_) & kPictureIdMask15;
  const uint16_t width = d.picture_id_15bit ? kPictureIdMask15 : kPictureIdMask7;
  if (!IsNewer(out, max_picture_id_, width)) return false;  // shifted on its first packet
  picture_id_offset_ = static_cast<uint16_t>(picture_id_offset_ - 1) & kPictureIdMask15;
  return true;
}

void Vp8Rewriter::Apply(const Vp8Descriptor& d, Offsets offsets, uint8_t* payload) {
  if (d.has_picture_id) {
    Vp8SetPictureId(d, payload,
                    static_cast<uint16_t>(d.picture_id + offsets.picture_id) & kPictureIdMask15);
  }
  if (d.has_tl0_pic_idx) {
    Vp8SetTl0PicIdx(d, payload, static_cast<uint8_t>(d.tl0_pic_idx + offsets.tl0_pic_idx));
  }
}

}  // namespace sb::rtp
