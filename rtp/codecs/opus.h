// Opus RTP payloads (RFC 7587) begin with the TOC byte of the Opus packet (RFC 6716 3.1):
// config (mode, bandwidth, frame size), stereo flag and frame count code.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "absl/types/span.h"

namespace sb::rtp {

// RFC 7587 / libopus DTX: a packet of at most 2 bytes carries no audio (comfort noise or an
// empty frame).
inline constexpr size_t kOpusMaxDtxPayloadSize = 2;

struct OpusToc {
  enum class Mode : uint8_t { kSilk, kHybrid, kCelt };

  uint8_t config = 0;            // 0..31
  bool stereo = false;           // s
  uint8_t frame_count_code = 0;  // c: 0 one frame, 1 two equal, 2 two different, 3 arbitrary

  // nullopt for an empty payload.
  static std::optional<OpusToc> Parse(absl::Span<const uint8_t> payload);
  Mode mode() const;
  // Duration of each frame in microseconds (RFC 6716 table 2).
  uint32_t FrameDurationUs() const;
  bool operator==(const OpusToc&) const = default;
};

// Frames in the packet: 1 or 2 from the code, or the count byte of code 3 (RFC 6716 3.2.5).
// nullopt when empty or a code-3 packet lacks its count byte or has a count of 0.
std::optional<uint8_t> OpusFrameCount(absl::Span<const uint8_t> payload);

// True for payloads of size <= 2: discontinuous transmission, nothing to play.
inline bool OpusIsDtx(absl::Span<const uint8_t> payload) {
  return payload.size() <= kOpusMaxDtxPayloadSize;
}

}  // namespace sb::rtp
