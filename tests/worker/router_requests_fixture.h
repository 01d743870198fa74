// The fixture of the worker request tests: a real switchboard-worker driven over IPC the way
// the control process drives it, with fake browsers (tests/worker/fake_peer.h) connected to
// its transports over loopback UDP.
#pragma once

#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "rtp/rtp_parameters.h"
#include "signaling/workers/worker_process.h"
#include "tests/signaling/workers/loop_fixture.h"
#include "tests/worker/fake_peer.h"
#include "worker/fbs/rtp_parameters_convert.h"

namespace sb::worker::testing {

using signaling::WorkerProcess;

inline constexpr uint32_t kOpusSsrc = 0x1111AAAA;
inline constexpr uint32_t kVp8Ssrc = 0x2222BBBB;
inline constexpr uint32_t kVp8RtxSsrc = 0x2222CCCC;
inline constexpr uint16_t kPortMin = 40000;
inline constexpr uint16_t kPortMax = 49999;

struct Candidate {
  std::string ip, protocol, type;
  uint16_t port = 0;
};

// What a test keeps of a response after its callback returned.
struct Reply {
  bool accepted = false;
  std::string error, reason;
  // WebRtcTransportInfo (ufrag and pwd also from IceParameters)
  std::string ufrag, pwd;
  std::vector<Candidate> candidates;
  std::vector<transport::Fingerprint> fingerprints;
  // ConsumeResponse
  std::optional<rtp::RtpParameters> consumer_params;
  bool paused = false, producer_paused = false;
  // RouterDump / WorkerDump
  std::vector<std::string> transports, producers, consumers, routers;
  // TransportStats
  bool has_stats = false;
  fbs::IceState ice_state = fbs::IceState::NEW;
  fbs::DtlsState dtls_state = fbs::DtlsState::NEW;
  std::string srtp_profile;
  std::string sctp_state;
  uint64_t rtp_received = 0, rtp_sent = 0, rtcp_received = 0, rtcp_sent = 0;
  // The drop and rate-limit counters, by their field name in TransportStats.
  std::map<std::string, uint64_t> counters;
  // ProducerStats / ConsumerStats: one entry per stream (per encoding for a producer)
  struct Stream {
    uint32_t ssrc = 0;
    std::string rid;
    uint64_t packets = 0;
    uint32_t pli_count = 0;
    uint64_t retransmitted = 0;
    uint32_t fir_count = 0, nack_count = 0;
    uint64_t key_frame_requests_suppressed = 0;
    uint64_t nack_duplicates = 0, nack_over_budget = 0, nack_over_cap = 0, nack_unavailable = 0;
  };
  std::vector<Stream> streams;
};

inline std::vector<std::string> Strings(
    const flatbuffers::Vector<flatbuffers::Offset<flatbuffers::String>>* v) {
  std::vector<std::string> out;
  if (v) {
    for (const auto* s : *v) out.push_back(s->str());
  }
  std::sort(out.begin(), out.end());
  return out;
}

inline Reply ToReply(const fbs::Response* response) {
  Reply r;
  r.accepted = response->accepted();
  if (response->error()) r.error = response->error()->str();
  if (response->reason()) r.reason = response->reason()->str();
  if (const auto* info = response->body_as_WebRtcTransportInfo()) {
    if (const auto* ice = info->ice_parameters()) {
      if (ice->username_fragment()) r.ufrag = ice->username_fragment()->str();
      if (ice->password()) r.pwd = ice->password()->str();
    }
    if (info->ice_candidates()) {
      for (const auto* c : *info->ice_candidates()) {
        r.candidates.push_back({c->ip() ? c->ip()->str() : "",
                                c->protocol() ? c->protocol()->str() : "",
                                c->type() ? c->type()->str() : "", c->port()});
      }
    }
    if (info->dtls_parameters() && info->dtls_parameters()->fingerprints()) {
      for (const auto* f : *info->dtls_parameters()->fingerprints()) {
        r.fingerprints.push_back({f->algorithm()->str(), f->value()->str()});
      }
    }
  }
  if (const auto* ice = response->body_as_IceParameters()) {
    if (ice->username_fragment()) r.ufrag = ice->username_fragment()->str();
    if (ice->password()) r.pwd = ice->password()->str();
  }
  if (const auto* consume = response->body_as_ConsumeResponse()) {
    auto params = ipc::FromFbs(consume->rtp_parameters());
    EXPECT_TRUE(params.ok()) << params.status();
    if (params.ok()) r.consumer_params = *std::move(params);
    r.paused = consume->paused();
    r.producer_paused = consume->producer_paused();
  }
  if (const auto* dump = response->body_as_RouterDump()) {
    r.transports = Strings(dump->transport_ids());
    r.producers = Strings(dump->producer_ids());
    r.consumers = Strings(dump->consumer_ids());
  }
  if (const auto* dump = response->body_as_WorkerDump()) {
    r.routers = Strings(dump->router_ids());
    if (dump->network()) {
      for (const auto* c : *dump->network()) r.counters[c->name()->str()] = c->value();
    }
  }
  if (const auto* stats = response->body_as_TransportStats()) {
    r.has_stats = true;
    r.ice_state = stats->ice_state();
    r.dtls_state = stats->dtls_state();
#define SB_COUNTER(name) r.counters[#name] = stats->name();
    SB_COUNTER(packets_dropped)
    SB_COUNTER(unknown_packets)
    SB_COUNTER(unknown_source)
    SB_COUNTER(stun_malformed)
    SB_COUNTER(stun_unauthenticated)
    SB_COUNTER(stun_replayed)
    SB_COUNTER(stun_ignored)
    SB_COUNTER(dtls_dropped)
    SB_COUNTER(dtls_client_hellos_after_handshake)
    SB_COUNTER(dtls_renegotiations_refused)
    SB_COUNTER(dtls_fingerprint_mismatches)
    SB_COUNTER(srtp_no_keys)
    SB_COUNTER(srtp_replayed)
    SB_COUNTER(srtp_auth_failed)
    SB_COUNTER(srtp_malformed)
    SB_COUNTER(rtp_malformed)
    SB_COUNTER(rtcp_malformed)
    SB_COUNTER(rtp_unknown_ssrc)
    SB_COUNTER(tcp_connections)
    SB_COUNTER(tcp_auth_failed)
    SB_COUNTER(selected_tcp)
    SB_COUNTER(key_frame_requests_suppressed)
    SB_COUNTER(nack_duplicates)
    SB_COUNTER(nack_over_budget)
    SB_COUNTER(nack_over_cap)
    SB_COUNTER(nack_unavailable)
    SB_COUNTER(data_producers)
    SB_COUNTER(data_consumers)
    SB_COUNTER(data_messages_received)
    SB_COUNTER(data_bytes_received)
    SB_COUNTER(data_messages_sent)
    SB_COUNTER(data_bytes_sent)
    SB_COUNTER(data_messages_dropped)
    SB_COUNTER(data_consumers_closed_slow)
    SB_COUNTER(data_queued_bytes)
    SB_COUNTER(data_messages_unexpected)
    SB_COUNTER(sctp_packets_invalid)
    SB_COUNTER(sctp_dcep_malformed)
    SB_COUNTER(data_channels_malformed)
#undef SB_COUNTER
    if (stats->sctp_state()) r.sctp_state = stats->sctp_state()->str();
    if (stats->srtp_profile()) r.srtp_profile = stats->srtp_profile()->str();
    r.rtp_received = stats->rtp_packets_received();
    r.rtp_sent = stats->rtp_packets_sent();
    r.rtcp_received = stats->rtcp_packets_received();
    r.rtcp_sent = stats->rtcp_packets_sent();
  }
  auto add_streams = [&](const auto* streams) {
    if (!streams) return;
    for (const auto* s : *streams) {
      Reply::Stream stream{s->ssrc(), s->rid() ? s->rid()->str() : "", s->packets(), s->pli_count(),
                           s->retransmitted()};
      stream.fir_count = s->fir_count();
      stream.nack_count = s->nack_count();
      stream.key_frame_requests_suppressed = s->key_frame_requests_suppressed();
      stream.nack_duplicates = s->nack_duplicates();
      stream.nack_over_budget = s->nack_over_budget();
      stream.nack_over_cap = s->nack_over_cap();
      stream.nack_unavailable = s->nack_unavailable();
      r.streams.push_back(stream);
    }
  };
  if (const auto* stats = response->body_as_ProducerStats()) add_streams(stats->streams());
  if (const auto* stats = response->body_as_ConsumerStats()) add_streams(stats->streams());
  return r;
}

// What Chromium offers to receive: its own payload types and extension ids, which the router
// does not adopt (consumers use the router's).
inline rtp::RtpCapabilities ChromiumCapabilities(bool with_video = true) {
  using rtp::MediaKind;
  rtp::RtpCapabilities caps;
  const std::vector<rtp::RtcpFeedback> video_fb = {
      {"goog-remb", ""}, {"transport-cc", ""}, {"ccm", "fir"}, {"nack", ""}, {"nack", "pli"}};
  caps.codecs.push_back({MediaKind::kAudio,
                         "audio/opus",
                         111,
                         48000,
                         2,
                         {{"minptime", "10"}, {"useinbandfec", "1"}},
                         {{"transport-cc", ""}}});
  if (with_video) {
    caps.codecs.push_back({MediaKind::kVideo, "video/VP8", 96, 90000, 0, {}, video_fb});
    caps.codecs.push_back({MediaKind::kVideo, "video/rtx", 97, 90000, 0, {{"apt", "96"}}, {}});
  }
  caps.codecs.push_back({MediaKind::kVideo,
                         "video/H264",
                         102,
                         90000,
                         0,
                         {{"level-asymmetry-allowed", "1"},
                          {"packetization-mode", "1"},
                          {"profile-level-id", "42001f"}},
                         video_fb});
  caps.codecs.push_back({MediaKind::kVideo, "video/rtx", 103, 90000, 0, {{"apt", "102"}}, {}});
  for (MediaKind kind : {MediaKind::kAudio, MediaKind::kVideo}) {
    caps.header_extensions.push_back({kind, rtp::kUriMid, 9});
    caps.header_extensions.push_back({kind, rtp::kUriAbsSendTime, 2});
    caps.header_extensions.push_back({kind, rtp::kUriTransportWideCc, 3});
  }
  caps.header_extensions.push_back({MediaKind::kAudio, rtp::kUriAudioLevel, 1});
  caps.header_extensions.push_back({MediaKind::kVideo, rtp::kUriToffset, 14});
  caps.header_extensions.push_back({MediaKind::kVideo, rtp::kUriVideoOrientation, 13});
  return caps;
}

class RouterRequestsTest : public signaling::testing::LoopTest, public WorkerProcess::Listener {
 protected:
  void SetUp() override {
    worker_ = SpawnWorker();
    ASSERT_TRUE(worker_);
    ASSERT_TRUE(RunUntil([&] { return Notified(fbs::Event::WORKER_RUNNING, "") > 0; },
                         std::chrono::seconds(5)));
  }
  // A switchboard-worker whose notifications this fixture keeps; null (a failure) if it could
  // not be started.
  std::unique_ptr<WorkerProcess> SpawnWorker() {
    WorkerProcess::Options options;
    options.binary_path = SB_WORKER_BINARY;
    options.log_level = "warn";
    options.request_timeout = std::chrono::milliseconds(5000);
    auto worker = WorkerProcess::Spawn(&loop_, options, this);
    EXPECT_TRUE(worker.ok()) << worker.status();
    if (!worker.ok()) return nullptr;
    (*worker)->SetNotificationHandler([this](const fbs::Notification& n) { OnNotification(n); });
    return *std::move(worker);
  }
  // Keeps what a worker notified (the second worker of a pipe test too).
  void OnNotification(const fbs::Notification& n) {
    notifications_.push_back({n.event(), n.handler_id() ? n.handler_id()->str() : ""});
    if (const auto* opened = n.body_as_DataProducerOpened()) {
      data_producers_.push_back(
          {n.handler_id() ? n.handler_id()->str() : "", opened->data_producer_id()->str(),
           opened->label() ? opened->label()->str() : "",
           opened->protocol() ? opened->protocol()->str() : "", opened->ordered(),
           opened->max_retransmits(), opened->origin_label() ? opened->origin_label()->str() : "",
           opened->origin_protocol() ? opened->origin_protocol()->str() : ""});
    }
    if (const auto* closed = n.body_as_DataConsumerClosed()) {
      data_consumers_closed_[n.handler_id() ? n.handler_id()->str() : ""] =
          closed->reason() ? closed->reason()->str() : "";
    }
    if (const auto* dtls = n.body_as_DtlsStateChange()) {
      dtls_states_.push_back({n.handler_id() ? n.handler_id()->str() : "", dtls->state()});
      dtls_reasons_.push_back(dtls->reason() ? dtls->reason()->str() : "");
    }
  }
  void TearDown() override {
    peers_.clear();
    CloseAndReap(worker_);
  }
  // Closes a worker and runs the loop until its child is reaped: its libuv handles are freed
  // then, not when the WorkerProcess goes (a second worker of a pipe test could outlive the
  // loop's last turns under ASan and be reported as leaked).
  void CloseAndReap(std::unique_ptr<WorkerProcess>& worker) {
    if (!worker) return;
    const pid_t pid = worker->pid();
    worker.reset();
    // A zombie still answers kill(pid, 0); once libuv has reaped it, ESRCH.
    RunUntil([&] { return pid <= 0 || kill(pid, 0) != 0; }, std::chrono::seconds(10));
    RunFor(std::chrono::milliseconds(20));  // the exit callback's handle closes
  }
  void OnWorkerExited(WorkerProcess* /*worker*/, int64_t /*status*/, int signal) override {
    exited_ = true;
    EXPECT_EQ(signal, 0) << "the worker died of a signal";
  }

