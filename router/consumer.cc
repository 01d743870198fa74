#include "router/consumer.h"

#include <utility>

#include "router/producer.h"
#include "rtp/codecs/vp8.h"
#include "rtp/seq_num.h"

namespace sb::router {
namespace {

// Room for the largest packet we forward plus SRTP's tag and our extension growth. Incoming
// packets are at most one MTU (1500); browsers keep RTP under 1200 bytes.
constexpr size_t kSendBufferSize = 2048;

// While waiting for a key frame, ask again at most this often (the producer debounces too).
constexpr int64_t kKeyFrameRetryMs = 1000;

}  // namespace

Consumer::Consumer(std::string id, const Producer& producer, rtp::RtpParameters params, bool paused,
                   Listener* listener)
    : id_(std::move(id)),
      producer_id_(producer.id()),
      kind_(producer.kind()),
      video_codec_(rtp::VideoCodecFromMime(producer.mime_type())),
      clock_rate_(producer.clock_rate()),
      params_(std::move(params)),
      producer_(producer),
      listener_(listener),
      simulcast_(producer.simulcast()),
      rewrite_vp8_(producer.simulcast() && video_codec_ == rtp::VideoCodec::kVp8),
      paused_(paused),
      producer_paused_(producer.paused()),
      rewriter_(producer.clock_rate()) {
  if (!simulcast_) current_ = target_ = 0;
  if (!params_.encodings.empty()) ssrc_ = params_.encodings.front().ssrc;
  if (const auto* codec = params_.MediaCodec()) payload_type_ = codec->payload_type;
  mid_ext_id_ = params_.HeaderExtensionId(rtp::kUriMid);
  // Map every extension both sides negotiated, except the ones whose value is per-stream and
  // that we write ourselves (mid) or must not forward (rid, repaired-rid, transport-cc).
  for (const auto& ext : producer.rtp_parameters().header_extensions) {
    if (ext.uri == rtp::kUriMid || ext.uri == rtp::kUriRid || ext.uri == rtp::kUriRepairedRid ||
        ext.uri == rtp::kUriTransportWideCc) {
      continue;
    }
    ext_id_map_[ext.id] = params_.HeaderExtensionId(ext.uri);
  }
  stats_.ssrc = ssrc_;
}

void Consumer::SetPaused(bool paused) {
  if (paused_ == paused) return;
  paused_ = paused;
  if (active()) RequestKeyFrame();
}

void Consumer::SetProducerPaused(bool paused) {
  if (producer_paused_ == paused) return;
  producer_paused_ = paused;
  if (active()) RequestKeyFrame();
}

void Consumer::RequestSync() {
  rewriter_.RequestSync();
  vp8_rewriter_.RequestSync();
}

void Consumer::AskForKeyFrame() {
  const size_t encoding = target_ != kNoEncoding ? target_ : current_;
  // A simulcast consumer that has seen no packet yet asks once it knows which encoding.
  if (encoding != kNoEncoding) listener_->OnConsumerKeyFrameNeeded(this, encoding);
}

void Consumer::RequestKeyFrame() {
  // Whatever happened, the next forwarded packet re-bases the stream; for video that must
  // be a key frame, so ask for one.
  RequestSync();
  if (kind_ == rtp::MediaKind::kVideo) AskForKeyFrame();
}

void Consumer::UpdateTarget(int64_t now_ms) {
  size_t live = kNoEncoding;
  for (size_t i = producer_.encoding_count(); i-- > 0;) {
    if (now_ms - producer_.last_packet_ms(i) <= kEncodingActiveWindowMs) {
      live = i;
      break;
    }
  }
  // With nothing live there is nothing to switch to: keep the last choice.
  if (live == kNoEncoding || live == target_) return;
  target_ = live;
  if (target_ != current_ && kind_ == rtp::MediaKind::kVideo) {
    last_key_frame_request_ms_ = now_ms;
    listener_->OnConsumerKeyFrameNeeded(this, target_);
  }
}

bool Consumer::SelectEncoding(const rtp::RtpPacket& packet, size_t encoding, int64_t now_ms) {
  UpdateTarget(now_ms);
  if (encoding != target_ || target_ == current_) return encoding == current_;
  // A packet of the encoding we want to switch to: only its key frame can start it (audio,
  // which has no key frames, switches at once).
  if (kind_ == rtp::MediaKind::kVideo && !rtp::IsKeyFrame(video_codec_, packet.payload())) {
    if (now_ms - last_key_frame_request_ms_ >= kKeyFrameRetryMs) {
      last_key_frame_request_ms_ = now_ms;
      listener_->OnConsumerKeyFrameNeeded(this, target_);
    }
    return false;
  }
  if (current_ != kNoEncoding) ++stats_.layer_switches;
  current_ = target_;
  RequestSync();  // continue from what the subscriber got last
  return true;
}

void Consumer::SendRtpPacket(const rtp::RtpPacket& packet, size_t encoding, int64_t now_ms) {
  if (!active()) return;
  if (simulcast_ && !SelectEncoding(packet, encoding, now_ms)) return;
  if (rewriter_.sync_required() && kind_ == rtp::MediaKind::kVideo &&
      !rtp::IsKeyFrame(video_codec_, packet.payload())) {
    if (now_ms - last_key_frame_request_ms_ >= kKeyFrameRetryMs) {
      last_key_frame_request_ms_ = now_ms;
      AskForKeyFrame();
    }
    return;
  }
  const auto out = rewriter_.Rewrite(packet.sequence_number(), packet.timestamp(), now_ms);
  if (!out) return;  // Late packet from before the sync point.

  std::array<rtp::ExtensionValue, 1> extra;
  size_t extra_count = 0;
  if (mid_ext_id_ != 0 && !params_.mid.empty()) {
    extra[extra_count++] = {
        mid_ext_id_, absl::Span<const uint8_t>(reinterpret_cast<const uint8_t*>(params_.mid.data()),
                                               params_.mid.size())};
  }
  rtp::RtpRewrite rewrite;
  rewrite.ssrc = ssrc_;
  rewrite.payload_type = payload_type_;
  rewrite.sequence_number = out->sequence_number;
  rewrite.timestamp = out->timestamp;
  rewrite.ext_id_map = ext_id_map_;
  rewrite.extra = absl::Span<const rtp::ExtensionValue>(extra.data(), extra_count);

  alignas(8) static uint8_t buffer[kSendBufferSize];
  size_t len = rtp::WriteRewritten(packet, rewrite, buffer, kSendBufferSize);
  if (len == 0) return;  // Larger than any MTU: not forwardable.
  if (rewrite_vp8_) {
    if (auto descriptor = rtp::Vp8Descriptor::Parse(packet.payload())) {
      // The payload is the copy's tail, before the padding.
      uint8_t* payload = buffer + len - packet.padding_length() - packet.payload().size();
      vp8_rewriter_.Rewrite(*descriptor, payload);
    }
  }

  rewriter_.OnSent(*out, now_ms);
  ++stats_.packets;
  stats_.bytes += packet.payload().size();
  listener_->OnConsumerSendRtp(this, buffer, len, kSendBufferSize);
}

void Consumer::ReceivePli() {
  ++stats_.pli_received;
  if (active()) AskForKeyFrame();
}

void Consumer::ReceiveFir() {
  ++stats_.fir_received;
  if (active()) AskForKeyFrame();
}

void Consumer::ReceiveNack() { ++stats_.nack_received; }

void Consumer::ReceiveReportBlock(uint8_t fraction_lost, int32_t cumulative_lost, uint32_t jitter) {
  stats_.fraction_lost = fraction_lost;
  stats_.packets_lost = cumulative_lost;
  stats_.jitter = jitter;
}

std::optional<Consumer::SenderReportFields> Consumer::MakeSenderReport(
    const Producer& producer) const {
  if (!rewriter_.started() || current_ == kNoEncoding) return std::nullopt;
  const auto& info = producer.sender_info(current_);
  if (!info.valid) return std::nullopt;
  return SenderReportFields{
      info.ntp_sec, info.ntp_frac, info.rtp_timestamp + rewriter_.timestamp_offset(),
      static_cast<uint32_t>(stats_.packets), static_cast<uint32_t>(stats_.bytes)};
}

}  // namespace sb::router
