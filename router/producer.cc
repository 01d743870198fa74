#include "router/producer.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "rtp/codecs/keyframe.h"

namespace sb::router {

absl::StatusOr<std::unique_ptr<Producer>> Producer::Create(std::string id, rtp::MediaKind kind,
                                                           rtp::RtpParameters params, bool paused) {
  if (params.encodings.size() > kMaxEncodings) {
    return absl::InvalidArgumentError(
        absl::StrCat("producer has ", params.encodings.size(), " encodings, at most ",
                     kMaxEncodings, " are accepted (each keeps its own packet history)"));
  }
  if (auto status = rtp::ValidateProducerParameters(kind, params); !status.ok()) return status;
  return std::unique_ptr<Producer>(new Producer(std::move(id), kind, std::move(params), paused));
}

Producer::Producer(std::string id, rtp::MediaKind kind, rtp::RtpParameters params, bool paused)
    : id_(std::move(id)), kind_(kind), params_(std::move(params)), paused_(paused) {
  media_codec_ = *params_.MediaCodec();  // ValidateProducerParameters guarantees one.
  if (const auto* rtx = params_.RtxCodecFor(media_codec_.payload_type)) {
    rtx_payload_type_ = rtx->payload_type;
  }
  mid_ext_id_ = params_.HeaderExtensionId(rtp::kUriMid);
  rid_ext_id_ = params_.HeaderExtensionId(rtp::kUriRid);
  repaired_rid_ext_id_ = params_.HeaderExtensionId(rtp::kUriRepairedRid);
  if (kind_ == rtp::MediaKind::kAudio) {
    audio_level_ext_id_ = params_.HeaderExtensionId(rtp::kUriAudioLevel);
  }
  video_codec_ = rtp::VideoCodecFromMime(media_codec_.mime_type);
  dependency_descriptor_ext_id_ = params_.HeaderExtensionId(rtp::kUriDependencyDescriptor);
  // RFC 4585 4.2: the publisher retransmits only when its answer has "a=rtcp-fb:<pt> nack".
  nack_enabled_ = kind_ == rtp::MediaKind::kVideo &&
                  std::any_of(media_codec_.rtcp_feedback.begin(), media_codec_.rtcp_feedback.end(),
                              [](const rtp::RtcpFeedback& f) {
                                return f.type == "nack" && f.parameter.empty();
                              });
  // ValidateProducerParameters guarantees at least one encoding.
  encodings_.resize(params_.encodings.size());
  for (size_t i = 0; i < encodings_.size(); ++i) {
    encodings_[i].rid = params_.encodings[i].rid;
    encodings_[i].ssrc = params_.encodings[i].ssrc;
    encodings_[i].rtx_ssrc = params_.encodings[i].rtx_ssrc;
    if (kind_ == rtp::MediaKind::kVideo) encodings_[i].layer_reader.emplace(video_codec_);
  }
  svc_ = kind_ == rtp::MediaKind::kVideo && encodings_.size() == 1 &&
         (video_codec_ == rtp::VideoCodec::kVp9 || video_codec_ == rtp::VideoCodec::kAv1);
}

int64_t Producer::layer_bitrate_bps(size_t spatial, size_t temporal, int64_t now_ms) const {
  int64_t bps = 0;
  for (size_t s = svc_ ? 0 : spatial; s <= spatial; ++s) {
    for (size_t t = 0; t <= temporal; ++t)
      bps += layers_[LayerIndex(s, t)].rate.BitsPerSecond(now_ms);
  }
  return bps;
}

uint64_t Producer::layer_descriptors_malformed() const {
  uint64_t count = 0;
  for (const Encoding& e : encodings_) {
    if (e.layer_reader) count += e.layer_reader->malformed();
  }
  return count;
}

std::optional<size_t> Producer::EncodingForRid(std::string_view rid) const {
  if (rid.empty()) return std::nullopt;
  for (size_t i = 0; i < encodings_.size(); ++i) {
    if (encodings_[i].rid == rid) return i;
  }
  return std::nullopt;
}

bool Producer::ReceiveRtpPacket(const rtp::RtpPacket& packet, size_t encoding, int64_t now_ms,
                                rtp::VideoLayers* layers) {
  if (packet.payload_type() != media_codec_.payload_type) return false;
  if (nack_enabled_) encodings_[encoding].nack.OnPacket(packet.sequence_number(), now_ms);
  return Accept(packet, encoding, now_ms, layers);
}

bool Producer::ReceiveRetransmission(const rtp::RtpPacket& packet, size_t encoding, int64_t now_ms,
                                     rtp::VideoLayers* layers) {
  if (packet.payload_type() != media_codec_.payload_type || !nack_enabled_) return false;
  Encoding& e = encodings_[encoding];
  if (!e.nack.OnPacket(packet.sequence_number(), now_ms)) return false;
  ++e.retransmissions_received;
  return Accept(packet, encoding, now_ms, layers);
}

std::vector<uint16_t> Producer::DueNacks(size_t encoding, int64_t now_ms,
                                         int64_t retry_interval_ms) {
  if (!nack_enabled_) return {};
  Encoding& e = encodings_[encoding];
  std::vector<uint16_t> due = e.nack.Due(now_ms, retry_interval_ms);
  e.nack_requested += due.size();
  return due;
}

bool Producer::nack_pending() const {
  return nack_enabled_ && std::any_of(encodings_.begin(), encodings_.end(),
                                      [](const Encoding& e) { return e.nack.missing() > 0; });
}

bool Producer::Accept(const rtp::RtpPacket& packet, size_t encoding, int64_t now_ms,
                      rtp::VideoLayers* layers) {
  Encoding& e = encodings_[encoding];
  e.receive_stats.OnPacket(packet.sequence_number(), packet.timestamp(), now_ms,
                           media_codec_.clock_rate, packet.size());
  e.last_packet_ms = now_ms;
  e.rate.Add(packet.size(), now_ms);
  if (kind_ != rtp::MediaKind::kVideo) return !paused_;
  const rtp::VideoLayers read = e.layer_reader->Read(
      packet.payload(), dependency_descriptor_ext_id_ != 0
                            ? packet.GetExtension(dependency_descriptor_ext_id_)
                            : absl::Span<const uint8_t>());
  if (layers != nullptr) *layers = read;
  LayerMeter& meter = layers_[LayerIndex(svc_ ? read.spatial : encoding, read.temporal)];
  meter.last_packet_ms = now_ms;
  meter.rate.Add(packet.size(), now_ms);
  if (!paused_) {
    e.history.Insert(packet.sequence_number(),
                     absl::Span<const uint8_t>(packet.data(), packet.size()));
  }
  if (e.key_frame_request_deferred && read.key_frame) e.key_frame_request_deferred = false;
  return !paused_;
}

void Producer::ReceiveSenderReport(size_t encoding, uint32_t ntp_sec, uint32_t ntp_frac,
                                   uint32_t rtp_timestamp, int64_t now_ms) {
  Encoding& e = encodings_[encoding];
  e.sender_info = {true, ntp_sec, ntp_frac, rtp_timestamp, now_ms};
  e.receive_stats.OnSenderReport(ntp_sec, ntp_frac, now_ms);
}

std::optional<rtp::ReportBlock> Producer::MakeReportBlock(size_t encoding, int64_t now_ms) {
  Encoding& e = encodings_[encoding];
  if (e.receive_stats.packets() == 0) return std::nullopt;
  rtp::ReportBlock block = e.receive_stats.MakeReportBlock(e.ssrc, now_ms);
  e.last_fraction_lost = block.fraction_lost;
  e.last_packets_lost = block.cumulative_lost;
  return block;
}

bool Producer::ShouldRequestKeyFrame(size_t encoding, int64_t now_ms) {
  Encoding& e = encodings_[encoding];
  if (kind_ != rtp::MediaKind::kVideo || e.ssrc == 0) return false;
  if (now_ms - e.last_key_frame_request_ms < kKeyFrameRequestIntervalMs) {
    e.key_frame_request_deferred = true;
    ++e.key_frame_requests_suppressed;
    return false;
  }
  e.key_frame_request_deferred = false;
  e.last_key_frame_request_ms = now_ms;
  ++e.pli_sent;
  return true;
}

bool Producer::TakeDeferredKeyFrameRequest(size_t encoding, int64_t now_ms) {
  if (!key_frame_request_deferred(encoding) || now_ms < next_key_frame_request_ms(encoding)) {
    return false;
  }
  return ShouldRequestKeyFrame(encoding, now_ms);
}

Producer::StreamStats Producer::stats(size_t encoding) const {
  const Encoding& e = encodings_[encoding];
  StreamStats s;
  s.ssrc = e.ssrc;
  s.rid = e.rid;
  s.packets = e.receive_stats.packets();
  s.bytes = e.receive_stats.bytes();
  s.packets_lost = e.last_packets_lost;
  s.fraction_lost = e.last_fraction_lost;
  s.jitter = e.receive_stats.jitter();
  s.pli_sent = e.pli_sent;
  s.nack_requested = e.nack_requested;
  s.retransmissions_received = e.retransmissions_received;
  s.key_frame_requests_suppressed = e.key_frame_requests_suppressed;
  return s;
}

}  // namespace sb::router
