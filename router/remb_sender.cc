#include "router/remb_sender.h"

#include <cmath>

#include "rtp/header_extensions.h"
#include "rtp/rtcp/remb.h"

namespace sb::router {
namespace {
// A REMB with 255 ssrcs is 1040 bytes; with the SRTCP trailer it fits one datagram.
constexpr size_t kRembBufferSize = 1500;
}  // namespace

RembSender::RembSender(uint8_t abs_send_time_ext_id, uint32_t sender_ssrc, Listener* listener)
    : abs_send_time_ext_id_(abs_send_time_ext_id), sender_ssrc_(sender_ssrc), listener_(listener) {}

void RembSender::OnRtpPacket(const rtp::RtpPacket& packet, int64_t arrival_us) {
  const absl::Span<const uint8_t> value = packet.GetExtension(abs_send_time_ext_id_);
  if (value.empty()) {
    ++counters_.packets_without_abs_send_time;
    return;
  }
  const std::optional<uint32_t> send_time = rtp::ParseAbsSendTime(value);
  if (!send_time) {
    ++counters_.abs_send_time_malformed;
    return;
  }
  bwe_.OnPacket(*send_time, arrival_us, packet.size());
  if (const std::optional<int64_t> remb = bwe_.TakeRemb(arrival_us)) SendRemb(*remb, arrival_us);
}

void RembSender::SendRemb(int64_t bitrate_bps, int64_t now_us) {
  ssrcs_.clear();
  listener_->CollectRembSsrcs(&ssrcs_);
  if (ssrcs_.empty()) return;  // nothing announced or learnt yet: the REMB would apply to none
  if (ssrcs_.size() > kMaxSsrcs) ssrcs_.resize(kMaxSsrcs);
  rtp::Remb remb;
  remb.sender_ssrc = sender_ssrc_;
  remb.bitrate_bps = static_cast<uint64_t>(bitrate_bps);
  remb.ssrcs = ssrcs_;
  uint8_t buffer[kRembBufferSize];
  const size_t len = remb.Serialize(buffer, sizeof(buffer));
  if (len == 0) return;
  listener_->OnRembSenderRtcp(buffer, len, sizeof(buffer));
  ++counters_.remb_sent;
  const double moved = std::abs(static_cast<double>(bitrate_bps - last_report_bps_));
  if (!last_report_us_ || now_us - *last_report_us_ >= kReportIntervalUs ||
      moved >= kReportChange * static_cast<double>(last_report_bps_)) {
    last_report_us_ = now_us;
    last_report_bps_ = bitrate_bps;
    listener_->OnRembSent(bitrate_bps);
  }
}

}  // namespace sb::router
