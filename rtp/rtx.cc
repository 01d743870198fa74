#include "rtp/rtx.h"

#include <cstring>

#include "rtp/byte_io.h"

namespace sb::rtp {
namespace {

// Copies the header of `in` without the padding bit and sets pt/ssrc/seq.
void CopyHeader(const RtpPacket& in, uint8_t pt, uint32_t ssrc, uint16_t seq, uint8_t* out) {
  std::memcpy(out, in.data(), in.header_size());
  out[0] &= 0xDF;
  out[1] = static_cast<uint8_t>((out[1] & 0x80) | (pt & 0x7F));
  WriteU16(out + 2, seq);
  WriteU32(out + 8, ssrc);
}

}  // namespace

size_t RtxEncapsulate(const RtpPacket& original, uint8_t rtx_payload_type, uint32_t rtx_ssrc,
                      uint16_t rtx_sequence_number, uint8_t* out, size_t cap) {
  const size_t total = original.header_size() + kRtxOsnSize + original.payload().size();
  if (out == nullptr || cap < total) {
    return 0;
  }
  CopyHeader(original, rtx_payload_type, rtx_ssrc, rtx_sequence_number, out);
  size_t off = original.header_size();
  WriteU16(out + off, original.sequence_number());
  off += kRtxOsnSize;
  if (!original.payload().empty()) {
    std::memcpy(out + off, original.payload().data(), original.payload().size());
  }
  return total;
}

size_t RtxDecapsulate(const RtpPacket& rtx, uint8_t original_payload_type, uint32_t original_ssrc,
                      uint8_t* out, size_t cap) {
  absl::Span<const uint8_t> payload = rtx.payload();
  if (payload.size() < kRtxOsnSize) {
    return 0;
  }
  const size_t total = rtx.header_size() + payload.size() - kRtxOsnSize;
  if (out == nullptr || cap < total) {
    return 0;
  }
  CopyHeader(rtx, original_payload_type, original_ssrc, ReadU16(payload.data()), out);
  if (payload.size() > kRtxOsnSize) {
    std::memcpy(out + rtx.header_size(), payload.data() + kRtxOsnSize,
                payload.size() - kRtxOsnSize);
  }
  return total;
}

}  // namespace sb::rtp
