#include "tools/rtpdump/packet_decoder.h"

#include <utility>

#include "rtp/rtcp/rtcp_packet.h"
#include "tools/rtpdump/decoders.h"

namespace sb::rtpdump {

std::string_view KindName(Kind kind) {
  switch (kind) {
    case Kind::kStun:
      return "stun";
    case Kind::kDtls:
      return "dtls";
    case Kind::kRtp:
      return "rtp";
    case Kind::kRtcp:
      return "rtcp";
    case Kind::kUnknown:
      return "unknown";
    case Kind::kSkipped:
      return "skipped";
    case Kind::kError:
      return "errors";
  }
  return "?";
}

Kind DemuxByFirstByte(absl::Span<const uint8_t> payload) {
  if (payload.empty()) return Kind::kUnknown;
  uint8_t b = payload[0];
  // RFC 7983 7 (RFC 9443 updates the 64..79 range for TURN channels, not decoded here).
  if (b <= 3) return Kind::kStun;
  if (b >= 20 && b <= 63) return Kind::kDtls;
  if (b >= 128 && b <= 191) return rtp::IsRtcp(payload) ? Kind::kRtcp : Kind::kRtp;
  return Kind::kUnknown;
}

std::string ToHex(absl::Span<const uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (uint8_t b : bytes) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 0x0F]);
  }
  return out;
}

Json BytesAsText(absl::Span<const uint8_t> bytes) {
  for (uint8_t b : bytes) {
    if (b < 0x20 || b > 0x7E) return Json{{"hex", ToHex(bytes)}};
  }
  return std::string(bytes.begin(), bytes.end());
}

PacketDecoder::PacketDecoder(Options options) : options_(std::move(options)) {}

void PacketDecoder::Decode(absl::Span<const uint8_t> payload, Json& out) {
  Kind kind = DemuxByFirstByte(payload);
  absl::StatusOr<Json> fields = Json::object();
  switch (kind) {
    case Kind::kStun:
      fields = DecodeStun(payload);
      break;
    case Kind::kDtls:
      fields = DecodeDtls(payload);
      break;
    case Kind::kRtp:
      fields = DecodeRtp(payload, options_, dd_readers_);
      break;
    case Kind::kRtcp:
      fields = DecodeRtcp(payload);
      break;
    default: {
      Json unknown = Json::object();
      if (!payload.empty()) {
        uint8_t b = payload[0];
        unknown["first_byte"] = b;
        // RFC 7983 7 / RFC 9443: what the range would be if it were decoded.
        if (b >= 16 && b <= 19) unknown["range"] = "zrtp";
        if (b >= 64 && b <= 79) unknown["range"] = "turn-channel";
      }
      fields = std::move(unknown);
      kind = Kind::kUnknown;
      break;
    }
  }
  if (!fields.ok()) {
    // The decoders' messages name their protocol ("stun: ...", "rtp: ...").
    out["error"] = std::string(fields.status().message());
    Count(Kind::kError);
    return;
  }
  out["kind"] = KindName(kind);
  for (auto& item : fields->items()) out[item.key()] = std::move(item.value());
  Count(kind);
}

std::string PacketDecoder::Summary() const {
  size_t total = 0;
  for (size_t n : counts_) total += n;
  std::string s = "packets " + std::to_string(total) + ":";
  for (size_t i = 0; i < kKindCount; ++i) {
    s += (i == 0 ? " " : ", ");
    s += std::string(KindName(static_cast<Kind>(i))) + " " + std::to_string(counts_[i]);
  }
  return s;
}

}  // namespace sb::rtpdump
