#include "rtp/rtcp/app.h"

#include <cstring>

#include "rtp/byte_io.h"
#include "rtp/rtcp/rtcp_packet.h"

namespace sb::rtp {

std::optional<App> App::Parse(absl::Span<const uint8_t> packet) {
  absl::StatusOr<RtcpHeader> h = ParseRtcpHeader(packet);
  if (!h.ok() || h->packet_type != kRtcpApp) {
    return std::nullopt;
  }
  const absl::Span<const uint8_t> body = h->body;
  if (body.size() < 8 || (body.size() - 8) % 4 != 0) {
    return std::nullopt;
  }
  App app;
  app.subtype = h->count_or_fmt;
  app.ssrc = ReadU32(body.data());
  std::memcpy(app.name.data(), body.data() + 4, 4);
  app.data.assign(body.begin() + 8, body.end());
  return app;
}

size_t App::Serialize(uint8_t* out, size_t cap) const {
  const size_t size = Size();
  if (out == nullptr || cap < size || subtype > 31 || data.size() % 4 != 0 ||
      size / 4 - 1 > 0xFFFF) {
    return 0;
  }
  WriteRtcpHeader(out, subtype, kRtcpApp, size);
  WriteU32(out + 4, ssrc);
  std::memcpy(out + 8, name.data(), 4);
  if (!data.empty()) {
    std::memcpy(out + 12, data.data(), data.size());
  }
  return size;
}

}  // namespace sb::rtp
