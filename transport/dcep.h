// The Data Channel Establishment Protocol (RFC 8832): DATA_CHANNEL_OPEN and DATA_CHANNEL_ACK,
// parsed as views over the received SCTP message and built into new buffers; and the SCTP
// payload protocol identifiers WebRTC data channels use (RFC 8831 section 8).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace sb::transport {

// SCTP Payload Protocol Identifiers (RFC 8831 section 8, IANA registry).
inline constexpr uint32_t kPpidDcep = 50;           // DCEP messages (RFC 8832)
inline constexpr uint32_t kPpidString = 51;         // WebRTC String
inline constexpr uint32_t kPpidStringPartial = 52;  // deprecated (RFC 8831 8): not used
inline constexpr uint32_t kPpidBinary = 53;         // WebRTC Binary
inline constexpr uint32_t kPpidBinaryPartial = 54;  // deprecated (RFC 8831 8): not used
// SCTP cannot carry an empty user message: an empty string or binary message is sent as one
// byte under these PPIDs, and the byte is ignored (RFC 8831 6.6).
inline constexpr uint32_t kPpidStringEmpty = 56;
inline constexpr uint32_t kPpidBinaryEmpty = 57;

// DCEP Message Type values (RFC 8832 8.2.1).
inline constexpr uint8_t kDcepMessageAck = 0x02;
inline constexpr uint8_t kDcepMessageOpen = 0x03;

// DATA_CHANNEL_OPEN's fixed part before label and protocol (RFC 8832 5.1): type, channel type,
// priority, reliability parameter, label length, protocol length.
inline constexpr size_t kDcepOpenHeaderSize = 12;

// Channel Type values (RFC 8832 8.2.2). The high bit means unordered delivery.
enum class DcepChannelType : uint8_t {
  kReliable = 0x00,
  kReliableUnordered = 0x80,
  kPartialReliableRexmit = 0x01,
  kPartialReliableRexmitUnordered = 0x81,
  kPartialReliableTimed = 0x02,
  kPartialReliableTimedUnordered = 0x82,
};

// Priority values a WebRTC endpoint puts in DATA_CHANNEL_OPEN (RFC 8831 6.4, the W3C
// priorities very-low, low, medium, high). Any 16-bit value is valid on the wire.
inline constexpr uint16_t kDcepPriorityBelowNormal = 128;
inline constexpr uint16_t kDcepPriorityNormal = 256;
inline constexpr uint16_t kDcepPriorityHigh = 512;
inline constexpr uint16_t kDcepPriorityExtraHigh = 1024;

// How messages of a channel are delivered: the RTCDataChannelInit fields.
struct DataChannelReliability {
  bool ordered = true;
  // At most one of these is set (RFC 8831 6.1: a channel is reliable, or limited by
  // retransmissions, or limited by lifetime).
  std::optional<uint32_t> max_retransmits;
  std::optional<uint32_t> max_packet_life_time_ms;

  bool reliable() const { return !max_retransmits && !max_packet_life_time_ms; }
  bool operator==(const DataChannelReliability&) const = default;
};

// A parsed DATA_CHANNEL_OPEN. label and protocol view the parsed buffer.
struct DcepOpen {
  DcepChannelType channel_type = DcepChannelType::kReliable;
  uint16_t priority = kDcepPriorityNormal;
  // Retransmissions or milliseconds for partial reliability; 0 for reliable channels (RFC 8832
  // 5.1: ignored by the receiver then).
  uint32_t reliability_parameter = 0;
  std::string_view label;
  std::string_view protocol;
};

// The message type of a DCEP message (its first byte), or an error for an empty one or an
// unknown type.
absl::StatusOr<uint8_t> DcepMessageType(absl::Span<const uint8_t> message);

// Parses a whole DATA_CHANNEL_OPEN (RFC 8832 5.1): every length is checked against the
// message, nothing may follow the protocol, label and protocol must be UTF-8 (RFC 8832 5.1),
// the channel type must be one of the six defined.
absl::StatusOr<DcepOpen> ParseDcepOpen(absl::Span<const uint8_t> message);
// A DATA_CHANNEL_ACK is exactly one byte, 0x02 (RFC 8832 5.2).
absl::Status ParseDcepAck(absl::Span<const uint8_t> message);

// Builds a DATA_CHANNEL_OPEN; fails for a label or protocol longer than 65535 bytes or not
// UTF-8.
absl::StatusOr<std::vector<uint8_t>> BuildDcepOpen(const DcepOpen& open);
std::vector<uint8_t> BuildDcepAck();

// Channel type and reliability parameter for a reliability, and back. The reliability of a
// reliable channel type ignores the parameter (RFC 8832 5.1).
DcepOpen DcepOpenFor(const DataChannelReliability& reliability, uint16_t priority,
                     std::string_view label, std::string_view protocol);
DataChannelReliability ReliabilityOf(DcepChannelType type, uint32_t reliability_parameter);

// True when bytes are well-formed UTF-8 (RFC 3629: no overlongs, surrogates or values past
// U+10FFFF).
bool IsValidUtf8(std::string_view bytes);

}  // namespace sb::transport
