#include "rtp/rtcp/fir.h"

#include "rtp/byte_io.h"
#include "rtp/rtcp/rtcp_packet.h"

namespace sb::rtp {

std::optional<Fir> Fir::Parse(absl::Span<const uint8_t> packet) {
  absl::StatusOr<RtcpHeader> h = ParseRtcpHeader(packet);
  if (!h.ok() || h->packet_type != kRtcpPsfb || h->count_or_fmt != kPsfbFir) {
    return std::nullopt;
  }
  const absl::Span<const uint8_t> body = h->body;
  if (body.size() < 8 || (body.size() - 8) % 8 != 0) {
    return std::nullopt;
  }
  Fir fir;
  fir.sender_ssrc = ReadU32(body.data());
  fir.media_ssrc = ReadU32(body.data() + 4);
  for (size_t off = 8; off < body.size(); off += 8) {
    fir.entries.push_back({ReadU32(body.data() + off), body[off + 4]});
  }
  return fir;
}

size_t Fir::Serialize(uint8_t* out, size_t cap) const {
  const size_t size = Size();
  if (out == nullptr || cap < size || size / 4 - 1 > 0xFFFF) {
    return 0;
  }
  WriteRtcpHeader(out, kPsfbFir, kRtcpPsfb, size);
  WriteU32(out + 4, sender_ssrc);
  WriteU32(out + 8, media_ssrc);
  uint8_t* p = out + 12;
  for (const FirEntry& e : entries) {
    WriteU32(p, e.ssrc);
    p[4] = e.seq_nr;
    WriteU24(p + 5, 0);  // reserved
    p += 8;
  }
  return size;
}

}  // namespace sb::rtp
