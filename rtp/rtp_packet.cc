#include "rtp/rtp_packet.h"

#include <algorithm>
#include <array>
#include <cstring>

#include "rtp/byte_io.h"
#include "rtp/rtp_builder.h"

namespace sb::rtp {
namespace {

// Validates the elements of an RFC 8285 extension block.
bool ValidateExtensionElements(const uint8_t* p, size_t n, bool one_byte) {
  size_t i = 0;
  while (i < n) {
    if (one_byte) {
      uint8_t id = p[i] >> 4;
      if (id == 0) {
        ++i;
        continue;
      }
      if (id == 15) {
        return true;
      }
      size_t len = (p[i] & 0x0F) + 1u;
      if (n - i < 1 + len) {
        return false;
      }
      i += 1 + len;
    } else {
      if (p[i] == 0) {
        ++i;
        continue;
      }
      if (n - i < 2) {
        return false;
      }
      size_t len = p[i + 1];
      if (n - i < 2 + len) {
        return false;
      }
      i += 2 + len;
    }
  }
  return true;
}

}  // namespace

std::optional<RtpPacket> RtpPacket::Parse(uint8_t* data, size_t len) {
  if (data == nullptr || len < kRtpFixedHeaderSize) {
    return std::nullopt;
  }
  if ((data[0] >> 6) != 2) {
    return std::nullopt;
  }
  RtpPacket pkt;
  pkt.data_ = data;
  pkt.size_ = len;
  size_t off = kRtpFixedHeaderSize + size_t{4} * (data[0] & 0x0F);
  if (off > len) {
    return std::nullopt;
  }
  if (data[0] & 0x10) {
    // RFC 3550 5.3.1: 16-bit profile, 16-bit length in 32-bit words, then the data.
    if (len - off < 4) {
      return std::nullopt;
    }
    uint16_t profile = ReadU16(data + off);
    size_t ext_len = size_t{4} * ReadU16(data + off + 2);
    off += 4;
    if (len - off < ext_len) {
      return std::nullopt;
    }
    pkt.ext_profile_ = profile;
    pkt.ext_data_offset_ = off;
    pkt.ext_data_size_ = ext_len;
    if (profile == kOneByteExtensionProfile) {
      pkt.ext_form_ = ExtensionForm::kOneByte;
    } else if ((profile & 0xFFF0) == kTwoByteExtensionProfile) {
      pkt.ext_form_ = ExtensionForm::kTwoByte;
    } else {
      pkt.ext_form_ = ExtensionForm::kOther;
    }
    if (pkt.ext_form_ != ExtensionForm::kOther &&
        !ValidateExtensionElements(data + off, ext_len, pkt.ext_form_ == ExtensionForm::kOneByte)) {
      return std::nullopt;
    }
    off += ext_len;
  }
  pkt.header_size_ = off;
  size_t rest = len - off;
  if (data[0] & 0x20) {
    // RFC 3550 5.1: the last octet counts the padding octets, itself included.
    size_t pad = data[len - 1];
    if (rest == 0 || pad == 0 || pad > rest) {
      return std::nullopt;
    }
    pkt.padding_length_ = pad;
  }
  pkt.payload_size_ = rest - pkt.padding_length_;
  return pkt;
}

uint16_t RtpPacket::sequence_number() const { return ReadU16(data_ + 2); }
uint32_t RtpPacket::timestamp() const { return ReadU32(data_ + 4); }
uint32_t RtpPacket::ssrc() const { return ReadU32(data_ + 8); }
uint32_t RtpPacket::csrc(size_t i) const {
  return i < csrc_count() ? ReadU32(data_ + kRtpFixedHeaderSize + 4 * i) : 0;
}

absl::Span<const uint8_t> RtpPacket::GetExtension(uint8_t id) const {
  absl::Span<const uint8_t> found;
  bool done = false;
  ForEachExtension([&](uint8_t eid, absl::Span<const uint8_t> value) {
    if (!done && eid == id) {
      found = value;
      done = true;
    }
  });
  return found;
}

bool RtpPacket::HasExtension(uint8_t id) const {
  bool found = false;
  ForEachExtension([&](uint8_t eid, absl::Span<const uint8_t>) { found |= (eid == id); });
  return found;
}

void RtpPacket::SetMarker(bool marker) {
  data_[1] = static_cast<uint8_t>((data_[1] & 0x7F) | (marker ? 0x80 : 0));
}
void RtpPacket::SetPayloadType(uint8_t pt) {
  data_[1] = static_cast<uint8_t>((data_[1] & 0x80) | (pt & 0x7F));
}
void RtpPacket::SetSequenceNumber(uint16_t seq) { WriteU16(data_ + 2, seq); }
void RtpPacket::SetTimestamp(uint32_t ts) { WriteU32(data_ + 4, ts); }
void RtpPacket::SetSsrc(uint32_t ssrc) { WriteU32(data_ + 8, ssrc); }

size_t WriteRewritten(const RtpPacket& in, const RtpRewrite& rw, uint8_t* out, size_t cap) {
  auto replaced_by_extra = [&](uint8_t out_id) {
    for (const ExtensionValue& e : rw.extra) {
      if (e.id == out_id) {
        return true;
      }
    }
    return false;
  };
  // Pass 1: which form and how many bytes the extension elements need.
  size_t count = 0;
  bool one_byte_ok = true;
  auto consider = [&](uint8_t id, size_t len) {
    ++count;
    if (id > kMaxOneByteExtensionId || len == 0 || len > kMaxOneByteExtensionLength) {
      one_byte_ok = false;
    }
  };
  in.ForEachExtension([&](uint8_t id, absl::Span<const uint8_t> v) {
    uint8_t out_id = rw.ext_id_map[id];
    if (out_id != 0 && !replaced_by_extra(out_id)) {
      consider(out_id, v.size());
    }
  });
  for (const ExtensionValue& e : rw.extra) {
    if (e.id == 0 || e.value.size() > 255) {
      return 0;  // not representable
    }
    consider(e.id, e.value.size());
  }
  size_t elements = 0;
  const size_t per_elem = one_byte_ok ? 1 : 2;
  in.ForEachExtension([&](uint8_t id, absl::Span<const uint8_t> v) {
    uint8_t out_id = rw.ext_id_map[id];
    if (out_id != 0 && !replaced_by_extra(out_id)) {
      elements += per_elem + v.size();
    }
  });
  for (const ExtensionValue& e : rw.extra) {
    elements += per_elem + e.value.size();
  }
  const size_t ext_block = count == 0 ? 0 : 4 + ((elements + 3) & ~size_t{3});
  if (ext_block > 4 + 4 * size_t{0xFFFF}) {
    return 0;
  }
  const size_t csrc_bytes = size_t{4} * in.csrc_count();
  const size_t total =
      kRtpFixedHeaderSize + csrc_bytes + ext_block + in.payload().size() + in.padding_length();
  if (out == nullptr || cap < total) {
    return 0;
  }

  // Pass 2: write.
  const uint8_t* src = in.data();
  out[0] = static_cast<uint8_t>((src[0] & 0xEF) | (count ? 0x10 : 0));  // keep V, P, CC
  out[1] = static_cast<uint8_t>((src[1] & 0x80) | (rw.payload_type & 0x7F));
  WriteU16(out + 2, rw.sequence_number);
  WriteU32(out + 4, rw.timestamp);
  WriteU32(out + 8, rw.ssrc);
  size_t off = kRtpFixedHeaderSize;
  if (csrc_bytes) {
    std::memcpy(out + off, src + off, csrc_bytes);
  }
  off += csrc_bytes;
  if (count) {
    WriteU16(out + off, one_byte_ok ? kOneByteExtensionProfile : kTwoByteExtensionProfile);
    WriteU16(out + off + 2, static_cast<uint16_t>((ext_block - 4) / 4));
    size_t p = off + 4;
    in.ForEachExtension([&](uint8_t id, absl::Span<const uint8_t> v) {
      uint8_t out_id = rw.ext_id_map[id];
      if (out_id != 0 && !replaced_by_extra(out_id)) {
        p += WriteExtensionElement(out + p, one_byte_ok, out_id, v);
      }
    });
    for (const ExtensionValue& e : rw.extra) {
      p += WriteExtensionElement(out + p, one_byte_ok, e.id, e.value);
    }
    std::memset(out + p, 0, off + ext_block - p);
    off += ext_block;
  }
  const size_t body = in.payload().size() + in.padding_length();
  if (body) {
    std::memcpy(out + off, src + in.header_size(), body);
  }
  return off + body;
}

bool RewriteExtensionsInPlace(RtpPacket* packet, const std::array<uint8_t, 256>& ext_id_map,
                              absl::Span<const ExtensionValue> extra, size_t capacity) {
  // The new extension block may be longer or shorter, so build the packet beside the old one
  // and copy it back: one copy, no allocation (an RTP packet never exceeds a UDP datagram).
  thread_local std::array<uint8_t, 65536> scratch;
  RtpRewrite rw;
  rw.ssrc = packet->ssrc();
  rw.payload_type = packet->payload_type();
  rw.sequence_number = packet->sequence_number();
  rw.timestamp = packet->timestamp();
  rw.ext_id_map = ext_id_map;
  rw.extra = extra;
  const size_t len =
      WriteRewritten(*packet, rw, scratch.data(), std::min(capacity, scratch.size()));
  if (len == 0) return false;
  uint8_t* data = packet->data();
  std::memcpy(data, scratch.data(), len);
  auto reparsed = RtpPacket::Parse(data, len);
  if (!reparsed) return false;  // cannot happen: WriteRewritten writes valid packets
  *packet = *reparsed;
  return true;
}

}  // namespace sb::rtp
