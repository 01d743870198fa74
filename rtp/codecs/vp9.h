// VP9 RTP payload descriptor (RFC 9628 4.2) with the scalability structure (4.2.1), and
// key-frame detection: the first packet of a picture (B = 1) of spatial layer 0 that is not
// inter-picture predicted (P = 0).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "absl/types/span.h"

namespace sb::rtp {

struct Vp9PictureGroupEntry {
  uint8_t temporal_id = 0;          // TID
  bool switching_up_point = false;  // U
  uint8_t num_p_diffs = 0;          // R, 0..3
  std::array<uint8_t, 3> p_diffs{};
  bool operator==(const Vp9PictureGroupEntry&) const = default;
};

// SS (RFC 9628 4.2.1).
struct Vp9ScalabilityStructure {
  static constexpr size_t kMaxSpatialLayers = 8;  // N_S is 3 bits

  uint8_t num_spatial_layers = 1;  // N_S + 1
  bool has_resolutions = false;    // Y
  std::array<uint16_t, kMaxSpatialLayers> widths{};
  std::array<uint16_t, kMaxSpatialLayers> heights{};
  bool has_picture_group = false;                   // G
  std::vector<Vp9PictureGroupEntry> picture_group;  // N_G entries
  bool operator==(const Vp9ScalabilityStructure&) const = default;
};

struct Vp9Descriptor {
  static constexpr size_t kMaxPDiffs = 3;

  bool has_picture_id = false;                   // I
  bool inter_picture_predicted = false;          // P
  bool has_layer_indices = false;                // L
  bool flexible_mode = false;                    // F
  bool start_of_frame = false;                   // B
  bool end_of_frame = false;                     // E
  bool has_scalability_structure = false;        // V
  bool not_reference_for_upper_spatial = false;  // Z
  bool picture_id_15bit = false;                 // M
  uint16_t picture_id = 0;
  uint8_t temporal_id = 0;              // TID
  bool switching_up_point = false;      // U
  uint8_t spatial_id = 0;               // SID
  bool inter_layer_dependency = false;  // D
  bool has_tl0_pic_idx = false;         // L = 1 in non-flexible mode
  uint8_t tl0_pic_idx = 0;
  uint8_t num_p_diffs = 0;  // flexible mode with P = 1
  std::array<uint8_t, kMaxPDiffs> p_diffs{};
  std::optional<Vp9ScalabilityStructure> ss;
  size_t size = 0;  // descriptor bytes; the VP9 payload follows
  // Offsets within the payload, for in-place rewriting; 0 when absent.
  size_t picture_id_offset = 0;
  size_t tl0_pic_idx_offset = 0;

  // The descriptor is at the start of an RTP payload, which must carry at least one byte of VP9
  // data after it. Every field is bounds-checked; more than 3 P_DIFFs is rejected.
  static std::optional<Vp9Descriptor> Parse(absl::Span<const uint8_t> payload);
  bool IsKeyFrame() const { return start_of_frame && !inter_picture_predicted && spatial_id == 0; }
};

bool Vp9IsKeyFrame(absl::Span<const uint8_t> payload);

// In-place rewrites of a parsed payload, as for VP8; false when the field is absent.
bool Vp9SetPictureId(const Vp9Descriptor& d, uint8_t* payload, uint16_t picture_id);
bool Vp9SetTl0PicIdx(const Vp9Descriptor& d, uint8_t* payload, uint8_t tl0_pic_idx);

}  // namespace sb::rtp
