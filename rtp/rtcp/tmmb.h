// Temporary Maximum Media Stream Bit Rate Request and Notification (RFC 5104 4.2.1, 4.2.2):
// RTPFB FMT 3 and 4, FCI entries of (ssrc, 6-bit exponent, 17-bit mantissa, 9-bit overhead).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "absl/types/span.h"

namespace sb::rtp {

inline constexpr uint8_t kRtpfbTmmbr = 3;  // RFC 5104 4.2.1
inline constexpr uint8_t kRtpfbTmmbn = 4;  // RFC 5104 4.2.2

struct TmmbItem {
  static constexpr uint16_t kMaxOverhead = 511;  // 9 bits

  uint32_t ssrc = 0;
  uint64_t bitrate_bps = 0;  // mantissa << exp; rounded down to that form when written
  uint16_t overhead = 0;     // measured per-packet overhead, bytes
  bool operator==(const TmmbItem&) const = default;
};

// The FCI list shared by both messages. `fmt` selects TMMBR or TMMBN.
struct TmmbPacket {
  uint32_t sender_ssrc = 0;
  uint32_t media_ssrc = 0;  // RFC 5104 4.2.1.2: SHALL be 0
  std::vector<TmmbItem> items;

  size_t Size() const { return 12 + 8 * items.size(); }
  bool operator==(const TmmbPacket&) const = default;

 protected:
  static std::optional<TmmbPacket> ParseFmt(absl::Span<const uint8_t> packet, uint8_t fmt);
  size_t SerializeFmt(uint8_t fmt, uint8_t* out, size_t cap) const;
};

// A request: at least one item in practice (RFC 5104 4.2.1.2), not enforced.
struct Tmmbr : TmmbPacket {
  static std::optional<Tmmbr> Parse(absl::Span<const uint8_t> packet);
  // 0 if cap is too small or an overhead is over 511.
  size_t Serialize(uint8_t* out, size_t cap) const { return SerializeFmt(kRtpfbTmmbr, out, cap); }
  bool operator==(const Tmmbr&) const = default;
};

// A notification: the bounding set, possibly empty (RFC 5104 4.2.2.2).
struct Tmmbn : TmmbPacket {
  static std::optional<Tmmbn> Parse(absl::Span<const uint8_t> packet);
  size_t Serialize(uint8_t* out, size_t cap) const { return SerializeFmt(kRtpfbTmmbn, out, cap); }
  bool operator==(const Tmmbn&) const = default;
};

}  // namespace sb::rtp
