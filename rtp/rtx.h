// RTP retransmission payload format (RFC 4588 4): the original sequence number (OSN) in the
// first two payload octets, sent on the RTX ssrc/payload type with its own sequence numbers.
#pragma once

#include <cstddef>
#include <cstdint>

#include "rtp/rtp_packet.h"

namespace sb::rtp {

inline constexpr size_t kRtxOsnSize = 2;

// Writes the RTX form of `original` into out[0..cap): same header (CSRCs, extensions, marker,
// timestamp) with the RTX payload type, ssrc and sequence number, then the OSN and the original
// payload. The original's padding is not carried. Returns bytes written, or 0 if cap is too small.
size_t RtxEncapsulate(const RtpPacket& original, uint8_t rtx_payload_type, uint32_t rtx_ssrc,
                      uint16_t rtx_sequence_number, uint8_t* out, size_t cap);

// Restores the original packet from an RTX packet: sequence number from the OSN, the given
// payload type and ssrc, the payload after the OSN. Padding is dropped. Returns bytes written,
// or 0 if the RTX payload is shorter than the OSN or cap is too small.
size_t RtxDecapsulate(const RtpPacket& rtx, uint8_t original_payload_type, uint32_t original_ssrc,
                      uint8_t* out, size_t cap);

}  // namespace sb::rtp
