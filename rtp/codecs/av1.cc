#include "rtp/codecs/av1.h"

namespace sb::rtp {
namespace {
constexpr size_t kMaxLeb128Bytes = 8;  // AV1 4.10.5
}  // namespace

std::optional<uint32_t> ReadLeb128(absl::Span<const uint8_t> data, size_t& pos) {
  uint64_t value = 0;
  for (size_t i = 0; i < kMaxLeb128Bytes; ++i) {
    if (pos >= data.size()) {
      return std::nullopt;
    }
    const uint8_t b = data[pos++];
    value |= uint64_t{b & 0x7Fu} << (7 * i);
    if ((b & 0x80) == 0) {
      if (value > UINT32_MAX) {
        return std::nullopt;
      }
      return static_cast<uint32_t>(value);
    }
  }
  return std::nullopt;
}

size_t WriteLeb128(uint32_t value, uint8_t* out, size_t cap) {
  size_t n = 0;
  do {
    if (out == nullptr || n >= cap) {
      return 0;
    }
    uint8_t b = value & 0x7F;
    value >>= 7;
    if (value != 0) {
      b |= 0x80;
    }
    out[n++] = b;
  } while (value != 0);
  return n;
}

bool ForEachAv1ObuElement(absl::Span<const uint8_t> payload,
                          absl::FunctionRef<void(absl::Span<const uint8_t>)> fn) {
  if (payload.empty()) {
    return false;
  }
  const size_t w = (payload[0] >> 4) & 0x03;
  size_t pos = 1;
  size_t count = 0;
  while (pos < payload.size()) {
    ++count;
    size_t len;
    if (w != 0 && count == w) {
      len = payload.size() - pos;  // the last element has no length field
    } else {
      std::optional<uint32_t> l = ReadLeb128(payload, pos);
      if (!l || *l > payload.size() - pos) {
        return false;
      }
      len = *l;
    }
    fn(payload.subspan(pos, len));
    pos += len;
  }
  // W, when set, is the element count (4.4).
  return count > 0 && (w == 0 || count == w);
}

std::optional<Av1Descriptor> Av1Descriptor::Parse(absl::Span<const uint8_t> payload) {
  if (payload.empty()) {
    return std::nullopt;
  }
  Av1Descriptor d;
  const uint8_t h = payload[0];
  d.continuation = h & 0x80;
  d.will_continue = h & 0x40;
  d.obu_count = (h >> 4) & 0x03;
  d.new_coded_video_sequence = h & 0x08;
  if (d.new_coded_video_sequence && d.continuation) {
    return std::nullopt;  // 4.4: N = 1 requires Z = 0
  }
  const bool ok = ForEachAv1ObuElement(payload, [&](absl::Span<const uint8_t> element) {
    if (d.element_count++ == 0 && !d.continuation && !element.empty()) {
      d.first_obu_type = (element[0] >> 3) & 0x0F;  // OBU header: forbidden bit, type(4), ...
    }
  });
  if (!ok) {
    return std::nullopt;
  }
  return d;
}

bool Av1IsKeyFrame(absl::Span<const uint8_t> payload) {
  std::optional<Av1Descriptor> d = Av1Descriptor::Parse(payload);
  return d && d->IsKeyFrame();
}

}  // namespace sb::rtp
