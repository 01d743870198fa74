// STUN (RFC 8489, RFC 8445 attributes) and DTLS record (RFC 6347 4.1, RFC 9147 4) decoding.
#include <arpa/inet.h>
#include <netinet/in.h>

#include <string>

#include "absl/status/status.h"
#include "rtp/byte_io.h"
#include "tools/rtpdump/decoders.h"
#include "transport/stun_message.h"

namespace sb::rtpdump {
namespace {

using rtp::ReadU16;
using rtp::ReadU24;
using rtp::ReadU32;
using rtp::ReadU64;
namespace stun_attr = transport::stun_attr;

// Chromium's network info attribute (WebRTC's STUN_ATTR_GOOG_NETWORK_INFO): id and cost.
constexpr uint16_t kGoogNetworkInfo = 0xC057;

std::string_view StunMethodName(uint16_t method) {
  switch (method) {
    case 0x001:
      return "Binding";
    case 0x003:  // RFC 8656 (TURN)
      return "Allocate";
    case 0x004:
      return "Refresh";
    case 0x006:
      return "Send";
    case 0x007:
      return "Data";
    case 0x008:
      return "CreatePermission";
    case 0x009:
      return "ChannelBind";
    default:
      return "";
  }
}

std::string_view StunClassName(transport::StunClass c) {
  switch (c) {
    case transport::StunClass::kRequest:
      return "request";
    case transport::StunClass::kIndication:
      return "indication";
    case transport::StunClass::kSuccessResponse:
      return "success_response";
    case transport::StunClass::kErrorResponse:
      return "error_response";
  }
  return "?";
}

std::string_view StunAttributeName(uint16_t type) {
  switch (type) {
    case stun_attr::kMappedAddress:
      return "MAPPED-ADDRESS";
    case stun_attr::kUsername:
      return "USERNAME";
    case stun_attr::kMessageIntegrity:
      return "MESSAGE-INTEGRITY";
    case stun_attr::kErrorCode:
      return "ERROR-CODE";
    case stun_attr::kRealm:
      return "REALM";
    case stun_attr::kNonce:
      return "NONCE";
    case stun_attr::kMessageIntegritySha256:
      return "MESSAGE-INTEGRITY-SHA256";
    case stun_attr::kXorMappedAddress:
      return "XOR-MAPPED-ADDRESS";
    case stun_attr::kPriority:
      return "PRIORITY";
    case stun_attr::kUseCandidate:
      return "USE-CANDIDATE";
    case stun_attr::kSoftware:
      return "SOFTWARE";
    case stun_attr::kFingerprint:
      return "FINGERPRINT";
    case stun_attr::kIceControlled:
      return "ICE-CONTROLLED";
    case stun_attr::kIceControlling:
      return "ICE-CONTROLLING";
    case kGoogNetworkInfo:
      return "GOOG-NETWORK-INFO";
    default:
      return "";
  }
}

std::string SockaddrText(const sockaddr_storage& ss) {
  char text[INET6_ADDRSTRLEN] = {};
  if (ss.ss_family == AF_INET6) {
    const auto& a = reinterpret_cast<const sockaddr_in6&>(ss);
    inet_ntop(AF_INET6, &a.sin6_addr, text, sizeof(text));
    return "[" + std::string(text) + "]:" + std::to_string(ntohs(a.sin6_port));
  }
  const auto& a = reinterpret_cast<const sockaddr_in&>(ss);
  inet_ntop(AF_INET, &a.sin_addr, text, sizeof(text));
  return std::string(text) + ":" + std::to_string(ntohs(a.sin_port));
}

// MAPPED-ADDRESS (RFC 8489 14.1): reserved, family, port, address.
Json MappedAddress(absl::Span<const uint8_t> v) {
  char text[INET6_ADDRSTRLEN] = {};
  if (v.size() == 8 && v[1] == 0x01) {
    inet_ntop(AF_INET, v.data() + 4, text, sizeof(text));
    return std::string(text) + ":" + std::to_string(ReadU16(v.data() + 2));
  }
  if (v.size() == 20 && v[1] == 0x02) {
    inet_ntop(AF_INET6, v.data() + 4, text, sizeof(text));
    return "[" + std::string(text) + "]:" + std::to_string(ReadU16(v.data() + 2));
  }
  return Json{{"hex", ToHex(v)}};
}

std::string HexU64(uint64_t v) {
  uint8_t b[8];
  rtp::WriteU64(b, v);
  return ToHex(b);
}

std::string_view DtlsContentTypeName(uint8_t type) {
  switch (type) {  // TLS ContentType registry
    case 20:
      return "change_cipher_spec";
    case 21:
      return "alert";
    case 22:
      return "handshake";
    case 23:
      return "application_data";
    case 24:
      return "heartbeat";
    case 25:
      return "tls12_cid";
    case 26:
      return "ack";
    default:
      return "";
  }
}

std::string_view HandshakeTypeName(uint8_t type) {
  switch (type) {  // TLS HandshakeType registry
    case 0:
      return "HelloRequest";
    case 1:
      return "ClientHello";
    case 2:
      return "ServerHello";
    case 3:
      return "HelloVerifyRequest";
    case 4:
      return "NewSessionTicket";
    case 8:
      return "EncryptedExtensions";
    case 11:
      return "Certificate";
    case 12:
      return "ServerKeyExchange";
    case 13:
      return "CertificateRequest";
    case 14:
      return "ServerHelloDone";
    case 15:
      return "CertificateVerify";
    case 16:
      return "ClientKeyExchange";
    case 20:
      return "Finished";
    default:
      return "";
  }
}

std::string VersionName(uint16_t v) {
  switch (v) {
    case 0xFEFF:
      return "DTLS 1.0";
    case 0xFEFD:
      return "DTLS 1.2";
    case 0xFEFC:
      return "DTLS 1.3";
    default: {
      uint8_t b[2];
      rtp::WriteU16(b, v);
      return "0x" + ToHex(b);
    }
  }
}

// The handshake messages of a plaintext record (RFC 6347 4.2.2: 12-byte header each).
absl::StatusOr<Json> HandshakeMessages(absl::Span<const uint8_t> body) {
  constexpr size_t kHandshakeHeaderSize = 12;
  Json messages = Json::array();
  size_t pos = 0;
  while (pos < body.size()) {
    if (body.size() - pos < kHandshakeHeaderSize) {
      return absl::InvalidArgumentError("dtls: truncated handshake header");
    }
    const uint8_t* h = body.data() + pos;
    size_t fragment_length = ReadU24(h + 9);
    if (fragment_length > body.size() - pos - kHandshakeHeaderSize) {
      return absl::InvalidArgumentError("dtls: handshake fragment past its record");
    }
    Json m = Json::object();
    std::string_view name = HandshakeTypeName(h[0]);
    m["type"] = name.empty() ? Json(h[0]) : Json(name);
    m["length"] = ReadU24(h + 1);
    m["message_seq"] = ReadU16(h + 4);
    m["fragment_offset"] = ReadU24(h + 6);
    m["fragment_length"] = fragment_length;
    messages.push_back(std::move(m));
    pos += kHandshakeHeaderSize + fragment_length;
  }
  return messages;
}

}  // namespace

absl::StatusOr<Json> DecodeStun(absl::Span<const uint8_t> payload) {
  absl::StatusOr<transport::StunMessage> parsed = transport::StunMessage::Parse(payload);
  if (!parsed.ok()) return parsed.status();
  const transport::StunMessage& msg = *parsed;
  Json out = Json::object();
  std::string_view method = StunMethodName(msg.method());
  out["method"] = method.empty() ? Json(msg.method()) : Json(method);
  out["class"] = StunClassName(msg.message_class());
  out["transaction_id"] = ToHex(msg.transaction_id());
  Json attributes = Json::array();
  // Parse() has checked every attribute header and length; walk them again in order, padded
  // to 4 bytes (RFC 8489 14).
  const uint8_t* p = payload.data();
  size_t end = transport::kStunHeaderSize + ReadU16(p + 2);
  for (size_t pos = transport::kStunHeaderSize; pos + 4 <= end;) {
    uint16_t type = ReadU16(p + pos);
    uint16_t len = ReadU16(p + pos + 2);
    absl::Span<const uint8_t> v = payload.subspan(pos + 4, len);
    Json a = Json::object();
    std::string_view name = StunAttributeName(type);
    a["type"] = name.empty() ? Json("0x" + ToHex({p + pos, 2})) : Json(name);
    switch (type) {
      case stun_attr::kUsername:
      case stun_attr::kSoftware:
      case stun_attr::kRealm:
      case stun_attr::kNonce:
        a["value"] = BytesAsText(v);
        break;
      case stun_attr::kPriority:
        a["value"] = ReadU32(v.data());
        break;
      case stun_attr::kUseCandidate:
        a["value"] = true;
        break;
      case stun_attr::kIceControlling:
      case stun_attr::kIceControlled:
        // 64-bit: hex, so JSON readers with double-precision numbers keep every bit.
        a["tie_breaker"] = HexU64(ReadU64(v.data()));
        break;
      case stun_attr::kXorMappedAddress:
        if (msg.xor_mapped_address()) a["value"] = SockaddrText(*msg.xor_mapped_address());
        break;
      case stun_attr::kMappedAddress:
        a["value"] = MappedAddress(v);
        break;
      case stun_attr::kErrorCode:
        if (msg.error_code()) {
          a["code"] = *msg.error_code();
          a["reason"] = std::string(msg.error_reason());
        }
        break;
      case stun_attr::kMessageIntegrity:
      case stun_attr::kMessageIntegritySha256:
        // Checking it needs the ICE password, which a capture does not hold.
        a["hmac"] = ToHex(v);
        break;
      case stun_attr::kFingerprint:
        a["value"] = ToHex(v);
        a["valid"] = msg.CheckFingerprint();
        break;
      case kGoogNetworkInfo:
        if (len == 4) {
          a["network_id"] = ReadU16(v.data());
          a["network_cost"] = ReadU16(v.data() + 2);
        } else {
          a["hex"] = ToHex(v);
        }
        break;
      default:
        a["hex"] = ToHex(v);
        break;
    }
    attributes.push_back(std::move(a));
    pos += 4 + ((len + 3u) & ~size_t{3});
  }
  out["attributes"] = std::move(attributes);
  if (msg.has_fingerprint()) out["fingerprint_valid"] = msg.CheckFingerprint();
  return out;
}

absl::StatusOr<Json> DecodeDtls(absl::Span<const uint8_t> payload) {
  constexpr size_t kRecordHeaderSize = 13;  // RFC 6347 4.1
  Json records = Json::array();
  size_t pos = 0;
  while (pos < payload.size()) {
    absl::Span<const uint8_t> rest = payload.subspan(pos);
    Json r = Json::object();
    if ((rest[0] & 0xE0) == 0x20) {
      // DTLS 1.3 unified header (RFC 9147 4): 001CSLEE, then an encrypted record.
      uint8_t flags = rest[0];
      r["content_type"] = "encrypted (DTLS 1.3 unified header)";
      r["epoch_low_bits"] = flags & 0x03;
      if (flags & 0x10) {
        // The connection id's length was negotiated; a capture alone cannot find the record.
        r["connection_id"] = true;
        r["length"] = rest.size();
        records.push_back(std::move(r));
        break;
      }
      size_t header = 1 + ((flags & 0x08) ? 2 : 1) + ((flags & 0x04) ? 2 : 0);
      if (rest.size() < header) return absl::InvalidArgumentError("dtls: truncated header");
      size_t length = rest.size() - header;
      if (flags & 0x04) {
        length = ReadU16(rest.data() + header - 2);
        if (length > rest.size() - header) {
          return absl::InvalidArgumentError("dtls: record length past the datagram");
        }
      }
      r["length"] = length;
      records.push_back(std::move(r));
      pos += header + length;
      continue;
    }
    if (rest.size() < kRecordHeaderSize) {
      return absl::InvalidArgumentError("dtls: truncated record header");
    }
    uint8_t type = rest[0];
    uint16_t epoch = ReadU16(rest.data() + 3);
    size_t length = ReadU16(rest.data() + 11);
    if (length > rest.size() - kRecordHeaderSize) {
      return absl::InvalidArgumentError("dtls: record length past the datagram");
    }
    absl::Span<const uint8_t> body = rest.subspan(kRecordHeaderSize, length);
    std::string_view type_name = DtlsContentTypeName(type);
    r["content_type"] = type_name.empty() ? Json(type) : Json(type_name);
    r["version"] = VersionName(ReadU16(rest.data() + 1));
    r["epoch"] = epoch;
    r["sequence_number"] = (uint64_t{ReadU16(rest.data() + 5)} << 32) | ReadU32(rest.data() + 7);
    r["length"] = length;
    if (epoch != 0) {
      r["encrypted"] = true;
    } else if (type == 22) {
      absl::StatusOr<Json> messages = HandshakeMessages(body);
      if (!messages.ok()) return messages.status();
      r["handshake"] = std::move(*messages);
    } else if (type == 21 && length == 2) {
      r["alert_level"] = body[0];  // RFC 5246 7.2: 1 warning, 2 fatal
      r["alert_description"] = body[1];
    }
    records.push_back(std::move(r));
    pos += kRecordHeaderSize + length;
  }
  return Json{{"records", std::move(records)}};
}

}  // namespace sb::rtpdump
