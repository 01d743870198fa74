#include "rtp/rtcp/pli.h"

#include "rtp/byte_io.h"
#include "rtp/rtcp/rtcp_packet.h"

namespace sb::rtp {

std::optional<Pli> Pli::Parse(absl::Span<const uint8_t> packet) {
  absl::StatusOr<RtcpHeader> h = ParseRtcpHeader(packet);
  if (!h.ok() || h->packet_type != kRtcpPsfb || h->count_or_fmt != kPsfbPli) {
    return std::nullopt;
  }
  if (h->body.size() < 8) {
    return std::nullopt;
  }
  return Pli{ReadU32(h->body.data()), ReadU32(h->body.data() + 4)};
}

size_t Pli::Serialize(uint8_t* out, size_t cap) const {
  if (out == nullptr || cap < kSize) {
    return 0;
  }
  WriteRtcpHeader(out, kPsfbPli, kRtcpPsfb, kSize);
  WriteU32(out + 4, sender_ssrc);
  WriteU32(out + 8, media_ssrc);
  return kSize;
}

}  // namespace sb::rtp
