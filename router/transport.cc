#include "router/transport.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <random>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "base/log.h"
#include "rtp/header_extensions.h"
#include "rtp/rtcp/fir.h"
#include "rtp/rtcp/nack.h"
#include "rtp/rtcp/pli.h"
#include "rtp/rtcp/receiver_report.h"
#include "rtp/rtcp/rtcp_packet.h"
#include "rtp/rtcp/sdes.h"
#include "rtp/rtcp/sender_report.h"
#include "rtp/rtcp/transport_feedback.h"
#include "rtp/rtx.h"

namespace sb::router {
namespace {

// A compound RTCP packet we build fits one datagram well under the path MTU, with room for
// the SRTCP trailer (tag + index).
constexpr size_t kRtcpBufferSize = 1500;
constexpr char kRtcpCname[] = "switchboard";

uint32_t RandomSsrc() {
  static std::mt19937 rng{std::random_device{}()};
  uint32_t ssrc = 0;
  while (ssrc == 0) ssrc = rng();
  return ssrc;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Transport>> Transport::Create(
    std::string id, uv_loop_t* loop, const transport::WebRtcTransport::Options& options,
    transport::DtlsCertificate* certificate, Listener* listener) {
  std::unique_ptr<Transport> self(new Transport(std::move(id), loop, listener));
  auto webrtc = transport::WebRtcTransport::Create(loop, options, certificate, self.get());
  if (!webrtc.ok()) return webrtc.status();
  self->webrtc_ = webrtc->get();
  self->endpoint_ = *std::move(webrtc);
  self->Start();
  return self;
}

absl::StatusOr<std::unique_ptr<Transport>> Transport::CreatePipe(
    std::string id, uv_loop_t* loop, const transport::PipeTransport::Options& options,
    Listener* listener) {
  std::unique_ptr<Transport> self(new Transport(std::move(id), loop, listener));
  auto pipe = transport::PipeTransport::Create(loop, options, self.get());
  if (!pipe.ok()) return pipe.status();
  self->pipe_ = pipe->get();
  self->endpoint_ = *std::move(pipe);
  if (options.sctp) self->pipe_->set_data_listener(self.get());
  self->Start();
  return self;
}

void Transport::Start() {
  data_ = std::make_unique<DataEndpoint>(
      id_, this, pipe_ ? DataEndpoint::Kind::kPipe : DataEndpoint::Kind::kPeer, listener_);
  rtcp_timer_ = std::make_unique<UvTimer>(loop_, [this] {
    SendRtcpReports();
    ScheduleRtcp();
  });
  ScheduleRtcp();
  key_frame_timer_ = std::make_unique<UvTimer>(loop_, [this] { FlushDeferredKeyFrameRequests(); });
  transport_feedback_timer_ = std::make_unique<UvTimer>(loop_, [this] { SendTransportFeedback(); });
  nack_timer_ = std::make_unique<UvTimer>(loop_, [this] { SendNacks(); });
}

Transport::Transport(std::string id, uv_loop_t* loop, Listener* listener)
    : id_(std::move(id)), loop_(loop), listener_(listener), rtcp_ssrc_(RandomSsrc()) {}

Transport::~Transport() {
  bandwidth_.reset();  // it reads consumers_
  remb_.reset();
  rtcp_timer_.reset();
  key_frame_timer_.reset();
  transport_feedback_timer_.reset();
  nack_timer_.reset();
  consumers_by_ssrc_.clear();
  consumers_.clear();
  producers_by_ssrc_.clear();
  producers_.clear();
  if (endpoint_) endpoint_->Close();
  data_.reset();
}

bool Transport::has_data_channels() const {
  return webrtc_ != nullptr || (pipe_ != nullptr && pipe_->sctp_enabled());
}

transport::SctpAssociation* Transport::sctp() const {
  if (webrtc_) return webrtc_->sctp();
  return pipe_ ? pipe_->sctp() : nullptr;
}

void Transport::OnSctpStateChange(transport::SctpState state, const std::string& reason) {
  SB_LOG_INFO("data", "{}: SCTP {}{}{}", id_, transport::SctpStateName(state),
              reason.empty() ? "" : ": ", reason);
  data_->OnSctpStateChange(state);
}

void Transport::OnDataChannelOpen(const transport::DataChannelInfo& info) {
  data_->OnDataChannelOpen(info);
}

void Transport::OnDataChannelMessage(uint16_t stream_id, uint32_t ppid,
                                     absl::Span<const uint8_t> data) {
  data_->OnDataChannelMessage(stream_id, ppid, data);
}

void Transport::OnDataChannelClosed(uint16_t stream_id) { data_->OnDataChannelClosed(stream_id); }

void Transport::OnSctpSendBufferAvailable() { data_->OnSctpSendBufferAvailable(); }

void Transport::ScheduleRtcp() {
  static std::mt19937 rng{std::random_device{}()};
  // RFC 3550 6.3.1: randomise the interval to between 0.5 and 1.5 times the nominal one.
  std::uniform_int_distribution<int64_t> jitter(kRtcpIntervalMs / 2, kRtcpIntervalMs * 3 / 2);
  rtcp_timer_->Start(static_cast<uint64_t>(jitter(rng)));
}

absl::Status Transport::AddProducer(std::unique_ptr<Producer> producer) {
  if (producers_.contains(producer->id())) {
    return absl::AlreadyExistsError("producer id already in use: " + producer->id());
  }
  auto taken = [&](uint32_t ssrc) {
    return producers_by_ssrc_.contains(ssrc) || producers_by_rtx_ssrc_.contains(ssrc);
  };
  bool unannounced = false;
  for (size_t i = 0; i < producer->encoding_count(); ++i) {
    for (uint32_t ssrc : {producer->media_ssrc(i), producer->rtx_ssrc(i)}) {
      if (ssrc != 0 && taken(ssrc)) {
        return absl::AlreadyExistsError("ssrc already produced on this transport");
      }
    }
    unannounced |= producer->media_ssrc(i) == 0;
  }
  const std::string& mid = producer->rtp_parameters().mid;
  if (!mid.empty() && producers_by_mid_.contains(mid)) {
    return absl::AlreadyExistsError("mid already produced on this transport: " + mid);
  }
  if (unannounced && (mid.empty() || producer->mid_extension_id() == 0)) {
    return absl::InvalidArgumentError("producer has neither an ssrc nor a mid to match packets");
  }
  // Simulcast streams without announced ssrcs are told apart by their rid (RFC 8852).
  if (unannounced && producer->simulcast() && producer->rid_extension_id() == 0) {
    return absl::InvalidArgumentError(
        "simulcast encodings without ssrcs need the rtp-stream-id header extension");
  }
  Producer* raw = producer.get();
  for (size_t i = 0; i < raw->encoding_count(); ++i) {
    if (raw->media_ssrc(i) != 0) producers_by_ssrc_[raw->media_ssrc(i)] = {raw, i};
    if (raw->rtx_ssrc(i) != 0) producers_by_rtx_ssrc_[raw->rtx_ssrc(i)] = {raw, i};
  }
  if (!mid.empty()) producers_by_mid_[mid] = raw;
  for (const auto& ext : raw->rtp_parameters().header_extensions) {
    if (ext.uri == rtp::kUriTransportWideCc && ext.id != 0) transport_cc_ext_id_ = ext.id;
  }
  if (transport_cc_ext_id_ != 0 && !transport_feedback_timer_->active()) {
    endpoint_->EnableArrivalTimestamps();
    transport_feedback_timer_->Start(kTransportFeedbackIntervalMs, kTransportFeedbackIntervalMs);
  }
  MaybeStartRemb(*raw);
  producers_[raw->id()] = std::move(producer);
  return absl::OkStatus();
}

void Transport::MaybeStartRemb(const Producer& producer) {
  if (transport_cc_ext_id_ != 0) {
    remb_.reset();  // transport-cc is preferred: the publisher estimates for itself
    return;
  }
  if (remb_) return;
  const rtp::RtpParameters& params = producer.rtp_parameters();
  const uint8_t abs_send_time_id = params.HeaderExtensionId(rtp::kUriAbsSendTime);
  const bool wants_remb =
      !params.codecs.empty() &&
      std::any_of(params.codecs[0].rtcp_feedback.begin(), params.codecs[0].rtcp_feedback.end(),
                  [](const rtp::RtcpFeedback& fb) { return fb.type == "goog-remb"; });
  if (!wants_remb || abs_send_time_id == 0) return;
  endpoint_->EnableArrivalTimestamps();
  remb_ = std::make_unique<RembSender>(abs_send_time_id, rtcp_ssrc_, this);
}

void Transport::CollectRembSsrcs(std::vector<uint32_t>* ssrcs) {
  for (const auto& [ssrc, ref] : producers_by_ssrc_) ssrcs->push_back(ssrc);
  std::sort(ssrcs->begin(), ssrcs->end());
}

void Transport::OnRembSenderRtcp(uint8_t* data, size_t len, size_t capacity) {
  SendRtcp(data, len, capacity);
}

void Transport::OnRembSent(int64_t estimate_bps) {
  listener_->OnTransportRembSent(this, estimate_bps);
}

std::unique_ptr<Producer> Transport::RemoveProducer(const std::string& id) {
  auto it = producers_.find(id);
  if (it == producers_.end()) return nullptr;
  std::unique_ptr<Producer> producer = std::move(it->second);
  producers_.erase(it);
  absl::erase_if(producers_by_ssrc_,
                 [&](const auto& kv) { return kv.second.producer == producer.get(); });
  absl::erase_if(producers_by_rtx_ssrc_,
                 [&](const auto& kv) { return kv.second.producer == producer.get(); });
  absl::erase_if(producers_by_mid_, [&](const auto& kv) { return kv.second == producer.get(); });
  return producer;
}

Producer* Transport::GetProducer(const std::string& id) const {
  auto it = producers_.find(id);
  return it == producers_.end() ? nullptr : it->second.get();
}

absl::Status Transport::AddConsumer(std::unique_ptr<Consumer> consumer) {
  if (consumers_.contains(consumer->id())) {
    return absl::AlreadyExistsError("consumer id already in use: " + consumer->id());
  }
  for (size_t i = 0; i < consumer->stream_count(); ++i) {
    if (consumers_by_ssrc_.contains(consumer->stream_ssrc(i))) {
      return absl::AlreadyExistsError("consumer ssrc already in use");
    }
  }
  if (!bandwidth_ && consumer->rtp_parameters().HeaderExtensionId(rtp::kUriTransportWideCc) != 0) {
    bandwidth_ = std::make_unique<BandwidthController>(loop_, consumers_, this);
  }
  for (size_t i = 0; i < consumer->stream_count(); ++i) {
    consumers_by_ssrc_[consumer->stream_ssrc(i)] = consumer.get();
  }
  consumers_[consumer->id()] = std::move(consumer);
  // At once, so that a new stream starts at what fits rather than at the top layer.
  if (bandwidth_) bandwidth_->Allocate();
  return absl::OkStatus();
}

std::unique_ptr<Consumer> Transport::RemoveConsumer(const std::string& id) {
  auto it = consumers_.find(id);
  if (it == consumers_.end()) return nullptr;
  std::unique_ptr<Consumer> consumer = std::move(it->second);
  consumers_.erase(it);
  for (size_t i = 0; i < consumer->stream_count(); ++i) {
    consumers_by_ssrc_.erase(consumer->stream_ssrc(i));
  }
  return consumer;
}

Consumer* Transport::GetConsumer(const std::string& id) const {
  auto it = consumers_.find(id);
  return it == consumers_.end() ? nullptr : it->second.get();
}

void Transport::OnIceStateChange(transport::IceState state) {
  listener_->OnTransportIceState(this, state);
}

void Transport::OnDtlsStateChange(transport::DtlsState state, const std::string& reason) {
  listener_->OnTransportDtlsState(this, state, reason);
}

Transport::StreamRef Transport::ProducerForPacket(const rtp::RtpPacket& packet) {
  if (auto it = producers_by_ssrc_.find(packet.ssrc()); it != producers_by_ssrc_.end()) {
    return it->second;
  }
  if (auto it = producers_by_rtx_ssrc_.find(packet.ssrc()); it != producers_by_rtx_ssrc_.end()) {
    return {it->second.producer, it->second.encoding, /*rtx=*/true};
  }
  return LearnSsrc(packet);
}

Transport::StreamRef Transport::LearnSsrc(const rtp::RtpPacket& packet) {
  auto text = [](absl::Span<const uint8_t> value) {
    return std::string_view(reinterpret_cast<const char*>(value.data()), value.size());
  };
  // A publisher that signalled only a mid (RFC 8843 9.2), with rids for simulcast (RFC 8852
  // 3.3): the first packets of each stream carry them; later ones may not.
  for (auto& entry : producers_by_mid_) {
    // Named, not a structured binding: the lambda below captures it (clang 14, the fuzz build,
    // does not let a lambda capture a structured binding).
    const std::string& mid = entry.first;
    auto& producer = entry.second;
    if (producer->mid_extension_id() == 0 ||
        text(packet.GetExtension(producer->mid_extension_id())) != mid) {
      continue;
    }
    // Which encoding: by rid (repaired rid for RTX); a lone encoding without a rid needs none.
    auto encoding_for = [&](uint8_t rid_ext_id) -> std::optional<size_t> {
      if (producer->encoding_count() == 1 && producer->rid(0).empty()) return 0;
      std::string_view rid = rid_ext_id != 0 ? text(packet.GetExtension(rid_ext_id)) : "";
      if (rid.empty()) {
        if (producer->encoding_count() == 1) return 0;
        return std::nullopt;
      }
      return producer->EncodingForRid(rid);
    };
    const uint8_t pt = packet.payload_type();
    if (pt == producer->media_codec().payload_type) {
      auto encoding = encoding_for(producer->rid_extension_id());
      if (!encoding || producer->media_ssrc(*encoding) != 0) break;
      producer->set_media_ssrc(*encoding, packet.ssrc());
      StreamRef ref{producer, *encoding};
      producers_by_ssrc_[packet.ssrc()] = ref;
      SB_LOG_DEBUG("rtp", "producer {} encoding {} ('{}') is ssrc {}", producer->id(), *encoding,
                   producer->rid(*encoding), packet.ssrc());
      return ref;
    }
    if (pt != 0 && pt == producer->rtx_payload_type()) {
      auto encoding = encoding_for(producer->repaired_rid_extension_id());
      if (!encoding || producer->rtx_ssrc(*encoding) != 0) break;
      producer->set_rtx_ssrc(*encoding, packet.ssrc());
      producers_by_rtx_ssrc_[packet.ssrc()] = {producer, *encoding};
      return {producer, *encoding, /*rtx=*/true};
    }
    break;
  }
  ++counters_.rtp_unknown_ssrc;
  return {};
}

void Transport::OnRtpPacket(uint8_t* data, size_t len) {
  auto packet = rtp::RtpPacket::Parse(data, len);
  if (!packet) {
    ++counters_.rtp_malformed;
    return;
  }
  // Every packet the publisher numbered counts for its estimator, retransmissions and padding
  // probes included, whether or not a producer takes it.
  if (transport_cc_ext_id_ != 0) RecordTransportSequenceNumber(*packet);
  if (remb_) remb_->OnRtpPacket(*packet, endpoint_->packet_arrival_us());
  const StreamRef ref = ProducerForPacket(*packet);
  if (!ref.producer) return;
  if (ref.rtx) return OnRetransmission(*packet, ref);
  const int64_t now_ms = static_cast<int64_t>(uv_now(loop_));
  rtp::VideoLayers layers;
  const bool forward = ref.producer->ReceiveRtpPacket(*packet, ref.encoding, now_ms, &layers);
  if (ref.producer->nack_pending() && !nack_timer_running_) {
    nack_timer_running_ = true;
    nack_timer_->Start(0, kNackCheckIntervalMs);
  }
  if (!forward) return;
  listener_->OnTransportProducerRtp(this, ref.producer, ref.encoding, layers, *packet, now_ms);
}

void Transport::OnRetransmission(const rtp::RtpPacket& rtx, const StreamRef& ref) {
  Producer* producer = ref.producer;
  uint8_t buffer[Producer::kHistoryMaxPacketSize];
  const size_t len =
      rtp::RtxDecapsulate(rtx, producer->media_codec().payload_type,
                          producer->media_ssrc(ref.encoding), buffer, sizeof(buffer));
  // Padding-only RTX packets (a browser's bandwidth probes) restore nothing.
  auto original = len > 0 ? rtp::RtpPacket::Parse(buffer, len) : std::nullopt;
  const int64_t now_ms = static_cast<int64_t>(uv_now(loop_));
  rtp::VideoLayers layers;
  if (!original || producer->media_ssrc(ref.encoding) == 0 ||
      !producer->ReceiveRetransmission(*original, ref.encoding, now_ms, &layers)) {
    ++counters_.rtx_ignored;
    return;
  }
  listener_->OnTransportProducerRtp(this, producer, ref.encoding, layers, *original, now_ms);
}

void Transport::SendNacks() {
  const int64_t now_ms = static_cast<int64_t>(uv_now(loop_));
  bool pending = false;
  for (auto& [id, producer] : producers_) {
    if (!producer->nack_enabled()) continue;
    for (size_t i = 0; i < producer->encoding_count(); ++i) {
      if (producer->media_ssrc(i) == 0) continue;
      std::vector<uint16_t> due = producer->DueNacks(i, now_ms, kNackRetryIntervalMs);
      if (due.empty()) continue;
      // In NACKs of at most kNackChunk numbers: one always fits a datagram (an item each at
      // worst, 4 bytes).
      constexpr size_t kNackChunk = 200;
      for (size_t from = 0; from < due.size(); from += kNackChunk) {
        const auto chunk = absl::MakeConstSpan(due).subspan(from, kNackChunk);
        const auto nack =
            rtp::Nack::FromSequenceNumbers(rtcp_ssrc_, producer->media_ssrc(i), chunk);
        uint8_t buffer[kRtcpBufferSize];
        if (const size_t len = nack.Serialize(buffer, sizeof(buffer)); len > 0) {
          SendRtcp(buffer, len, sizeof(buffer));
        }
      }
    }
    pending = pending || producer->nack_pending();
  }
  if (!pending) {
    nack_timer_->Stop();
    nack_timer_running_ = false;
  }
}

void Transport::RecordTransportSequenceNumber(const rtp::RtpPacket& packet) {
  auto seq = rtp::ParseTransportSequenceNumber(packet.GetExtension(transport_cc_ext_id_));
  if (!seq) return;
  // The kernel's arrival time: the loop may read a burst that arrived over milliseconds all at
  // once, and a publisher's estimator rejects a probe that seems to arrive faster than sent.
  transport_cc_.OnPacket(*seq, endpoint_->packet_arrival_us());
  if (transport_cc_media_ssrc_ == 0) transport_cc_media_ssrc_ = packet.ssrc();
  if (transport_cc_.FeedbackDue()) SendTransportFeedback();
}

void Transport::SendTransportFeedback() {
  if (transport_cc_.pending() == 0) return;
  uint8_t buffer[kRtcpBufferSize];
  for (const auto& feedback : transport_cc_.TakeFeedback(rtcp_ssrc_, transport_cc_media_ssrc_)) {
    const size_t len = feedback.Serialize(buffer, sizeof(buffer));
    if (len == 0) continue;
    SendRtcp(buffer, len, sizeof(buffer));
    ++counters_.transport_feedback_sent;
  }
}

void Transport::OnRtcpPacket(const uint8_t* data, size_t len) {
  const int64_t now_ms = static_cast<int64_t>(uv_now(loop_));
  auto consumer_by_ssrc = [&](uint32_t ssrc) -> Consumer* {
    auto it = consumers_by_ssrc_.find(ssrc);
    return it == consumers_by_ssrc_.end() ? nullptr : it->second;
  };
  auto on_report_blocks = [&](const std::vector<rtp::ReportBlock>& blocks) {
    for (const auto& block : blocks) {
      if (Consumer* c = consumer_by_ssrc(block.ssrc)) {
        c->ReceiveReportBlock(block.fraction_lost, block.cumulative_lost, block.jitter);
      }
    }
  };
  auto status =
      rtp::ForEachRtcpPacket(absl::Span<const uint8_t>(data, len), [&](const rtp::RtcpHeader& h) {
        switch (h.packet_type) {
          case rtp::kRtcpSr: {
            auto sr = rtp::SenderReport::Parse(h.packet);
            if (!sr) break;
            if (auto it = producers_by_ssrc_.find(sr->sender_ssrc);
                it != producers_by_ssrc_.end()) {
              it->second.producer->ReceiveSenderReport(it->second.encoding, sr->ntp_seconds,
                                                       sr->ntp_fraction, sr->rtp_timestamp, now_ms);
            }
            on_report_blocks(sr->report_blocks);
            break;
          }
          case rtp::kRtcpRr: {
            if (auto rr = rtp::ReceiverReport::Parse(h.packet)) on_report_blocks(rr->report_blocks);
            break;
          }
          case rtp::kRtcpPsfb: {
            if (h.count_or_fmt == rtp::kPsfbPli) {
              if (auto pli = rtp::Pli::Parse(h.packet)) {
                if (Consumer* c = consumer_by_ssrc(pli->media_ssrc)) c->ReceivePli(pli->media_ssrc);
              }
            } else if (h.count_or_fmt == rtp::kPsfbFir) {
              if (auto fir = rtp::Fir::Parse(h.packet)) {
                for (const auto& entry : fir->entries) {
                  if (Consumer* c = consumer_by_ssrc(entry.ssrc)) c->ReceiveFir(entry.ssrc);
                }
              }
            }
            break;
          }
          case rtp::kRtcpRtpfb: {
            if (h.count_or_fmt == rtp::kRtpfbNack) {
              if (auto nack = rtp::Nack::Parse(h.packet)) {
                if (Consumer* c = consumer_by_ssrc(nack->media_ssrc)) {
                  c->ReceiveNack(nack->media_ssrc, nack->SequenceNumbers(), now_ms);
                }
              }
            } else if (h.count_or_fmt == rtp::kRtpfbTwcc && bandwidth_) {
              if (auto feedback = rtp::TransportFeedback::Parse(h.packet)) {
                ++counters_.transport_feedback_received;
                bandwidth_->OnFeedback(*feedback);
              }
            }
            break;
          }
          default:
            break;  // SDES, BYE, APP, XR, REMB: nothing to do with them yet.
        }
      });
  if (!status.ok()) ++counters_.rtcp_malformed;
}

uint16_t Transport::AllocateTransportSequenceNumber() {
  if (!bandwidth_) bandwidth_ = std::make_unique<BandwidthController>(loop_, consumers_, this);
  return bandwidth_->AllocateSequenceNumber();
}

void Transport::OnConsumerSendRtp(Consumer* /*consumer*/, uint8_t* data, size_t len,
                                  size_t capacity) {
  if (bandwidth_) bandwidth_->OnPacketSent(len);
  endpoint_->SendRtp(data, len, capacity);
}

const Producer* Transport::ProducerOf(const Consumer* consumer) const {
  return listener_->ProducerOf(consumer);
}

void Transport::OnBandwidthChanged() { listener_->OnTransportBandwidth(this); }

void Transport::OnConsumerKeyFrameNeeded(Consumer* consumer, size_t encoding) {
  listener_->OnTransportConsumerKeyFrameNeeded(this, consumer, encoding);
}

void Transport::SendRtcp(uint8_t* data, size_t len, size_t capacity) {
  endpoint_->SendRtcp(data, len, capacity);
}

void Transport::RequestKeyFrame(Producer* producer, size_t encoding) {
  if (encoding >= producer->encoding_count()) return;
  const int64_t now_ms = static_cast<int64_t>(uv_now(loop_));
  if (producer->ShouldRequestKeyFrame(encoding, now_ms)) return SendPli(producer, encoding);
  if (producer->key_frame_request_deferred(encoding) && !key_frame_timer_->active()) {
    key_frame_timer_->Start(static_cast<uint64_t>(
        std::max<int64_t>(1, producer->next_key_frame_request_ms(encoding) - now_ms)));
  }
}

void Transport::FlushDeferredKeyFrameRequests() {
  const int64_t now_ms = static_cast<int64_t>(uv_now(loop_));
  int64_t next_due = INT64_MAX;
  for (auto& [id, producer] : producers_) {
    for (size_t i = 0; i < producer->encoding_count(); ++i) {
      if (producer->TakeDeferredKeyFrameRequest(i, now_ms)) {
        SendPli(producer.get(), i);
      } else if (producer->key_frame_request_deferred(i)) {
        next_due = std::min(next_due, producer->next_key_frame_request_ms(i));
      }
    }
  }
  if (next_due != INT64_MAX) {
    key_frame_timer_->Start(static_cast<uint64_t>(std::max<int64_t>(1, next_due - now_ms)));
  }
}

void Transport::SendPli(Producer* producer, size_t encoding) {
  rtp::Pli pli;
  pli.sender_ssrc = rtcp_ssrc_;
  pli.media_ssrc = producer->media_ssrc(encoding);
  uint8_t buffer[kRtcpBufferSize];
  size_t len = pli.Serialize(buffer, sizeof(buffer));
  if (len > 0) SendRtcp(buffer, len, sizeof(buffer));
  SB_LOG_DEBUG("rtcp", "PLI to publisher for producer {} encoding {}", producer->id(), encoding);
}

void Transport::SendRtcpReports() {
  if (!endpoint_->media_ready()) return;
  const int64_t now_ms = static_cast<int64_t>(uv_now(loop_));
  uint8_t buffer[kRtcpBufferSize];

  // Receiver reports for what we receive, with our SDES (RFC 3550 6.1: a compound starts
  // with SR or RR and carries a CNAME).
  rtp::ReceiverReport rr;
  rr.sender_ssrc = rtcp_ssrc_;
  auto flush_rr = [&] {
    rtp::Sdes sdes;
    sdes.chunks.push_back({rtcp_ssrc_, kRtcpCname, {}});
    size_t len = rr.Serialize(buffer, sizeof(buffer));
    if (len == 0) return;
    size_t more = sdes.Serialize(buffer + len, sizeof(buffer) - len);
    if (more == 0) return;
    SendRtcp(buffer, len + more, sizeof(buffer));
    rr.report_blocks.clear();
  };
  for (auto& [id, producer] : producers_) {
    for (size_t i = 0; i < producer->encoding_count(); ++i) {
      if (auto block = producer->MakeReportBlock(i, now_ms)) rr.report_blocks.push_back(*block);
      if (rr.report_blocks.size() == rtp::kMaxReportBlocks) flush_rr();
    }
  }
  if (!rr.report_blocks.empty()) flush_rr();

  // One sender report per consumer stream, mapped from its publisher's last SR.
  for (auto& [id, consumer] : consumers_) {
    const Producer* producer = listener_->ProducerOf(consumer.get());
    if (!producer) continue;
    for (size_t stream = 0; stream < consumer->stream_count(); ++stream) {
      auto fields = consumer->MakeSenderReport(*producer, stream);
      if (!fields) continue;
      rtp::SenderReport sr;
      sr.sender_ssrc = consumer->stream_ssrc(stream);
      sr.ntp_seconds = fields->ntp_sec;
      sr.ntp_fraction = fields->ntp_frac;
      sr.rtp_timestamp = fields->rtp_timestamp;
      sr.packet_count = fields->packet_count;
      sr.octet_count = fields->octet_count;
      rtp::Sdes sdes;
      sdes.chunks.push_back({sr.sender_ssrc, consumer->rtp_parameters().cname, {}});
      size_t len = sr.Serialize(buffer, sizeof(buffer));
      if (len == 0) continue;
      size_t more = sdes.Serialize(buffer + len, sizeof(buffer) - len);
      if (more == 0) continue;
      SendRtcp(buffer, len + more, sizeof(buffer));
    }
  }
}

}  // namespace sb::router
