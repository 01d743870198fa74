// The reception report block carried by SR and RR (RFC 3550 6.4.1).
#pragma once

#include <cstddef>
#include <cstdint>

namespace sb::rtp {

inline constexpr size_t kMaxReportBlocks = 31;  // 5-bit RC field

struct ReportBlock {
  static constexpr size_t kSize = 24;
  static constexpr int32_t kMaxCumulativeLost = 0x7FFFFF;  // 24-bit signed
  static constexpr int32_t kMinCumulativeLost = -0x800000;

  uint32_t ssrc = 0;
  uint8_t fraction_lost = 0;    // fixed point, /256
  int32_t cumulative_lost = 0;  // 24-bit signed on the wire; clamped when written
  uint32_t ext_highest_seq = 0;
  uint32_t jitter = 0;  // RTP timestamp units
  uint32_t lsr = 0;     // middle 32 bits of the last SR's NTP time
  uint32_t dlsr = 0;    // 1/65536 s since that SR

  // `p` must hold kSize bytes.
  static ReportBlock Parse(const uint8_t* p);
  void Write(uint8_t* p) const;
  bool operator==(const ReportBlock&) const = default;
};

}  // namespace sb::rtp
