#include "rtp/rtcp/sender_report.h"

#include "rtp/byte_io.h"
#include "rtp/rtcp/rtcp_packet.h"

namespace sb::rtp {

std::optional<SenderReport> SenderReport::Parse(absl::Span<const uint8_t> packet) {
  absl::StatusOr<RtcpHeader> h = ParseRtcpHeader(packet);
  if (!h.ok() || h->packet_type != kRtcpSr) {
    return std::nullopt;
  }
  const absl::Span<const uint8_t> body = h->body;
  const size_t blocks = h->count_or_fmt;
  if (body.size() < kFixedSize - kRtcpHeaderSize + blocks * ReportBlock::kSize) {
    return std::nullopt;
  }
  const uint8_t* p = body.data();
  SenderReport sr;
  sr.sender_ssrc = ReadU32(p);
  sr.ntp_seconds = ReadU32(p + 4);
  sr.ntp_fraction = ReadU32(p + 8);
  sr.rtp_timestamp = ReadU32(p + 12);
  sr.packet_count = ReadU32(p + 16);
  sr.octet_count = ReadU32(p + 20);
  p += 24;
  sr.report_blocks.reserve(blocks);
  for (size_t i = 0; i < blocks; ++i, p += ReportBlock::kSize) {
    sr.report_blocks.push_back(ReportBlock::Parse(p));
  }
  return sr;
}

size_t SenderReport::Size() const { return kFixedSize + report_blocks.size() * ReportBlock::kSize; }

size_t SenderReport::Serialize(uint8_t* out, size_t cap) const {
  const size_t size = Size();
  if (report_blocks.size() > kMaxReportBlocks || out == nullptr || cap < size) {
    return 0;
  }
  WriteRtcpHeader(out, static_cast<uint8_t>(report_blocks.size()), kRtcpSr, size);
  uint8_t* p = out + kRtcpHeaderSize;
  WriteU32(p, sender_ssrc);
  WriteU32(p + 4, ntp_seconds);
  WriteU32(p + 8, ntp_fraction);
  WriteU32(p + 12, rtp_timestamp);
  WriteU32(p + 16, packet_count);
  WriteU32(p + 20, octet_count);
  p += 24;
  for (const ReportBlock& b : report_blocks) {
    b.Write(p);
    p += ReportBlock::kSize;
  }
  return size;
}

}  // namespace sb::rtp
