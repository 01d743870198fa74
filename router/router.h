// A Router is one room (or one shard of a room) on a worker: it owns the transports and
// forwards every producer's packets to that producer's consumers.
#pragma once

#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "base/uv_timer.h"
#include "router/active_speaker_observer.h"
#include "router/event_sink.h"
#include "router/transport.h"

namespace sb::router {

class Router : public Transport::Listener {
 public:
  // How often the dominant speaker is re-evaluated.
  static constexpr uint64_t kActiveSpeakerIntervalMs = 300;
  // A data consumer may hold its sender paused (DataConsumer::kHighWaterBytes) this long at a
  // stretch; then its receiver is too slow for the room and its channel is closed
  // (receiver-too-slow), so that one slow receiver cannot stall a sender for everyone. 5 s is
  // what a receiver at about 150 kB/s needs to drain the 768 KiB between the water marks.
  static constexpr int64_t kMaxDataHoldMs = 5000;

  Router(std::string id, uv_loop_t* loop, transport::DtlsCertificate* certificate,
         EventSink* events);
  ~Router() override;
  Router(const Router&) = delete;
  Router& operator=(const Router&) = delete;

  const std::string& id() const { return id_; }

  absl::StatusOr<Transport*> CreateWebRtcTransport(
      std::string id, const transport::WebRtcTransport::Options& options);
  // A pipe to a router on another worker or host (transport/pipe_transport.h): producers and
  // consumers on it as on any transport.
  absl::StatusOr<Transport*> CreatePipeTransport(std::string id,
                                                 const transport::PipeTransport::Options& options);
  absl::Status CloseTransport(const std::string& id);
  Transport* FindTransport(const std::string& id) const;

  absl::StatusOr<Producer*> Produce(const std::string& transport_id, std::string producer_id,
                                    rtp::MediaKind kind, rtp::RtpParameters params, bool paused);
  absl::Status CloseProducer(const std::string& id);
  absl::Status SetProducerPaused(const std::string& id, bool paused);
  Producer* FindProducer(const std::string& id) const;

  absl::StatusOr<Consumer*> Consume(const std::string& transport_id, std::string consumer_id,
                                    const std::string& producer_id,
                                    const rtp::RtpCapabilities& caps, std::string mid, bool paused);
  absl::Status CloseConsumer(const std::string& id);
  absl::Status SetConsumerPaused(const std::string& id, bool paused);
  absl::Status RequestConsumerKeyFrame(const std::string& id);
  // The subscriber's wishes: the highest encoding (nullopt: no ceiling), whether it is shown,
  // and its priority for bandwidth.
  absl::Status SetConsumerPreferences(const std::string& id, std::optional<size_t> max_layer,
                                      bool paused, int priority);
  Consumer* FindConsumer(const std::string& id) const;

  // Data channels: a channel that the peer of transport_id receives the data producer's
  // messages on, opened by us with the producer's label and reliability and this protocol. On
  // a pipe (with SCTP) the channel is labelled with the producer's id and carries its label
  // and protocol instead (router/pipe_data_channel.h); `protocol` is not used.
  absl::StatusOr<DataConsumer*> ConsumeData(const std::string& transport_id,
                                            std::string data_consumer_id,
                                            const std::string& data_producer_id,
                                            std::string protocol);
  absl::Status CloseDataConsumer(const std::string& id);
  DataProducer* FindDataProducer(const std::string& id) const;
  DataConsumer* FindDataConsumer(const std::string& id) const;
  // The data channel counters of every transport the router has or had.
  DataEndpoint::Totals DataTotals() const;

  // The audio producer of the dominant speaker (empty before anyone spoke).
  const std::string& active_speaker() const { return speakers_.dominant(); }

  std::vector<std::string> TransportIds() const;
  std::vector<std::string> ProducerIds() const;
  std::vector<std::string> ConsumerIds() const;