  Reply Call(fbs::Method method, std::string handler_id = "",
             const WorkerProcess::BuildBodyFn& body = {}) {
    std::optional<Reply> reply;
    worker_->Request(method, std::move(handler_id), body,
                     [&](const fbs::Response* response) { reply = ToReply(response); });
    EXPECT_TRUE(RunUntil([&] { return reply.has_value(); }, std::chrono::seconds(6)));
    if (!reply) {
      Reply none;
      none.error = "NoReply";
      return none;
    }
    return *reply;
  }

  Reply CreateRouter(const std::string& id) {
    return Call(fbs::Method::WORKER_CREATE_ROUTER, "", [&](flatbuffers::FlatBufferBuilder& fbb) {
      auto body = fbs::CreateCreateRouterRequestDirect(fbb, id.c_str());
      return std::make_pair(fbs::RequestBody::CreateRouterRequest, body.Union());
    });
  }
  // `ice_tcp`: the worker's ICE-TCP listener on `ice_tcp_port` (0: a free one) as well.
  // `shared_udp`: the worker's one UDP socket on `udp_port` (0: a free one), not a port each;
  // `fallback`: a port of its own when that one is busy.
  Reply CreateTransport(const std::string& router_id, const std::string& id, bool ice_tcp = false,
                        uint16_t ice_tcp_port = 0, bool shared_udp = false, uint16_t udp_port = 0,
                        bool fallback = false) {
    return Call(fbs::Method::ROUTER_CREATE_WEBRTC_TRANSPORT, router_id,
                [&](flatbuffers::FlatBufferBuilder& fbb) {
                  std::vector<flatbuffers::Offset<fbs::ListenAddress>> listen = {
                      fbs::CreateListenAddressDirect(fbb, "127.0.0.1")};
                  auto body = fbs::CreateCreateWebRtcTransportRequestDirect(
                      fbb, id.c_str(), &listen, kPortMin, kPortMax, ice_tcp, ice_tcp_port,
                      shared_udp, udp_port, fallback);
                  return std::make_pair(fbs::RequestBody::CreateWebRtcTransportRequest,
                                        body.Union());
                });
  }
  // `fingerprints` are the remote (browser) side's; the browser is the DTLS client.
  Reply Connect(const std::string& transport_id,
                const std::vector<transport::Fingerprint>& fingerprints) {
    return Call(
        fbs::Method::TRANSPORT_CONNECT, transport_id, [&](flatbuffers::FlatBufferBuilder& fbb) {
          std::vector<flatbuffers::Offset<fbs::DtlsFingerprint>> list;
          for (const auto& f : fingerprints) {
            list.push_back(
                fbs::CreateDtlsFingerprintDirect(fbb, f.algorithm.c_str(), f.value.c_str()));
          }
          auto dtls = fbs::CreateDtlsParametersDirect(fbb, fbs::DtlsRole::CLIENT, &list);
          auto body = fbs::CreateConnectWebRtcTransportRequest(fbb, dtls);
          return std::make_pair(fbs::RequestBody::ConnectWebRtcTransportRequest, body.Union());
        });
  }
  Reply Produce(const std::string& transport_id, const std::string& id, rtp::MediaKind kind,
                const rtp::RtpParameters& params, bool paused = false) {
    return Call(
        fbs::Method::TRANSPORT_PRODUCE, transport_id, [&](flatbuffers::FlatBufferBuilder& fbb) {
          auto p = ipc::ToFbs(fbb, params);
          auto body = fbs::CreateProduceRequestDirect(fbb, id.c_str(), ipc::ToFbs(kind), p, paused);
          return std::make_pair(fbs::RequestBody::ProduceRequest, body.Union());
        });
  }
  Reply Consume(const std::string& transport_id, const std::string& id,
                const std::string& producer_id, const rtp::RtpCapabilities& caps,
                const std::string& mid, bool paused = false) {
    return Call(fbs::Method::TRANSPORT_CONSUME, transport_id,
                [&](flatbuffers::FlatBufferBuilder& fbb) {
                  auto c = ipc::ToFbs(fbb, caps);
                  auto body = fbs::CreateConsumeRequestDirect(fbb, id.c_str(), producer_id.c_str(),
                                                              c, mid.c_str(), paused);
                  return std::make_pair(fbs::RequestBody::ConsumeRequest, body.Union());
                });
  }

