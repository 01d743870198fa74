#include "rtp/codecs/dependency_descriptor.h"

#include "rtp/bit_reader.h"

namespace sb::rtp {
namespace {

constexpr uint8_t kMaxTemplateId = 63;  // A.4.1 table A.1

// next_layer_idc values (A.4.2 table A.3).
constexpr uint32_t kSameLayer = 0;
constexpr uint32_t kNextTemporal = 1;
constexpr uint32_t kNextSpatial = 2;
constexpr uint32_t kNoMoreTemplates = 3;

// template_dependency_structure(); false when malformed or beyond the syntax constants.
bool ReadStructure(BitReader& r, DdStructure& s) {
  s.template_id_offset = static_cast<uint8_t>(r.ReadBits(6));
  s.decode_target_count = static_cast<uint8_t>(r.ReadBits(5) + 1);

  // template_layers()
  uint8_t spatial_id = 0;
  uint8_t temporal_id = 0;
  uint32_t idc = kSameLayer;
  do {
    if (s.templates.size() == DdStructure::kMaxTemplates) {
      return false;
    }
    DdFrameTemplate t;
    t.spatial_id = spatial_id;
    t.temporal_id = temporal_id;
    s.templates.push_back(std::move(t));
    idc = r.ReadBits(2);
    if (idc == kNextTemporal) {
      if (++temporal_id > DdStructure::kMaxTemporalId) {
        return false;
      }
    } else if (idc == kNextSpatial) {
      temporal_id = 0;
      if (++spatial_id > DdStructure::kMaxSpatialId) {
        return false;
      }
    }
  } while (idc != kNoMoreTemplates && r.ok());

  // template_dtis()
  for (DdFrameTemplate& t : s.templates) {
    for (size_t i = 0; i < s.decode_target_count; ++i) {
      t.dtis.push_back(static_cast<Dti>(r.ReadBits(2)));
    }
  }
  // template_fdiffs()
  for (DdFrameTemplate& t : s.templates) {
    while (r.ReadBit()) {
      if (t.fdiffs.size() == DependencyDescriptor::kMaxFdiffs) {
        return false;
      }
      t.fdiffs.push_back(static_cast<uint16_t>(r.ReadBits(4) + 1));
    }
  }
  // template_chains()
  s.chain_count = static_cast<uint8_t>(r.ReadNonSymmetric(s.decode_target_count + 1u));
  if (s.chain_count > 0) {
    for (size_t i = 0; i < s.decode_target_count; ++i) {
      s.decode_target_protected_by.push_back(
          static_cast<uint8_t>(r.ReadNonSymmetric(s.chain_count)));
    }
    for (DdFrameTemplate& t : s.templates) {
      for (size_t i = 0; i < s.chain_count; ++i) {
        t.chain_fdiffs.push_back(static_cast<uint8_t>(r.ReadBits(4)));
      }
    }
  }
  // render_resolutions()
  if (r.ReadBit()) {
    for (size_t sid = 0; sid <= s.MaxSpatialId(); ++sid) {
      const uint32_t w = r.ReadBits(16) + 1;
      const uint32_t h = r.ReadBits(16) + 1;
      s.resolutions.push_back({w, h});
    }
  }
  return r.ok();
}

}  // namespace

const DdFrameTemplate* DdStructure::FindTemplate(uint8_t template_id) const {
  const size_t index =
      (template_id + (kMaxTemplateId + 1u) - template_id_offset) % (kMaxTemplateId + 1u);
  return index < templates.size() ? &templates[index] : nullptr;
}

std::optional<DependencyDescriptor> DependencyDescriptor::ParseMandatory(
    absl::Span<const uint8_t> data) {
  if (data.size() < kMandatorySize) {
    return std::nullopt;
  }
  BitReader r(data);
  DependencyDescriptor d;
  d.start_of_frame = r.ReadBit();
  d.end_of_frame = r.ReadBit();
  d.template_id = static_cast<uint8_t>(r.ReadBits(6));
  d.frame_number = static_cast<uint16_t>(r.ReadBits(16));
  return d;
}

std::optional<DependencyDescriptor> DependencyDescriptor::Parse(absl::Span<const uint8_t> data,
                                                                const DdStructure* structure) {
  std::optional<DependencyDescriptor> parsed = ParseMandatory(data);
  if (!parsed) {
    return std::nullopt;
  }
  DependencyDescriptor& d = *parsed;
  BitReader r(data);
  r.ReadBits(24);

  // extended_descriptor_fields(), or their defaults (no_extended_descriptor_fields()).
  bool custom_dtis = false;
  bool custom_fdiffs = false;
  bool custom_chains = false;
  if (data.size() > kMandatorySize) {
    const bool structure_present = r.ReadBit();
    const bool active_present = r.ReadBit();
    custom_dtis = r.ReadBit();
    custom_fdiffs = r.ReadBit();
    custom_chains = r.ReadBit();
    if (structure_present) {
      d.attached_structure.emplace();
      if (!ReadStructure(r, *d.attached_structure)) {
        return std::nullopt;
      }
      structure = &*d.attached_structure;
      d.active_decode_targets_bitmask =
          static_cast<uint32_t>((uint64_t{1} << structure->decode_target_count) - 1);
    }
    if (active_present) {
      if (structure == nullptr) {
        return std::nullopt;
      }
      d.active_decode_targets_bitmask = r.ReadBits(structure->decode_target_count);
    }
  }
  if (structure == nullptr) {
    return std::nullopt;
  }

  // frame_dependency_definition()
  const DdFrameTemplate* t = structure->FindTemplate(d.template_id);
  // A structure built by hand must still be consistent before it is indexed.
  if (t == nullptr || structure->decode_target_count > kMaxDecodeTargets ||
      structure->chain_count > kMaxDecodeTargets ||
      t->dtis.size() < structure->decode_target_count ||
      t->chain_fdiffs.size() < structure->chain_count) {
    return std::nullopt;
  }
  d.spatial_id = t->spatial_id;
  d.temporal_id = t->temporal_id;
  d.decode_target_count = structure->decode_target_count;
  for (size_t i = 0; i < d.decode_target_count; ++i) {
    d.dtis[i] = custom_dtis ? static_cast<Dti>(r.ReadBits(2)) : t->dtis[i];
  }
  if (custom_fdiffs) {
    for (uint32_t size = r.ReadBits(2); size != 0 && r.ok(); size = r.ReadBits(2)) {
      if (d.fdiff_count == kMaxFdiffs) {
        return std::nullopt;
      }
      d.fdiffs[d.fdiff_count++] = static_cast<uint16_t>(r.ReadBits(4 * size) + 1);
    }
  } else {
    if (t->fdiffs.size() > kMaxFdiffs) {
      return std::nullopt;
    }
    for (uint16_t f : t->fdiffs) {
      d.fdiffs[d.fdiff_count++] = f;
    }
  }
  d.chain_count = structure->chain_count;
  for (size_t i = 0; i < d.chain_count; ++i) {
    d.chain_fdiffs[i] = custom_chains ? static_cast<uint8_t>(r.ReadBits(8)) : t->chain_fdiffs[i];
  }
  // The rest, up to the end of the element, is zero padding; reading past it is an error.
  if (!r.ok()) {
    return std::nullopt;
  }
  return parsed;
}

bool DependencyDescriptor::WriteFrameNumber(absl::Span<uint8_t> data, uint16_t frame_number) {
  if (data.size() < kMandatorySize) {
    return false;
  }
  data[1] = static_cast<uint8_t>(frame_number >> 8);
  data[2] = static_cast<uint8_t>(frame_number);
  return true;
}

std::optional<DependencyDescriptor> DependencyDescriptorReader::Parse(
    absl::Span<const uint8_t> data) {
  std::optional<DependencyDescriptor> d = DependencyDescriptor::Parse(data, structure());
  if (d && d->attached_structure) {
    structure_ = d->attached_structure;
  }
  return d;
}

}  // namespace sb::rtp
