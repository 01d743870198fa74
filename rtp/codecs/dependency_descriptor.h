// The AV1 dependency descriptor RTP header extension (AV1 RTP specification, appendix A):
// frame boundaries, frame number, and through the template dependency structure the frame's
// spatial and temporal ids and its relation to each decode target. The structure arrives on
// the first packet of a coded video sequence; later descriptors refer to it by template id,
// so a receiver keeps the latest one (DependencyDescriptorReader).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "absl/types/span.h"

namespace sb::rtp {

// Decode target indication (A.4.2, table A.2).
enum class Dti : uint8_t { kNotPresent = 0, kDiscardable = 1, kSwitch = 2, kRequired = 3 };

struct DdFrameTemplate {
  uint8_t spatial_id = 0;
  uint8_t temporal_id = 0;
  std::vector<Dti> dtis;              // one per decode target
  std::vector<uint16_t> fdiffs;       // frame-number differences to the referred frames
  std::vector<uint8_t> chain_fdiffs;  // one per chain
  bool operator==(const DdFrameTemplate&) const = default;
};

struct DdRenderResolution {
  uint32_t width = 0;
  uint32_t height = 0;
  bool operator==(const DdRenderResolution&) const = default;
};

// template_dependency_structure() of A.4.1.
struct DdStructure {
  static constexpr size_t kMaxTemplates = 64;  // MAX_TEMPLATE_ID + 1
  static constexpr uint8_t kMaxSpatialId = 3;
  static constexpr uint8_t kMaxTemporalId = 7;

  uint8_t template_id_offset = 0;
  uint8_t decode_target_count = 0;                  // 1..32
  uint8_t chain_count = 0;                          // 0..decode_target_count
  std::vector<uint8_t> decode_target_protected_by;  // chain of each decode target
  std::vector<DdFrameTemplate> templates;           // in template index order
  std::vector<DdRenderResolution> resolutions;      // per spatial id, when present

  // The template a frame_dependency_template_id selects, or nullptr when out of range.
  const DdFrameTemplate* FindTemplate(uint8_t template_id) const;
  uint8_t MaxSpatialId() const { return templates.empty() ? 0 : templates.back().spatial_id; }
  bool operator==(const DdStructure&) const = default;
};

struct DependencyDescriptor {
  static constexpr size_t kMandatorySize = 3;
  static constexpr size_t kMaxDecodeTargets = 32;
  // Referred frames kept per frame; more is rejected (an AV1 frame refers to at most 7).
  static constexpr size_t kMaxFdiffs = 16;

  // mandatory_descriptor_fields()
  bool start_of_frame = false;
  bool end_of_frame = false;
  uint8_t template_id = 0;  // frame_dependency_template_id, 6 bits
  uint16_t frame_number = 0;

  // frame_dependency_definition(), from the template unless custom
  uint8_t spatial_id = 0;
  uint8_t temporal_id = 0;
  uint8_t decode_target_count = 0;
  std::array<Dti, kMaxDecodeTargets> dtis{};
  uint8_t fdiff_count = 0;
  std::array<uint16_t, kMaxFdiffs> fdiffs{};
  uint8_t chain_count = 0;
  std::array<uint8_t, kMaxDecodeTargets> chain_fdiffs{};
  std::optional<uint32_t> active_decode_targets_bitmask;

  // The structure this descriptor carried (template_dependency_structure_present_flag).
  std::optional<DdStructure> attached_structure;

  // Only the three mandatory bytes: usable without any structure.
  static std::optional<DependencyDescriptor> ParseMandatory(absl::Span<const uint8_t> data);
  // The full descriptor. `structure` is the latest one received (may be null); an attached
  // structure takes precedence. nullopt when malformed, when no structure is known, or when the
  // template id is outside the structure's range.
  static std::optional<DependencyDescriptor> Parse(absl::Span<const uint8_t> data,
                                                   const DdStructure* structure);

  // In a raw descriptor (the extension element's bytes, e.g. in a packet being forwarded):
  // writes `frame_number` over the mandatory field (the 16 bits after the first byte, A.3),
  // leaving every other bit as it is; false, and nothing written, when `data` is shorter than
  // the mandatory fields.
  static bool WriteFrameNumber(absl::Span<uint8_t> data, uint16_t frame_number);
  // Whether a raw descriptor carries a template dependency structure
  // (template_dependency_structure_present_flag, the first bit after the mandatory fields).
  static bool HasStructure(absl::Span<const uint8_t> data) {
    return data.size() > kMandatorySize && (data[kMandatorySize] & 0x80) != 0;
  }
};

// Parses descriptors of one stream, keeping the latest structure.
class DependencyDescriptorReader {
 public:
  // The descriptor's attached_structure, if any, becomes the current structure (and is left in
  // the result too).
  std::optional<DependencyDescriptor> Parse(absl::Span<const uint8_t> data);
  const DdStructure* structure() const { return structure_ ? &*structure_ : nullptr; }

 private:
  std::optional<DdStructure> structure_;
};

}  // namespace sb::rtp
