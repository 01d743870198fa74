// The data channel side of one transport: the data producers its peer opened and the data
// consumers we opened to it, on the transport's SCTP association. It turns the association's
// events into data producers (a channel the peer opens), messages of a producer, and closed
// producers/consumers, and it sends consumers' messages, closing a reliable consumer whose
// subscriber does not keep up (DataConsumer::kMaxQueuedBytes).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/types/span.h"
#include "router/data_consumer.h"
#include "router/data_producer.h"
#include "transport/webrtc_transport.h"

namespace sb::router {

// Why a data consumer was closed (DataEndpoint::Listener::OnDataConsumerClosed; the control
// process passes it on to the subscriber).
inline constexpr char kDataClosedBySubscriber[] = "closed-by-receiver";
inline constexpr char kDataReceiverTooSlow[] = "receiver-too-slow";
// A message larger than the receiver's a=max-message-size on a reliable channel.
inline constexpr char kDataMessageTooLarge[] = "message-too-large";
inline constexpr char kDataProducerClosed[] = "sender-closed";
inline constexpr char kDataAssociationClosed[] = "connection-closed";

class DataEndpoint {
 public:
  class Listener {
   public:
    virtual ~Listener() = default;
    // The peer opened a channel: a new data producer.
    virtual void OnDataProducerOpened(DataEndpoint* endpoint, DataProducer* producer) = 0;
    virtual void OnDataProducerMessage(DataEndpoint* endpoint, DataProducer* producer,
                                       uint32_t ppid, absl::Span<const uint8_t> data) = 0;
    // The producer's channel closed (or its association ended); destroyed after the call.
    virtual void OnDataProducerClosed(DataEndpoint* endpoint, DataProducer* producer) = 0;
    // The consumer's channel closed without being asked to (one of the reasons above);
    // destroyed after the call.
    virtual void OnDataConsumerClosed(DataEndpoint* endpoint, DataConsumer* consumer,
                                      const std::string& reason) = 0;
  };

  // Sums over the endpoint's producers and consumers, past and present.
  struct Totals {
    uint64_t messages_received = 0;
    uint64_t bytes_received = 0;
    uint64_t messages_sent = 0;
    uint64_t bytes_sent = 0;
    uint64_t messages_dropped = 0;       // unreliable consumers: queue full or refused
    uint64_t consumers_closed_slow = 0;  // reliable consumers closed past their queue limit
    uint64_t messages_unexpected = 0;    // sent by the peer on a channel we opened

    Totals& operator+=(const Totals& o);
  };

  DataEndpoint(std::string transport_id, transport::WebRtcTransport* webrtc, Listener* listener)
      : transport_id_(std::move(transport_id)), webrtc_(webrtc), listener_(listener) {}
  ~DataEndpoint();
  DataEndpoint(const DataEndpoint&) = delete;
  DataEndpoint& operator=(const DataEndpoint&) = delete;

  const std::string& transport_id() const { return transport_id_; }

  // Opens the consumer's channel now if the association is up, else when it comes up.
  absl::Status AddDataConsumer(std::unique_ptr<DataConsumer> consumer);
  // Closes the consumer's channel (stream reset) and forgets it; no listener call.
  std::unique_ptr<DataConsumer> RemoveDataConsumer(const std::string& id);
  DataConsumer* GetDataConsumer(const std::string& id) const;
  // Forgets a producer (resetting its stream); no listener call.
  std::unique_ptr<DataProducer> RemoveDataProducer(const std::string& id);
  DataProducer* GetDataProducer(const std::string& id) const;
  const absl::flat_hash_map<std::string, std::unique_ptr<DataProducer>>& data_producers() const {
    return producers_;
  }
  const absl::flat_hash_map<std::string, std::unique_ptr<DataConsumer>>& data_consumers() const {
    return consumers_;
  }

  // One message of a consumer's producer. A reliable consumer past its queue limit is closed
  // (OnDataConsumerClosed with kDataReceiverTooSlow, then destroyed).
  void Send(DataConsumer* consumer, uint32_t ppid, absl::Span<const uint8_t> data);

  // What is queued for the consumers now (bytes waiting beyond the association's buffer).
  size_t queued_bytes() const;
  Totals totals() const;
  transport::SctpState sctp_state() const { return sctp_state_; }

  // The transport's SCTP events.
  void OnSctpStateChange(transport::SctpState state);
  void OnDataChannelOpen(const transport::DataChannelInfo& info);
  void OnDataChannelMessage(uint16_t stream_id, uint32_t ppid, absl::Span<const uint8_t> data);
  void OnDataChannelClosed(uint16_t stream_id);
  void OnSctpSendBufferAvailable();

 private:
  transport::SctpAssociation* Association() const;
  void CloseConsumer(const std::string& id, const std::string& reason);
  // Counts what a consumer or producer did before it goes.
  void Retire(const DataConsumer& consumer);
  void Retire(const DataProducer& producer);
  // Everything ends with the association (failed or closed).
  void CloseAll();

  const std::string transport_id_;
  // Owned by the router::Transport, outlives this; null for a pipe (no data channels).
  transport::WebRtcTransport* const webrtc_;
  Listener* const listener_;
  transport::SctpState sctp_state_ = transport::SctpState::kNew;
  uint64_t next_producer_ = 0;
  absl::flat_hash_map<std::string, std::unique_ptr<DataProducer>> producers_;
  absl::flat_hash_map<std::string, std::unique_ptr<DataConsumer>> consumers_;
  absl::flat_hash_map<uint16_t, DataProducer*> producer_by_stream_;
  absl::flat_hash_map<uint16_t, DataConsumer*> consumer_by_stream_;
  Totals retired_;  // of those gone
};

}  // namespace sb::router
