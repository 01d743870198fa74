// Building RTP packets into a caller's buffer (tests, the load generator, RTX, probing).
#pragma once

#include <cstddef>
#include <cstdint>

#include "absl/types/span.h"
#include "rtp/rtp_packet.h"

namespace sb::rtp {

struct RtpHeaderFields {
  bool marker = false;
  uint8_t payload_type = 0;
  uint16_t sequence_number = 0;
  uint32_t timestamp = 0;
  uint32_t ssrc = 0;
  absl::Span<const uint32_t> csrcs;  // at most 15
};

enum class ExtensionFormChoice : uint8_t {
  kAuto,     // one-byte when every id <= 14 and every length is 1..16, else two-byte
  kTwoByte,  // always two-byte (RFC 8285 4.3)
};

// Writes one extension element; returns its size (1 + len or 2 + len). No bounds check.
size_t WriteExtensionElement(uint8_t* out, bool one_byte, uint8_t id,
                             absl::Span<const uint8_t> value);

// Bytes BuildRtpPacket would write, or 0 when the input cannot be encoded (more than 15 CSRCs,
// extension id 0 or > 255 bytes, padding_length 1..255 only when non-zero).
size_t RtpPacketSize(const RtpHeaderFields& h, absl::Span<const ExtensionValue> extensions,
                     size_t payload_size, uint8_t padding_length,
                     ExtensionFormChoice form = ExtensionFormChoice::kAuto);

// Writes a packet: header, CSRCs, extensions (if any), payload, then `padding_length` padding
// octets (zeros, last one the count). Returns bytes written, or 0 if cap is too small or the
// input cannot be encoded.
size_t BuildRtpPacket(const RtpHeaderFields& h, absl::Span<const ExtensionValue> extensions,
                      absl::Span<const uint8_t> payload, uint8_t padding_length, uint8_t* out,
                      size_t cap, ExtensionFormChoice form = ExtensionFormChoice::kAuto);

}  // namespace sb::rtp
