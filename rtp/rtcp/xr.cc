#include "rtp/rtcp/xr.h"

#include "rtp/byte_io.h"
#include "rtp/rtcp/rtcp_packet.h"

namespace sb::rtp {
namespace {
constexpr size_t kBlockHeaderSize = 4;  // BT, type-specific, block length (RFC 3611 3)
constexpr size_t kRrtrSize = 12;
constexpr size_t kDlrrItemSize = 12;
constexpr size_t kMaxDlrrItems = 0xFFFF / 3;
}  // namespace

std::optional<Xr> Xr::Parse(absl::Span<const uint8_t> packet) {
  absl::StatusOr<RtcpHeader> h = ParseRtcpHeader(packet);
  if (!h.ok() || h->packet_type != kRtcpXr) {
    return std::nullopt;
  }
  absl::Span<const uint8_t> body = h->body;
  if (body.size() < 4) {
    return std::nullopt;
  }
  Xr xr;
  xr.sender_ssrc = ReadU32(body.data());
  body.remove_prefix(4);
  while (!body.empty()) {
    if (body.size() < kBlockHeaderSize) {
      return std::nullopt;
    }
    const uint8_t type = body[0];
    const size_t len = size_t{ReadU16(body.data() + 2)} * 4;  // in words, header excluded
    if (body.size() - kBlockHeaderSize < len) {
      return std::nullopt;
    }
    const uint8_t* p = body.data() + kBlockHeaderSize;
    if (type == kXrRrtr) {
      if (len != 8) {
        return std::nullopt;
      }
      xr.rrtrs.push_back({ReadU64(p)});
    } else if (type == kXrDlrr) {
      if (len % kDlrrItemSize != 0) {
        return std::nullopt;
      }
      XrDlrr dlrr;
      for (size_t off = 0; off < len; off += kDlrrItemSize) {
        dlrr.items.push_back({ReadU32(p + off), ReadU32(p + off + 4), ReadU32(p + off + 8)});
      }
      xr.dlrrs.push_back(std::move(dlrr));
    } else {
      ++xr.skipped_blocks;
    }
    body.remove_prefix(kBlockHeaderSize + len);
  }
  return xr;
}

size_t Xr::Size() const {
  size_t size = kRtcpHeaderSize + 4 + kRrtrSize * rrtrs.size();
  for (const XrDlrr& d : dlrrs) {
    size += kBlockHeaderSize + kDlrrItemSize * d.items.size();
  }
  return size;
}

size_t Xr::Serialize(uint8_t* out, size_t cap) const {
  const size_t size = Size();
  if (out == nullptr || cap < size || size / 4 - 1 > 0xFFFF) {
    return 0;
  }
  for (const XrDlrr& d : dlrrs) {
    if (d.items.size() > kMaxDlrrItems) {
      return 0;
    }
  }
  WriteRtcpHeader(out, 0, kRtcpXr, size);
  WriteU32(out + 4, sender_ssrc);
  uint8_t* p = out + 8;
  for (const XrRrtr& r : rrtrs) {
    p[0] = kXrRrtr;
    p[1] = 0;
    WriteU16(p + 2, 2);
    WriteU64(p + 4, r.ntp_timestamp);
    p += kRrtrSize;
  }
  for (const XrDlrr& d : dlrrs) {
    p[0] = kXrDlrr;
    p[1] = 0;
    WriteU16(p + 2, static_cast<uint16_t>(3 * d.items.size()));
    p += kBlockHeaderSize;
    for (const XrDlrrItem& item : d.items) {
      WriteU32(p, item.ssrc);
      WriteU32(p + 4, item.last_rr);
      WriteU32(p + 8, item.delay_since_last_rr);
      p += kDlrrItemSize;
    }
  }
  return size;
}

}  // namespace sb::rtp
