#include "transport/dcep.h"

#include "absl/strings/str_cat.h"

namespace sb::transport {

namespace {

uint16_t ReadU16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }

uint32_t ReadU32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) << 24 | static_cast<uint32_t>(p[1]) << 16 |
         static_cast<uint32_t>(p[2]) << 8 | p[3];
}

void AppendU16(std::vector<uint8_t>& out, uint16_t v) {
  out.push_back(static_cast<uint8_t>(v >> 8));
  out.push_back(static_cast<uint8_t>(v));
}

void AppendU32(std::vector<uint8_t>& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(v >> shift));
}

bool IsKnownChannelType(uint8_t type) {
  switch (static_cast<DcepChannelType>(type)) {
    case DcepChannelType::kReliable:
    case DcepChannelType::kReliableUnordered:
    case DcepChannelType::kPartialReliableRexmit:
    case DcepChannelType::kPartialReliableRexmitUnordered:
    case DcepChannelType::kPartialReliableTimed:
    case DcepChannelType::kPartialReliableTimedUnordered:
      return true;
  }
  return false;
}

// The unordered bit of a channel type (RFC 8832 8.2.2: 0x80 added to the ordered value).
constexpr uint8_t kUnorderedBit = 0x80;

}  // namespace

bool IsValidUtf8(std::string_view bytes) {
  size_t i = 0;
  const size_t n = bytes.size();
  while (i < n) {
    const auto c = static_cast<uint8_t>(bytes[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t extra;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) {
      extra = 1;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      extra = 2;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      extra = 3;
      cp = c & 0x07;
    } else {
      return false;  // a continuation byte, an overlong lead (C0, C1) or past F4
    }
    if (n - i <= extra) return false;
    for (size_t k = 1; k <= extra; ++k) {
      const auto cc = static_cast<uint8_t>(bytes[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = cp << 6 | (cc & 0x3F);
    }
    if ((extra == 2 && cp < 0x800) || (extra == 3 && cp < 0x10000)) return false;  // overlong
    if (cp >= 0xD800 && cp <= 0xDFFF) return false;                                // surrogate
    if (cp > 0x10FFFF) return false;
    i += extra + 1;
  }
  return true;
}

absl::StatusOr<uint8_t> DcepMessageType(absl::Span<const uint8_t> message) {
  if (message.empty()) return absl::InvalidArgumentError("dcep: empty message");
  const uint8_t type = message[0];
  if (type != kDcepMessageOpen && type != kDcepMessageAck) {
    return absl::InvalidArgumentError(absl::StrCat("dcep: unknown message type ", type));
  }
  return type;
}

absl::StatusOr<DcepOpen> ParseDcepOpen(absl::Span<const uint8_t> message) {
  if (message.size() < kDcepOpenHeaderSize) {
    return absl::InvalidArgumentError(absl::StrCat("dcep: DATA_CHANNEL_OPEN of ", message.size(),
                                                   " bytes is shorter than its 12-byte header"));
  }
  const uint8_t* p = message.data();
  if (p[0] != kDcepMessageOpen) {
    return absl::InvalidArgumentError(
        absl::StrCat("dcep: message type ", p[0], " is not DATA_CHANNEL_OPEN"));
  }
  if (!IsKnownChannelType(p[1])) {
    return absl::InvalidArgumentError(
        absl::StrCat("dcep: unknown channel type 0x", absl::Hex(p[1], absl::kZeroPad2)));
  }
  DcepOpen open;
  open.channel_type = static_cast<DcepChannelType>(p[1]);
  open.priority = ReadU16(p + 2);
  open.reliability_parameter = ReadU32(p + 4);
  const size_t label_length = ReadU16(p + 8);
  const size_t protocol_length = ReadU16(p + 10);
  const size_t expected = kDcepOpenHeaderSize + label_length + protocol_length;
  if (message.size() != expected) {
    return absl::InvalidArgumentError(absl::StrCat(
        "dcep: DATA_CHANNEL_OPEN is ", message.size(), " bytes but its label (", label_length,
        ") and protocol (", protocol_length, ") lengths need ", expected));
  }
  const char* text = reinterpret_cast<const char*>(p + kDcepOpenHeaderSize);
  open.label = std::string_view(text, label_length);
  open.protocol = std::string_view(text + label_length, protocol_length);
  if (!IsValidUtf8(open.label)) return absl::InvalidArgumentError("dcep: label is not UTF-8");
  if (!IsValidUtf8(open.protocol)) {
    return absl::InvalidArgumentError("dcep: protocol is not UTF-8");
  }
  return open;
}

absl::Status ParseDcepAck(absl::Span<const uint8_t> message) {
  if (message.empty()) return absl::InvalidArgumentError("dcep: empty message");
  if (message[0] != kDcepMessageAck) {
    return absl::InvalidArgumentError(
        absl::StrCat("dcep: message type ", message[0], " is not DATA_CHANNEL_ACK"));
  }
  if (message.size() != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("dcep: DATA_CHANNEL_ACK of ", message.size(), " bytes (must be 1)"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<uint8_t>> BuildDcepOpen(const DcepOpen& open) {
  if (open.label.size() > 0xFFFF || open.protocol.size() > 0xFFFF) {
    return absl::InvalidArgumentError("dcep: label and protocol are limited to 65535 bytes");
  }
  if (!IsValidUtf8(open.label) || !IsValidUtf8(open.protocol)) {
    return absl::InvalidArgumentError("dcep: label and protocol must be UTF-8");
  }
  if (!IsKnownChannelType(static_cast<uint8_t>(open.channel_type))) {
    return absl::InvalidArgumentError("dcep: unknown channel type");
  }
  std::vector<uint8_t> out;
  out.reserve(kDcepOpenHeaderSize + open.label.size() + open.protocol.size());
  out.push_back(kDcepMessageOpen);
  out.push_back(static_cast<uint8_t>(open.channel_type));
  AppendU16(out, open.priority);
  AppendU32(out, open.reliability_parameter);
  AppendU16(out, static_cast<uint16_t>(open.label.size()));
  AppendU16(out, static_cast<uint16_t>(open.protocol.size()));
  out.insert(out.end(), open.label.begin(), open.label.end());
  out.insert(out.end(), open.protocol.begin(), open.protocol.end());
  return out;
}

std::vector<uint8_t> BuildDcepAck() { return {kDcepMessageAck}; }

DcepOpen DcepOpenFor(const DataChannelReliability& reliability, uint16_t priority,
                     std::string_view label, std::string_view protocol) {
  DcepOpen open;
  uint8_t type = static_cast<uint8_t>(DcepChannelType::kReliable);
  if (reliability.max_retransmits) {
    type = static_cast<uint8_t>(DcepChannelType::kPartialReliableRexmit);
    open.reliability_parameter = *reliability.max_retransmits;
  } else if (reliability.max_packet_life_time_ms) {
    type = static_cast<uint8_t>(DcepChannelType::kPartialReliableTimed);
    open.reliability_parameter = *reliability.max_packet_life_time_ms;
  }
  if (!reliability.ordered) type |= kUnorderedBit;
  open.channel_type = static_cast<DcepChannelType>(type);
  open.priority = priority;
  open.label = label;
  open.protocol = protocol;
  return open;
}

DataChannelReliability ReliabilityOf(DcepChannelType type, uint32_t reliability_parameter) {
  DataChannelReliability r;
  const auto value = static_cast<uint8_t>(type);
  r.ordered = (value & kUnorderedBit) == 0;
  switch (static_cast<DcepChannelType>(value & ~kUnorderedBit)) {
    case DcepChannelType::kPartialReliableRexmit:
      r.max_retransmits = reliability_parameter;
      break;
    case DcepChannelType::kPartialReliableTimed:
      r.max_packet_life_time_ms = reliability_parameter;
      break;
    default:
      break;
  }
  return r;
}

}  // namespace sb::transport
