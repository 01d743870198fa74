#include "signaling/server.h"

#include <unistd.h>

#include <filesystem>
#include <utility>

#include "absl/algorithm/container.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/log.h"
#include "base/token_bucket.h"
#include "signaling/client_message.h"
#include "signaling/http/self_signed_cert.h"
#include "signaling/http/text.h"
#include "signaling/origin.h"

namespace sb::signaling {
namespace {

// A trial certificate (--tls-self-signed) outlives any trial; a new one comes with a restart.
constexpr int kSelfSignedCertDays = 30;

}  // namespace

// One WebSocket client: parses its JSON and hands it to the conference.
class Server::Session : public http::WebSocket::Listener, public ClientSink {
 public:
  Session(Server* server, std::shared_ptr<http::WebSocket> socket)
      : server_(server),
        socket_(std::move(socket)),
        rate_(server->config_.messages_per_second, server->config_.messages_per_second * 4) {
    socket_->SetListener(this);
  }
  ~Session() override { socket_->SetListener(nullptr); }

  const std::string& participant_id() const { return participant_id_; }
  void set_participant_id(std::string id) { participant_id_ = std::move(id); }

  void OnMessage(std::string_view text) override {
    // A flood is refused before any parsing; what is refused gets one short error each.
    if (!rate_.Take(uv_now(server_->loop_))) {
      server_->rejections_.Count(Rejection::kRateLimited);
      server_->conference_->SendError(
          this, "rate-limited",
          absl::StrCat("more than ", server_->config_.messages_per_second,
                       " messages a second; this one was dropped"),
          nlohmann::json());
      return;
    }
    // Bounded (size, depth, requestId) before nlohmann builds a tree: client_message.h.
    ParsedClientMessage parsed = ParseClientMessage(text);
    if (parsed.rejected) {
      server_->rejections_.Count(parsed.rejected->reason);
      server_->conference_->SendError(this, parsed.rejected->code, parsed.rejected->message,
                                      parsed.rejected->context);
      return;
    }
    server_->conference_->HandleMessage(this, participant_id_, parsed.message);
  }

  void OnClose() override {
    std::string id = std::move(participant_id_);
    participant_id_.clear();
    // A close frame is a page closing (or a client we sent away): it leaves now. A connection
    // that just broke may resume.
    server_->conference_->HandleDisconnect(id, /*may_resume=*/!socket_->closed_cleanly());
    server_->sessions_.erase(socket_->id());  // destroys this; nothing may follow
  }

