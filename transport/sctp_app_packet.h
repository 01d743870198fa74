// SCTP packets carried in RTCP (a pipe between routers, pipe_transport.h): each SCTP packet is
// one RTCP APP packet (RFC 3550 6.7) named "SCTP", so the pipe stays all RTP/RTCP and SRTCP
// protects its data channels between hosts.
//
//  0                   1                   2                   3
//  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |V=2|P=0|  pad  |   PT=APP=204  |             length            |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                       SSRC of the sender                      |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                       name = "SCTP"                           |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |            the SCTP packet, then `pad` zero bytes (0-3)       |
//
// The subtype field (5 bits) holds the number of zero bytes after the SCTP packet that bring
// it to a multiple of 32 bits; the P bit stays 0 (it is for the padding of a compound packet's
// last packet, RFC 3550 6.4.1, which this is not). `length` is the packet's size in 32-bit
// words minus one, and the packet fills its datagram alone.
#pragma once

#include <cstddef>
#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace sb::transport {

// RFC 3550 6.7: header, SSRC, name.
inline constexpr size_t kSctpAppHeaderSize = 12;
inline constexpr uint8_t kRtcpTypeApp = 204;

// The APP packet's size for an SCTP packet of `sctp_len` bytes.
constexpr size_t SctpAppPacketSize(size_t sctp_len) {
  return kSctpAppHeaderSize + ((sctp_len + 3) & ~size_t{3});
}

// Writes the APP packet carrying `sctp` into `out` (at least SctpAppPacketSize bytes); returns
// its size, or 0 when `out` is too small or `sctp` too long for the length field.
size_t WriteSctpAppPacket(uint32_t ssrc, absl::Span<const uint8_t> sctp, absl::Span<uint8_t> out);

// Whether a (decrypted) RTCP datagram starts with an APP packet named "SCTP": such a datagram
// is for the SCTP association and nothing else, even when malformed.
bool IsSctpAppPacket(absl::Span<const uint8_t> rtcp);

// The SCTP packet inside an APP "SCTP" datagram: the version, P bit, length field (it must
// cover the datagram exactly), padding count and padding bytes are checked, and the SCTP
// packet must hold at least its common header (RFC 9260 3.1: 12 bytes).
absl::StatusOr<absl::Span<const uint8_t>> ParseSctpAppPacket(absl::Span<const uint8_t> rtcp);

}  // namespace sb::transport