 private:
  // Transport::Listener
  void OnTransportProducerRtp(Transport* transport, Producer* producer, size_t encoding,
                              const rtp::VideoLayers& layers, const rtp::RtpPacket& packet,
                              int64_t now_ms) override;
  void OnTransportConsumerKeyFrameNeeded(Transport* transport, Consumer* consumer,
                                         size_t encoding) override;
  void OnTransportIceState(Transport* transport, transport::IceState state) override;
  void OnTransportDtlsState(Transport* transport, transport::DtlsState state,
                            const std::string& reason) override;
  const Producer* ProducerOf(const Consumer* consumer) const override;
  void OnTransportBandwidth(Transport* transport) override;
  void OnTransportRembSent(Transport* transport, int64_t estimate_bps) override;
  // DataEndpoint::Listener
  void OnDataProducerOpened(DataEndpoint* endpoint, DataProducer* producer) override;
  void OnDataProducerMessage(DataEndpoint* endpoint, DataProducer* producer, uint32_t ppid,
                             absl::Span<const uint8_t> data) override;
  void OnDataProducerClosed(DataEndpoint* endpoint, DataProducer* producer) override;
  void OnDataConsumerClosed(DataEndpoint* endpoint, DataConsumer* consumer,
                            const std::string& reason) override;
  void OnDataConsumerHolding(DataEndpoint* endpoint, DataConsumer* consumer, bool holding) override;
  // Closes the consumers that held their sender too long (kMaxDataHoldMs).
  void CheckDataHolds();
  // Closes every data consumer of a data producer that is going away, telling the host why.
  void DetachDataConsumersOf(const std::string& data_producer_id, const std::string& reason);
  // Removes a data consumer from the indexes (not from its endpoint).
  void UnindexDataConsumer(DataConsumer* consumer);

  // Closes every consumer of a producer that is going away, telling the control process.
  void DetachConsumersOf(Producer* producer);
  uint32_t NewSsrc();
  void ReleaseSsrcs(std::initializer_list<uint32_t> ssrcs);
  // Releases the ssrcs of a consumer that is going away.
  void ForgetConsumer(Consumer* consumer);
  // Re-evaluates the dominant speaker; on a change, its video is served first and the control
  // process is told.
  void UpdateActiveSpeaker();
  // Dynacast: recomputes the highest encoding the subscribers of a simulcast producer want
  // (their preferences; those their subscriber paused left out; the lowest always) and tells
  // the host when it changed.
  void UpdateLayersNeeded(Producer* producer);
  // Sets the priority of the video producers published with an audio producer.
  void SetSpeakerPriority(const std::string& audio_producer_id, int priority);

  const std::string id_;
  uv_loop_t* const loop_;
  transport::DtlsCertificate* const certificate_;
  EventSink* const events_;

  absl::flat_hash_map<std::string, std::unique_ptr<Transport>> transports_;
  // Indexes over what the transports own.
  absl::flat_hash_map<std::string, Transport*> producer_transport_;
  absl::flat_hash_map<std::string, Transport*> consumer_transport_;
  absl::flat_hash_map<const Producer*, std::vector<Consumer*>> consumers_of_;
  absl::flat_hash_map<const Consumer*, Producer*> producer_of_;
  absl::flat_hash_set<uint32_t> used_ssrcs_;
  // Data channels.
  struct DataSink {
    DataEndpoint* endpoint;
    DataConsumer* consumer;
  };
  absl::flat_hash_map<std::string, DataEndpoint*> data_producer_endpoint_;
  absl::flat_hash_map<std::string, std::vector<DataSink>> data_consumers_of_;  // by producer id
  absl::flat_hash_map<const DataConsumer*, DataEndpoint*> data_consumer_endpoint_;
  absl::flat_hash_map<std::string, DataConsumer*> data_consumers_;  // by id
  DataEndpoint::Totals data_retired_;                               // of the transports closed
  // Consumers holding their producer's sender paused: the sender's endpoint and since when.
  struct DataHold {
    DataEndpoint* consumer_endpoint;
    DataEndpoint* producer_endpoint;
    std::string consumer_id;
    int64_t since_ms;
  };
  absl::flat_hash_map<const DataConsumer*, DataHold> data_holds_;
  std::unique_ptr<UvTimer> data_hold_timer_;
  ActiveSpeakerObserver speakers_;
  std::unique_ptr<UvTimer> speaker_timer_;
};

}  // namespace sb::router
