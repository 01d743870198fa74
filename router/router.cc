#include "router/router.h"

#include <algorithm>
#include <random>
#include <utility>

#include "absl/container/inlined_vector.h"
#include "absl/status/status.h"
#include "base/log.h"
#include "router/pipe_data_channel.h"
#include "rtp/header_extensions.h"

namespace sb::router {

Router::Router(std::string id, uv_loop_t* loop, transport::DtlsCertificate* certificate,
               EventSink* events)
    : id_(std::move(id)), loop_(loop), certificate_(certificate), events_(events) {
  speaker_timer_ = std::make_unique<UvTimer>(loop, [this] { UpdateActiveSpeaker(); });
  speaker_timer_->Start(kActiveSpeakerIntervalMs, kActiveSpeakerIntervalMs);
  data_hold_timer_ = std::make_unique<UvTimer>(loop, [this] { CheckDataHolds(); });
}

Router::~Router() {
  speaker_timer_.reset();
  data_hold_timer_.reset();
  data_holds_.clear();
  // Consumers first (they point at producers), then the transports with everything else.
  consumers_of_.clear();
  producer_of_.clear();
  data_consumers_of_.clear();
  data_consumer_endpoint_.clear();
  data_consumers_.clear();
  data_producer_endpoint_.clear();
  for (auto& [id, transport] : transports_) {
    std::vector<std::string> consumer_ids;
    for (const auto& [cid, c] : transport->consumers()) consumer_ids.push_back(cid);
    for (const auto& cid : consumer_ids) transport->RemoveConsumer(cid);
  }
  transports_.clear();
}

absl::StatusOr<Transport*> Router::CreateWebRtcTransport(
    std::string id, const transport::WebRtcTransport::Options& options) {
  if (transports_.contains(id)) return absl::AlreadyExistsError("transport exists: " + id);
  auto transport = Transport::Create(id, loop_, options, certificate_, this);
  if (!transport.ok()) return transport.status();
  Transport* raw = transport->get();
  transports_[std::move(id)] = *std::move(transport);
  return raw;
}

absl::StatusOr<Transport*> Router::CreatePipeTransport(
    std::string id, const transport::PipeTransport::Options& options) {
  if (transports_.contains(id)) return absl::AlreadyExistsError("transport exists: " + id);
  auto transport = Transport::CreatePipe(id, loop_, options, this);
  if (!transport.ok()) return transport.status();
  Transport* raw = transport->get();
  transports_[std::move(id)] = *std::move(transport);
  return raw;
}

absl::Status Router::CloseTransport(const std::string& id) {
  auto it = transports_.find(id);
  if (it == transports_.end()) return absl::NotFoundError("no transport " + id);
  Transport* transport = it->second.get();
  std::vector<std::string> consumer_ids, producer_ids;
  for (const auto& [cid, c] : transport->consumers()) consumer_ids.push_back(cid);
  for (const auto& [pid, p] : transport->producers()) producer_ids.push_back(pid);
  for (const auto& cid : consumer_ids) {
    if (auto status = CloseConsumer(cid); !status.ok()) return status;
  }
  for (const auto& pid : producer_ids) {
    if (auto status = CloseProducer(pid); !status.ok()) return status;
  }
  DataEndpoint& data = transport->data();
  std::vector<std::string> data_consumer_ids, data_producer_ids;
  for (const auto& [dcid, c] : data.data_consumers()) data_consumer_ids.push_back(dcid);
  for (const auto& [dpid, p] : data.data_producers()) data_producer_ids.push_back(dpid);
  for (const auto& dcid : data_consumer_ids) {
    UnindexDataConsumer(data.GetDataConsumer(dcid));
    data.RemoveDataConsumer(dcid);
  }
  for (const auto& dpid : data_producer_ids) {
    DetachDataConsumersOf(dpid, kDataProducerClosed);
    data_producer_endpoint_.erase(dpid);
  }
  data_retired_ += data.totals();
  transports_.erase(it);
  return absl::OkStatus();
}

Transport* Router::FindTransport(const std::string& id) const {
  auto it = transports_.find(id);
  return it == transports_.end() ? nullptr : it->second.get();
}

absl::StatusOr<Producer*> Router::Produce(const std::string& transport_id, std::string producer_id,
                                          rtp::MediaKind kind, rtp::RtpParameters params,
                                          bool paused) {
  Transport* transport = FindTransport(transport_id);
  if (!transport) return absl::NotFoundError("no transport " + transport_id);
  if (producer_transport_.contains(producer_id)) {
    return absl::AlreadyExistsError("producer exists: " + producer_id);
  }
  auto producer = Producer::Create(producer_id, kind, std::move(params), paused);
  if (!producer.ok()) return producer.status();
  Producer* raw = producer->get();
  if (auto status = transport->AddProducer(*std::move(producer)); !status.ok()) return status;
  producer_transport_[producer_id] = transport;
  consumers_of_[raw];
  return raw;
}

void Router::DetachConsumersOf(Producer* producer) {
  auto it = consumers_of_.find(producer);
  if (it == consumers_of_.end()) return;
  std::vector<Consumer*> consumers = std::move(it->second);
  consumers_of_.erase(it);
  for (Consumer* consumer : consumers) {
    const std::string consumer_id = consumer->id();
    ForgetConsumer(consumer);
    producer_of_.erase(consumer);
    auto owner = consumer_transport_.find(consumer_id);
    if (owner != consumer_transport_.end()) {
      owner->second->RemoveConsumer(consumer_id);
      consumer_transport_.erase(owner);
    }
    events_->OnConsumerProducerClosed(consumer_id);
  }
}

absl::Status Router::CloseProducer(const std::string& id) {
  auto it = producer_transport_.find(id);
  if (it == producer_transport_.end()) return absl::NotFoundError("no producer " + id);
  Transport* transport = it->second;
  producer_transport_.erase(it);
  speakers_.RemoveProducer(id);
  Producer* producer = transport->GetProducer(id);
  DetachConsumersOf(producer);
  transport->RemoveProducer(id);
  return absl::OkStatus();
}

absl::Status Router::SetProducerPaused(const std::string& id, bool paused) {
  Producer* producer = FindProducer(id);
  if (!producer) return absl::NotFoundError("no producer " + id);
  if (producer->paused() == paused) return absl::OkStatus();
  producer->set_paused(paused);
  for (Consumer* consumer : consumers_of_[producer]) {
    consumer->SetProducerPaused(paused);
    events_->OnConsumerProducerPaused(consumer->id(), paused);
  }
  return absl::OkStatus();
}

Producer* Router::FindProducer(const std::string& id) const {
  auto it = producer_transport_.find(id);
  return it == producer_transport_.end() ? nullptr : it->second->GetProducer(id);
}

void Router::ReleaseSsrcs(std::initializer_list<uint32_t> ssrcs) {
  for (uint32_t ssrc : ssrcs) used_ssrcs_.erase(ssrc);
}

void Router::ForgetConsumer(Consumer* consumer) {
  for (const auto& e : consumer->rtp_parameters().encodings) ReleaseSsrcs({e.ssrc, e.rtx_ssrc});
}

uint32_t Router::NewSsrc() {
  static std::mt19937 rng{std::random_device{}()};
  for (;;) {
    uint32_t ssrc = rng();
    if (ssrc != 0 && used_ssrcs_.insert(ssrc).second) return ssrc;
  }
}

absl::StatusOr<Consumer*> Router::Consume(const std::string& transport_id, std::string consumer_id,
                                          const std::string& producer_id,
                                          const rtp::RtpCapabilities& caps, std::string mid,
                                          bool paused) {
  Transport* transport = FindTransport(transport_id);
  if (!transport) return absl::NotFoundError("no transport " + transport_id);
  Producer* producer = FindProducer(producer_id);
  if (!producer) return absl::NotFoundError("no producer " + producer_id);
  if (consumer_transport_.contains(consumer_id)) {
    return absl::AlreadyExistsError("consumer exists: " + consumer_id);
  }
  // On a pipe to another router: a relay of every encoding, each on its own ssrc, without RTX
  // (Consumer::Mode::kRelay).
  const bool relay = transport->pipe() != nullptr;
  const uint32_t ssrc = NewSsrc();
  const uint32_t rtx_ssrc = relay ? 0 : NewSsrc();
  auto params =
      rtp::ConsumerParameters(producer->kind(), producer->rtp_parameters(), caps, ssrc, rtx_ssrc);
  if (!params.ok()) {
    ReleaseSsrcs({ssrc, rtx_ssrc});
    return params.status();
  }
  // Without RTX the second ssrc is not used.
  if (params->encodings.front().rtx_ssrc == 0 && rtx_ssrc != 0) ReleaseSsrcs({rtx_ssrc});
  if (relay) {
    std::erase_if(params->codecs, [](const auto& c) { return c.IsRtx(); });
    const rtp::RtpEncodingParameters first = params->encodings.front();
    params->encodings.clear();
    for (size_t i = 0; i < producer->encoding_count(); ++i) {
      rtp::RtpEncodingParameters encoding = first;
      encoding.ssrc = i == 0 ? ssrc : NewSsrc();
      encoding.rtx_ssrc = 0;
      if (i < producer->rtp_parameters().encodings.size()) {
        const auto& source = producer->rtp_parameters().encodings[i];
        encoding.max_bitrate = source.max_bitrate;
      }
      params->encodings.push_back(std::move(encoding));
    }
  }
  params->mid = std::move(mid);
  std::vector<uint32_t> ssrcs;
  for (const auto& e : params->encodings) ssrcs.insert(ssrcs.end(), {e.ssrc, e.rtx_ssrc});
  auto consumer =
      std::make_unique<Consumer>(consumer_id, *producer, *std::move(params), paused, transport,
                                 relay ? Consumer::Mode::kRelay : Consumer::Mode::kSubscriber);
  Consumer* raw = consumer.get();
  if (auto status = transport->AddConsumer(std::move(consumer)); !status.ok()) {
    for (uint32_t s : ssrcs) ReleaseSsrcs({s});
    return status;
  }
  consumer_transport_[consumer_id] = transport;
  consumers_of_[producer].push_back(raw);
  producer_of_[raw] = producer;
  // A video consumer that starts active asks for a key frame right away instead of waiting
  // for the first delta frame to notice it has none.
  if (raw->active() && raw->kind() == rtp::MediaKind::kVideo) raw->RequestKeyFrame();
  UpdateLayersNeeded(producer);
  return raw;
}

void Router::UpdateLayersNeeded(Producer* producer) {
  if (producer == nullptr || !producer->simulcast()) return;
  int needed = 0;
  if (auto it = consumers_of_.find(producer); it != consumers_of_.end()) {
    for (const Consumer* consumer : it->second) {
      // One paused until its subscriber answers counts: it is about to want its layer.
      if (consumer->subscriber_paused()) continue;
      needed = std::max(needed, static_cast<int>(consumer->preferred_layer()));
    }
  }
  if (needed == producer->layers_needed()) return;
  producer->set_layers_needed(needed);
  events_->OnProducerLayersNeeded(producer->id(), needed);
}

absl::Status Router::CloseConsumer(const std::string& id) {
  auto it = consumer_transport_.find(id);
  if (it == consumer_transport_.end()) return absl::NotFoundError("no consumer " + id);
  Transport* transport = it->second;
  consumer_transport_.erase(it);
  Consumer* consumer = transport->GetConsumer(id);
  ForgetConsumer(consumer);
  Producer* producer = nullptr;
  if (auto p = producer_of_.find(consumer); p != producer_of_.end()) {
    producer = p->second;
    auto& list = consumers_of_[producer];
    list.erase(std::remove(list.begin(), list.end(), consumer), list.end());
    producer_of_.erase(p);
  }
  transport->RemoveConsumer(id);
  UpdateLayersNeeded(producer);
  return absl::OkStatus();
}

absl::Status Router::SetConsumerPaused(const std::string& id, bool paused) {
  Consumer* consumer = FindConsumer(id);
  if (!consumer) return absl::NotFoundError("no consumer " + id);
  consumer->SetPaused(paused);
  return absl::OkStatus();
}

absl::Status Router::RequestConsumerKeyFrame(const std::string& id) {
  Consumer* consumer = FindConsumer(id);
  if (!consumer) return absl::NotFoundError("no consumer " + id);
  consumer->RequestKeyFrame();
  return absl::OkStatus();
}

absl::Status Router::SetConsumerPreferences(const std::string& id, std::optional<size_t> max_layer,
                                            bool paused, int priority) {
  Consumer* consumer = FindConsumer(id);
  if (!consumer) return absl::NotFoundError("no consumer " + id);
  consumer->SetPreferredLayer(max_layer.value_or(SIZE_MAX));
  consumer->SetPriority(priority);
  consumer->SetSubscriberPaused(paused);
  UpdateLayersNeeded(FindProducer(consumer->producer_id()));
  return absl::OkStatus();
}

Consumer* Router::FindConsumer(const std::string& id) const {
  auto it = consumer_transport_.find(id);
  return it == consumer_transport_.end() ? nullptr : it->second->GetConsumer(id);
}

std::vector<std::string> Router::TransportIds() const {
  std::vector<std::string> ids;
  for (const auto& [id, t] : transports_) ids.push_back(id);
  return ids;
}

std::vector<std::string> Router::ProducerIds() const {
  std::vector<std::string> ids;
  for (const auto& [id, t] : producer_transport_) ids.push_back(id);
  return ids;
}

std::vector<std::string> Router::ConsumerIds() const {
  std::vector<std::string> ids;
  for (const auto& [id, t] : consumer_transport_) ids.push_back(id);
  return ids;
}

void Router::OnTransportProducerRtp(Transport* /*transport*/, Producer* producer, size_t encoding,
                                    const rtp::VideoLayers& layers, const rtp::RtpPacket& packet,
                                    int64_t now_ms) {
  if (const uint8_t ext = producer->audio_level_extension_id(); ext != 0) {
    if (auto level = rtp::ParseAudioLevel(packet.GetExtension(ext))) {
      speakers_.OnAudioLevel(producer->id(), level->level, now_ms);
    }
  }
  auto it = consumers_of_.find(producer);
  if (it == consumers_of_.end()) return;
  for (Consumer* consumer : it->second) consumer->SendRtpPacket(packet, encoding, layers, now_ms);
}

void Router::OnTransportConsumerKeyFrameNeeded(Transport* /*transport*/, Consumer* consumer,
                                               size_t encoding) {
  auto it = producer_of_.find(consumer);
  if (it == producer_of_.end()) return;
  Producer* producer = it->second;
  auto owner = producer_transport_.find(producer->id());
  if (owner != producer_transport_.end()) owner->second->RequestKeyFrame(producer, encoding);
}

void Router::OnTransportIceState(Transport* transport, transport::IceState state) {
  events_->OnTransportIceState(transport->id(), state);
}

void Router::OnTransportDtlsState(Transport* transport, transport::DtlsState state,
                                  const std::string& reason) {
  events_->OnTransportDtlsState(transport->id(), state, reason);
}

void Router::UpdateActiveSpeaker() {
  const std::string previous = speakers_.dominant();
  const auto changed = speakers_.Update(static_cast<int64_t>(uv_now(loop_)));
  if (!changed) return;
  if (!previous.empty()) SetSpeakerPriority(previous, 0);
  SetSpeakerPriority(*changed, 1);
  events_->OnActiveSpeaker(id_, *changed);
}

void Router::SetSpeakerPriority(const std::string& audio_producer_id, int priority) {
  auto owner = producer_transport_.find(audio_producer_id);
  if (owner == producer_transport_.end()) return;
  for (const auto& [id, producer] : owner->second->producers()) {
    if (producer->kind() == rtp::MediaKind::kVideo) producer->set_priority(priority);
  }
}

void Router::OnTransportBandwidth(Transport* transport) {
  const BandwidthController* b = transport->bandwidth();
  if (b == nullptr) return;
  events_->OnTransportBandwidth(transport->id(), b->estimate_bps(), b->allocated_bps(),
                                b->desired_bps());
}

void Router::OnTransportRembSent(Transport* transport, int64_t estimate_bps) {
  const RembSender* remb = transport->remb();
  events_->OnTransportRemb(transport->id(), estimate_bps, remb ? remb->counters().remb_sent : 0);
}

const Producer* Router::ProducerOf(const Consumer* consumer) const {
  auto it = producer_of_.find(consumer);
  return it == producer_of_.end() ? nullptr : it->second;
}

}  // namespace sb::router

