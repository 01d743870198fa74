// The data channel side of one transport: the data producers its peer opened and the data
// consumers we opened to it, on the transport's SCTP association. It turns the association's
// events into data producers (a channel the peer opens), messages of a producer, and closed
// producers/consumers, and it sends consumers' messages, closing a reliable consumer whose
// subscriber does not keep up (DataConsumer::kMaxQueuedBytes).
//
// The association is a WebRTC peer's (SCTP over DTLS) or a pipe's to another router (SCTP in
// RTCP APP packets, transport/pipe_transport.h); the owner (router::Transport) says which and
// hands the association's events in. On a pipe, the channels are copies of data producers of
// the router at the other end: each is opened with that producer's id as its label and its own
// label and protocol packed in the channel's protocol (router/pipe_data_channel.h).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/types/span.h"
#include "router/data_consumer.h"
#include "router/data_producer.h"
#include "transport/sctp_association.h"

namespace sb::router {

// Why a data consumer was closed (DataEndpoint::Listener::OnDataConsumerClosed; the control
// process passes it on to the subscriber).
inline constexpr char kDataClosedBySubscriber[] = "closed-by-receiver";
inline constexpr char kDataReceiverTooSlow[] = "receiver-too-slow";
// A message larger than the receiver's a=max-message-size on a reliable channel.
inline constexpr char kDataMessageTooLarge[] = "message-too-large";
inline constexpr char kDataProducerClosed[] = "sender-closed";
inline constexpr char kDataAssociationClosed[] = "connection-closed";

// What carries a DataEndpoint's association: a WebRTC transport or a pipe between routers.
class SctpCarrier {
 public:
  virtual ~SctpCarrier() = default;
  // The association (in any state), or nullptr while there is none.
  virtual transport::SctpAssociation* sctp() const = 0;
};

class DataEndpoint {
 public:
  // A WebRTC peer's channels, or a pipe's (see above).
  enum class Kind { kPeer, kPipe };

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
    // A reliable consumer's queue passed DataConsumer::kHighWaterBytes (`holding`: its
    // producer's sender should be paused), or fell under kLowWaterBytes or is going (not).
    virtual void OnDataConsumerHolding(DataEndpoint* endpoint, DataConsumer* consumer,
                                       bool holding) = 0;
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
    // Pipe channels whose protocol does not carry an origin label/protocol: refused (closed).
    uint64_t channels_malformed = 0;

    Totals& operator+=(const Totals& o);
  };

  DataEndpoint(std::string transport_id, const SctpCarrier* carrier, Kind kind, Listener* listener)
      : transport_id_(std::move(transport_id)),
        carrier_(carrier),
        kind_(kind),
        listener_(listener) {}
  ~DataEndpoint();
  DataEndpoint(const DataEndpoint&) = delete;
  DataEndpoint& operator=(const DataEndpoint&) = delete;

  const std::string& transport_id() const { return transport_id_; }
  Kind kind() const { return kind_; }

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
  // Closes a consumer whose receiver does not keep up (counted; OnDataConsumerClosed with
  // kDataReceiverTooSlow).
  void CloseSlowConsumer(const std::string& id);

  // Back-pressure on this endpoint's peer as a sender: while any consumer (of another endpoint)
  // holds it, the association reads nothing (SctpAssociation::PauseReceiving).
  void HoldReceiving(const std::string& consumer_id);
  void ReleaseReceiving(const std::string& consumer_id);
  bool receiving_held() const { return !holders_.empty(); }

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
  // Tells the listener when a reliable consumer passes the high or low water mark.
  void UpdateHolding(DataConsumer* consumer);
  void StopHolding(DataConsumer* consumer);
  // Counts what a consumer or producer did before it goes.
  void Retire(const DataConsumer& consumer);
  void Retire(const DataProducer& producer);
  // Everything ends with the association (failed or closed).
  void CloseAll();

  const std::string transport_id_;
  // The router::Transport that owns this.
  const SctpCarrier* const carrier_;
  const Kind kind_;
  Listener* const listener_;
  transport::SctpState sctp_state_ = transport::SctpState::kNew;
  uint64_t next_producer_ = 0;
  absl::flat_hash_map<std::string, std::unique_ptr<DataProducer>> producers_;
  absl::flat_hash_map<std::string, std::unique_ptr<DataConsumer>> consumers_;
  absl::flat_hash_map<uint16_t, DataProducer*> producer_by_stream_;
  absl::flat_hash_map<uint16_t, DataConsumer*> consumer_by_stream_;
  Totals retired_;                            // of those gone
  absl::flat_hash_set<std::string> holders_;  // consumers holding our peer's sending
};

}  // namespace sb::router
