#include "rtp/rtcp/sli.h"

#include "rtp/byte_io.h"
#include "rtp/rtcp/rtcp_packet.h"

namespace sb::rtp {

std::optional<Sli> Sli::Parse(absl::Span<const uint8_t> packet) {
  absl::StatusOr<RtcpHeader> h = ParseRtcpHeader(packet);
  if (!h.ok() || h->packet_type != kRtcpPsfb || h->count_or_fmt != kPsfbSli) {
    return std::nullopt;
  }
  const absl::Span<const uint8_t> body = h->body;
  if (body.size() < 12 || (body.size() - 8) % 4 != 0) {
    return std::nullopt;
  }
  Sli sli;
  sli.sender_ssrc = ReadU32(body.data());
  sli.media_ssrc = ReadU32(body.data() + 4);
  for (size_t off = 8; off < body.size(); off += 4) {
    const uint32_t v = ReadU32(body.data() + off);
    sli.items.push_back({static_cast<uint16_t>(v >> 19), static_cast<uint16_t>((v >> 6) & 0x1FFF),
                         static_cast<uint8_t>(v & 0x3F)});
  }
  return sli;
}

size_t Sli::Serialize(uint8_t* out, size_t cap) const {
  const size_t size = Size();
  if (out == nullptr || cap < size || items.empty() || size / 4 - 1 > 0xFFFF) {
    return 0;
  }
  for (const SliItem& i : items) {
    if (i.first > SliItem::kMaxFirst || i.number > SliItem::kMaxNumber ||
        i.picture_id > SliItem::kMaxPictureId) {
      return 0;
    }
  }
  WriteRtcpHeader(out, kPsfbSli, kRtcpPsfb, size);
  WriteU32(out + 4, sender_ssrc);
  WriteU32(out + 8, media_ssrc);
  uint8_t* p = out + 12;
  for (const SliItem& i : items) {
    WriteU32(p, (uint32_t{i.first} << 19) | (uint32_t{i.number} << 6) | i.picture_id);
    p += 4;
  }
  return size;
}

}  // namespace sb::rtp
