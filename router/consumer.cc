#include "router/consumer.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "router/producer.h"
#include "rtp/codecs/vp8.h"
#include "rtp/codecs/vp9.h"
#include "rtp/header_extensions.h"
#include "rtp/rtp_builder.h"
#include "rtp/rtx.h"

namespace sb::router {
namespace {

// Room for the largest packet we forward plus SRTP's tag and our extension growth. Incoming
// packets are at most one MTU (1500); browsers keep RTP under 1200 bytes.
constexpr size_t kSendBufferSize = 2048;

// While waiting for a key frame, ask again at most this often (the producer debounces too).
constexpr int64_t kKeyFrameRetryMs = 1000;

// One worker thread: the packet being sent is built in these and handed to the transport,
// which protects it in place before the next one is built.
alignas(8) uint8_t g_send_buffer[kSendBufferSize];
alignas(8) uint8_t g_rtx_buffer[kSendBufferSize];
alignas(8) uint8_t g_history_copy[kSendBufferSize];

}  // namespace

Consumer::Consumer(std::string id, const Producer& producer, rtp::RtpParameters params, bool paused,
                   Listener* listener, Mode mode)
    : id_(std::move(id)),
      producer_id_(producer.id()),
      kind_(producer.kind()),
      video_codec_(rtp::VideoCodecFromMime(producer.mime_type())),
      clock_rate_(producer.clock_rate()),
      params_(std::move(params)),
      producer_(producer),
      listener_(listener),
      relay_(mode == Mode::kRelay),
      simulcast_(producer.simulcast() && !relay_),
      rewrite_vp8_(producer.kind() == rtp::MediaKind::kVideo &&
                   video_codec_ == rtp::VideoCodec::kVp8),
      svc_(producer.svc()),
      encoding_count_(producer.encoding_count()),
      spatial_count_(producer.kind() == rtp::MediaKind::kVideo ? producer.spatial_layer_count()
                                                               : 1),
      paused_(paused),
      producer_paused_(producer.paused()),
      preferred_layer_(spatial_count_ - 1),
      allocated_layer_(spatial_count_ - 1),
      selector_(producer.encoding_count(), producer.kind() == rtp::MediaKind::kVideo),
      rewriter_(producer.clock_rate()) {
  if (!params_.encodings.empty()) ssrc_ = params_.encodings.front().ssrc;
  if (const auto* codec = params_.MediaCodec()) payload_type_ = codec->payload_type;
  mid_ext_id_ = params_.HeaderExtensionId(rtp::kUriMid);
  transport_cc_ext_id_ = params_.HeaderExtensionId(rtp::kUriTransportWideCc);
  // Map every extension both sides negotiated, except the ones whose value is per-stream and
  // that we write ourselves (mid) or must not forward (rid, repaired-rid, transport-cc). The
  // dependency descriptor goes only with AV1, which needs it for its layers: a receiver that
  // gets it follows its frame numbers instead of the VP8/VP9 descriptor's (only VP8's picture
  // ids are kept continuous across a simulcast switch, and AV1's frame numbers below).
  for (const auto& ext : producer.rtp_parameters().header_extensions) {
    if (ext.uri == rtp::kUriMid || ext.uri == rtp::kUriRid || ext.uri == rtp::kUriRepairedRid ||
        ext.uri == rtp::kUriTransportWideCc ||
        (ext.uri == rtp::kUriDependencyDescriptor && video_codec_ != rtp::VideoCodec::kAv1)) {
      continue;
    }
    ext_id_map_[ext.id] = params_.HeaderExtensionId(ext.uri);
    // Each simulcast encoding numbers its frames: continuous across switches (an SVC stream
    // is one numbering; a relay passes the encodings on as they are).
    if (ext.uri == rtp::kUriDependencyDescriptor && simulcast_ && ext_id_map_[ext.id] != 0) {
      dd_ext_id_ = ext.id;
      dd_out_ext_id_ = ext_id_map_[ext.id];
    }
  }
  stats_.ssrc = ssrc_;
  if (relay_) return;  // no RTX: retransmissions go as first sent
  if (const auto* rtx = params_.RtxCodecFor(payload_type_);
      rtx != nullptr && !params_.encodings.empty() && params_.encodings.front().rtx_ssrc != 0) {
    rtx_payload_type_ = rtx->payload_type;
    rtx_ssrc_ = params_.encodings.front().rtx_ssrc;
    // RFC 3550 5.1: start at an unpredictable number; the ssrc is random already.
    rtx_seq_ = static_cast<uint16_t>(rtx_ssrc_ ^ (rtx_ssrc_ >> 16));
  }
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

void Consumer::SetSubscriberPaused(bool paused) {
  if (subscriber_paused_ == paused) return;
  subscriber_paused_ = paused;
  if (active()) RequestKeyFrame();
}

void Consumer::SetPreferredLayer(size_t layer) {
  preferred_layer_ = std::min(layer, spatial_count_ - 1);
  UpdateCeiling();
}

void Consumer::SetAllocatedLayer(size_t spatial, uint8_t temporal) {
  const bool pause = spatial == kNoEncoding;
  if (!pause) {
    allocated_layer_ = std::min(spatial, spatial_count_ - 1);
    allocated_temporal_ = temporal;
  }
  UpdateCeiling();
  if (bandwidth_paused_ == pause) return;
  bandwidth_paused_ = pause;
  if (active()) RequestKeyFrame();
}

size_t Consumer::current_spatial_layer() const {
  if (simulcast_) return selector_.current();
  if (!svc_) return 0;
  const uint8_t spatial = filter_.current_spatial();
  return spatial == LayerFilter::kTop ? spatial_count_ - 1 : spatial;
}

void Consumer::UpdateCeiling() {
  const size_t spatial = std::min(preferred_layer_, allocated_layer_);
  selector_.SetCeiling(spatial);
  // The allocated temporal layer is the allocated spatial layer's: below it (a preference
  // under the allocation), every temporal layer fits. A simulcast consumer sets it per packet,
  // for the encoding it forwards.
  const uint8_t temporal = spatial < allocated_layer_ ? LayerFilter::kTop : allocated_temporal_;
  const bool spatial_up = svc_ && spatial > filter_.target_spatial();
  filter_.SetTarget(svc_ ? static_cast<uint8_t>(spatial) : LayerFilter::kTop, temporal);
  // An SVC layer up starts at a key frame only.
  if (spatial_up && filter_.key_frame_needed() && active()) AskForKeyFrame();
}

void Consumer::RequestSync() {
  rewriter_.RequestSync();
  vp8_rewriter_.RequestSync();
  dd_rewriter_.RequestSync();
  new_run_ = true;
}

void Consumer::AskForKeyFrame() {
  const size_t encoding = target_encoding() != kNoEncoding ? target_encoding() : current_encoding();
  // A simulcast consumer that has seen no packet yet asks once it knows which encoding.
  if (encoding != kNoEncoding) listener_->OnConsumerKeyFrameNeeded(this, encoding);
}

void Consumer::RequestKeyFrame() {
  if (relay_) {
    // The other router's consumers ask for what they need; a fresh relay asks for all.
    if (kind_ == rtp::MediaKind::kVideo) {
      for (size_t i = 0; i < encoding_count_; ++i) listener_->OnConsumerKeyFrameNeeded(this, i);
    }
    return;
  }
  // Whatever happened, the next forwarded packet re-bases the stream; for video that must
  // be a key frame, so ask for one (of the encoding the selector wants then, not necessarily
  // the one forwarded before).
  RequestSync();
  selector_.Restart();
  if (kind_ == rtp::MediaKind::kVideo) AskForKeyFrame();
}

bool Consumer::CanStartStream(const rtp::RtpPacket& packet, const rtp::VideoLayers& layers) const {
  if (kind_ != rtp::MediaKind::kVideo) return true;
  // Later descriptors of the new encoding refer to its structure by template id: without it
  // the receiver cannot read them (A.5; a sender attaches it to its key frames).
  return layers.key_frame && (dd_ext_id_ == 0 || rtp::DependencyDescriptor::HasStructure(
                                                     packet.GetExtension(dd_ext_id_)));
}

absl::Span<uint8_t> Consumer::OutgoingDescriptor(uint8_t* data, size_t len) const {
  auto sent = rtp::RtpPacket::Parse(data, len);
  if (!sent) return {};
  const absl::Span<const uint8_t> value = sent->GetExtension(dd_out_ext_id_);
  if (value.empty()) return {};
  return absl::MakeSpan(sent->data() + (value.data() - sent->data()), value.size());
}

bool Consumer::SelectEncoding(const rtp::RtpPacket& packet, size_t encoding,
                              const rtp::VideoLayers& layers, int64_t now_ms) {
  const LayerSelector::Decision decision = selector_.OnPacket(
      producer_, encoding, [&] { return CanStartStream(packet, layers); }, now_ms);
  if (decision.key_frame_needed ||
      (decision.waiting_for_key_frame && now_ms - last_key_frame_request_ms_ >= kKeyFrameRetryMs)) {
    last_key_frame_request_ms_ = now_ms;
    listener_->OnConsumerKeyFrameNeeded(this, selector_.target());
  }
  if (decision.switched) ++stats_.layer_switches;
  // Continue from what the subscriber got last.
  if (decision.changed) RequestSync();
  return decision.forward;
}

void Consumer::SendRtpPacket(const rtp::RtpPacket& packet, size_t encoding,
                             const rtp::VideoLayers& layers, int64_t now_ms) {
  if (!active()) return;
  if (relay_) return Relay(packet, encoding, now_ms);
  if (simulcast_ && !SelectEncoding(packet, encoding, layers, now_ms)) return;
  const bool video = kind_ == rtp::MediaKind::kVideo;
  if (rewriter_.sync_required() && video && !CanStartStream(packet, layers)) {
    if (now_ms - last_key_frame_request_ms_ >= kKeyFrameRetryMs) {
      last_key_frame_request_ms_ = now_ms;
      AskForKeyFrame();
    }
    return;
  }
  bool set_marker = false;
  if (video) {
    if (simulcast_) {
      filter_.SetTarget(LayerFilter::kTop, selector_.current() < allocated_layer_
                                               ? LayerFilter::kTop
                                               : allocated_temporal_);
    }
    const LayerFilter::Decision decision = filter_.OnPacket(layers, packet.timestamp());
    if (filter_.key_frame_needed() && now_ms - last_key_frame_request_ms_ >= kKeyFrameRetryMs) {
      last_key_frame_request_ms_ = now_ms;
      AskForKeyFrame();
    }
    if (!decision.forward) {
      DropPacket(packet);
      return;
    }
    set_marker = decision.set_marker;
  }
  const auto out = rewriter_.Rewrite(packet.sequence_number(), packet.timestamp(), now_ms);
  if (!out) return;  // Late packet from before the sync point.

  uint8_t* buffer = g_send_buffer;
  const size_t len =
      WritePacket(packet, out->sequence_number, out->timestamp, buffer, kSendBufferSize, ssrc_);
  if (len == 0) return;  // Larger than any MTU: not forwardable.
  if (set_marker) buffer[1] |= 0x80;
  if (rewrite_vp8_) {
    if (auto descriptor = rtp::Vp8Descriptor::Parse(packet.payload())) {
      // The payload is the copy's tail, before the padding.
      uint8_t* payload = buffer + len - packet.padding_length() - packet.payload().size();
      vp8_rewriter_.Rewrite(*descriptor, payload);
    }
  }
  if (dd_ext_id_ != 0) dd_rewriter_.Rewrite(OutgoingDescriptor(buffer, len));

  rewriter_.OnSent(*out, now_ms);
  last_timestamp_ = out->timestamp;
  RecordSent(packet, encoding, *out);
  ++stats_.packets;
  stats_.bytes += packet.payload().size();
  budget_.OnMediaSent(len, now_ms);
  listener_->OnConsumerSendRtp(this, buffer, len, kSendBufferSize);
}

absl::Span<const rtp::ExtensionValue> Consumer::OwnExtensions(
    std::array<rtp::ExtensionValue, 2>& values,
    uint8_t (&transport_seq)[rtp::kTransportSequenceNumberSize]) const {
  size_t count = 0;
  if (mid_ext_id_ != 0 && !params_.mid.empty()) {
    values[count++] = {
        mid_ext_id_, absl::Span<const uint8_t>(reinterpret_cast<const uint8_t*>(params_.mid.data()),
                                               params_.mid.size())};
  }
  // Our own transport-wide number, for the subscriber's transport-cc feedback (the
  // publisher's, if any, is not forwarded: ext_id_map_ drops it).
  if (transport_cc_ext_id_ != 0) {
    rtp::WriteTransportSequenceNumber(listener_->AllocateTransportSequenceNumber(), transport_seq,
                                      sizeof(transport_seq));
    values[count++] = {transport_cc_ext_id_,
                       absl::Span<const uint8_t>(transport_seq, sizeof(transport_seq))};
  }
  return absl::Span<const rtp::ExtensionValue>(values.data(), count);
}

size_t Consumer::WritePacket(const rtp::RtpPacket& packet, uint16_t sequence_number,
                             uint32_t timestamp, uint8_t* out, size_t cap, uint32_t ssrc) const {
  std::array<rtp::ExtensionValue, 2> extra;
  uint8_t transport_seq[rtp::kTransportSequenceNumberSize];
  rtp::RtpRewrite rewrite;
  rewrite.ssrc = ssrc;
  rewrite.payload_type = payload_type_;
  rewrite.sequence_number = sequence_number;
  rewrite.timestamp = timestamp;
  rewrite.ext_id_map = ext_id_map_;
  rewrite.extra = OwnExtensions(extra, transport_seq);
  return rtp::WriteRewritten(packet, rewrite, out, cap);
}

void Consumer::Relay(const rtp::RtpPacket& packet, size_t encoding, int64_t now_ms) {
  if (encoding >= params_.encodings.size()) return;
  const size_t len = WritePacket(packet, packet.sequence_number(), packet.timestamp(),
                                 g_send_buffer, kSendBufferSize, params_.encodings[encoding].ssrc);
  if (len == 0) return;
  ++stats_.packets;
  stats_.bytes += packet.payload().size();
  budget_.OnMediaSent(len, now_ms);
  listener_->OnConsumerSendRtp(this, g_send_buffer, len, kSendBufferSize);
}

void Consumer::RelayRetransmit(size_t encoding, absl::Span<const uint16_t> sequence_numbers,
                               int64_t now_ms) {
  const rtp::PacketHistory* history = producer_.history(encoding);
  size_t sent = 0;
  for (size_t i = 0; i < sequence_numbers.size(); ++i) {
    if (sent == kMaxRetransmissionsPerNack) {
      stats_.nack_over_cap += sequence_numbers.size() - i;
      return;
    }
    const absl::Span<const uint8_t> stored =
        history ? history->Get(sequence_numbers[i]) : absl::Span<const uint8_t>();
    if (stored.empty() || stored.size() > kSendBufferSize) {
      ++stats_.nack_unavailable;
      continue;
    }
    std::memcpy(g_history_copy, stored.data(), stored.size());
    const auto packet = rtp::RtpPacket::Parse(g_history_copy, stored.size());
    if (!packet || packet->sequence_number() != sequence_numbers[i]) {
      ++stats_.nack_unavailable;
      continue;
    }
    if (!budget_.TryRetransmit(stored.size(), now_ms)) {
      ++stats_.nack_over_budget;
      continue;
    }
    const size_t len =
        WritePacket(*packet, packet->sequence_number(), packet->timestamp(), g_send_buffer,
                    kSendBufferSize, params_.encodings[encoding].ssrc);
    if (len == 0) continue;
    ++sent;
    ++stats_.retransmitted;
    stats_.retransmitted_bytes += packet->payload().size();
    listener_->OnConsumerSendRtp(this, g_send_buffer, len, kSendBufferSize);
  }
}

size_t Consumer::EncodingOfSsrc(uint32_t ssrc) const {
  if (!relay_) return 0;
  for (size_t i = 0; i < params_.encodings.size(); ++i) {
    if (params_.encodings[i].ssrc == ssrc) return i;
  }
  return kNoEncoding;
}

void Consumer::DropPacket(const rtp::RtpPacket& packet) {
  if (rewriter_.Drop(packet.sequence_number())) new_run_ = true;
  if (!rewrite_vp8_) return;
  if (auto descriptor = rtp::Vp8Descriptor::Parse(packet.payload())) {
    if (vp8_rewriter_.DropPicture(*descriptor)) new_run_ = true;
  }
}

bool Consumer::EndsForwardedPicture(const rtp::RtpPacket& packet, uint8_t spatial) const {
  if (video_codec_ != rtp::VideoCodec::kVp9) return false;
  const auto d = rtp::Vp9Descriptor::Parse(packet.payload());
  return d && d->end_of_frame && d->has_layer_indices &&
         std::min<uint8_t>(d->spatial_id, rtp::VideoLayers::kMaxSpatial - 1) == spatial;
}

void Consumer::RecordSent(const rtp::RtpPacket& packet, size_t encoding,
                          rtp::StreamRewriter::Output out) {
  const int64_t seq = out_seq_unwrapper_.Unwrap(out.sequence_number);
  Run* run = &runs_[run_head_];
  const uint8_t marker_spatial = svc_ ? filter_.current_spatial() : LayerFilter::kTop;
  if (new_run_ || !run->valid || run->marker_spatial != marker_spatial) {
    // The first packet after a re-basing: the rewriters' offsets are fixed from here until
    // the next one.
    new_run_ = false;
    run_head_ = (run_head_ + 1) % kMaxRuns;
    run = &runs_[run_head_];
    *run = Run{true,
               encoding,
               packet.ssrc(),
               seq,
               seq,
               static_cast<uint16_t>(out.sequence_number - packet.sequence_number()),
               out.timestamp - packet.timestamp(),
               vp8_rewriter_.offsets(),
               dd_rewriter_.offset(),
               marker_spatial};
    return;
  }
  run->first = std::min(run->first, seq);
  run->last = std::max(run->last, seq);
}

bool Consumer::SendProbePacket(int64_t now_ms) {
  if (!can_probe()) return false;
  const auto newest = out_seq_unwrapper_.last();
  if (!newest) return false;
  if (Retransmit(static_cast<uint16_t>(*newest), now_ms, /*probe=*/true) ==
      RetransmitResult::kSent) {
    return true;
  }
  // The last packet is no longer held (the stream was paused for bandwidth a while): padding
  // alone on the RTX stream, which a receiver counts for its feedback and then discards, as
  // libwebrtc's own padding.
  std::array<rtp::ExtensionValue, 2> extensions;
  uint8_t transport_seq[rtp::kTransportSequenceNumberSize];
  rtp::RtpHeaderFields header;
  header.payload_type = rtx_payload_type_;
  header.sequence_number = rtx_seq_;
  header.timestamp = last_timestamp_;
  header.ssrc = rtx_ssrc_;
  const size_t len = rtp::BuildRtpPacket(header, OwnExtensions(extensions, transport_seq), {},
                                         kProbePaddingBytes, g_rtx_buffer, kSendBufferSize);
  if (len == 0) return false;
  ++rtx_seq_;
  ++stats_.probe_packets;
  stats_.probe_bytes += len;
  listener_->OnConsumerSendRtp(this, g_rtx_buffer, len, kSendBufferSize);
  return true;
}

Consumer::RetransmitResult Consumer::Retransmit(uint16_t sequence_number, int64_t now_ms,
                                                bool probe) {
  using enum RetransmitResult;
  const auto newest = out_seq_unwrapper_.last();
  if (!newest) return kUnavailable;
  const int64_t seq = out_seq_unwrapper_.Peek(sequence_number);
  // Newest first: a run's output follows the previous run's.
  const Run* run = nullptr;
  for (size_t i = 0; i < kMaxRuns; ++i) {
    const Run& r = runs_[(run_head_ + kMaxRuns - i) % kMaxRuns];
    if (r.valid && seq >= r.first && seq <= r.last) {
      run = &r;
      break;
    }
  }
  if (run == nullptr) return kUnavailable;  // never sent, or from a run forgotten since
  Retransmission& last = retransmissions_[static_cast<size_t>(seq) % kRetransmitLogSize];
  if (!probe && last.seq == seq && now_ms - last.sent_ms < kRetransmitIntervalMs) {
    return kDuplicate;
  }

  const rtp::PacketHistory* history = producer_.history(run->encoding);
  if (history == nullptr) return kUnavailable;
  const auto source_seq = static_cast<uint16_t>(sequence_number - run->seq_offset);
  const absl::Span<const uint8_t> stored = history->Get(source_seq);
  if (stored.empty() || stored.size() > kSendBufferSize) return kUnavailable;
  // A copy: the history is the producer's, and a view over the packet needs mutable bytes.
  std::memcpy(g_history_copy, stored.data(), stored.size());
  const auto packet = rtp::RtpPacket::Parse(g_history_copy, stored.size());
  // Only the very packet that was sent: same source stream, number and codec.
  if (!packet || packet->ssrc() != run->source_ssrc || packet->sequence_number() != source_seq ||
      packet->payload_type() != producer_.media_codec().payload_type) {
    return kUnavailable;
  }
  // Charged as held (the rewrite changes a few bytes at most), before the work of sending.
  if (!probe && !budget_.TryRetransmit(stored.size(), now_ms)) return kOverBudget;

  uint8_t* buffer = g_send_buffer;
  size_t len = WritePacket(*packet, sequence_number, packet->timestamp() + run->ts_offset, buffer,
                           kSendBufferSize, ssrc_);
  if (len == 0) return kUnavailable;
  if (run->marker_spatial != LayerFilter::kTop &&
      EndsForwardedPicture(*packet, run->marker_spatial)) {
    buffer[1] |= 0x80;
  }
  if (rewrite_vp8_) {
    if (auto descriptor = rtp::Vp8Descriptor::Parse(packet->payload())) {
      uint8_t* payload = buffer + len - packet->padding_length() - packet->payload().size();
      rtp::Vp8Rewriter::Apply(*descriptor, run->vp8, payload);
    }
  }
  if (dd_ext_id_ != 0) {
    DdFrameNumberRewriter::Apply(OutgoingDescriptor(buffer, len), run->dd_frame_offset);
  }
  if (rtx_payload_type_ != 0) {
    // RFC 4588 4: on the RTX stream, with the original sequence number first in the payload.
    const auto sent = rtp::RtpPacket::Parse(buffer, len);
    if (!sent) return kUnavailable;
    len = rtp::RtxEncapsulate(*sent, rtx_payload_type_, rtx_ssrc_, rtx_seq_, g_rtx_buffer,
                              kSendBufferSize);
    if (len == 0) return kUnavailable;
    ++rtx_seq_;
    buffer = g_rtx_buffer;
  }
  if (probe) {
    ++stats_.probe_packets;
    stats_.probe_bytes += len;
  } else {
    last = {seq, now_ms};
    ++stats_.retransmitted;
    stats_.retransmitted_bytes += packet->payload().size();
  }
  listener_->OnConsumerSendRtp(this, buffer, len, kSendBufferSize);
  return kSent;
}

void Consumer::ReceivePli(uint32_t ssrc) {
  ++stats_.pli_received;
  KeyFrameAskedFor(ssrc);
}

void Consumer::ReceiveFir(uint32_t ssrc) {
  ++stats_.fir_received;
  KeyFrameAskedFor(ssrc);
}

void Consumer::KeyFrameAskedFor(uint32_t ssrc) {
  if (!active()) return;
  if (!relay_) return AskForKeyFrame();
  // A relay: the encoding that stream carries.
  if (size_t encoding = EncodingOfSsrc(ssrc); encoding != kNoEncoding) {
    listener_->OnConsumerKeyFrameNeeded(this, encoding);
  }
}

void Consumer::ReceiveNack(uint32_t ssrc, absl::Span<const uint16_t> sequence_numbers,
                           int64_t now_ms) {
  ++stats_.nack_received;
  stats_.nack_packets += sequence_numbers.size();
  if (!active()) return;
  if (relay_) {
    if (size_t encoding = EncodingOfSsrc(ssrc); encoding != kNoEncoding) {
      RelayRetransmit(encoding, sequence_numbers, now_ms);
    }
    return;
  }
  size_t sent = 0;
  for (size_t i = 0; i < sequence_numbers.size(); ++i) {
    if (sent == kMaxRetransmissionsPerNack) {
      stats_.nack_over_cap += sequence_numbers.size() - i;
      return;
    }
    switch (Retransmit(sequence_numbers[i], now_ms)) {
      case RetransmitResult::kSent:
        ++sent;
        break;
      case RetransmitResult::kUnavailable:
        ++stats_.nack_unavailable;
        break;
      case RetransmitResult::kDuplicate:
        ++stats_.nack_duplicates;
        break;
      case RetransmitResult::kOverBudget:
        ++stats_.nack_over_budget;
        break;
    }
  }
}

void Consumer::ReceiveReportBlock(uint8_t fraction_lost, int32_t cumulative_lost, uint32_t jitter) {
  stats_.fraction_lost = fraction_lost;
  stats_.packets_lost = cumulative_lost;
  stats_.jitter = jitter;
}

std::optional<Consumer::SenderReportFields> Consumer::MakeSenderReport(const Producer& producer,
                                                                       size_t stream) const {
  if (relay_) {
    // The publisher's own report of the encoding: the relay keeps its timestamps.
    if (stream >= encoding_count_ || stats_.packets == 0) return std::nullopt;
    const auto& info = producer.sender_info(stream);
    if (!info.valid) return std::nullopt;
    return SenderReportFields{info.ntp_sec, info.ntp_frac, info.rtp_timestamp,
                              static_cast<uint32_t>(stats_.packets),
                              static_cast<uint32_t>(stats_.bytes)};
  }
  if (!rewriter_.started() || current_encoding() == kNoEncoding) return std::nullopt;
  const auto& info = producer.sender_info(current_encoding());
  if (!info.valid) return std::nullopt;
  return SenderReportFields{
      info.ntp_sec, info.ntp_frac, info.rtp_timestamp + rewriter_.timestamp_offset(),
      static_cast<uint32_t>(stats_.packets), static_cast<uint32_t>(stats_.bytes)};
}

}  // namespace sb::router
