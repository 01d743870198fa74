// What the router layer reports to the process that hosts it (the worker turns these into
// IPC notifications). One sink per worker, shared by its routers.
#pragma once

#include <cstdint>
#include <string>

#include "router/data_producer.h"
#include "transport/transport_types.h"

namespace sb::router {

class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual void OnTransportIceState(const std::string& transport_id, transport::IceState state) = 0;
  virtual void OnTransportDtlsState(const std::string& transport_id, transport::DtlsState state,
                                    const std::string& reason) = 0;
  virtual void OnConsumerProducerClosed(const std::string& consumer_id) = 0;
  virtual void OnConsumerProducerPaused(const std::string& consumer_id, bool paused) = 0;
  // The room's dominant speaker changed to the publisher of this audio producer.
  virtual void OnActiveSpeaker(const std::string& /*router_id*/,
                               const std::string& /*producer_id*/) {}
  // Dynacast: the highest encoding any subscriber wants of a simulcast producer changed; the
  // publisher may stop the encodings above it (the lowest is always wanted).
  virtual void OnProducerLayersNeeded(const std::string& /*producer_id*/, int /*max_layer*/) {}
  // A subscriber transport's send estimate or its allocation moved.
  virtual void OnTransportBandwidth(const std::string& /*transport_id*/, int64_t /*estimate_bps*/,
                                    int64_t /*allocated_bps*/, int64_t /*desired_bps*/) {}
  // A publisher transport sent REMB (router/remb_sender.h) with this estimate.
  virtual void OnTransportRemb(const std::string& /*transport_id*/, int64_t /*estimate_bps*/,
                               uint64_t /*remb_sent*/) {}
  // Data channels: the peer of a transport opened a channel (a data producer); a data producer
  // closed (its channel or association ended); a data consumer closed without the host
  // asking (router/data_endpoint.h names the reasons).
  virtual void OnDataProducerOpened(const std::string& /*transport_id*/,
                                    const DataProducer& /*producer*/) {}
  virtual void OnDataProducerClosed(const std::string& /*data_producer_id*/) {}
  virtual void OnDataConsumerClosed(const std::string& /*data_consumer_id*/,
                                    const std::string& /*reason*/) {}
};

}  // namespace sb::router
