#include "rtp/rtcp/sdes.h"

#include <cstring>

#include "rtp/byte_io.h"
#include "rtp/rtcp/rtcp_packet.h"

namespace sb::rtp {
namespace {

constexpr size_t kMaxChunks = 31;  // 5-bit SC field
constexpr size_t kMaxItemLength = 255;

size_t ChunkSize(const SdesChunk& c) {
  size_t items = 0;
  if (!c.cname.empty()) {
    items += 2 + c.cname.size();
  }
  for (const SdesItem& i : c.other_items) {
    items += 2 + i.value.size();
  }
  // RFC 3550 6.5: items end with at least one null octet, then pad to a 32-bit boundary.
  return 4 + ((items + 1 + 3) & ~size_t{3});
}

uint8_t* WriteItem(uint8_t* p, uint8_t type, const std::string& value) {
  p[0] = type;
  p[1] = static_cast<uint8_t>(value.size());
  if (!value.empty()) {
    // SDES items are not null-terminated.
    std::memcpy(p + 2, value.data(), value.size());  // NOLINT(bugprone-not-null-terminated-result)
  }
  return p + 2 + value.size();
}

}  // namespace

std::optional<Sdes> Sdes::Parse(absl::Span<const uint8_t> packet) {
  absl::StatusOr<RtcpHeader> h = ParseRtcpHeader(packet);
  if (!h.ok() || h->packet_type != kRtcpSdes) {
    return std::nullopt;
  }
  const uint8_t* p = h->body.data();
  const size_t n = h->body.size();
  size_t i = 0;
  Sdes sdes;
  for (size_t c = 0; c < h->count_or_fmt; ++c) {
    if (n - i < 4) {
      return std::nullopt;
    }
    SdesChunk chunk;
    chunk.ssrc = ReadU32(p + i);
    i += 4;
    while (true) {
      if (i >= n) {
        return std::nullopt;  // no terminating null octet
      }
      const uint8_t type = p[i];
      if (type == 0) {
        ++i;
        break;
      }
      if (n - i < 2) {
        return std::nullopt;
      }
      const size_t len = p[i + 1];
      if (n - i - 2 < len) {
        return std::nullopt;
      }
      std::string value(reinterpret_cast<const char*>(p + i + 2), len);
      if (type == kSdesCname && chunk.cname.empty()) {
        chunk.cname = std::move(value);
      } else {
        chunk.other_items.push_back({type, std::move(value)});
      }
      i += 2 + len;
    }
    // Skip the null padding up to the next 32-bit boundary (chunks start word aligned).
    i = (i + 3) & ~size_t{3};
    if (i > n) {
      return std::nullopt;
    }
    sdes.chunks.push_back(std::move(chunk));
  }
  return sdes;
}

size_t Sdes::Size() const {
  size_t size = kRtcpHeaderSize;
  for (const SdesChunk& c : chunks) {
    size += ChunkSize(c);
  }
  return size;
}

size_t Sdes::Serialize(uint8_t* out, size_t cap) const {
  if (chunks.size() > kMaxChunks) {
    return 0;
  }
  for (const SdesChunk& c : chunks) {
    if (c.cname.size() > kMaxItemLength) {
      return 0;
    }
    for (const SdesItem& i : c.other_items) {
      if (i.value.size() > kMaxItemLength || i.type == 0) {
        return 0;
      }
    }
  }
  const size_t size = Size();
  if (out == nullptr || cap < size) {
    return 0;
  }
  WriteRtcpHeader(out, static_cast<uint8_t>(chunks.size()), kRtcpSdes, size);
  uint8_t* p = out + kRtcpHeaderSize;
  for (const SdesChunk& c : chunks) {
    uint8_t* const start = p;
    WriteU32(p, c.ssrc);
    p += 4;
    if (!c.cname.empty()) {
      p = WriteItem(p, kSdesCname, c.cname);
    }
    for (const SdesItem& i : c.other_items) {
      p = WriteItem(p, i.type, i.value);
    }
    uint8_t* const end = start + ChunkSize(c);
    std::memset(p, 0, static_cast<size_t>(end - p));
    p = end;
  }
  return size;
}

}  // namespace sb::rtp
