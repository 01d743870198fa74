// RTCP Receiver Report (RFC 3550 6.4.2).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "absl/types/span.h"
#include "rtp/rtcp/report_block.h"

namespace sb::rtp {

struct ReceiverReport {
  static constexpr size_t kFixedSize = 8;  // header + ssrc

  uint32_t sender_ssrc = 0;
  std::vector<ReportBlock> report_blocks;  // at most 31

  // `packet` is one whole RTCP packet. Profile-specific extensions are ignored.
  static std::optional<ReceiverReport> Parse(absl::Span<const uint8_t> packet);
  size_t Size() const;
  size_t Serialize(uint8_t* out, size_t cap) const;  // 0 if too small or > 31 blocks
  bool operator==(const ReceiverReport&) const = default;
};

}  // namespace sb::rtp
