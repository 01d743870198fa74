#include "signaling/worker_requests.h"

#include "absl/strings/str_cat.h"
#include "worker/fbs/rtp_parameters_convert.h"

namespace sb::signaling {

using Body = std::pair<fbs::RequestBody, flatbuffers::Offset<void>>;

WorkerProcess::BuildBodyFn CreateRouterBody(const std::string& router_id) {
  return [router_id](flatbuffers::FlatBufferBuilder& fbb) -> Body {
    auto body = fbs::CreateCreateRouterRequestDirect(fbb, router_id.c_str());
    return {fbs::RequestBody::CreateRouterRequest, body.Union()};
  };
}

WorkerProcess::BuildBodyFn CreateTransportBody(const std::string& transport_id,
                                               const Config& config, int worker_id) {
  // Worker i's ICE-TCP and shared UDP ports are the base + i; 0 stays 0 (the worker picks a free
  // one). A base so high that base + i overflows leaves that worker without ICE-TCP (or without
  // the shared port: a port per transport) rather than wrapping.
  const int tcp_port = config.ice_tcp_port == 0 ? 0 : config.ice_tcp_port + worker_id;
  const bool ice_tcp = config.ice_tcp && tcp_port <= 65535;
  const int udp_port = config.rtc_port + worker_id;
  const bool shared_udp = config.rtc_port != 0 && udp_port <= 65535;
  const bool fallback = !config.rtc_port_strict;
  return [transport_id, config, ice_tcp, tcp_port, shared_udp, udp_port,
          fallback](flatbuffers::FlatBufferBuilder& fbb) -> Body {
    std::vector<flatbuffers::Offset<fbs::ListenAddress>> listen;
    for (const std::string& ip : config.rtc_listen_ips) {
      auto announced = fbb.CreateVectorOfStrings(config.AnnouncedFor(ip));
      listen.push_back(fbs::CreateListenAddress(fbb, fbb.CreateString(ip), announced));
    }
    auto body = fbs::CreateCreateWebRtcTransportRequestDirect(
        fbb, transport_id.c_str(), &listen, config.rtc_port_min, config.rtc_port_max, ice_tcp,
        static_cast<uint16_t>(ice_tcp ? tcp_port : 0), shared_udp,
        static_cast<uint16_t>(shared_udp ? udp_port : 0), shared_udp && fallback);
    return {fbs::RequestBody::CreateWebRtcTransportRequest, body.Union()};
  };
}

WorkerProcess::BuildBodyFn ConnectBody(const std::vector<sdp::Fingerprint>& fingerprints,
                                       const std::string& remote_setup) {
  // RFC 5763 5: the answerer picks; we always answer passive to actpass, so an offering peer
  // with actpass or active is the DTLS client; an answering peer says active or passive.
  fbs::DtlsRole role = remote_setup == "passive" ? fbs::DtlsRole::SERVER : fbs::DtlsRole::CLIENT;
  return [fingerprints, role](flatbuffers::FlatBufferBuilder& fbb) -> Body {
    std::vector<flatbuffers::Offset<fbs::DtlsFingerprint>> list;
    for (const auto& f : fingerprints) {
      list.push_back(fbs::CreateDtlsFingerprintDirect(fbb, f.algorithm.c_str(), f.value.c_str()));
    }
    auto dtls = fbs::CreateDtlsParametersDirect(fbb, role, &list);
    auto body = fbs::CreateConnectWebRtcTransportRequest(fbb, dtls);
    return {fbs::RequestBody::ConnectWebRtcTransportRequest, body.Union()};
  };
}

WorkerProcess::BuildBodyFn ProduceBody(const std::string& producer_id, rtp::MediaKind kind,
                                       const rtp::RtpParameters& params) {
  return [producer_id, kind, params](flatbuffers::FlatBufferBuilder& fbb) -> Body {
    auto rtp = ipc::ToFbs(fbb, params);
    auto body =
        fbs::CreateProduceRequestDirect(fbb, producer_id.c_str(), ipc::ToFbs(kind), rtp, false);
    return {fbs::RequestBody::ProduceRequest, body.Union()};
  };
}

WorkerProcess::BuildBodyFn ConsumeBody(const std::string& consumer_id,
                                       const std::string& producer_id,
                                       const rtp::RtpCapabilities& caps, const std::string& mid,
                                       bool paused) {
  return [=](flatbuffers::FlatBufferBuilder& fbb) -> Body {
    auto fbs_caps = ipc::ToFbs(fbb, caps);
    auto body = fbs::CreateConsumeRequestDirect(fbb, consumer_id.c_str(), producer_id.c_str(),
                                                fbs_caps, mid.c_str(), paused);
    return {fbs::RequestBody::ConsumeRequest, body.Union()};
  };
}

WorkerProcess::BuildBodyFn CreatePipeBody(const std::string& transport_id,
                                          const std::string& listen_ip, bool srtp, bool sctp,
                                          bool sctp_client) {
  return [=](flatbuffers::FlatBufferBuilder& fbb) -> Body {
    auto body = fbs::CreateCreatePipeTransportRequestDirect(
        fbb, transport_id.c_str(), listen_ip.c_str(), srtp, sctp, sctp_client);
    return {fbs::RequestBody::CreatePipeTransportRequest, body.Union()};
  };
}

WorkerProcess::BuildBodyFn ConnectPipeBody(const std::string& ip, uint16_t port,
                                           const std::vector<uint8_t>& srtp_key) {
  return [=](flatbuffers::FlatBufferBuilder& fbb) -> Body {
    auto body = fbs::CreateConnectPipeTransportRequestDirect(
        fbb, ip.c_str(), port, srtp_key.empty() ? nullptr : &srtp_key);
    return {fbs::RequestBody::ConnectPipeTransportRequest, body.Union()};
  };
}

WorkerProcess::BuildBodyFn ConsumerPreferencesBody(int max_layer, bool paused, int priority) {
  return [=](flatbuffers::FlatBufferBuilder& fbb) -> Body {
    auto body = fbs::CreateConsumerPreferences(fbb, static_cast<int16_t>(max_layer), paused,
                                               static_cast<int8_t>(priority));
    return {fbs::RequestBody::ConsumerPreferences, body.Union()};
  };
}

WorkerProcess::BuildBodyFn EnableSctpBody(uint64_t max_message_size) {
  return [=](flatbuffers::FlatBufferBuilder& fbb) -> Body {
    auto body = fbs::CreateEnableSctpRequest(fbb, max_message_size);
    return {fbs::RequestBody::EnableSctpRequest, body.Union()};
  };
}

WorkerProcess::BuildBodyFn ConsumeDataBody(const std::string& data_consumer_id,
                                           const std::string& data_producer_id,
                                           const std::string& protocol) {
  return [=](flatbuffers::FlatBufferBuilder& fbb) -> Body {
    auto body = fbs::CreateConsumeDataRequestDirect(fbb, data_consumer_id.c_str(),
                                                    data_producer_id.c_str(), protocol.c_str());
    return {fbs::RequestBody::ConsumeDataRequest, body.Union()};
  };
}

std::string ResponseReason(const fbs::Response* response) {
  auto str = [](const flatbuffers::String* s) { return s ? s->str() : std::string(); };
  return absl::StrCat(str(response->error()), ": ", str(response->reason()));
}

sdp::LocalTransport LocalTransportFrom(const fbs::WebRtcTransportInfo* info) {
  sdp::LocalTransport local;
  if (!info) return local;
  if (const auto* ice = info->ice_parameters()) {
    if (ice->username_fragment()) local.ice_ufrag = ice->username_fragment()->str();
    if (ice->password()) local.ice_pwd = ice->password()->str();
  }
  if (const auto* candidates = info->ice_candidates()) {
    for (const auto* c : *candidates) {
      sdp::Candidate candidate;
      candidate.foundation = c->foundation() ? c->foundation()->str() : "1";
      candidate.priority = c->priority();
      candidate.ip = c->ip() ? c->ip()->str() : "";
      candidate.protocol = c->protocol() ? c->protocol()->str() : "udp";
      candidate.port = c->port();
      candidate.type = c->type() ? c->type()->str() : "host";
      local.candidates.push_back(std::move(candidate));
    }
  }
  if (const auto* dtls = info->dtls_parameters(); dtls && dtls->fingerprints()) {
    for (const auto* f : *dtls->fingerprints()) {
      local.fingerprints.push_back({f->algorithm()->str(), f->value()->str()});
    }
  }
  return local;
}

}  // namespace sb::signaling
