// RTCP Sender Report (RFC 3550 6.4.1).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "absl/types/span.h"
#include "rtp/rtcp/report_block.h"

namespace sb::rtp {

struct SenderReport {
  static constexpr size_t kFixedSize = 28;  // header + ssrc + sender info

  uint32_t sender_ssrc = 0;
  uint32_t ntp_seconds = 0;
  uint32_t ntp_fraction = 0;
  uint32_t rtp_timestamp = 0;
  uint32_t packet_count = 0;
  uint32_t octet_count = 0;
  std::vector<ReportBlock> report_blocks;  // at most 31

  // `packet` is one whole RTCP packet (as yielded by ForEachRtcpPacket). Profile-specific
  // extensions after the report blocks are ignored.
  static std::optional<SenderReport> Parse(absl::Span<const uint8_t> packet);
  size_t Size() const;
  // Returns bytes written, or 0 if cap is too small or there are more than 31 blocks.
  size_t Serialize(uint8_t* out, size_t cap) const;
  bool operator==(const SenderReport&) const = default;
};

}  // namespace sb::rtp
