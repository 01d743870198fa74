#include "rtp/rtcp/bye.h"

#include <cstring>

#include "rtp/byte_io.h"
#include "rtp/rtcp/rtcp_packet.h"

namespace sb::rtp {

std::optional<Bye> Bye::Parse(absl::Span<const uint8_t> packet) {
  absl::StatusOr<RtcpHeader> h = ParseRtcpHeader(packet);
  if (!h.ok() || h->packet_type != kRtcpBye) {
    return std::nullopt;
  }
  const size_t count = h->count_or_fmt;
  const absl::Span<const uint8_t> body = h->body;
  if (body.size() < 4 * count) {
    return std::nullopt;
  }
  Bye bye;
  bye.ssrcs.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    bye.ssrcs.push_back(ReadU32(body.data() + 4 * i));
  }
  size_t off = 4 * count;
  if (off < body.size()) {
    const size_t len = body[off];
    if (body.size() - off - 1 < len) {
      return std::nullopt;
    }
    bye.reason.assign(reinterpret_cast<const char*>(body.data() + off + 1), len);
  }
  return bye;
}

size_t Bye::Size() const {
  size_t size = kRtcpHeaderSize + 4 * ssrcs.size();
  if (!reason.empty()) {
    size += (1 + reason.size() + 3) & ~size_t{3};
  }
  return size;
}

size_t Bye::Serialize(uint8_t* out, size_t cap) const {
  if (ssrcs.size() > 31 || reason.size() > 255) {
    return 0;
  }
  const size_t size = Size();
  if (out == nullptr || cap < size) {
    return 0;
  }
  WriteRtcpHeader(out, static_cast<uint8_t>(ssrcs.size()), kRtcpBye, size);
  uint8_t* p = out + kRtcpHeaderSize;
  for (uint32_t s : ssrcs) {
    WriteU32(p, s);
    p += 4;
  }
  if (!reason.empty()) {
    p[0] = static_cast<uint8_t>(reason.size());
    std::memcpy(p + 1, reason.data(), reason.size());
    p += 1 + reason.size();
    std::memset(p, 0, static_cast<size_t>(out + size - p));
  }
  return size;
}

}  // namespace sb::rtp
