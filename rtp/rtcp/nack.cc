#include "rtp/rtcp/nack.h"

#include "rtp/byte_io.h"
#include "rtp/rtcp/rtcp_packet.h"

namespace sb::rtp {
namespace {
constexpr size_t kFeedbackFixedSize = 12;  // header + sender ssrc + media ssrc
}  // namespace

Nack Nack::FromSequenceNumbers(uint32_t sender_ssrc, uint32_t media_ssrc,
                               absl::Span<const uint16_t> seqs) {
  Nack nack{sender_ssrc, media_ssrc, {}};
  for (uint16_t seq : seqs) {
    if (!nack.items.empty()) {
      NackItem& last = nack.items.back();
      const uint16_t diff = static_cast<uint16_t>(seq - last.pid);
      if (diff == 0) {
        continue;
      }
      if (diff <= 16) {
        last.blp = static_cast<uint16_t>(last.blp | (1u << (diff - 1)));
        continue;
      }
    }
    nack.items.push_back({seq, 0});
  }
  return nack;
}

std::vector<uint16_t> Nack::SequenceNumbers() const {
  std::vector<uint16_t> out;
  for (const NackItem& item : items) {
    out.push_back(item.pid);
    for (int i = 0; i < 16; ++i) {
      if (item.blp & (1u << i)) {
        out.push_back(static_cast<uint16_t>(item.pid + i + 1));
      }
    }
  }
  return out;
}

std::optional<Nack> Nack::Parse(absl::Span<const uint8_t> packet) {
  absl::StatusOr<RtcpHeader> h = ParseRtcpHeader(packet);
  if (!h.ok() || h->packet_type != kRtcpRtpfb || h->count_or_fmt != kRtpfbNack) {
    return std::nullopt;
  }
  const absl::Span<const uint8_t> body = h->body;
  if (body.size() < 8 || (body.size() - 8) % 4 != 0) {
    return std::nullopt;
  }
  Nack nack;
  nack.sender_ssrc = ReadU32(body.data());
  nack.media_ssrc = ReadU32(body.data() + 4);
  for (size_t off = 8; off < body.size(); off += 4) {
    nack.items.push_back({ReadU16(body.data() + off), ReadU16(body.data() + off + 2)});
  }
  return nack;
}

size_t Nack::Size() const { return kFeedbackFixedSize + 4 * items.size(); }

size_t Nack::Serialize(uint8_t* out, size_t cap) const {
  const size_t size = Size();
  if (out == nullptr || cap < size || size / 4 - 1 > 0xFFFF) {
    return 0;
  }
  WriteRtcpHeader(out, kRtpfbNack, kRtcpRtpfb, size);
  WriteU32(out + 4, sender_ssrc);
  WriteU32(out + 8, media_ssrc);
  uint8_t* p = out + kFeedbackFixedSize;
  for (const NackItem& item : items) {
    WriteU16(p, item.pid);
    WriteU16(p + 2, item.blp);
    p += 4;
  }
  return size;
}

}  // namespace sb::rtp
