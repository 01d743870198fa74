// The RTCP common header (RFC 3550 6.4) and iteration over a compound packet (RFC 3550 6.1).
// Each packet type has its own file with Parse/Size/Serialize; this file only frames them.
#pragma once

#include <cstddef>
#include <cstdint>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace sb::rtp {

inline constexpr size_t kRtcpHeaderSize = 4;

// RTCP packet types (RFC 3550 12.1, RFC 4585 6.1, RFC 3611).
enum RtcpPacketType : uint8_t {
  kRtcpSr = 200,
  kRtcpRr = 201,
  kRtcpSdes = 202,
  kRtcpBye = 203,
  kRtcpApp = 204,
  kRtcpRtpfb = 205,  // transport layer feedback (RFC 4585 6.2)
  kRtcpPsfb = 206,   // payload specific feedback (RFC 4585 6.3)
  kRtcpXr = 207,
};

// Feedback message types (FMT) we know.
inline constexpr uint8_t kRtpfbNack = 1;   // RFC 4585 6.2.1
inline constexpr uint8_t kRtpfbTwcc = 15;  // draft-holmer-rmcat-transport-wide-cc-extensions
inline constexpr uint8_t kPsfbPli = 1;     // RFC 4585 6.3.1
inline constexpr uint8_t kPsfbFir = 4;     // RFC 5104 4.3.1
inline constexpr uint8_t kPsfbAfb = 15;    // RFC 4585 6.4 (REMB lives here)

// One packet of a compound: its header fields and its bytes.
struct RtcpHeader {
  uint8_t count_or_fmt = 0;  // RC / SC / FMT: the low 5 bits of the first octet
  uint8_t packet_type = 0;
  size_t padding_length = 0;
  absl::Span<const uint8_t> packet;  // the whole packet, header and padding included
  absl::Span<const uint8_t> body;    // after the 4-byte header, padding excluded
};

// RFC 5761 4: on a multiplexed port, RTCP is a version-2 packet whose second octet is 192..223.
bool IsRtcp(absl::Span<const uint8_t> data);

// Parses the header of the first packet in `data`: version 2, length within the buffer, valid
// padding. The returned packet span covers exactly that packet.
absl::StatusOr<RtcpHeader> ParseRtcpHeader(absl::Span<const uint8_t> data);

// Calls fn for each packet of a compound, of every type (callers skip the types they do not
// handle). Stops and returns InvalidArgument at the first malformed packet header; packets
// before it have been delivered.
absl::Status ForEachRtcpPacket(absl::Span<const uint8_t> data,
                               absl::FunctionRef<void(const RtcpHeader&)> fn);

// Writes the common header for a packet of `packet_size` bytes (a multiple of 4, >= 4).
void WriteRtcpHeader(uint8_t* out, uint8_t count_or_fmt, uint8_t packet_type, size_t packet_size);

}  // namespace sb::rtp
