#include "rtp/rtcp/remb.h"

#include <limits>

#include "rtp/byte_io.h"
#include "rtp/rtcp/rtcp_packet.h"

namespace sb::rtp {
namespace {
constexpr uint32_t kRembId = 0x52454D42;  // "REMB"
constexpr uint32_t kMaxMantissa = (1u << 18) - 1;
}  // namespace

std::optional<Remb> Remb::Parse(absl::Span<const uint8_t> packet) {
  absl::StatusOr<RtcpHeader> h = ParseRtcpHeader(packet);
  if (!h.ok() || h->packet_type != kRtcpPsfb || h->count_or_fmt != kPsfbAfb) {
    return std::nullopt;
  }
  const absl::Span<const uint8_t> body = h->body;
  if (body.size() < 16 || ReadU32(body.data() + 8) != kRembId) {
    return std::nullopt;
  }
  const size_t num = body[12];
  if (body.size() < 16 + 4 * num) {
    return std::nullopt;
  }
  Remb remb;
  remb.sender_ssrc = ReadU32(body.data());
  const uint8_t exp = body[13] >> 2;
  const uint64_t mantissa = ReadU24(body.data() + 13) & kMaxMantissa;
  // Saturate rather than overflow: exp may be up to 63.
  if (mantissa != 0 && exp > 64 - 18 && mantissa > (std::numeric_limits<uint64_t>::max() >> exp)) {
    remb.bitrate_bps = std::numeric_limits<uint64_t>::max();
  } else {
    remb.bitrate_bps = mantissa << exp;
  }
  for (size_t i = 0; i < num; ++i) {
    remb.ssrcs.push_back(ReadU32(body.data() + 16 + 4 * i));
  }
  return remb;
}

size_t Remb::Serialize(uint8_t* out, size_t cap) const {
  const size_t size = Size();
  if (ssrcs.size() > 255 || out == nullptr || cap < size) {
    return 0;
  }
  uint8_t exp = 0;
  uint64_t mantissa = bitrate_bps;
  while (mantissa > kMaxMantissa) {
    mantissa >>= 1;
    ++exp;
  }
  WriteRtcpHeader(out, kPsfbAfb, kRtcpPsfb, size);
  WriteU32(out + 4, sender_ssrc);
  WriteU32(out + 8, 0);  // media ssrc: unused (0)
  WriteU32(out + 12, kRembId);
  out[16] = static_cast<uint8_t>(ssrcs.size());
  WriteU24(out + 17, (uint32_t{exp} << 18) | static_cast<uint32_t>(mantissa));
  uint8_t* p = out + 20;
  for (uint32_t s : ssrcs) {
    WriteU32(p, s);
    p += 4;
  }
  return size;
}

}  // namespace sb::rtp
