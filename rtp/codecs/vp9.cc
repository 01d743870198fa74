#include "rtp/codecs/vp9.h"

#include "rtp/byte_io.h"
#include "rtp/codecs/picture_id.h"

namespace sb::rtp {
namespace {

// SS at payload[i...]; advances i. nullopt when truncated.
std::optional<Vp9ScalabilityStructure> ParseSs(absl::Span<const uint8_t> p, size_t& i) {
  const size_t n = p.size();
  if (i >= n) {
    return std::nullopt;
  }
  Vp9ScalabilityStructure ss;
  const uint8_t b = p[i++];
  ss.num_spatial_layers = static_cast<uint8_t>((b >> 5) + 1);
  ss.has_resolutions = b & 0x10;
  ss.has_picture_group = b & 0x08;
  if (ss.has_resolutions) {
    if (n - i < 4u * ss.num_spatial_layers) {
      return std::nullopt;
    }
    for (size_t s = 0; s < ss.num_spatial_layers; ++s) {
      ss.widths[s] = ReadU16(p.data() + i);
      ss.heights[s] = ReadU16(p.data() + i + 2);
      i += 4;
    }
  }
  if (ss.has_picture_group) {
    if (i >= n) {
      return std::nullopt;
    }
    const size_t num_pictures = p[i++];  // N_G
    for (size_t g = 0; g < num_pictures; ++g) {
      if (i >= n) {
        return std::nullopt;
      }
      Vp9PictureGroupEntry e;
      e.temporal_id = p[i] >> 5;
      e.switching_up_point = p[i] & 0x10;
      e.num_p_diffs = (p[i] >> 2) & 0x03;
      ++i;
      if (n - i < e.num_p_diffs) {
        return std::nullopt;
      }
      for (size_t r = 0; r < e.num_p_diffs; ++r) {
        e.p_diffs[r] = p[i++];
      }
      ss.picture_group.push_back(e);
    }
  }
  return ss;
}

}  // namespace

std::optional<Vp9Descriptor> Vp9Descriptor::Parse(absl::Span<const uint8_t> payload) {
  const size_t n = payload.size();
  if (n < 1) {
    return std::nullopt;
  }
  Vp9Descriptor d;
  const uint8_t b0 = payload[0];
  d.has_picture_id = b0 & 0x80;
  d.inter_picture_predicted = b0 & 0x40;
  d.has_layer_indices = b0 & 0x20;
  d.flexible_mode = b0 & 0x10;
  d.start_of_frame = b0 & 0x08;
  d.end_of_frame = b0 & 0x04;
  d.has_scalability_structure = b0 & 0x02;
  d.not_reference_for_upper_spatial = b0 & 0x01;
  size_t i = 1;
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
      d.picture_id = static_cast<uint16_t>(ReadU16(payload.data() + i) & 0x7FFF);
      i += 2;
    } else {
      d.picture_id = payload[i++] & 0x7F;
    }
  }
  if (d.has_layer_indices) {
    if (i >= n) {
      return std::nullopt;
    }
    const uint8_t l = payload[i++];
    d.temporal_id = l >> 5;
    d.switching_up_point = l & 0x10;
    d.spatial_id = (l >> 1) & 0x07;
    d.inter_layer_dependency = l & 0x01;
    if (!d.flexible_mode) {
      if (i >= n) {
        return std::nullopt;
      }
      d.has_tl0_pic_idx = true;
      d.tl0_pic_idx_offset = i;
      d.tl0_pic_idx = payload[i++];
    }
  }
  if (d.flexible_mode && d.inter_picture_predicted) {
    // Reference indices (P_DIFF, N): N = 1 means another follows, at most 3 in all.
    bool more = true;
    while (more) {
      if (i >= n || d.num_p_diffs == kMaxPDiffs) {
        return std::nullopt;
      }
      d.p_diffs[d.num_p_diffs++] = payload[i] >> 1;
      more = payload[i] & 0x01;
      ++i;
    }
  }
  if (d.has_scalability_structure) {
    d.ss = ParseSs(payload, i);
    if (!d.ss) {
      return std::nullopt;
    }
  }
  if (i >= n) {
    return std::nullopt;  // no VP9 data
  }
  d.size = i;
  return d;
}

bool Vp9IsKeyFrame(absl::Span<const uint8_t> payload) {
  std::optional<Vp9Descriptor> d = Vp9Descriptor::Parse(payload);
  return d && d->IsKeyFrame();
}

bool Vp9SetPictureId(const Vp9Descriptor& d, uint8_t* payload, uint16_t picture_id) {
  return SetDescriptorPictureId(d, payload, picture_id);
}

bool Vp9SetTl0PicIdx(const Vp9Descriptor& d, uint8_t* payload, uint8_t tl0_pic_idx) {
  return SetDescriptorTl0PicIdx(d, payload, tl0_pic_idx);
}

}  // namespace sb::rtp