  void SendToClient(const nlohmann::json& message) override {
    // Replacement of invalid UTF-8 keeps a hostile display name from breaking the dump.
    socket_->Send(message.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  }

  void OnRemovedFromRoom() override { participant_id_.clear(); }

  void CloseReplaced() override { socket_->Close(4000, "session resumed on another connection"); }

 private:
  Server* const server_;
  std::shared_ptr<http::WebSocket> socket_;
  TokenBucket rate_;  // messages from this client
  std::string participant_id_;
};

Server::Server(uv_loop_t* loop, Config config) : loop_(loop), config_(std::move(config)) {}

Server::~Server() {
  sessions_.clear();
  conference_.reset();
}

absl::Status Server::Start() {
  WorkerPool::Options pool_options;
  pool_options.binary_path = config_.worker_binary;
  pool_options.num_workers = config_.workers;
  pool_options.heartbeat_interval = std::chrono::seconds(config_.worker_heartbeat_seconds);
  pool_options.hang_timeout = std::chrono::seconds(config_.worker_hang_timeout_seconds);
  static constexpr const char* kLevels[] = {"debug", "info", "warn", "error", "off"};
  pool_options.log_level = kLevels[static_cast<int>(config_.log_level)];
  pool_ = std::make_unique<WorkerPool>(loop_, pool_options, this);
  if (auto status = pool_->Start(); !status.ok()) return status;
  ConferenceTiming timing;
  timing.resume_grace_ms = static_cast<uint64_t>(config_.resume_grace_seconds) * 1000;
  timing.answer_timeout_ms = static_cast<uint64_t>(config_.answer_timeout_seconds) * 1000;
  conference_ = std::make_unique<Conference>(loop_, config_, pool_.get(), timing);
  conference_->on_joined = [this](ClientSink* sink, const std::string& participant_id) {
    static_cast<Session*>(sink)->set_participant_id(participant_id);
  };

  http::HttpServer::Options http_options;
  http_options.listen_ip = config_.listen_ip;
  http_options.port = config_.port;
  http_options.web_root = config_.web_root;
  http_options.max_connections = static_cast<size_t>(config_.max_connections);
  http_options.max_connections_per_ip = static_cast<size_t>(config_.max_connections_per_ip);
  http_options.websocket_ping_interval_ms =
      static_cast<uint64_t>(config_.websocket_ping_seconds) * 1000;
  http_options.websocket_timeout_ms = 3 * http_options.websocket_ping_interval_ms;
  if (config_.tls_self_signed) {
    // For every name a browser on the LAN may use to reach us: the listen and announced
    // addresses (a wildcard listen address names none), and this machine.
    std::vector<std::string> hosts;
    std::vector<std::string> ips = {config_.listen_ip};
    ips.insert(ips.end(), config_.announced_ips.begin(), config_.announced_ips.end());
    ips.insert(ips.end(), config_.rtc_listen_ips.begin(), config_.rtc_listen_ips.end());
    for (const std::string& ip : ips) {
      if (ip != "0.0.0.0" && ip != "::" && absl::c_find(hosts, ip) == hosts.end()) {
        hosts.push_back(ip);
      }
    }
    for (const char* local : {"localhost", "127.0.0.1", "::1"}) hosts.push_back(local);
    auto cert = http::GenerateSelfSignedCertificate(hosts, kSelfSignedCertDays);
    if (!cert.ok()) return cert.status();
    SB_LOG_INFO("server",
                "--tls-self-signed: generated a certificate for {}, valid {} days; its SHA-256 "
                "fingerprint (the browser shows it when it warns) is {}",
                absl::StrJoin(hosts, ", "), kSelfSignedCertDays, cert->sha256_fingerprint);
    http_options.tls_cert_pem = std::move(cert->cert_pem);
    http_options.tls_key_pem = std::move(cert->key_pem);
  } else if (!config_.tls_cert_file.empty()) {
    http_options.tls_cert_file = config_.tls_cert_file;
    http_options.tls_key_file = config_.tls_key_file;
  }
  http_ = std::make_unique<http::HttpServer>(loop_, http_options);
  http_->Handle("/api/health", AdminOnly([this](const http::Request&) {
                  nlohmann::json health = {{"status", "ok"}, {"workers", pool_->size()}};
                  return http::Response{200, "application/json", health.dump()};
                }));
  http_->Handle("/api/rooms", AdminOnly([this](const http::Request&) {
                  return http::Response{200, "application/json", conference_->RoomsJson().dump(2)};
                }));
  http_->Handle("/api/nodes", AdminOnly([this](const http::Request&) {
                  nlohmann::json nodes =
                      cluster_
                          ? cluster_->Json()
                          : nlohmann::json{{"node", nullptr}, {"nodes", nlohmann::json::array()}};
                  return http::Response{200, "application/json", nodes.dump(2)};
                }));
  http_->Handle("/metrics", AdminOnly([this](const http::Request&) {
                  return http::Response{200, "text/plain; version=0.0.4", Metrics()};
                }));
  http_->OnWebSocket(
      "/ws", [this](std::shared_ptr<http::WebSocket> socket) { OnWebSocket(std::move(socket)); },
      [this](const http::Request& request) { return CheckOrigin(request); });
  if (auto status = http_->Start(); !status.ok()) return status;
  SB_LOG_INFO("server", "serving {}://{}:{}/ with {} worker(s), rooms of up to {}",
              config_.tls() ? "https" : "http", config_.listen_ip, http_->port(), pool_->size(),
              config_.room_capacity);
  SB_LOG_INFO(
      "server", "{}; WebSocket pages from {}",
      config_.auth_secret.empty()
          ? "no --auth-secret: anyone may join any room and read /api/* and /metrics"
          : "joins need a token, /api/* and /metrics an admin token",
      config_.allowed_origins.empty()
          ? std::string(config_.tls() ? "the server's own https origin" : "the server's own origin")
          : absl::StrJoin(config_.allowed_origins, ", "));
  if (!config_.redis.empty()) {
    cluster_ =
        std::make_unique<ClusterNode>(loop_, config_, http_->port(), conference_.get(), [this] {
          return cluster::NodeLoad{static_cast<int64_t>(conference_->local_participant_count()),
                                   static_cast<int64_t>(pool_->size())};
        });
    conference_->JoinCluster(cluster_->node_id(), cluster_.get(), cluster_->pipe_ip());
    conference_->on_room_opened = [this](const std::string& room) { cluster_->RoomOpened(room); };
    conference_->on_room_closed = [this](const std::string& room) { cluster_->RoomClosed(room); };
    conference_->on_participant_changed = [this](const std::string& room,
                                                 const RemoteEntry& entry) {
      cluster_->ParticipantChanged(room, entry);
    };
    conference_->cluster_nodes = [this] { return cluster_->Addresses(); };
    conference_->on_participant_removed = [this](const std::string& room, const std::string& id) {
      cluster_->ParticipantRemoved(room, id);
    };
    if (auto status = cluster_->Start(); !status.ok()) return status;
  }
  if (!config_.turn_urls.empty()) {
    // The URLs only: the secret is never logged.
    SB_LOG_INFO("server", "TURN relay(s) for clients: {}; credentials valid {} s",
                absl::StrJoin(config_.turn_urls, ", "), config_.turn_ttl_seconds);
  }
  return absl::OkStatus();
}

void Server::Stop(std::function<void()> done) {
  if (http_) http_->Stop();
  sessions_.clear();
  // Its timers (offer retries, resume grace periods) would keep the loop running and then
  // talk to the sessions just destroyed.
  if (conference_) conference_->Shutdown();
  auto close_workers = [this, done = std::move(done)]() mutable {
    if (pool_) {
      pool_->Close(std::move(done));
    } else if (done) {
      done();
    }
  };
  // A clean leave from the cluster first: the other nodes need not wait for our key to expire.
  if (cluster_) return cluster_->Stop(std::move(close_workers));
  close_workers();
}

uint16_t Server::port() const { return http_ ? http_->port() : 0; }

void Server::OnWebSocket(std::shared_ptr<http::WebSocket> socket) {
  const uint64_t id = socket->id();
  sessions_[id] = std::make_unique<Session>(this, std::move(socket));
}

std::optional<http::Response> Server::CheckOrigin(const http::Request& request) {
  const std::optional<std::string_view> origin = request.Header("Origin");
  if (OriginAllowed(origin, request.Header("Host"), config_.allowed_origins, config_.tls())) {
    return std::nullopt;
  }
  http_auth_failures_.Count(AuthFailure::kOrigin);
  // Debug only, as fast as anyone cares to knock (the counter says how many); the Origin is the
  // client's text: only a bounded piece of it goes to the log.
  SB_LOG_DEBUG("server", "WebSocket refused: Origin '{}' is not allowed",
               origin->substr(0, std::min<size_t>(origin->size(), 100)));
  return http::Response{403, "text/plain; charset=utf-8",
                        "403 Forbidden: pages from this origin may not open a WebSocket here "
                        "(--allowed-origins)\n"};
}

http::HttpServer::Handler Server::AdminOnly(http::HttpServer::Handler handler) {
  return [this, handler = std::move(handler)](const http::Request& request) -> http::Response {
    if (config_.auth_secret.empty()) return handler(request);
    // RFC 6750 section 2.1: "Authorization: Bearer <token>"; the scheme is case-insensitive.
    std::string_view token;
    if (std::optional<std::string_view> authorization = request.Header("Authorization")) {
      const std::string_view value = http::text::TrimOws(*authorization);
      if (value.size() > 7 && http::text::EqualsIgnoreCase(value.substr(0, 7), "Bearer ")) {
        token = http::text::TrimOws(value.substr(7));
      }
    }
    // RFC 6750 section 3: a challenge on 401, with why when a token was sent.
    auto refuse = [this](int status, AuthFailure failure, const std::string& error,
                         const std::string& why) {
      http_auth_failures_.Count(failure);
      std::string challenge = "WWW-Authenticate: Bearer realm=\"switchboard\"";
      if (!error.empty()) absl::StrAppend(&challenge, ", error=\"", error, "\"");
      return http::Response{
          status,
          "text/plain; charset=utf-8",
          absl::StrCat(status, " ", std::string(http::StatusReason(status)), ": ", why, "\n"),
          {challenge}};
    };
    if (token.empty()) {
      return refuse(401, AuthFailure::kMissing, "",
                    "this server needs \"Authorization: Bearer <admin token>\" "
                    "(switchboard token --admin)");
    }
    auto claims = VerifyToken(token, config_.auth_secret, NowSeconds());
    if (!claims.ok()) {
      return refuse(401, FailureOf(claims.status()), "invalid_token",
                    std::string(claims.status().message()));
    }
    if (!claims->admin) {
      return refuse(403, AuthFailure::kNotAdmin, "insufficient_scope",
                    "a participant token; this needs an admin token");
    }
    return handler(request);
  };
}

void Server::OnWorkerDied(int index) {
  SB_LOG_WARN("server", "worker {} died; closing its rooms", index);
  if (conference_) conference_->OnWorkerDied(index);
}

void Server::OnWorkerNotification(int index, const fbs::Notification& notification) {
  if (conference_) conference_->OnWorkerNotification(index, notification);
}

std::string Server::Metrics() const {
  const auto& c = conference_->counters();
  MetricsText out;
  out.Gauge("switchboard_rooms", "Rooms open now.", conference_->room_count());
  out.Gauge("switchboard_participants", "Participants in rooms now.",
            conference_->participant_count());
  out.Gauge("switchboard_websockets", "Open WebSocket connections.", sessions_.size());
  out.Gauge("switchboard_workers", "Worker processes configured.", pool_->size());
  if (cluster_) {
    out.Gauge("switchboard_cluster_nodes",
              "Live nodes of the cluster this node knows, itself included.",
              cluster_->live_node_count());
    out.Gauge("switchboard_cluster_redis_connected", "1 while the connection to Redis is up.",
              cluster_->redis_connected() ? 1 : 0);
    out.Counter("switchboard_cluster_redis_auth_failures_total",
                "Connections to Redis whose AUTH was refused (a wrong user or password), or "
                "refused with NOAUTH (a password needed and none configured).",
                cluster_->redis_auth_failures());
    out.Counter("switchboard_cluster_nodes_down_total",
                "Other nodes found dead (their registration expired) and purged.",
                cluster_->counters().nodes_down);
  }
  out.Counter("switchboard_worker_restarts_total", "Workers restarted after dying.",
              pool_->restarts());
  out.LabeledCounter("switchboard_worker_network_total",
                     "The workers' shared sockets (one UDP port per worker, ICE-TCP listeners), "
                     "as of their last heartbeat: datagrams and connections received, and those "
                     "dropped or closed by reason (docs/ipc.md, worker network counters).",
                     "counter", pool_->NetworkCounters());
  out.Counter("switchboard_worker_hangs_total",
              "Workers killed (and restarted) because they left a heartbeat unanswered.",
              pool_->hangs());
  out.Counter("switchboard_joins_total", "Joins accepted.", c.joins);
  out.Counter("switchboard_room_full_total", "Joins refused because the room was full.", c.full);
  out.Counter("switchboard_signaling_errors_total", "Error replies sent to clients.",
              c.errors_sent);
  out.Counter("switchboard_rooms_closed_by_worker_death_total",
              "Rooms closed because their worker died.", c.rooms_closed_by_worker_death);
  out.Counter("switchboard_participants_moved_by_worker_death_total",
              "Participants of a room spanning workers told to join again because their worker "
              "died (the room went on on the others).",
              c.participants_moved_by_worker_death);
  out.Gauge("switchboard_participants_disconnected",
            "Participants whose connection broke, within their resume grace period.",
            conference_->disconnected_count());
  out.Counter("switchboard_resumes_total", "Participants who resumed after a broken connection.",
              c.resumes);
  out.Counter("switchboard_resume_expired_total",
              "Participants removed because they did not resume within the grace period.",
              c.resume_expired);
  out.Counter("switchboard_ice_restarts_total", "ICE restarts done.", c.ice_restarts);
  out.Counter("switchboard_subscribe_offers_total", "Subscribe offers sent.", c.offers_sent);
  out.Counter("switchboard_subscribe_offer_retries_total",
              "Subscribe offers sent again after a failed or missing answer.", c.offers_retried);
  out.Counter("switchboard_tracks_not_forwarded_total",
              "Tracks not forwarded to a subscriber whose connection was at its m-line limit.",
              c.tracks_not_forwarded);
  out.Counter("switchboard_media_failures_total",
              "Participants removed because their DTLS/SRTP setup failed (told with room-closed).",
              c.media_failures);
  out.Counter("switchboard_data_channels_total",
              "Data channels participants opened that are forwarded to the room.",
              c.data_producers);
  out.Counter("switchboard_data_channels_refused_total",
              "Data channels not forwarded: their participant had 16 open already.",
              c.data_producers_refused);
  out.Counter("switchboard_data_receivers_too_slow_total",
              "Reliable data channels the server closed because their receiver did not keep up "
              "(told with data-channel-closed).",
              c.data_consumers_closed_slow);
  out.Counter("switchboard_data_channels_not_piped_total",
              "Data channels not opened because sender and receiver are on different routers of "
              "one room (workers or nodes) and the sender's could not be piped.",
              c.data_not_piped);
  const RoomMedia::Counters& m = conference_->media_counters();
  out.Counter("switchboard_room_routers_total",
              "Routers made for rooms: one per room, and one more each time a room spreads to "
              "another worker.",
              m.shards_opened);
  out.Counter("switchboard_pipes_total",
              "Pipes connected between two workers' routers of one room.", m.pipes_opened);
  out.Counter("switchboard_producers_piped_total",
              "Tracks piped to another worker of their room for its subscribers.",
              m.producers_piped);
  out.Counter("switchboard_data_producers_piped_total",
              "Data channels piped to another worker of their room for its receivers there.",
              m.data_producers_piped);
  out.Counter("switchboard_pipe_failures_total",
              "Pipes or piped tracks that could not be made (their subscribers miss the track).",
              m.pipe_failures);
  out.LabeledCounter("switchboard_joins_refused_total",
                     "Joins refused by a server-wide limit: joins a second (rate), rooms open, "
                     "participants on the room's worker.",
                     "reason",
                     {{"rate", c.joins_refused_rate},
                      {"rooms", c.joins_refused_rooms},
                      {"worker", c.joins_refused_worker}});
  std::vector<std::pair<std::string, uint64_t>> auth_failures;
  for (size_t i = 0; i < kAuthFailureCount; ++i) {
    const auto failure = static_cast<AuthFailure>(i);
    auth_failures.emplace_back(AuthFailureLabel(failure),
                               c.auth.count(failure) + http_auth_failures_.count(failure));
  }
  out.LabeledCounter("switchboard_auth_failures_total",
                     "Refused for want of authorization (--auth-secret, --allowed-origins): no "
                     "token (missing), a bad signature or algorithm (invalid), expired, bad "
                     "claims, a token for another room (wrong_room), a participant token on the "
                     "admin API (not_admin), a publish without canPublish (publish_denied), a "
                     "WebSocket from a foreign Origin (origin).",
                     "reason", auth_failures);
  RejectionMetrics(rejections_, http_->counters(), out);
  return out.text();
}

namespace {

std::filesystem::path ExecutableDir(const char* argv0) {
  std::error_code ec;
  auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) self = std::filesystem::absolute(argv0, ec);
  return self.parent_path();
}

}  // namespace

std::string DefaultWebRoot(const char* argv0) {
  // Installed next to the binary, else the source tree's web/ (compiled in).
  auto beside = ExecutableDir(argv0) / "web";
  if (std::filesystem::exists(beside / "index.html")) return beside.string();
  return SB_SOURCE_WEB_DIR;
}

std::string DefaultWorkerBinary(const char* argv0) {
  auto dir = ExecutableDir(argv0);
  for (auto candidate :
       {dir / "switchboard-worker", dir / ".." / "worker" / "switchboard-worker"}) {
    if (access(candidate.c_str(), X_OK) == 0) return candidate.lexically_normal().string();
  }
  return (dir / "switchboard-worker").string();
}

}  // namespace sb::signaling
