// The worker's RequestHandler backed by the router layer: it owns the routers and the
// per-worker DTLS certificate, dispatches requests by method to the addressed object, and
// turns router events into IPC notifications.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "router/event_sink.h"
#include "router/router.h"
#include "transport/dtls_certificate.h"
#include "transport/webrtc_server.h"
#include "worker/request_handler.h"

namespace sb::worker {

class RouterHandler : public RequestHandler, public router::EventSink {
 public:
  RouterHandler(uv_loop_t* loop, Notifier* notifier,
                std::unique_ptr<transport::DtlsCertificate> certificate);
  ~RouterHandler() override;

  void HandleRequest(const fbs::Request& request, Responder respond) override;
  std::vector<std::string> RouterIds() const override;
  std::vector<std::pair<std::string, uint64_t>> NetworkCounters() const override;

  // router::EventSink
  void OnTransportIceState(const std::string& transport_id, transport::IceState state) override;
  void OnTransportDtlsState(const std::string& transport_id, transport::DtlsState state,
                            const std::string& reason) override;
  void OnConsumerProducerClosed(const std::string& consumer_id) override;
  void OnConsumerProducerPaused(const std::string& consumer_id, bool paused) override;
  void OnTransportRemb(const std::string& transport_id, int64_t estimate_bps,
                       uint64_t remb_sent) override;
  void OnTransportBandwidth(const std::string& transport_id, int64_t estimate_bps,
                            int64_t allocated_bps, int64_t desired_bps) override;
  void OnActiveSpeaker(const std::string& router_id, const std::string& producer_id) override;
  void OnProducerLayersNeeded(const std::string& producer_id, int max_layer) override;
  void OnDataProducerOpened(const std::string& transport_id,
                            const router::DataProducer& producer) override;
  void OnDataProducerClosed(const std::string& data_producer_id) override;
  void OnDataConsumerClosed(const std::string& data_consumer_id,
                            const std::string& reason) override;

 private:
  void HandleRouterRequest(const fbs::Request& request, router::Router* router, Responder& respond);
  void HandleTransportRequest(const fbs::Request& request, router::Router* router,
                              Responder& respond);
  void HandleProducerRequest(const fbs::Request& request, router::Router* router,
                             Responder& respond);
  void HandleConsumerRequest(const fbs::Request& request, router::Router* router,
                             Responder& respond);
  // Data channels (router_handler_data.cc): TRANSPORT_ENABLE_SCTP, TRANSPORT_CONSUME_DATA,
  // DATA_CONSUMER_CLOSE.
  void HandleDataRequest(const fbs::Request& request, router::Router* router, Responder& respond);
  router::Router* RouterWithDataConsumer(const std::string& id) const;
  // Pipes (router_handler_pipe.cc): ROUTER_CREATE_PIPE_TRANSPORT, TRANSPORT_CONNECT_PIPE.
  void HandlePipeRequest(const fbs::Request& request, router::Router* router, Responder& respond);

  // The worker's shared entry for these listen addresses and ports (ICE-TCP listeners, shared
  // UDP sockets), created on first use. An error when a shared UDP port cannot be bound (not
  // remembered: it is tried again); a TCP port that cannot be bound leaves it without ICE-TCP.
  absl::StatusOr<transport::WebRtcServer*> ServerFor(const transport::WebRtcServer::Options& o);
  router::Router* RouterWithTransport(const std::string& id) const;
  router::Router* RouterWithProducer(const std::string& id) const;
  router::Router* RouterWithConsumer(const std::string& id) const;

  uv_loop_t* const loop_;
  router::DataEndpoint::Totals data_retired_;  // of the routers closed
  Notifier* const notifier_;
  std::unique_ptr<transport::DtlsCertificate> certificate_;
  // Before routers_: the transports unregister from their server when destroyed.
  absl::flat_hash_map<std::string, std::unique_ptr<transport::WebRtcServer>> servers_;
  // Shared UDP ports found busy (logged once each).
  absl::flat_hash_set<uint16_t> busy_udp_ports_;
  absl::flat_hash_map<std::string, std::unique_ptr<router::Router>> routers_;
};

}  // namespace sb::worker
