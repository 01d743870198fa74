#include "rtp/rtcp/receiver_report.h"

#include "rtp/byte_io.h"
#include "rtp/rtcp/rtcp_packet.h"

namespace sb::rtp {

std::optional<ReceiverReport> ReceiverReport::Parse(absl::Span<const uint8_t> packet) {
  absl::StatusOr<RtcpHeader> h = ParseRtcpHeader(packet);
  if (!h.ok() || h->packet_type != kRtcpRr) {
    return std::nullopt;
  }
  const size_t blocks = h->count_or_fmt;
  if (h->body.size() < 4 + blocks * ReportBlock::kSize) {
    return std::nullopt;
  }
  const uint8_t* p = h->body.data();
  ReceiverReport rr;
  rr.sender_ssrc = ReadU32(p);
  p += 4;
  rr.report_blocks.reserve(blocks);
  for (size_t i = 0; i < blocks; ++i, p += ReportBlock::kSize) {
    rr.report_blocks.push_back(ReportBlock::Parse(p));
  }
  return rr;
}

size_t ReceiverReport::Size() const {
  return kFixedSize + report_blocks.size() * ReportBlock::kSize;
}

size_t ReceiverReport::Serialize(uint8_t* out, size_t cap) const {
  const size_t size = Size();
  if (report_blocks.size() > kMaxReportBlocks || out == nullptr || cap < size) {
    return 0;
  }
  WriteRtcpHeader(out, static_cast<uint8_t>(report_blocks.size()), kRtcpRr, size);
  uint8_t* p = out + kRtcpHeaderSize;
  WriteU32(p, sender_ssrc);
  p += 4;
  for (const ReportBlock& b : report_blocks) {
    b.Write(p);
    p += ReportBlock::kSize;
  }
  return size;
}

}  // namespace sb::rtp