namespace sb::router {

absl::StatusOr<DataConsumer*> Router::ConsumeData(const std::string& transport_id,
                                                  std::string data_consumer_id,
                                                  const std::string& data_producer_id,
                                                  std::string protocol) {
  Transport* transport = FindTransport(transport_id);
  if (!transport) return absl::NotFoundError("no transport " + transport_id);
  if (!transport->has_data_channels()) {
    return absl::InvalidArgumentError("no data channels on a pipe without SCTP: " + transport_id);
  }
  DataProducer* producer = FindDataProducer(data_producer_id);
  if (!producer) return absl::NotFoundError("no data producer " + data_producer_id);
  if (data_consumers_.contains(data_consumer_id)) {
    return absl::AlreadyExistsError("data consumer exists: " + data_consumer_id);
  }
  transport::DataChannelParams params;
  if (transport->pipe()) {
    // A copy for the router at the other end (router/pipe_data_channel.h).
    auto packed = EncodePipeChannelProtocol({producer->label(), producer->protocol()});
    if (!packed.ok()) return packed.status();
    params.label = data_producer_id;
    params.protocol = *std::move(packed);
  } else {
    params.label = producer->label();
    params.protocol = std::move(protocol);
  }
  params.reliability = producer->info().reliability;
  params.priority = producer->info().priority;
  auto consumer = std::make_unique<DataConsumer>(data_consumer_id, data_producer_id, params);
  DataConsumer* raw = consumer.get();
  DataEndpoint* endpoint = &transport->data();
  if (auto status = endpoint->AddDataConsumer(std::move(consumer)); !status.ok()) return status;
  data_consumers_of_[data_producer_id].push_back({endpoint, raw});
  data_consumer_endpoint_[raw] = endpoint;
  data_consumers_[data_consumer_id] = raw;
  return raw;
}

absl::Status Router::CloseDataConsumer(const std::string& id) {
  DataConsumer* consumer = FindDataConsumer(id);
  if (!consumer) return absl::NotFoundError("no data consumer " + id);
  DataEndpoint* endpoint = data_consumer_endpoint_[consumer];
  UnindexDataConsumer(consumer);
  endpoint->RemoveDataConsumer(id);
  return absl::OkStatus();
}

DataEndpoint::Totals Router::DataTotals() const {
  DataEndpoint::Totals totals = data_retired_;
  for (const auto& [id, transport] : transports_) totals += transport->data().totals();
  return totals;
}

DataProducer* Router::FindDataProducer(const std::string& id) const {
  auto it = data_producer_endpoint_.find(id);
  return it == data_producer_endpoint_.end() ? nullptr : it->second->GetDataProducer(id);
}

DataConsumer* Router::FindDataConsumer(const std::string& id) const {
  auto it = data_consumers_.find(id);
  return it == data_consumers_.end() ? nullptr : it->second;
}

void Router::UnindexDataConsumer(DataConsumer* consumer) {
  if (consumer == nullptr) return;
  data_consumer_endpoint_.erase(consumer);
  data_consumers_.erase(consumer->id());
  auto it = data_consumers_of_.find(consumer->data_producer_id());
  if (it == data_consumers_of_.end()) return;
  std::erase_if(it->second, [&](const DataSink& sink) { return sink.consumer == consumer; });
}

void Router::DetachDataConsumersOf(const std::string& data_producer_id, const std::string& reason) {
  auto it = data_consumers_of_.find(data_producer_id);
  if (it == data_consumers_of_.end()) return;
  std::vector<DataSink> sinks = std::move(it->second);
  data_consumers_of_.erase(it);
  for (const DataSink& sink : sinks) {
    const std::string id = sink.consumer->id();
    data_consumer_endpoint_.erase(sink.consumer);
    data_consumers_.erase(id);
    sink.endpoint->RemoveDataConsumer(id);
    events_->OnDataConsumerClosed(id, reason);
  }
}

void Router::OnDataProducerOpened(DataEndpoint* endpoint, DataProducer* producer) {
  data_producer_endpoint_[producer->id()] = endpoint;
  data_consumers_of_[producer->id()];
  events_->OnDataProducerOpened(endpoint->transport_id(), *producer);
}

void Router::OnDataProducerMessage(DataEndpoint* /*endpoint*/, DataProducer* producer,
                                   uint32_t ppid, absl::Span<const uint8_t> data) {
  auto it = data_consumers_of_.find(producer->id());
  if (it == data_consumers_of_.end() || it->second.empty()) return;
  // A copy: a consumer closed for a slow receiver (or by an event a send brings) leaves the
  // list while we go through it; the ones gone are skipped.
  absl::InlinedVector<DataSink, 16> sinks(it->second.begin(), it->second.end());
  for (const DataSink& sink : sinks) {
    if (!data_consumer_endpoint_.contains(sink.consumer)) continue;
    sink.endpoint->Send(sink.consumer, ppid, data);
  }
}

void Router::OnDataProducerClosed(DataEndpoint* /*endpoint*/, DataProducer* producer) {
  const std::string id = producer->id();
  DetachDataConsumersOf(id, kDataProducerClosed);
  data_producer_endpoint_.erase(id);
  events_->OnDataProducerClosed(id);
}

void Router::OnDataConsumerHolding(DataEndpoint* endpoint, DataConsumer* consumer, bool holding) {
  if (!holding) {
    auto it = data_holds_.find(consumer);
    if (it == data_holds_.end()) return;
    it->second.producer_endpoint->ReleaseReceiving(it->second.consumer_id);
    data_holds_.erase(it);
    if (data_holds_.empty()) data_hold_timer_->Stop();
    return;
  }
  auto producer = data_producer_endpoint_.find(consumer->data_producer_id());
  if (producer == data_producer_endpoint_.end()) return;
  data_holds_[consumer] = {endpoint, producer->second, consumer->id(),
                           static_cast<int64_t>(uv_now(loop_))};
  producer->second->HoldReceiving(consumer->id());
  if (data_holds_.size() == 1) data_hold_timer_->Start(kMaxDataHoldMs / 5, kMaxDataHoldMs / 5);
}

void Router::CheckDataHolds() {
  const int64_t now_ms = static_cast<int64_t>(uv_now(loop_));
  std::vector<std::pair<DataEndpoint*, std::string>> too_slow;
  for (const auto& [consumer, hold] : data_holds_) {
    if (now_ms - hold.since_ms > kMaxDataHoldMs) {
      too_slow.emplace_back(hold.consumer_endpoint, hold.consumer_id);
    }
  }
  // Each close releases its hold (OnDataConsumerHolding) before the consumer goes.
  for (const auto& [endpoint, id] : too_slow) endpoint->CloseSlowConsumer(id);
}

void Router::OnDataConsumerClosed(DataEndpoint* /*endpoint*/, DataConsumer* consumer,
                                  const std::string& reason) {
  const std::string id = consumer->id();
  UnindexDataConsumer(consumer);
  events_->OnDataConsumerClosed(id, reason);
}

}  // namespace sb::router
