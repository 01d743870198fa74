#include "router/producer.h"

#include <utility>

#include "absl/status/status.h"
#include "rtp/codecs/keyframe.h"

namespace sb::router {

absl::StatusOr<std::unique_ptr<Producer>> Producer::Create(std::string id, rtp::MediaKind kind,
                                                           rtp::RtpParameters params, bool paused) {
  if (auto status = rtp::ValidateProducerParameters(kind, params); !status.ok()) return status;
  return std::unique_ptr<Producer>(new Producer(std::move(id), kind, std::move(params), paused));
}

Producer::Producer(std::string id, rtp::MediaKind kind, rtp::RtpParameters params, bool paused)
    : id_(std::move(id)), kind_(kind), params_(std::move(params)), paused_(paused) {
  media_codec_ = *params_.MediaCodec();  // ValidateProducerParameters guarantees one.
  if (!params_.encodings.empty()) {
    media_ssrc_ = params_.encodings.front().ssrc;
    rtx_ssrc_ = params_.encodings.front().rtx_ssrc;
  }
  mid_ext_id_ = params_.HeaderExtensionId(rtp::kUriMid);
  video_codec_ = rtp::VideoCodecFromMime(media_codec_.mime_type);
}

bool Producer::ReceiveRtpPacket(const rtp::RtpPacket& packet, int64_t now_ms) {
  if (packet.payload_type() != media_codec_.payload_type) return false;
  receive_stats_.OnPacket(packet.sequence_number(), packet.timestamp(), now_ms,
                          media_codec_.clock_rate, packet.size());
  if (key_frame_request_deferred_ && rtp::IsKeyFrame(video_codec_, packet.payload())) {
    key_frame_request_deferred_ = false;
  }
  return !paused_;
}

void Producer::ReceiveSenderReport(uint32_t ntp_sec, uint32_t ntp_frac, uint32_t rtp_timestamp,
                                   int64_t now_ms) {
  sender_info_ = {true, ntp_sec, ntp_frac, rtp_timestamp, now_ms};
  receive_stats_.OnSenderReport(ntp_sec, ntp_frac, now_ms);
}

std::optional<rtp::ReportBlock> Producer::MakeReportBlock(int64_t now_ms) {
  if (receive_stats_.packets() == 0) return std::nullopt;
  rtp::ReportBlock block = receive_stats_.MakeReportBlock(media_ssrc_, now_ms);
  last_fraction_lost_ = block.fraction_lost;
  last_packets_lost_ = block.cumulative_lost;
  return block;
}

bool Producer::ShouldRequestKeyFrame(int64_t now_ms) {
  if (kind_ != rtp::MediaKind::kVideo || media_ssrc_ == 0) return false;
  if (now_ms - last_key_frame_request_ms_ < kKeyFrameRequestIntervalMs) {
    key_frame_request_deferred_ = true;
    return false;
  }
  key_frame_request_deferred_ = false;
  last_key_frame_request_ms_ = now_ms;
  ++pli_sent_;
  return true;
}

bool Producer::TakeDeferredKeyFrameRequest(int64_t now_ms) {
  if (!key_frame_request_deferred_ || now_ms < next_key_frame_request_ms()) return false;
  return ShouldRequestKeyFrame(now_ms);
}

Producer::StreamStats Producer::stats() const {
  StreamStats s;
  s.ssrc = media_ssrc_;
  s.packets = receive_stats_.packets();
  s.bytes = receive_stats_.bytes();
  s.packets_lost = last_packets_lost_;
  s.fraction_lost = last_fraction_lost_;
  s.jitter = receive_stats_.jitter();
  s.pli_sent = pli_sent_;
  return s;
}

}  // namespace sb::router
