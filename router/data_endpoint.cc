#include "router/data_endpoint.h"

#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/log.h"
#include "router/pipe_data_channel.h"

namespace sb::router {

DataEndpoint::Totals& DataEndpoint::Totals::operator+=(const Totals& o) {
  messages_received += o.messages_received;
  bytes_received += o.bytes_received;
  messages_sent += o.messages_sent;
  bytes_sent += o.bytes_sent;
  messages_dropped += o.messages_dropped;
  consumers_closed_slow += o.consumers_closed_slow;
  messages_unexpected += o.messages_unexpected;
  channels_malformed += o.channels_malformed;
  return *this;
}

DataEndpoint::~DataEndpoint() = default;

transport::SctpAssociation* DataEndpoint::Association() const {
  transport::SctpAssociation* sctp = carrier_->sctp();
  return sctp != nullptr && sctp->state() == transport::SctpState::kConnected ? sctp : nullptr;
}

absl::Status DataEndpoint::AddDataConsumer(std::unique_ptr<DataConsumer> consumer) {
  const std::string id = consumer->id();
  if (consumers_.contains(id)) return absl::AlreadyExistsError("data consumer exists: " + id);
  DataConsumer* raw = consumer.get();
  consumers_[id] = std::move(consumer);
  if (transport::SctpAssociation* sctp = Association()) {
    if (absl::Status status = raw->Open(*sctp); !status.ok()) {
      consumers_.erase(id);
      return status;
    }
    consumer_by_stream_[*raw->stream_id()] = raw;
  }
  return absl::OkStatus();
}

std::unique_ptr<DataConsumer> DataEndpoint::RemoveDataConsumer(const std::string& id) {
  auto it = consumers_.find(id);
  if (it == consumers_.end()) return nullptr;
  StopHolding(it->second.get());
  std::unique_ptr<DataConsumer> consumer = std::move(it->second);
  consumers_.erase(it);
  if (auto stream = consumer->stream_id()) {
    consumer_by_stream_.erase(*stream);
    if (transport::SctpAssociation* sctp = carrier_->sctp()) {
      sctp->CloseChannel(*stream).IgnoreError();
    }
  }
  Retire(*consumer);
  return consumer;
}

DataConsumer* DataEndpoint::GetDataConsumer(const std::string& id) const {
  auto it = consumers_.find(id);
  return it == consumers_.end() ? nullptr : it->second.get();
}

std::unique_ptr<DataProducer> DataEndpoint::RemoveDataProducer(const std::string& id) {
  auto it = producers_.find(id);
  if (it == producers_.end()) return nullptr;
  std::unique_ptr<DataProducer> producer = std::move(it->second);
  producers_.erase(it);
  producer_by_stream_.erase(producer->stream_id());
  if (transport::SctpAssociation* sctp = carrier_->sctp()) {
    sctp->CloseChannel(producer->stream_id()).IgnoreError();
  }
  Retire(*producer);
  return producer;
}

DataProducer* DataEndpoint::GetDataProducer(const std::string& id) const {
  auto it = producers_.find(id);
  return it == producers_.end() ? nullptr : it->second.get();
}

void DataEndpoint::Send(DataConsumer* consumer, uint32_t ppid, absl::Span<const uint8_t> data) {
  switch (consumer->Deliver(Association(), ppid, data)) {
    case DataConsumer::Result::kOverflow:
      return CloseSlowConsumer(consumer->id());
    case DataConsumer::Result::kTooLarge:
      SB_LOG_INFO("data",
                  "{}: closing data consumer {}: a {}-byte message is over its receiver's "
                  "max-message-size",
                  transport_id_, consumer->id(), data.size());
      return CloseConsumer(consumer->id(), kDataMessageTooLarge);
    default:
      return UpdateHolding(consumer);
  }
}

void DataEndpoint::CloseSlowConsumer(const std::string& id) {
  if (!consumers_.contains(id)) return;
  SB_LOG_INFO("data", "{}: closing data consumer {}: its receiver does not keep up", transport_id_,
              id);
  ++retired_.consumers_closed_slow;
  CloseConsumer(id, kDataReceiverTooSlow);
}

void DataEndpoint::UpdateHolding(DataConsumer* consumer) {
  if (!consumer->params().reliability.reliable()) return;
  const size_t queued = consumer->stats().queued_bytes;
  if (!consumer->holding() && queued > DataConsumer::kHighWaterBytes) {
    consumer->set_holding(true);
    listener_->OnDataConsumerHolding(this, consumer, true);
  } else if (consumer->holding() && queued < DataConsumer::kLowWaterBytes) {
    StopHolding(consumer);
  }
}

void DataEndpoint::StopHolding(DataConsumer* consumer) {
  if (!consumer->holding()) return;
  consumer->set_holding(false);
  listener_->OnDataConsumerHolding(this, consumer, false);
}

void DataEndpoint::HoldReceiving(const std::string& consumer_id) {
  holders_.insert(consumer_id);
  if (transport::SctpAssociation* sctp = Association()) sctp->PauseReceiving();
}

void DataEndpoint::ReleaseReceiving(const std::string& consumer_id) {
  if (holders_.erase(consumer_id) == 0 || !holders_.empty()) return;
  if (transport::SctpAssociation* sctp = Association()) sctp->ResumeReceiving();
}

void DataEndpoint::CloseConsumer(const std::string& id, const std::string& reason) {
  auto it = consumers_.find(id);
  if (it == consumers_.end()) return;
  listener_->OnDataConsumerClosed(this, it->second.get(), reason);
  RemoveDataConsumer(id);
}

size_t DataEndpoint::queued_bytes() const {
  size_t bytes = 0;
  for (const auto& [id, c] : consumers_) bytes += c->stats().queued_bytes;
  return bytes;
}

DataEndpoint::Totals DataEndpoint::totals() const {
  Totals t = retired_;
  for (const auto& [id, p] : producers_) {
    t.messages_received += p->stats().messages_received;
    t.bytes_received += p->stats().bytes_received;
  }
  for (const auto& [id, c] : consumers_) {
    t.messages_sent += c->stats().messages_sent;
    t.bytes_sent += c->stats().bytes_sent;
    t.messages_dropped += c->stats().messages_dropped;
  }
  return t;
}

void DataEndpoint::Retire(const DataConsumer& consumer) {
  retired_.messages_sent += consumer.stats().messages_sent;
  retired_.bytes_sent += consumer.stats().bytes_sent;
  retired_.messages_dropped += consumer.stats().messages_dropped;
}

void DataEndpoint::Retire(const DataProducer& producer) {
  retired_.messages_received += producer.stats().messages_received;
  retired_.bytes_received += producer.stats().bytes_received;
}

void DataEndpoint::OnSctpStateChange(transport::SctpState state) {
  sctp_state_ = state;
  if (state == transport::SctpState::kConnected) {
    transport::SctpAssociation* sctp = Association();
    std::vector<std::string> failed, too_large;
    for (auto& [id, consumer] : consumers_) {
      if (consumer->stream_id()) continue;
      if (absl::Status status = consumer->Open(*sctp); !status.ok()) {
        SB_LOG_WARN("data", "{}: data consumer {} cannot open: {}", transport_id_, id,
                    status.ToString());
        failed.push_back(id);
        continue;
      }
      consumer_by_stream_[*consumer->stream_id()] = consumer.get();
      if (consumer->too_large()) too_large.push_back(id);
    }
    for (const auto& id : failed) CloseConsumer(id, kDataAssociationClosed);
    for (const auto& id : too_large) CloseConsumer(id, kDataMessageTooLarge);
  } else if (state == transport::SctpState::kFailed || state == transport::SctpState::kClosed) {
    CloseAll();
  }
}

void DataEndpoint::CloseAll() {
  std::vector<std::string> producer_ids, consumer_ids;
  for (const auto& [id, p] : producers_) producer_ids.push_back(id);
  for (const auto& [id, c] : consumers_) consumer_ids.push_back(id);
  for (const auto& id : producer_ids) {
    auto it = producers_.find(id);
    if (it == producers_.end()) continue;
    listener_->OnDataProducerClosed(this, it->second.get());
    RemoveDataProducer(id);
  }
  for (const auto& id : consumer_ids) CloseConsumer(id, kDataAssociationClosed);
}

void DataEndpoint::OnDataChannelOpen(const transport::DataChannelInfo& info) {
  if (!info.opened_by_peer) return;  // the ACK of one of our consumers' channels
  std::optional<PipeChannelOrigin> origin;
  if (kind_ == Kind::kPipe) {
    origin = DecodePipeChannelProtocol(info.protocol);
    if (!origin) {
      ++retired_.channels_malformed;
      SB_LOG_WARN("data", "{}: refusing pipe channel '{}' (stream {}): no origin in its protocol",
                  transport_id_, info.label, info.stream_id);
      if (transport::SctpAssociation* sctp = carrier_->sctp()) {
        sctp->CloseChannel(info.stream_id).IgnoreError();
      }
      return;
    }
  }
  auto producer = std::make_unique<DataProducer>(
      absl::StrCat(transport_id_, ".dp", ++next_producer_), info, std::move(origin));
  DataProducer* raw = producer.get();
  producer_by_stream_[info.stream_id] = raw;
  producers_[raw->id()] = std::move(producer);
  listener_->OnDataProducerOpened(this, raw);
}

void DataEndpoint::OnDataChannelMessage(uint16_t stream_id, uint32_t ppid,
                                        absl::Span<const uint8_t> data) {
  auto it = producer_by_stream_.find(stream_id);
  if (it == producer_by_stream_.end()) {
    ++retired_.messages_unexpected;  // on a channel we opened: receivers do not send
    return;
  }
  it->second->CountMessage(data.size());
  listener_->OnDataProducerMessage(this, it->second, ppid, data);
}

void DataEndpoint::OnDataChannelClosed(uint16_t stream_id) {
  if (auto it = producer_by_stream_.find(stream_id); it != producer_by_stream_.end()) {
    const std::string id = it->second->id();
    listener_->OnDataProducerClosed(this, it->second);
    RemoveDataProducer(id);
    return;
  }
  if (auto it = consumer_by_stream_.find(stream_id); it != consumer_by_stream_.end()) {
    CloseConsumer(it->second->id(), kDataClosedBySubscriber);
  }
}

void DataEndpoint::OnSctpSendBufferAvailable() {
  transport::SctpAssociation* sctp = Association();
  if (sctp == nullptr) return;
  std::vector<DataConsumer*> drained;
  std::vector<std::string> too_large;
  for (auto& [id, consumer] : consumers_) {
    const bool empty = consumer->Flush(*sctp);
    if (consumer->too_large()) {
      too_large.push_back(id);
    } else {
      drained.push_back(consumer.get());
    }
    if (!empty) break;  // full again: the next call resumes
  }
  for (DataConsumer* consumer : drained) UpdateHolding(consumer);
  for (const auto& id : too_large) CloseConsumer(id, kDataMessageTooLarge);
}

}  // namespace sb::router
