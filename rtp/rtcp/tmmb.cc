#include "rtp/rtcp/tmmb.h"

#include <limits>

#include "rtp/byte_io.h"
#include "rtp/rtcp/rtcp_packet.h"

namespace sb::rtp {
namespace {
constexpr uint64_t kMaxMantissa = (1u << 17) - 1;
constexpr size_t kItemSize = 8;
}  // namespace

std::optional<TmmbPacket> TmmbPacket::ParseFmt(absl::Span<const uint8_t> packet, uint8_t fmt) {
  absl::StatusOr<RtcpHeader> h = ParseRtcpHeader(packet);
  if (!h.ok() || h->packet_type != kRtcpRtpfb || h->count_or_fmt != fmt) {
    return std::nullopt;
  }
  const absl::Span<const uint8_t> body = h->body;
  if (body.size() < 8 || (body.size() - 8) % kItemSize != 0) {
    return std::nullopt;
  }
  TmmbPacket t;
  t.sender_ssrc = ReadU32(body.data());
  t.media_ssrc = ReadU32(body.data() + 4);
  for (size_t off = 8; off < body.size(); off += kItemSize) {
    const uint32_t v = ReadU32(body.data() + off + 4);
    const uint8_t exp = static_cast<uint8_t>(v >> 26);
    const uint64_t mantissa = (v >> 9) & kMaxMantissa;
    TmmbItem item;
    item.ssrc = ReadU32(body.data() + off);
    // Saturate rather than overflow: exp may be up to 63.
    if (mantissa != 0 && exp > 64 - 17 &&
        mantissa > (std::numeric_limits<uint64_t>::max() >> exp)) {
      item.bitrate_bps = std::numeric_limits<uint64_t>::max();
    } else {
      item.bitrate_bps = mantissa << exp;
    }
    item.overhead = static_cast<uint16_t>(v & 0x1FF);
    t.items.push_back(item);
  }
  return t;
}

size_t TmmbPacket::SerializeFmt(uint8_t fmt, uint8_t* out, size_t cap) const {
  const size_t size = Size();
  if (out == nullptr || cap < size || size / 4 - 1 > 0xFFFF) {
    return 0;
  }
  for (const TmmbItem& item : items) {
    if (item.overhead > TmmbItem::kMaxOverhead) {
      return 0;
    }
  }
  WriteRtcpHeader(out, fmt, kRtcpRtpfb, size);
  WriteU32(out + 4, sender_ssrc);
  WriteU32(out + 8, media_ssrc);
  uint8_t* p = out + 12;
  for (const TmmbItem& item : items) {
    uint32_t exp = 0;
    uint64_t mantissa = item.bitrate_bps;
    while (mantissa > kMaxMantissa) {
      mantissa >>= 1;
      ++exp;
    }
    WriteU32(p, item.ssrc);
    WriteU32(p + 4, (exp << 26) | (static_cast<uint32_t>(mantissa) << 9) | item.overhead);
    p += kItemSize;
  }
  return size;
}

std::optional<Tmmbr> Tmmbr::Parse(absl::Span<const uint8_t> packet) {
  std::optional<TmmbPacket> t = ParseFmt(packet, kRtpfbTmmbr);
  if (!t) {
    return std::nullopt;
  }
  Tmmbr r;
  static_cast<TmmbPacket&>(r) = std::move(*t);
  return r;
}

std::optional<Tmmbn> Tmmbn::Parse(absl::Span<const uint8_t> packet) {
  std::optional<TmmbPacket> t = ParseFmt(packet, kRtpfbTmmbn);
  if (!t) {
    return std::nullopt;
  }
  Tmmbn n;
  static_cast<TmmbPacket&>(n) = std::move(*t);
  return n;
}

}  // namespace sb::rtp
