// Typed values of the RTP header extensions an SFU reads and writes (the URIs are in
// rtp_parameters.h). Each ParseX takes an element's value as RtpPacket::GetExtension returns
// it and checks its length; each WriteX writes the value (not the element header) and returns
// its size, or 0 when `cap` is too small or the value cannot be expressed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "absl/types/span.h"

namespace sb::rtp {

// mid (RFC 9143 15), rid and repaired-rid (RFC 8852 3): SDES items carried as 1..255 bytes.
// The view points into the packet; a NUL ends the string early (some senders pad with zeros).
inline constexpr size_t kMaxSdesExtensionLength = 255;
std::optional<std::string_view> ParseMid(absl::Span<const uint8_t> data);
std::optional<std::string_view> ParseRid(absl::Span<const uint8_t> data);
std::optional<std::string_view> ParseRepairedRid(absl::Span<const uint8_t> data);
size_t WriteMid(std::string_view mid, uint8_t* out, size_t cap);
size_t WriteRid(std::string_view rid, uint8_t* out, size_t cap);
size_t WriteRepairedRid(std::string_view rid, uint8_t* out, size_t cap);

// abs-send-time (webrtc.org): 24-bit 6.18 fixed-point seconds, 3 bytes.
inline constexpr size_t kAbsSendTimeSize = 3;
std::optional<uint32_t> ParseAbsSendTime(absl::Span<const uint8_t> data);
size_t WriteAbsSendTime(uint32_t abs_send_time, uint8_t* out, size_t cap);  // < 2^24
// The 6.18 value of a time in microseconds (wraps every 64 s), and back (0 <= result < 64 s).
uint32_t AbsSendTimeFromUs(int64_t time_us);
int64_t AbsSendTimeToUs(uint32_t abs_send_time);

// transport-wide-cc-extensions-01: a 16-bit transport-wide sequence number, 2 bytes. The
// version-02 form (with a feedback request) is not read.
inline constexpr size_t kTransportSequenceNumberSize = 2;
std::optional<uint16_t> ParseTransportSequenceNumber(absl::Span<const uint8_t> data);
size_t WriteTransportSequenceNumber(uint16_t seq, uint8_t* out, size_t cap);

// ssrc-audio-level (RFC 6464 3): V bit and level in -dBov (0 loudest, 127 silence), 1 byte.
struct AudioLevel {
  static constexpr uint8_t kMaxLevel = 127;
  bool voice_activity = false;
  uint8_t level = kMaxLevel;
  bool operator==(const AudioLevel&) const = default;
};
std::optional<AudioLevel> ParseAudioLevel(absl::Span<const uint8_t> data);
size_t WriteAudioLevel(AudioLevel level, uint8_t* out, size_t cap);

// video-orientation (3GPP TS 26.114 7.4.5): 0000CFRR, 1 byte.
struct VideoOrientation {
  bool back_camera = false;  // C
  bool flip = false;         // F: horizontal flip
  uint8_t rotation = 0;      // R1R0: 0, 1, 2, 3 = 0, 90, 180, 270 degrees
  int RotationDegrees() const { return 90 * rotation; }
  bool operator==(const VideoOrientation&) const = default;
};
std::optional<VideoOrientation> ParseVideoOrientation(absl::Span<const uint8_t> data);
size_t WriteVideoOrientation(VideoOrientation orientation, uint8_t* out, size_t cap);

// toffset (RFC 5450 3): transmission time offset in RTP timestamp units, 24-bit signed.
inline constexpr int32_t kMaxToffset = 0x7FFFFF;
inline constexpr int32_t kMinToffset = -0x800000;
std::optional<int32_t> ParseToffset(absl::Span<const uint8_t> data);
size_t WriteToffset(int32_t toffset, uint8_t* out, size_t cap);

// playout-delay (webrtc.org): minimum and maximum delay, 12 bits each in 10 ms units, 3 bytes.
struct PlayoutDelay {
  static constexpr uint16_t kMax = 0xFFF;
  uint16_t min_10ms = 0;
  uint16_t max_10ms = 0;
  bool operator==(const PlayoutDelay&) const = default;
};
std::optional<PlayoutDelay> ParsePlayoutDelay(absl::Span<const uint8_t> data);
size_t WritePlayoutDelay(PlayoutDelay delay, uint8_t* out, size_t cap);

// abs-capture-time (webrtc.org): UQ32.32 NTP capture timestamp, optionally followed by the
// Q32.32 estimated offset of the capturer's clock; 8 or 16 bytes.
struct AbsCaptureTime {
  uint64_t absolute_capture_timestamp = 0;
  std::optional<int64_t> estimated_capture_clock_offset;
  bool operator==(const AbsCaptureTime&) const = default;
};
std::optional<AbsCaptureTime> ParseAbsCaptureTime(absl::Span<const uint8_t> data);
size_t WriteAbsCaptureTime(const AbsCaptureTime& time, uint8_t* out, size_t cap);

}  // namespace sb::rtp
