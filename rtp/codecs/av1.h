// AV1 RTP payload (AV1 RTP specification 4.4, 4.5): the aggregation header and the OBU
// elements that follow it, and key-frame detection (N bit, or a sequence header OBU first).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "absl/functional/function_ref.h"
#include "absl/types/span.h"

namespace sb::rtp {

// OBU types (AV1 bitstream specification 6.2.2).
inline constexpr uint8_t kAv1ObuSequenceHeader = 1;
inline constexpr uint8_t kAv1ObuTemporalDelimiter = 2;
inline constexpr uint8_t kAv1ObuFrameHeader = 3;
inline constexpr uint8_t kAv1ObuTileGroup = 4;
inline constexpr uint8_t kAv1ObuMetadata = 5;
inline constexpr uint8_t kAv1ObuFrame = 6;
inline constexpr uint8_t kAv1ObuPadding = 15;

// leb128() of AV1 4.10.5: at most 8 bytes, value below 2^32. Advances `pos`; nullopt when
// truncated or too large.
std::optional<uint32_t> ReadLeb128(absl::Span<const uint8_t> data, size_t& pos);
// Writes `value` as leb128; returns bytes written, 0 if cap is too small.
size_t WriteLeb128(uint32_t value, uint8_t* out, size_t cap);

struct Av1Descriptor {
  bool continuation = false;              // Z: first element continues the previous packet's
  bool will_continue = false;             // Y: last element continues in the next packet
  uint8_t obu_count = 0;                  // W: 0 = every element has a length field
  bool new_coded_video_sequence = false;  // N
  size_t element_count = 0;               // OBU elements in the packet
  // Type of the first element's OBU when it starts an OBU (Z = 0) and is not empty.
  std::optional<uint8_t> first_obu_type;

  // Parses the aggregation header and walks every element, checking each length. Rejects an
  // empty payload, N and Z both set, and a W that does not match the element count.
  static std::optional<Av1Descriptor> Parse(absl::Span<const uint8_t> payload);
  // Key frame: the first packet of a coded video sequence, or one starting with a sequence
  // header OBU.
  bool IsKeyFrame() const {
    return new_coded_video_sequence || first_obu_type == kAv1ObuSequenceHeader;
  }
};

// Calls fn for each OBU element (fragments included) of a payload; false when malformed.
bool ForEachAv1ObuElement(absl::Span<const uint8_t> payload,
                          absl::FunctionRef<void(absl::Span<const uint8_t>)> fn);

bool Av1IsKeyFrame(absl::Span<const uint8_t> payload);

}  // namespace sb::rtp
