#include "rtp/codecs/h264.h"

#include "rtp/byte_io.h"

namespace sb::rtp {
namespace {
bool IsKeyNal(uint8_t type) { return type == kH264NalIdr || type == kH264NalSps; }
}  // namespace

bool H264IsKeyFrame(absl::Span<const uint8_t> payload) {
  if (payload.empty()) {
    return false;
  }
  const uint8_t type = payload[0] & 0x1F;
  if (type >= 1 && type <= 23) {
    return IsKeyNal(type);
  }
  if (type == kH264StapA) {
    // RFC 6184 5.7.1: 16-bit NALU size, then the NALU, repeated.
    bool key = false;
    size_t i = 1;
    while (i < payload.size()) {
      if (payload.size() - i < 2) {
        return false;
      }
      const size_t len = ReadU16(payload.data() + i);
      i += 2;
      if (len == 0 || payload.size() - i < len) {
        return false;
      }
      key |= IsKeyNal(payload[i] & 0x1F);
      i += len;
    }
    return key;
  }
  if (type == kH264FuA) {
    // RFC 6184 5.8: FU header S bit marks the first fragment; its low 5 bits the NAL type.
    if (payload.size() < 2) {
      return false;
    }
    return (payload[1] & 0x80) && IsKeyNal(payload[1] & 0x1F);
  }
  return false;
}

}  // namespace sb::rtp