  Reply RestartIce(const std::string& transport_id) {
    return Call(fbs::Method::TRANSPORT_RESTART_ICE, transport_id);
  }

  int Notified(fbs::Event event, const std::string& handler_id) const {
    return static_cast<int>(
        std::count_if(notifications_.begin(), notifications_.end(),
                      [&](const auto& n) { return n.first == event && n.second == handler_id; }));
  }
  bool DtlsConnected(const std::string& transport_id) const {
    return std::any_of(dtls_states_.begin(), dtls_states_.end(), [&](const auto& s) {
      return s.first == transport_id && s.second == fbs::DtlsState::CONNECTED;
    });
  }

  // A fake browser connected (ICE + DTLS) to a transport created with `info`; with `sctp`, it
  // starts an SCTP association once DTLS is up, as a browser with data channels does.
  FakePeer* ConnectPeer(const std::string& transport_id, const Reply& info, bool sctp = false) {
    auto peer = FakePeer::Create(&loop_);
    EXPECT_TRUE(peer.ok()) << peer.status();
    if (!peer.ok()) return nullptr;
    FakePeer* raw = peer->get();
    peers_.push_back(*std::move(peer));
    EXPECT_TRUE(Connect(transport_id, raw->fingerprints()).accepted);
    EXPECT_EQ(info.candidates.size(), 1u);
    if (info.candidates.empty()) return nullptr;
    raw->SendBindingRequest(info.candidates[0].port, info.ufrag, info.pwd);
    EXPECT_TRUE(RunUntil([&] { return raw->ice_completed(); }, std::chrono::seconds(3)))
        << "no STUN success response from " << transport_id;
    if (sctp) raw->EnableSctp();
    EXPECT_TRUE(raw->StartDtls(info.fingerprints).ok());
    EXPECT_TRUE(RunUntil([&] { return raw->dtls_connected() && DtlsConnected(transport_id); },
                         std::chrono::seconds(5)))
        << "DTLS did not connect on " << transport_id;
    return raw;
  }

