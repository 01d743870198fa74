// RTCP Extended Reports (RFC 3611): the receiver reference time (RRTR, 4.4) and DLRR (4.5)
// blocks that let a receive-only endpoint measure round-trip time. Other block types are
// skipped when parsing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "absl/types/span.h"

namespace sb::rtp {

inline constexpr uint8_t kXrRrtr = 4;  // RFC 3611 4.4
inline constexpr uint8_t kXrDlrr = 5;  // RFC 3611 4.5

struct XrRrtr {
  uint64_t ntp_timestamp = 0;  // 32.32 NTP time the report was sent
  bool operator==(const XrRrtr&) const = default;
};

struct XrDlrrItem {
  uint32_t ssrc = 0;
  uint32_t last_rr = 0;              // middle 32 bits of the RRTR's NTP time
  uint32_t delay_since_last_rr = 0;  // 1/65536 s
  bool operator==(const XrDlrrItem&) const = default;
};

struct XrDlrr {
  std::vector<XrDlrrItem> items;  // at most 21845 (16-bit block length / 3)
  bool operator==(const XrDlrr&) const = default;
};

struct Xr {
  uint32_t sender_ssrc = 0;
  std::vector<XrRrtr> rrtrs;  // written first
  std::vector<XrDlrr> dlrrs;  // written after the RRTR blocks
  size_t skipped_blocks = 0;  // unknown blocks met by Parse; not written

  // `packet` is one whole RTCP packet. Each block's length is checked against the packet;
  // RRTR must be 2 words and DLRR a multiple of 3.
  static std::optional<Xr> Parse(absl::Span<const uint8_t> packet);
  size_t Size() const;
  size_t Serialize(uint8_t* out, size_t cap) const;
  bool operator==(const Xr& o) const {
    return sender_ssrc == o.sender_ssrc && rrtrs == o.rrtrs && dlrrs == o.dlrrs;
  }
};

}  // namespace sb::rtp
