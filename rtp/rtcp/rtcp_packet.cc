#include "rtp/rtcp/rtcp_packet.h"

#include "rtp/byte_io.h"

namespace sb::rtp {

bool IsRtcp(absl::Span<const uint8_t> data) {
  return data.size() >= kRtcpHeaderSize && (data[0] >> 6) == 2 && data[1] >= 192 && data[1] <= 223;
}

absl::StatusOr<RtcpHeader> ParseRtcpHeader(absl::Span<const uint8_t> data) {
  if (data.size() < kRtcpHeaderSize) {
    return absl::InvalidArgumentError("rtcp: truncated header");
  }
  if ((data[0] >> 6) != 2) {
    return absl::InvalidArgumentError("rtcp: version is not 2");
  }
  // Length is in 32-bit words minus one (RFC 3550 6.4.1).
  const size_t size = (size_t{ReadU16(data.data() + 2)} + 1) * 4;
  if (size > data.size()) {
    return absl::InvalidArgumentError("rtcp: length past end of buffer");
  }
  RtcpHeader h;
  h.count_or_fmt = data[0] & 0x1F;
  h.packet_type = data[1];
  h.packet = data.subspan(0, size);
  size_t body = size - kRtcpHeaderSize;
  if (data[0] & 0x20) {
    const size_t pad = data[size - 1];
    if (pad == 0 || pad > body) {
      return absl::InvalidArgumentError("rtcp: bad padding");
    }
    h.padding_length = pad;
    body -= pad;
  }
  h.body = data.subspan(kRtcpHeaderSize, body);
  return h;
}

absl::Status ForEachRtcpPacket(absl::Span<const uint8_t> data,
                               absl::FunctionRef<void(const RtcpHeader&)> fn) {
  if (data.empty()) {
    return absl::InvalidArgumentError("rtcp: empty");
  }
  while (!data.empty()) {
    absl::StatusOr<RtcpHeader> h = ParseRtcpHeader(data);
    if (!h.ok()) {
      return h.status();
    }
    fn(*h);
    data.remove_prefix(h->packet.size());
  }
  return absl::OkStatus();
}

void WriteRtcpHeader(uint8_t* out, uint8_t count_or_fmt, uint8_t packet_type, size_t packet_size) {
  out[0] = static_cast<uint8_t>(0x80 | (count_or_fmt & 0x1F));
  out[1] = packet_type;
  WriteU16(out + 2, static_cast<uint16_t>(packet_size / 4 - 1));
}

}  // namespace sb::rtp
