#include "rtp/header_extensions.h"

#include <cstring>

#include "rtp/byte_io.h"

namespace sb::rtp {
namespace {

std::optional<std::string_view> ParseSdesString(absl::Span<const uint8_t> data) {
  if (data.empty() || data.size() > kMaxSdesExtensionLength) {
    return std::nullopt;
  }
  const char* s = reinterpret_cast<const char*>(data.data());
  const void* nul = std::memchr(s, '\0', data.size());
  const size_t len = nul ? static_cast<size_t>(static_cast<const char*>(nul) - s) : data.size();
  if (len == 0) {
    return std::nullopt;
  }
  return std::string_view(s, len);
}

size_t WriteSdesString(std::string_view s, uint8_t* out, size_t cap) {
  if (s.empty() || s.size() > kMaxSdesExtensionLength || out == nullptr || cap < s.size() ||
      s.find('\0') != std::string_view::npos) {
    return 0;
  }
  std::memcpy(out, s.data(), s.size());
  return s.size();
}

constexpr int64_t kUsPerSecond = 1000000;
constexpr uint32_t kAbsSendTimeMask = 0xFFFFFF;

}  // namespace

std::optional<std::string_view> ParseMid(absl::Span<const uint8_t> data) {
  return ParseSdesString(data);
}
std::optional<std::string_view> ParseRid(absl::Span<const uint8_t> data) {
  return ParseSdesString(data);
}
std::optional<std::string_view> ParseRepairedRid(absl::Span<const uint8_t> data) {
  return ParseSdesString(data);
}
size_t WriteMid(std::string_view mid, uint8_t* out, size_t cap) {
  return WriteSdesString(mid, out, cap);
}
size_t WriteRid(std::string_view rid, uint8_t* out, size_t cap) {
  return WriteSdesString(rid, out, cap);
}
size_t WriteRepairedRid(std::string_view rid, uint8_t* out, size_t cap) {
  return WriteSdesString(rid, out, cap);
}

std::optional<uint32_t> ParseAbsSendTime(absl::Span<const uint8_t> data) {
  if (data.size() != kAbsSendTimeSize) {
    return std::nullopt;
  }
  return ReadU24(data.data());
}

size_t WriteAbsSendTime(uint32_t abs_send_time, uint8_t* out, size_t cap) {
  if (abs_send_time > kAbsSendTimeMask || out == nullptr || cap < kAbsSendTimeSize) {
    return 0;
  }
  WriteU24(out, abs_send_time);
  return kAbsSendTimeSize;
}

uint32_t AbsSendTimeFromUs(int64_t time_us) {
  // 18 fractional bits, rounded to nearest; the 6 integer bits wrap every 64 s.
  const uint64_t us = static_cast<uint64_t>(time_us < 0 ? 0 : time_us) % (64 * kUsPerSecond);
  return static_cast<uint32_t>(((us << 18) + kUsPerSecond / 2) / kUsPerSecond) & kAbsSendTimeMask;
}

int64_t AbsSendTimeToUs(uint32_t abs_send_time) {
  const uint64_t v = abs_send_time & kAbsSendTimeMask;
  return static_cast<int64_t>((v * kUsPerSecond + (1u << 17)) >> 18);
}

std::optional<uint16_t> ParseTransportSequenceNumber(absl::Span<const uint8_t> data) {
  if (data.size() != kTransportSequenceNumberSize) {
    return std::nullopt;
  }
  return ReadU16(data.data());
}

size_t WriteTransportSequenceNumber(uint16_t seq, uint8_t* out, size_t cap) {
  if (out == nullptr || cap < kTransportSequenceNumberSize) {
    return 0;
  }
  WriteU16(out, seq);
  return kTransportSequenceNumberSize;
}

std::optional<AudioLevel> ParseAudioLevel(absl::Span<const uint8_t> data) {
  if (data.size() != 1) {
    return std::nullopt;
  }
  return AudioLevel{(data[0] & 0x80) != 0, static_cast<uint8_t>(data[0] & 0x7F)};
}

size_t WriteAudioLevel(AudioLevel level, uint8_t* out, size_t cap) {
  if (level.level > AudioLevel::kMaxLevel || out == nullptr || cap < 1) {
    return 0;
  }
  out[0] = static_cast<uint8_t>((level.voice_activity ? 0x80 : 0) | level.level);
  return 1;
}

std::optional<VideoOrientation> ParseVideoOrientation(absl::Span<const uint8_t> data) {
  if (data.size() != 1) {
    return std::nullopt;
  }
  // The four high bits are reserved (zero) in the 1-byte form; ignore them.
  return VideoOrientation{(data[0] & 0x08) != 0, (data[0] & 0x04) != 0,
                          static_cast<uint8_t>(data[0] & 0x03)};
}

size_t WriteVideoOrientation(VideoOrientation o, uint8_t* out, size_t cap) {
  if (o.rotation > 3 || out == nullptr || cap < 1) {
    return 0;
  }
  out[0] = static_cast<uint8_t>((o.back_camera ? 0x08 : 0) | (o.flip ? 0x04 : 0) | o.rotation);
  return 1;
}

std::optional<int32_t> ParseToffset(absl::Span<const uint8_t> data) {
  if (data.size() != 3) {
    return std::nullopt;
  }
  return ReadS24(data.data());
}

size_t WriteToffset(int32_t toffset, uint8_t* out, size_t cap) {
  if (toffset > kMaxToffset || toffset < kMinToffset || out == nullptr || cap < 3) {
    return 0;
  }
  WriteS24(out, toffset);
  return 3;
}

std::optional<PlayoutDelay> ParsePlayoutDelay(absl::Span<const uint8_t> data) {
  if (data.size() != 3) {
    return std::nullopt;
  }
  const uint32_t v = ReadU24(data.data());
  return PlayoutDelay{static_cast<uint16_t>(v >> 12), static_cast<uint16_t>(v & 0xFFF)};
}

size_t WritePlayoutDelay(PlayoutDelay d, uint8_t* out, size_t cap) {
  if (d.min_10ms > PlayoutDelay::kMax || d.max_10ms > PlayoutDelay::kMax || out == nullptr ||
      cap < 3) {
    return 0;
  }
  WriteU24(out, (uint32_t{d.min_10ms} << 12) | d.max_10ms);
  return 3;
}

std::optional<AbsCaptureTime> ParseAbsCaptureTime(absl::Span<const uint8_t> data) {
  if (data.size() != 8 && data.size() != 16) {
    return std::nullopt;
  }
  AbsCaptureTime t;
  t.absolute_capture_timestamp = ReadU64(data.data());
  if (data.size() == 16) {
    t.estimated_capture_clock_offset = static_cast<int64_t>(ReadU64(data.data() + 8));
  }
  return t;
}

size_t WriteAbsCaptureTime(const AbsCaptureTime& t, uint8_t* out, size_t cap) {
  const size_t size = t.estimated_capture_clock_offset ? 16 : 8;
  if (out == nullptr || cap < size) {
    return 0;
  }
  WriteU64(out, t.absolute_capture_timestamp);
  if (t.estimated_capture_clock_offset) {
    WriteU64(out + 8, static_cast<uint64_t>(*t.estimated_capture_clock_offset));
  }
  return size;
}

}  // namespace sb::rtp
