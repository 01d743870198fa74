// H264 RTP payloads (RFC 6184 5.6-5.8): key-frame detection over single NAL unit, STAP-A and
// FU-A packets.
#pragma once

#include <cstdint>

#include "absl/types/span.h"

namespace sb::rtp {

inline constexpr uint8_t kH264NalIdr = 5;
inline constexpr uint8_t kH264NalSps = 7;
inline constexpr uint8_t kH264NalPps = 8;
inline constexpr uint8_t kH264StapA = 24;
inline constexpr uint8_t kH264FuA = 28;

// True when the packet carries (the start of) an IDR slice or an SPS. STAP-A aggregates are
// walked with every size checked; a malformed aggregate is not a key frame.
bool H264IsKeyFrame(absl::Span<const uint8_t> payload);

}  // namespace sb::rtp
