// NTP timestamps (RFC 5905 6: 32-bit seconds since 1900 + 32-bit fraction) as used by RTCP
// SR (RFC 3550 6.4.1) and the compact "middle 32 bits" form used by LSR/DLSR.
#pragma once

#include <cstdint>

namespace sb::rtp {

// Seconds between the NTP era-0 epoch (1900) and the Unix epoch (1970).
inline constexpr uint64_t kNtpUnixOffsetSeconds = 2208988800ull;

struct NtpTime {
  uint32_t seconds = 0;
  uint32_t fraction = 0;

  uint64_t ToU64() const { return (uint64_t{seconds} << 32) | fraction; }
  static NtpTime FromU64(uint64_t v) {
    return {static_cast<uint32_t>(v >> 32), static_cast<uint32_t>(v)};
  }
  // Middle 32 bits: low 16 bits of seconds, high 16 bits of fraction (RFC 3550 6.4.1 LSR).
  uint32_t Compact() const { return (seconds << 16) | (fraction >> 16); }
  bool operator==(const NtpTime&) const = default;
};

// From milliseconds since the Unix epoch.
inline NtpTime NtpFromUnixMs(int64_t unix_ms) {
  uint64_t ms = unix_ms < 0 ? 0 : static_cast<uint64_t>(unix_ms);
  uint64_t secs = ms / 1000 + kNtpUnixOffsetSeconds;
  uint64_t rem_ms = ms % 1000;
  uint32_t frac = static_cast<uint32_t>((rem_ms << 32) / 1000);
  return {static_cast<uint32_t>(secs), frac};
}

// Back to milliseconds since the Unix epoch (rounded to nearest).
inline int64_t NtpToUnixMs(NtpTime t) {
  int64_t secs = static_cast<int64_t>(t.seconds) - static_cast<int64_t>(kNtpUnixOffsetSeconds);
  int64_t ms = static_cast<int64_t>((uint64_t{t.fraction} * 1000 + (uint64_t{1} << 31)) >> 32);
  return secs * 1000 + ms;
}

inline uint32_t CompactNtp(uint32_t seconds, uint32_t fraction) {
  return (seconds << 16) | (fraction >> 16);
}

// A compact-NTP interval (units of 1/65536 s) from milliseconds, and back.
inline uint32_t MsToCompactNtp(int64_t ms) {
  if (ms <= 0) {
    return 0;
  }
  return static_cast<uint32_t>((static_cast<uint64_t>(ms) << 16) / 1000);
}
inline int64_t CompactNtpToMs(uint32_t compact) {
  return static_cast<int64_t>((uint64_t{compact} * 1000) >> 16);
}

}  // namespace sb::rtp
