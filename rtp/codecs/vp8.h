// VP8 RTP payload descriptor (RFC 7741 4.2) and key-frame detection (RFC 7741 4.3, RFC 6386
// 9.1: the P bit of the VP8 payload header is 0 on key frames).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "absl/types/span.h"

namespace sb::rtp {

struct Vp8Descriptor {
  bool extended = false;            // X
  bool non_reference = false;       // N
  bool start_of_partition = false;  // S
  uint8_t partition_id = 0;         // PID
  bool has_picture_id = false;      // I
  bool picture_id_15bit = false;    // M
  uint16_t picture_id = 0;
  bool has_tl0_pic_idx = false;  // L
  uint8_t tl0_pic_idx = 0;
  bool has_tid = false;  // T
  uint8_t tid = 0;
  bool layer_sync = false;   // Y
  bool has_key_idx = false;  // K
  uint8_t key_idx = 0;
  size_t size = 0;  // descriptor bytes; the VP8 payload follows
  // Offsets within the payload, for in-place rewriting; 0 when absent.
  size_t picture_id_offset = 0;
  size_t tl0_pic_idx_offset = 0;

  // The descriptor is at the start of an RTP payload, which must carry at least one byte of
  // VP8 data after it.
  static std::optional<Vp8Descriptor> Parse(absl::Span<const uint8_t> payload);
  // First packet of a frame: S = 1 and PID = 0.
  bool IsFrameStart() const { return start_of_partition && partition_id == 0; }
};

bool Vp8IsKeyFrame(absl::Span<const uint8_t> payload);

// In-place rewrites of a parsed payload (simulcast switching keeps these continuous). The
// picture id keeps its 7/15-bit width. Return false when the field is absent.
bool Vp8SetPictureId(const Vp8Descriptor& d, uint8_t* payload, uint16_t picture_id);
bool Vp8SetTl0PicIdx(const Vp8Descriptor& d, uint8_t* payload, uint8_t tl0_pic_idx);

}  // namespace sb::rtp
