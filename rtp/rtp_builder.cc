#include "rtp/rtp_builder.h"

#include <cstring>

#include "rtp/byte_io.h"

namespace sb::rtp {
namespace {

bool UseOneByte(absl::Span<const ExtensionValue> extensions, ExtensionFormChoice form) {
  if (form == ExtensionFormChoice::kTwoByte) {
    return false;
  }
  for (const ExtensionValue& e : extensions) {
    if (e.id > kMaxOneByteExtensionId || e.value.empty() ||
        e.value.size() > kMaxOneByteExtensionLength) {
      return false;
    }
  }
  return true;
}

size_t ExtensionBlockSize(absl::Span<const ExtensionValue> extensions, bool one_byte) {
  if (extensions.empty()) {
    return 0;
  }
  size_t n = 0;
  for (const ExtensionValue& e : extensions) {
    n += (one_byte ? 1 : 2) + e.value.size();
  }
  return 4 + ((n + 3) & ~size_t{3});
}

}  // namespace

size_t WriteExtensionElement(uint8_t* out, bool one_byte, uint8_t id,
                             absl::Span<const uint8_t> value) {
  if (one_byte) {
    out[0] = static_cast<uint8_t>((id << 4) | ((value.size() - 1) & 0x0F));
    if (!value.empty()) {
      std::memcpy(out + 1, value.data(), value.size());
    }
    return 1 + value.size();
  }
  out[0] = id;
  out[1] = static_cast<uint8_t>(value.size());
  if (!value.empty()) {
    std::memcpy(out + 2, value.data(), value.size());
  }
  return 2 + value.size();
}

size_t RtpPacketSize(const RtpHeaderFields& h, absl::Span<const ExtensionValue> extensions,
                     size_t payload_size, uint8_t padding_length, ExtensionFormChoice form) {
  if (h.csrcs.size() > 15) {
    return 0;
  }
  for (const ExtensionValue& e : extensions) {
    if (e.id == 0 || e.value.size() > 255) {
      return 0;
    }
  }
  const size_t ext = ExtensionBlockSize(extensions, UseOneByte(extensions, form));
  if (ext > 4 + 4 * size_t{0xFFFF}) {
    return 0;
  }
  return kRtpFixedHeaderSize + 4 * h.csrcs.size() + ext + payload_size + padding_length;
}

size_t BuildRtpPacket(const RtpHeaderFields& h, absl::Span<const ExtensionValue> extensions,
                      absl::Span<const uint8_t> payload, uint8_t padding_length, uint8_t* out,
                      size_t cap, ExtensionFormChoice form) {
  const size_t total = RtpPacketSize(h, extensions, payload.size(), padding_length, form);
  if (total == 0 || out == nullptr || cap < total) {
    return 0;
  }
  const bool one_byte = UseOneByte(extensions, form);
  out[0] = static_cast<uint8_t>(0x80 | (padding_length ? 0x20 : 0) |
                                (extensions.empty() ? 0 : 0x10) | h.csrcs.size());
  out[1] = static_cast<uint8_t>((h.marker ? 0x80 : 0) | (h.payload_type & 0x7F));
  WriteU16(out + 2, h.sequence_number);
  WriteU32(out + 4, h.timestamp);
  WriteU32(out + 8, h.ssrc);
  size_t off = kRtpFixedHeaderSize;
  for (uint32_t c : h.csrcs) {
    WriteU32(out + off, c);
    off += 4;
  }
  if (!extensions.empty()) {
    const size_t block = ExtensionBlockSize(extensions, one_byte);
    WriteU16(out + off, one_byte ? kOneByteExtensionProfile : kTwoByteExtensionProfile);
    WriteU16(out + off + 2, static_cast<uint16_t>((block - 4) / 4));
    size_t p = off + 4;
    for (const ExtensionValue& e : extensions) {
      p += WriteExtensionElement(out + p, one_byte, e.id, e.value);
    }
    std::memset(out + p, 0, off + block - p);
    off += block;
  }
  if (!payload.empty()) {
    std::memcpy(out + off, payload.data(), payload.size());
  }
  off += payload.size();
  if (padding_length) {
    std::memset(out + off, 0, padding_length);
    off += padding_length;
    out[off - 1] = padding_length;
  }
  return off;
}

}  // namespace sb::rtp
