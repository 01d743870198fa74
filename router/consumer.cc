#include "router/consumer.h"

#include <utility>

#include "router/producer.h"
#include "rtp/codecs/keyframe.h"
#include "rtp/seq_num.h"

namespace sb::router {
namespace {

// Room for the largest packet we forward plus SRTP's tag and our extension growth. Incoming
// packets are at most one MTU (1500); browsers keep RTP under 1200 bytes.
constexpr size_t kSendBufferSize = 2048;

// While waiting for a key frame, ask again at most this often (the producer debounces too).
constexpr int64_t kKeyFrameRetryMs = 1000;

// How far behind the newest packet the sync point may trail: a quarter of the sequence space,
// far more reordering than any network does, and well inside IsSeqNewer's half range.
constexpr uint16_t kMaxSyncLag = 0x4000;

}  // namespace

Consumer::Consumer(std::string id, const Producer& producer, rtp::RtpParameters params, bool paused,
                   Listener* listener)
    : id_(std::move(id)),
      producer_id_(producer.id()),
      kind_(producer.kind()),
      mime_type_(producer.mime_type()),
      clock_rate_(producer.clock_rate()),
      params_(std::move(params)),
      listener_(listener),
      paused_(paused),
      producer_paused_(producer.paused()) {
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

void Consumer::RequestKeyFrame() {
  // Whatever happened, the next forwarded packet re-bases the stream; for video that must
  // be a key frame, so ask for one.
  sync_required_ = true;
  if (kind_ == rtp::MediaKind::kVideo) listener_->OnConsumerKeyFrameNeeded(this);
}

void Consumer::Sync(const rtp::RtpPacket& packet, int64_t now_ms) {
  if (started_) {
    // Continue where the subscriber's stream left off: next sequence number, and a timestamp
    // advanced by the wall-clock time since our last packet (at least one tick).
    seq_offset_ = static_cast<uint16_t>(max_out_seq_ + 1 - packet.sequence_number());
    int64_t elapsed_ms = now_ms - max_out_ms_;
    uint32_t elapsed_ticks =
        elapsed_ms > 0 ? static_cast<uint32_t>(elapsed_ms * clock_rate_ / 1000) : 0;
    if (elapsed_ticks == 0) elapsed_ticks = 1;
    ts_offset_ = max_out_ts_ + elapsed_ticks - packet.timestamp();
  }
  sync_seq_ = packet.sequence_number();
  sync_required_ = false;
}

void Consumer::SendRtpPacket(const rtp::RtpPacket& packet, int64_t now_ms) {
  if (!active()) return;
  if (sync_required_) {
    if (kind_ == rtp::MediaKind::kVideo && !rtp::IsKeyFrame(mime_type_, packet.payload())) {
      if (now_ms - last_key_frame_request_ms_ >= kKeyFrameRetryMs) {
        last_key_frame_request_ms_ = now_ms;
        listener_->OnConsumerKeyFrameNeeded(this);
      }
      return;
    }
    Sync(packet, now_ms);
  } else if (rtp::IsSeqNewer(sync_seq_, packet.sequence_number())) {
    return;  // Late packet from before the sync point; its number would collide.
  } else if (static_cast<uint16_t>(packet.sequence_number() - sync_seq_) > kMaxSyncLag) {
    // Keep the sync point within reach of the modulo-2^16 comparison above, or after half the
    // sequence space every packet would look older than it.
    sync_seq_ = static_cast<uint16_t>(packet.sequence_number() - kMaxSyncLag);
  }

  const uint16_t out_seq = static_cast<uint16_t>(packet.sequence_number() + seq_offset_);
  const uint32_t out_ts = packet.timestamp() + ts_offset_;

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
  rewrite.sequence_number = out_seq;
  rewrite.timestamp = out_ts;
  rewrite.ext_id_map = ext_id_map_;
  rewrite.extra = absl::Span<const rtp::ExtensionValue>(extra.data(), extra_count);

  alignas(8) static uint8_t buffer[kSendBufferSize];
  size_t len = rtp::WriteRewritten(packet, rewrite, buffer, kSendBufferSize);
  if (len == 0) return;  // Larger than any MTU: not forwardable.

  if (!started_ || rtp::IsSeqNewer(out_seq, max_out_seq_)) {
    max_out_seq_ = out_seq;
    max_out_ts_ = out_ts;
    max_out_ms_ = now_ms;
  }
  started_ = true;
  ++stats_.packets;
  stats_.bytes += packet.payload().size();
  listener_->OnConsumerSendRtp(this, buffer, len, kSendBufferSize);
}

void Consumer::ReceivePli() {
  ++stats_.pli_received;
  if (active()) listener_->OnConsumerKeyFrameNeeded(this);
}

void Consumer::ReceiveFir() {
  ++stats_.fir_received;
  if (active()) listener_->OnConsumerKeyFrameNeeded(this);
}

void Consumer::ReceiveNack() { ++stats_.nack_received; }

void Consumer::ReceiveReportBlock(uint8_t fraction_lost, int32_t cumulative_lost, uint32_t jitter) {
  stats_.fraction_lost = fraction_lost;
  stats_.packets_lost = cumulative_lost;
  stats_.jitter = jitter;
}

std::optional<Consumer::SenderReportFields> Consumer::MakeSenderReport(
    const Producer& producer) const {
  const auto& info = producer.sender_info();
  if (!started_ || !info.valid) return std::nullopt;
  return SenderReportFields{info.ntp_sec, info.ntp_frac, info.rtp_timestamp + ts_offset_,
                            static_cast<uint32_t>(stats_.packets),
                            static_cast<uint32_t>(stats_.bytes)};
}

}  // namespace sb::router
