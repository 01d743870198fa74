#include "worker/router_handler.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/log.h"
#include "worker/fbs/message_builder.h"
#include "worker/fbs/rtp_parameters_convert.h"

namespace sb::worker {
namespace {

fbs::IceState ToFbs(transport::IceState s) {
  switch (s) {
    case transport::IceState::kNew:
      return fbs::IceState::NEW;
    case transport::IceState::kConnected:
      return fbs::IceState::CONNECTED;
    case transport::IceState::kCompleted:
      return fbs::IceState::COMPLETED;
    case transport::IceState::kDisconnected:
      return fbs::IceState::DISCONNECTED;
    case transport::IceState::kClosed:
      return fbs::IceState::CLOSED;
  }
  return fbs::IceState::NEW;
}

fbs::DtlsState ToFbs(transport::DtlsState s) {
  switch (s) {
    case transport::DtlsState::kNew:
      return fbs::DtlsState::NEW;
    case transport::DtlsState::kConnecting:
      return fbs::DtlsState::CONNECTING;
    case transport::DtlsState::kConnected:
      return fbs::DtlsState::CONNECTED;
    case transport::DtlsState::kFailed:
      return fbs::DtlsState::FAILED;
    case transport::DtlsState::kClosed:
      return fbs::DtlsState::CLOSED;
  }
  return fbs::DtlsState::NEW;
}

transport::DtlsRole FromFbs(fbs::DtlsRole role) {
  switch (role) {
    case fbs::DtlsRole::CLIENT:
      return transport::DtlsRole::kClient;
    case fbs::DtlsRole::SERVER:
      return transport::DtlsRole::kServer;
    default:
      return transport::DtlsRole::kAuto;
  }
}

using ipc::Str;

flatbuffers::Offset<fbs::IceParameters> BuildIceParameters(
    flatbuffers::FlatBufferBuilder& fbb, const transport::WebRtcTransport& webrtc) {
  return fbs::CreateIceParametersDirect(fbb, webrtc.ice_ufrag().c_str(), webrtc.ice_pwd().c_str(),
                                        /*ice_lite=*/true);
}

flatbuffers::Offset<fbs::WebRtcTransportInfo> BuildTransportInfo(
    flatbuffers::FlatBufferBuilder& fbb, const router::Transport& transport) {
  const auto& webrtc = *transport.webrtc();
  auto ice = BuildIceParameters(fbb, webrtc);
  std::vector<flatbuffers::Offset<fbs::IceCandidate>> candidates;
  for (const auto& c : webrtc.candidates()) {
    candidates.push_back(fbs::CreateIceCandidateDirect(fbb, c.foundation.c_str(), c.priority,
                                                       c.ip.c_str(), c.protocol.c_str(), c.port,
                                                       c.type.c_str()));
  }
  std::vector<flatbuffers::Offset<fbs::DtlsFingerprint>> fingerprints;
  for (const auto& f : webrtc.local_fingerprints()) {
    fingerprints.push_back(
        fbs::CreateDtlsFingerprintDirect(fbb, f.algorithm.c_str(), f.value.c_str()));
  }
  auto dtls = fbs::CreateDtlsParametersDirect(fbb, fbs::DtlsRole::AUTO, &fingerprints);
  return fbs::CreateWebRtcTransportInfoDirect(fbb, transport.id().c_str(), ice, &candidates, dtls,
                                              ToFbs(webrtc.ice_state()),
                                              ToFbs(webrtc.dtls_state()));
}

std::string SctpStateOf(const router::Transport& transport) {
  if (const transport::SctpAssociation* sctp = transport.sctp()) {
    return transport::SctpStateName(sctp->state());
  }
  const transport::SctpState ended = transport.data().sctp_state();
  return ended == transport::SctpState::kNew ? "" : transport::SctpStateName(ended);
}

void AddDataStats(fbs::TransportStatsBuilder& b, const router::Transport& transport,
                  flatbuffers::Offset<flatbuffers::String> sctp_state) {
  const router::DataEndpoint& data = transport.data();
  const router::DataEndpoint::Totals t = data.totals();
  b.add_sctp_state(sctp_state);
  b.add_data_producers(static_cast<uint32_t>(data.data_producers().size()));
  b.add_data_consumers(static_cast<uint32_t>(data.data_consumers().size()));
  b.add_data_messages_received(t.messages_received);
  b.add_data_bytes_received(t.bytes_received);
  b.add_data_messages_sent(t.messages_sent);
  b.add_data_bytes_sent(t.bytes_sent);
  b.add_data_messages_dropped(t.messages_dropped);
  b.add_data_consumers_closed_slow(t.consumers_closed_slow);
  b.add_data_queued_bytes(data.queued_bytes());
  b.add_data_messages_unexpected(t.messages_unexpected);
  b.add_data_channels_malformed(t.channels_malformed);
  if (const transport::SctpAssociation* sctp = transport.sctp()) {
    const auto& s = sctp->stats();
    b.add_sctp_packets_invalid(s.packets_invalid);
    b.add_sctp_dcep_malformed(s.dcep_malformed);
    b.add_sctp_dcep_unexpected(s.dcep_unexpected);
    b.add_sctp_messages_too_large(s.messages_too_large);
    b.add_sctp_messages_unknown(s.messages_unknown_stream + s.messages_unknown_ppid);
  }
}

// A pipe's: its traffic and drops, and what the router could not use; its data channels when
// it carries SCTP.
flatbuffers::Offset<fbs::TransportStats> BuildPipeStats(flatbuffers::FlatBufferBuilder& fbb,
                                                        const router::Transport& transport) {
  const transport::PipeTransport::Stats& s = transport.pipe()->stats();
  const auto& c = transport.counters();
  auto id = fbb.CreateString(transport.id());
  flatbuffers::Offset<flatbuffers::String> sctp_state;
  if (transport.has_data_channels()) sctp_state = fbb.CreateString(SctpStateOf(transport));
  fbs::TransportStatsBuilder b(fbb);
  if (transport.has_data_channels()) AddDataStats(b, transport, sctp_state);
  b.add_transport_id(id);
  b.add_bytes_received(s.bytes_received);
  b.add_bytes_sent(s.bytes_sent);
  b.add_rtp_packets_received(s.rtp_received);
  b.add_rtp_packets_sent(s.rtp_sent);
  b.add_rtcp_packets_received(s.rtcp_received);
  b.add_rtcp_packets_sent(s.rtcp_sent);
  b.add_packets_dropped(s.not_connected + s.unknown_source + s.not_rtp + s.srtp_auth_failed +
                        s.srtp_replayed + s.srtp_malformed + s.sctp_unexpected + s.sctp_malformed +
                        c.rtp_malformed + c.rtcp_malformed + c.rtp_unknown_ssrc);
  b.add_unknown_packets(s.not_rtp);
  b.add_unknown_source(s.unknown_source + s.not_connected);
  b.add_srtp_auth_failed(s.srtp_auth_failed);
  b.add_srtp_replayed(s.srtp_replayed);
  b.add_srtp_malformed(s.srtp_malformed);
  b.add_rtp_malformed(c.rtp_malformed);
  b.add_rtcp_malformed(c.rtcp_malformed);
  b.add_rtp_unknown_ssrc(c.rtp_unknown_ssrc);
  return b.Finish();
}

flatbuffers::Offset<fbs::TransportStats> BuildTransportStats(flatbuffers::FlatBufferBuilder& fbb,
                                                             const router::Transport& transport) {
  const auto& webrtc = *transport.webrtc();
  const auto& s = webrtc.stats();
  const auto& ice = webrtc.ice_stats();
  const auto& dtls = webrtc.dtls_stats();
  const auto& c = transport.counters();
  uint64_t key_frame_requests_suppressed = 0;
  for (const auto& [id, producer] : transport.producers()) {
    for (size_t i = 0; i < producer->encoding_count(); ++i) {
      key_frame_requests_suppressed += producer->stats(i).key_frame_requests_suppressed;
    }
  }
  router::Consumer::Stats nacks;
  for (const auto& [id, consumer] : transport.consumers()) {
    nacks.nack_duplicates += consumer->stats().nack_duplicates;
    nacks.nack_over_budget += consumer->stats().nack_over_budget;
    nacks.nack_over_cap += consumer->stats().nack_over_cap;
    nacks.nack_unavailable += consumer->stats().nack_unavailable;
  }
  // Every datagram dropped, once: the network side's drops (all but STUN), STUN's, the
  // ClientHellos DTLS dropped, and what the router could not use after decryption.
  const uint64_t dropped = s.packets_dropped + ice.malformed + ice.auth_failures + ice.replayed +
                           dtls.client_hellos_after_handshake + c.rtp_malformed + c.rtcp_malformed +
                           c.rtp_unknown_ssrc;
  auto id = fbb.CreateString(transport.id());
  auto profile = fbb.CreateString(webrtc.srtp_profile_name());
  auto sctp_state = fbb.CreateString(SctpStateOf(transport));
  fbs::TransportStatsBuilder b(fbb);
  AddDataStats(b, transport, sctp_state);
  b.add_transport_id(id);
  b.add_ice_state(ToFbs(webrtc.ice_state()));
  b.add_dtls_state(ToFbs(webrtc.dtls_state()));
  b.add_srtp_profile(profile);
  b.add_bytes_received(s.bytes_received);
  b.add_bytes_sent(s.bytes_sent);
  b.add_rtp_packets_received(s.rtp_packets_received);
  b.add_rtp_packets_sent(s.rtp_packets_sent);
  b.add_rtcp_packets_received(s.rtcp_packets_received);
  b.add_rtcp_packets_sent(s.rtcp_packets_sent);
  b.add_packets_dropped(dropped);
  b.add_unknown_packets(s.unknown_packets);
  b.add_unknown_source(s.unknown_source);
  b.add_stun_malformed(ice.malformed);
  b.add_stun_unauthenticated(ice.auth_failures);
  b.add_stun_replayed(ice.replayed);
  b.add_stun_ignored(ice.ignored);
  b.add_dtls_dropped(s.dtls_dropped);
  b.add_dtls_client_hellos_after_handshake(dtls.client_hellos_after_handshake);
  b.add_transport_feedback_sent(c.transport_feedback_sent);
  b.add_transport_feedback_received(c.transport_feedback_received);
  if (const router::BandwidthController* bandwidth = transport.bandwidth()) {
    b.add_send_estimate_bps(static_cast<uint64_t>(bandwidth->estimate_bps()));
    b.add_send_acked_bps(static_cast<uint64_t>(bandwidth->bwe().acked_bps().value_or(0)));
    b.add_send_allocated_bps(static_cast<uint64_t>(bandwidth->allocated_bps()));
    b.add_send_desired_bps(static_cast<uint64_t>(bandwidth->desired_bps()));
    b.add_probe_clusters(bandwidth->counters().probe_clusters);
    b.add_probe_packets(bandwidth->counters().probe_packets);
  }
  if (const router::RembSender* remb = transport.remb()) {
    b.add_receive_estimate_bps(static_cast<uint64_t>(remb->estimate_bps().value_or(0)));
    b.add_remb_sent(remb->counters().remb_sent);
    b.add_abs_send_time_malformed(remb->counters().abs_send_time_malformed);
  }
  b.add_tcp_connections(s.tcp_connections);
  b.add_tcp_auth_failed(s.tcp_auth_failed);
  b.add_tcp_evicted(s.tcp_evicted);
  b.add_tcp_send_drops(s.tcp_send_drops);
  b.add_selected_tcp(webrtc.selected_tcp());
  b.add_dtls_renegotiations_refused(dtls.renegotiations_refused);
  b.add_dtls_fingerprint_mismatches(dtls.fingerprint_mismatches);
  b.add_srtp_no_keys(s.srtp_no_keys);
  b.add_srtp_replayed(s.srtp_replayed);
  b.add_srtp_auth_failed(s.srtp_auth_failed);
  b.add_srtp_malformed(s.srtp_malformed);
  b.add_rtp_malformed(c.rtp_malformed);
  b.add_rtcp_malformed(c.rtcp_malformed);
  b.add_rtp_unknown_ssrc(c.rtp_unknown_ssrc);
  b.add_key_frame_requests_suppressed(key_frame_requests_suppressed);
  b.add_nack_duplicates(nacks.nack_duplicates);
  b.add_nack_over_budget(nacks.nack_over_budget);
  b.add_nack_over_cap(nacks.nack_over_cap);
  b.add_nack_unavailable(nacks.nack_unavailable);
  return b.Finish();
}

}  // namespace

RouterHandler::RouterHandler(uv_loop_t* loop, Notifier* notifier,
                             std::unique_ptr<transport::DtlsCertificate> certificate)
    : loop_(loop), notifier_(notifier), certificate_(std::move(certificate)) {}

RouterHandler::~RouterHandler() { routers_.clear(); }

std::vector<std::string> RouterHandler::RouterIds() const {
  std::vector<std::string> ids;
  for (const auto& [id, r] : routers_) ids.push_back(id);
  return ids;
}

std::vector<std::pair<std::string, uint64_t>> RouterHandler::NetworkCounters() const {
  transport::WebRtcServer::Stats sum;
  for (const auto& [key, server] : servers_) {
    const auto& s = server->stats();
    sum.udp_received += s.udp_received;
    sum.udp_unknown_source += s.udp_unknown_source;
    sum.udp_unknown_ufrag += s.udp_unknown_ufrag;
    sum.udp_tuples_moved += s.udp_tuples_moved;
    sum.tcp_accepted += s.tcp_accepted;
    sum.tcp_handed_over += s.tcp_handed_over;
    sum.tcp_over_pending += s.tcp_over_pending;
    sum.tcp_timed_out += s.tcp_timed_out;
    sum.tcp_not_stun += s.tcp_not_stun;
    sum.tcp_unknown_ufrag += s.tcp_unknown_ufrag;
    sum.tcp_closed_pending += s.tcp_closed_pending;
  }
  router::DataEndpoint::Totals data = data_retired_;
  for (const auto& [id, r] : routers_) data += r->DataTotals();
  return {{"udp_received", sum.udp_received},
          {"udp_unknown_source", sum.udp_unknown_source},
          {"udp_unknown_ufrag", sum.udp_unknown_ufrag},
          {"udp_tuples_moved", sum.udp_tuples_moved},
          {"tcp_accepted", sum.tcp_accepted},
          {"tcp_handed_over", sum.tcp_handed_over},
          {"tcp_over_pending", sum.tcp_over_pending},
          {"tcp_timed_out", sum.tcp_timed_out},
          {"tcp_not_stun", sum.tcp_not_stun},
          {"tcp_unknown_ufrag", sum.tcp_unknown_ufrag},
          {"tcp_closed_pending", sum.tcp_closed_pending},
          {"data_messages_received", data.messages_received},
          {"data_bytes_received", data.bytes_received},
          {"data_messages_sent", data.messages_sent},
          {"data_bytes_sent", data.bytes_sent},
          {"data_messages_dropped", data.messages_dropped},
          {"data_consumers_closed_slow", data.consumers_closed_slow},
          {"data_messages_unexpected", data.messages_unexpected}};
}

absl::StatusOr<transport::WebRtcServer*> RouterHandler::ServerFor(
    const transport::WebRtcServer::Options& o) {
  const std::string key =
      absl::StrCat(absl::StrJoin(o.listen_ips, ","), "|", o.udp ? absl::StrCat(o.udp_port) : "-",
                   "|", o.tcp ? absl::StrCat(o.tcp_port) : "-");
  auto it = servers_.find(key);
  if (it != servers_.end()) return it->second.get();
  auto server = transport::WebRtcServer::Create(loop_, o);
  if (!server.ok()) return server.status();
  return (servers_[key] = *std::move(server)).get();
}

router::Router* RouterHandler::RouterWithTransport(const std::string& id) const {
  for (const auto& [rid, r] : routers_) {
    if (r->FindTransport(id)) return r.get();
  }
  return nullptr;
}

router::Router* RouterHandler::RouterWithProducer(const std::string& id) const {
  for (const auto& [rid, r] : routers_) {
    if (r->FindProducer(id)) return r.get();
  }
  return nullptr;
}

router::Router* RouterHandler::RouterWithConsumer(const std::string& id) const {
  for (const auto& [rid, r] : routers_) {
    if (r->FindConsumer(id)) return r.get();
  }
  return nullptr;
}

void RouterHandler::HandleRequest(const fbs::Request& request, Responder respond) {
  const std::string handler_id = Str(request.handler_id());
  switch (request.method()) {
    case fbs::Method::WORKER_CREATE_ROUTER: {
      const auto* body = request.body_as_CreateRouterRequest();
      if (!body) return respond.Error(ipc::error::kInvalidArgument, "missing CreateRouterRequest");
      std::string id = body->router_id()->str();
      if (id.empty() || routers_.contains(id)) {
        return respond.Error(ipc::error::kInvalidArgument, "router id empty or in use: " + id);
      }
      routers_[id] = std::make_unique<router::Router>(id, loop_, certificate_.get(), this);
      SB_LOG_DEBUG("worker", "router {} created", id);
      return respond.Ok();
    }
    case fbs::Method::ROUTER_CLOSE:
    case fbs::Method::ROUTER_DUMP:
    case fbs::Method::ROUTER_CREATE_PIPE_TRANSPORT:
    case fbs::Method::ROUTER_CREATE_WEBRTC_TRANSPORT: {
      auto it = routers_.find(handler_id);
      if (it == routers_.end())
        return respond.Error(ipc::error::kNotFound, "no router " + handler_id);
      if (request.method() == fbs::Method::ROUTER_CLOSE) {
        data_retired_ += it->second->DataTotals();
        routers_.erase(it);
        return respond.Ok();
      }
      if (request.method() == fbs::Method::ROUTER_CREATE_PIPE_TRANSPORT) {
        return HandlePipeRequest(request, it->second.get(), respond);
      }
      return HandleRouterRequest(request, it->second.get(), respond);
    }
    case fbs::Method::TRANSPORT_CONNECT:
    case fbs::Method::TRANSPORT_CLOSE:
    case fbs::Method::TRANSPORT_GET_STATS:
    case fbs::Method::TRANSPORT_PRODUCE:
    case fbs::Method::TRANSPORT_CONSUME:
    case fbs::Method::TRANSPORT_RESTART_ICE: {
      router::Router* router = RouterWithTransport(handler_id);
      if (!router) return respond.Error(ipc::error::kNotFound, "no transport " + handler_id);
      return HandleTransportRequest(request, router, respond);
    }
    case fbs::Method::PRODUCER_CLOSE:
    case fbs::Method::PRODUCER_PAUSE:
    case fbs::Method::PRODUCER_RESUME:
    case fbs::Method::PRODUCER_GET_STATS: {
      router::Router* router = RouterWithProducer(handler_id);
      if (!router) return respond.Error(ipc::error::kNotFound, "no producer " + handler_id);
      return HandleProducerRequest(request, router, respond);
    }
    case fbs::Method::CONSUMER_CLOSE:
    case fbs::Method::CONSUMER_PAUSE:
    case fbs::Method::CONSUMER_RESUME:
    case fbs::Method::CONSUMER_REQUEST_KEY_FRAME:
    case fbs::Method::CONSUMER_SET_PREFERENCES:
    case fbs::Method::CONSUMER_GET_STATS: {
      router::Router* router = RouterWithConsumer(handler_id);
      if (!router) return respond.Error(ipc::error::kNotFound, "no consumer " + handler_id);
      return HandleConsumerRequest(request, router, respond);
    }
    case fbs::Method::TRANSPORT_CONNECT_PIPE: {
      router::Router* router = RouterWithTransport(handler_id);
      if (!router) return respond.Error(ipc::error::kNotFound, "no transport " + handler_id);
      return HandlePipeRequest(request, router, respond);
    }
    case fbs::Method::TRANSPORT_ENABLE_SCTP:
    case fbs::Method::TRANSPORT_CONSUME_DATA: {
      router::Router* router = RouterWithTransport(handler_id);
      if (!router) return respond.Error(ipc::error::kNotFound, "no transport " + handler_id);
      return HandleDataRequest(request, router, respond);
    }
    case fbs::Method::DATA_CONSUMER_CLOSE: {
      router::Router* router = RouterWithDataConsumer(handler_id);
      if (!router) return respond.Error(ipc::error::kNotFound, "no data consumer " + handler_id);
      return HandleDataRequest(request, router, respond);
    }
    default:
      return respond.Error(ipc::error::kNotImplemented, "unknown method");
  }
}

void RouterHandler::HandleRouterRequest(const fbs::Request& request, router::Router* router,
                                        Responder& respond) {
  auto& fbb = respond.builder();
  if (request.method() == fbs::Method::ROUTER_DUMP) {
    auto strings = [&](const std::vector<std::string>& ids) {
      return fbb.CreateVectorOfStrings(ids);
    };
    auto transports = strings(router->TransportIds());
    auto producers = strings(router->ProducerIds());
    auto consumers = strings(router->ConsumerIds());
    auto dump = fbs::CreateRouterDump(fbb, fbb.CreateString(router->id()), transports, producers,
                                      consumers);
    return respond.Ok(fbs::ResponseBody::RouterDump, dump.Union());
  }
  // ROUTER_CREATE_WEBRTC_TRANSPORT
  const auto* body = request.body_as_CreateWebRtcTransportRequest();
  if (!body) {
    return respond.Error(ipc::error::kInvalidArgument, "missing CreateWebRtcTransportRequest");
  }
  transport::WebRtcTransport::Options options;
  transport::WebRtcServer::Options server;
  for (const auto* address : *body->listen()) {
    transport::ListenAddress& listen = options.listen.emplace_back();
    listen.ip = address->ip()->str();
    if (const auto* announced = address->announced()) {
      for (const auto* ip : *announced) listen.announced.push_back(ip->str());
    }
    server.listen_ips.push_back(listen.ip);
  }
  if (options.listen.empty()) return respond.Error(ipc::error::kInvalidArgument, "no listen ip");
  options.port_min = body->port_min();
  options.port_max = body->port_max();
  if (!body->shared_udp() && (options.port_min == 0 || options.port_min > options.port_max)) {
    return respond.Error(ipc::error::kInvalidArgument, "bad port range");
  }
  server.udp = body->shared_udp();
  server.udp_port = body->udp_port();
  server.tcp = body->ice_tcp();
  server.tcp_port = body->ice_tcp_port();
  if (server.udp || server.tcp) {
    auto shared = ServerFor(server);
    if (!shared.ok() && server.udp && body->shared_udp_fallback()) {
      if (busy_udp_ports_.insert(server.udp_port).second) {
        SB_LOG_WARN("worker", "{}: a UDP port per transport instead (from {}-{})",
                    std::string(shared.status().message()), options.port_min, options.port_max);
      }
      server.udp = false;
      server.udp_port = 0;
      shared = server.tcp ? ServerFor(server) : absl::StatusOr<transport::WebRtcServer*>(nullptr);
    }
    if (!shared.ok()) return respond.Error(shared.status());
    options.server = *shared;
  }
  auto transport = router->CreateWebRtcTransport(body->transport_id()->str(), options);
  if (!transport.ok()) return respond.Error(transport.status());
  auto info = BuildTransportInfo(fbb, **transport);
  respond.Ok(fbs::ResponseBody::WebRtcTransportInfo, info.Union());
}

void RouterHandler::HandleTransportRequest(const fbs::Request& request, router::Router* router,
                                           Responder& respond) {
  const std::string id = Str(request.handler_id());
  router::Transport* transport = router->FindTransport(id);
  auto& fbb = respond.builder();
  // ICE and DTLS requests are for WebRTC transports only.
  if (transport->webrtc() == nullptr && (request.method() == fbs::Method::TRANSPORT_CONNECT ||
                                         request.method() == fbs::Method::TRANSPORT_RESTART_ICE)) {
    return respond.Error(ipc::error::kInvalidArgument, "not a WebRTC transport: " + id);
  }
  switch (request.method()) {
    case fbs::Method::TRANSPORT_CONNECT: {
      const auto* body = request.body_as_ConnectWebRtcTransportRequest();
      if (!body) {
        return respond.Error(ipc::error::kInvalidArgument, "missing ConnectWebRtcTransportRequest");
      }
      std::vector<transport::Fingerprint> fingerprints;
      if (const auto* list = body->dtls_parameters()->fingerprints()) {
        for (const auto* f : *list) {
          fingerprints.push_back({f->algorithm()->str(), f->value()->str()});
        }
      }
      if (fingerprints.empty()) {
        return respond.Error(ipc::error::kInvalidArgument, "no remote DTLS fingerprint");
      }
      auto status = transport->webrtc()->Connect(FromFbs(body->dtls_parameters()->role()),
                                                 std::move(fingerprints));
      if (!status.ok()) return respond.Error(status);
      return respond.Ok();
    }
    case fbs::Method::TRANSPORT_RESTART_ICE: {
      auto status = transport->webrtc()->RestartIce();
      if (!status.ok()) return respond.Error(status);
      auto ice = BuildIceParameters(fbb, *transport->webrtc());
      return respond.Ok(fbs::ResponseBody::IceParameters, ice.Union());
    }
    case fbs::Method::TRANSPORT_CLOSE: {
      auto status = router->CloseTransport(id);
      if (!status.ok()) return respond.Error(status);
      return respond.Ok();
    }
    case fbs::Method::TRANSPORT_GET_STATS: {
      if (transport->pipe()) {
        auto stats = BuildPipeStats(fbb, *transport);
        return respond.Ok(fbs::ResponseBody::TransportStats, stats.Union());
      }
      auto stats = BuildTransportStats(fbb, *transport);
      return respond.Ok(fbs::ResponseBody::TransportStats, stats.Union());
    }
    case fbs::Method::TRANSPORT_PRODUCE: {
      const auto* body = request.body_as_ProduceRequest();
      if (!body) return respond.Error(ipc::error::kInvalidArgument, "missing ProduceRequest");
      auto params = ipc::FromFbs(body->rtp_parameters());
      if (!params.ok()) return respond.Error(params.status());
      auto producer = router->Produce(id, body->producer_id()->str(), ipc::FromFbs(body->kind()),
                                      *std::move(params), body->paused());
      if (!producer.ok()) return respond.Error(producer.status());
      return respond.Ok();
    }
    case fbs::Method::TRANSPORT_CONSUME: {
      const auto* body = request.body_as_ConsumeRequest();
      if (!body) return respond.Error(ipc::error::kInvalidArgument, "missing ConsumeRequest");
      auto caps = ipc::FromFbs(body->rtp_capabilities());
      if (!caps.ok()) return respond.Error(caps.status());
      auto consumer = router->Consume(id, body->consumer_id()->str(), body->producer_id()->str(),
                                      *caps, Str(body->mid()), body->paused());
      if (!consumer.ok()) return respond.Error(consumer.status());
      auto params = ipc::ToFbs(fbb, (*consumer)->rtp_parameters());
      auto response =
          fbs::CreateConsumeResponse(fbb, ipc::ToFbs((*consumer)->kind()), params,
                                     (*consumer)->paused(), (*consumer)->producer_paused());
      return respond.Ok(fbs::ResponseBody::ConsumeResponse, response.Union());
    }
    default:
      return respond.Error(ipc::error::kNotImplemented, "unknown transport method");
  }
}

void RouterHandler::HandleProducerRequest(const fbs::Request& request, router::Router* router,
                                          Responder& respond) {
  const std::string id = Str(request.handler_id());
  absl::Status status;
  switch (request.method()) {
    case fbs::Method::PRODUCER_CLOSE:
      status = router->CloseProducer(id);
      break;
    case fbs::Method::PRODUCER_PAUSE:
      status = router->SetProducerPaused(id, true);
      break;
    case fbs::Method::PRODUCER_RESUME:
      status = router->SetProducerPaused(id, false);
      break;
    case fbs::Method::PRODUCER_GET_STATS: {
      const router::Producer* producer = router->FindProducer(id);
      auto& fbb = respond.builder();
      std::vector<flatbuffers::Offset<fbs::RtpStreamStats>> streams;
      for (size_t i = 0; i < producer->encoding_count(); ++i) {
        auto s = producer->stats(i);
        auto rid = fbb.CreateString(s.rid);
        streams.push_back(fbs::CreateRtpStreamStats(
            fbb, s.ssrc, s.packets, s.bytes, s.packets_lost, s.fraction_lost, s.jitter, s.pli_sent,
            0, static_cast<uint32_t>(s.nack_requested), rid, s.retransmissions_received,
            s.key_frame_requests_suppressed));
      }
      auto stats = fbs::CreateProducerStatsDirect(fbb, id.c_str(), producer->paused(), &streams,
                                                  producer->layer_descriptors_malformed());
      return respond.Ok(fbs::ResponseBody::ProducerStats, stats.Union());
    }
    default:
      return respond.Error(ipc::error::kNotImplemented, "unknown producer method");
  }
  if (!status.ok()) return respond.Error(status);
  respond.Ok();
}

void RouterHandler::HandleConsumerRequest(const fbs::Request& request, router::Router* router,
                                          Responder& respond) {
  const std::string id = Str(request.handler_id());
  absl::Status status;
  switch (request.method()) {
    case fbs::Method::CONSUMER_CLOSE:
      status = router->CloseConsumer(id);
      break;
    case fbs::Method::CONSUMER_PAUSE:
      status = router->SetConsumerPaused(id, true);
      break;
    case fbs::Method::CONSUMER_RESUME:
      status = router->SetConsumerPaused(id, false);
      break;
    case fbs::Method::CONSUMER_REQUEST_KEY_FRAME:
      status = router->RequestConsumerKeyFrame(id);
      break;
    case fbs::Method::CONSUMER_SET_PREFERENCES: {
      const auto* body = request.body_as_ConsumerPreferences();
      if (!body) return respond.Error(ipc::error::kInvalidArgument, "missing ConsumerPreferences");
      const int layer = body->max_spatial_layer();
      status = router->SetConsumerPreferences(
          id, layer < 0 ? std::nullopt : std::optional<size_t>(static_cast<size_t>(layer)),
          body->paused(), body->priority());
      break;
    }
    case fbs::Method::CONSUMER_GET_STATS: {
      const router::Consumer* consumer = router->FindConsumer(id);
      auto& fbb = respond.builder();
      const auto& s = consumer->stats();
      const router::Producer* producer = router->FindProducer(consumer->producer_id());
      const size_t encoding = consumer->current_encoding();
      const std::string rid = producer && encoding < producer->encoding_count()
                                  ? producer->rid(encoding)
                                  : std::string();
      auto rid_offset = fbb.CreateString(rid);
      std::vector<flatbuffers::Offset<fbs::RtpStreamStats>> streams = {fbs::CreateRtpStreamStats(
          fbb, s.ssrc, s.packets, s.bytes, s.packets_lost, s.fraction_lost, s.jitter,
          s.pli_received, s.fir_received, s.nack_received, rid_offset, s.retransmitted, 0,
          s.nack_duplicates, s.nack_over_budget, s.nack_over_cap, s.nack_unavailable)};
      auto layer = [](size_t l) {
        return l == router::Consumer::kNoEncoding ? -1 : static_cast<int32_t>(l);
      };
      auto temporal = [](uint8_t t) {
        return t == router::LayerFilter::kTop ? -1 : static_cast<int32_t>(t);
      };
      auto stats = fbs::CreateConsumerStatsDirect(
          fbb, id.c_str(), consumer->paused(), consumer->producer_paused(), &streams,
          layer(consumer->current_spatial_layer()), layer(consumer->preferred_layer()),
          consumer->bandwidth_paused() ? -1 : layer(consumer->allocated_layer()),
          consumer->bandwidth_paused(), s.layer_switches,
          temporal(consumer->current_temporal_layer()),
          consumer->bandwidth_paused() ? -1 : temporal(consumer->allocated_temporal_layer()));
      return respond.Ok(fbs::ResponseBody::ConsumerStats, stats.Union());
    }
    default:
      return respond.Error(ipc::error::kNotImplemented, "unknown consumer method");
  }
  if (!status.ok()) return respond.Error(status);
  respond.Ok();
}

void RouterHandler::OnTransportIceState(const std::string& transport_id,
                                        transport::IceState state) {
  flatbuffers::FlatBufferBuilder fbb;
  auto body = fbs::CreateIceStateChange(fbb, ToFbs(state));
  notifier_->NotifyWithBody(fbb, fbs::Event::TRANSPORT_ICE_STATE_CHANGE, transport_id,
                            fbs::NotificationBody::IceStateChange, body.Union());
}

void RouterHandler::OnTransportDtlsState(const std::string& transport_id,
                                         transport::DtlsState state, const std::string& reason) {
  flatbuffers::FlatBufferBuilder fbb;
  auto body = fbs::CreateDtlsStateChangeDirect(fbb, ToFbs(state), reason.c_str());
  notifier_->NotifyWithBody(fbb, fbs::Event::TRANSPORT_DTLS_STATE_CHANGE, transport_id,
                            fbs::NotificationBody::DtlsStateChange, body.Union());
}

void RouterHandler::OnTransportBandwidth(const std::string& transport_id, int64_t estimate_bps,
                                         int64_t allocated_bps, int64_t desired_bps) {
  flatbuffers::FlatBufferBuilder fbb;
  auto body = fbs::CreateTransportBandwidth(fbb, static_cast<uint64_t>(estimate_bps),
                                            static_cast<uint64_t>(allocated_bps),
                                            static_cast<uint64_t>(desired_bps));
  notifier_->NotifyWithBody(fbb, fbs::Event::TRANSPORT_BANDWIDTH, transport_id,
                            fbs::NotificationBody::TransportBandwidth, body.Union());
}

void RouterHandler::OnTransportRemb(const std::string& transport_id, int64_t estimate_bps,
                                    uint64_t remb_sent) {
  flatbuffers::FlatBufferBuilder fbb;
  auto body = fbs::CreateTransportRemb(fbb, static_cast<uint64_t>(estimate_bps), remb_sent);
  notifier_->NotifyWithBody(fbb, fbs::Event::TRANSPORT_REMB, transport_id,
                            fbs::NotificationBody::TransportRemb, body.Union());
}

void RouterHandler::OnActiveSpeaker(const std::string& router_id, const std::string& producer_id) {
  flatbuffers::FlatBufferBuilder fbb;
  auto body = fbs::CreateActiveSpeakerDirect(fbb, producer_id.c_str());
  notifier_->NotifyWithBody(fbb, fbs::Event::ROUTER_ACTIVE_SPEAKER, router_id,
                            fbs::NotificationBody::ActiveSpeaker, body.Union());
}

void RouterHandler::OnProducerLayersNeeded(const std::string& producer_id, int max_layer) {
  flatbuffers::FlatBufferBuilder fbb;
  auto body = fbs::CreateLayersNeeded(fbb, static_cast<int16_t>(max_layer));
  notifier_->NotifyWithBody(fbb, fbs::Event::PRODUCER_LAYERS_NEEDED, producer_id,
                            fbs::NotificationBody::LayersNeeded, body.Union());
}

void RouterHandler::OnConsumerProducerClosed(const std::string& consumer_id) {
  notifier_->Notify(fbs::Event::CONSUMER_PRODUCER_CLOSED, consumer_id);
}

void RouterHandler::OnConsumerProducerPaused(const std::string& consumer_id, bool paused) {
  notifier_->Notify(
      paused ? fbs::Event::CONSUMER_PRODUCER_PAUSE : fbs::Event::CONSUMER_PRODUCER_RESUME,
      consumer_id);
}

std::unique_ptr<RequestHandler> MakeRequestHandler(uv_loop_t* loop, Notifier* notifier) {
  auto certificate = transport::DtlsCertificate::Generate();
  if (!certificate.ok()) {
    SB_LOG_ERROR("worker", "cannot create the DTLS certificate: {}",
                 certificate.status().ToString());
    return nullptr;
  }
  return std::make_unique<RouterHandler>(loop, notifier, *std::move(certificate));
}

}  // namespace sb::worker