  // Router "room" with transports "pub" and "sub", a connected fake browser on each; nulls
  // (with the failure reported) when any step fails.
  std::pair<FakePeer*, FakePeer*> ConnectPublisherAndSubscriber() {
    if (!CreateRouter("room").accepted) {
      ADD_FAILURE() << "router not created";
      return {};
    }
    Reply pub_info = CreateTransport("room", "pub");
    Reply sub_info = CreateTransport("room", "sub");
    EXPECT_TRUE(pub_info.accepted && sub_info.accepted);
    if (!pub_info.accepted || !sub_info.accepted) return {};
    return {ConnectPeer("pub", pub_info), ConnectPeer("sub", sub_info)};
  }

  // DATA_PRODUCER_OPENED and DATA_CONSUMER_CLOSED as they came.
  struct DataProducerNotice {
    std::string transport_id, id, label, protocol;
    bool ordered = true;
    int64_t max_retransmits = -1;
    std::string origin_label, origin_protocol;  // a pipe's copy of a producer (else empty)
  };
  std::vector<DataProducerNotice> data_producers_;
  std::map<std::string, std::string> data_consumers_closed_;  // id -> reason

  std::unique_ptr<WorkerProcess> worker_;
  std::vector<std::pair<fbs::Event, std::string>> notifications_;
  std::vector<std::pair<std::string, fbs::DtlsState>> dtls_states_;
  std::vector<std::string> dtls_reasons_;  // one per dtls_states_ entry
  std::vector<std::unique_ptr<FakePeer>> peers_;
  bool exited_ = false;
};

}  // namespace sb::worker::testing
