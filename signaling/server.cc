#include "signaling/server.h"

#include <unistd.h>

#include <filesystem>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/log.h"

namespace sb::signaling {

// One WebSocket client: parses its JSON and hands it to the conference.
class Server::Session : public http::WebSocket::Listener, public ClientSink {
 public:
  Session(Server* server, std::shared_ptr<http::WebSocket> socket)
      : server_(server), socket_(std::move(socket)) {
    socket_->SetListener(this);
  }
  ~Session() override { socket_->SetListener(nullptr); }

  const std::string& participant_id() const { return participant_id_; }
  void set_participant_id(std::string id) { participant_id_ = std::move(id); }

  void OnMessage(std::string_view text) override {
    nlohmann::json message = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (message.is_discarded() || !message.is_object()) {
      ++server_->messages_rejected_;
      server_->conference_->SendError(this, "bad-json", "a message must be one JSON object",
                                      nlohmann::json());
      return;
    }
    server_->conference_->HandleMessage(this, participant_id_, message);
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
  http_ = std::make_unique<http::HttpServer>(loop_, http_options);
  http_->Handle("/api/health", [this](const http::Request&) {
    nlohmann::json health = {{"status", "ok"}, {"workers", pool_->size()}};
    return http::Response{200, "application/json", health.dump()};
  });
  http_->Handle("/api/rooms", [this](const http::Request&) {
    return http::Response{200, "application/json", conference_->RoomsJson().dump(2)};
  });
  http_->Handle("/metrics", [this](const http::Request&) {
    return http::Response{200, "text/plain; version=0.0.4", Metrics()};
  });
  http_->OnWebSocket(
      "/ws", [this](std::shared_ptr<http::WebSocket> socket) { OnWebSocket(std::move(socket)); });
  if (auto status = http_->Start(); !status.ok()) return status;
  SB_LOG_INFO("server", "serving http://{}:{}/ with {} worker(s), rooms of up to {}",
              config_.listen_ip, http_->port(), pool_->size(), config_.room_capacity);
  return absl::OkStatus();
}

void Server::Stop(std::function<void()> done) {
  if (http_) http_->Stop();
  sessions_.clear();
  if (pool_) {
    pool_->Close(std::move(done));
  } else if (done) {
    done();
  }
}

uint16_t Server::port() const { return http_ ? http_->port() : 0; }

void Server::OnWebSocket(std::shared_ptr<http::WebSocket> socket) {
  const uint64_t id = socket->id();
  sessions_[id] = std::make_unique<Session>(this, std::move(socket));
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
  std::string out;
  auto metric = [&out](const char* name, const char* type, const char* help, uint64_t value) {
    absl::StrAppend(&out, "# HELP ", name, " ", help, "\n# TYPE ", name, " ", type, "\n", name, " ",
                    value, "\n");
  };
  metric("switchboard_rooms", "gauge", "Rooms open now.", conference_->room_count());
  metric("switchboard_participants", "gauge", "Participants in rooms now.",
         conference_->participant_count());
  metric("switchboard_websockets", "gauge", "Open WebSocket connections.", sessions_.size());
  metric("switchboard_workers", "gauge", "Worker processes configured.", pool_->size());
  metric("switchboard_worker_restarts_total", "counter", "Workers restarted after dying.",
         pool_->restarts());
  metric("switchboard_joins_total", "counter", "Joins accepted.", c.joins);
  metric("switchboard_room_full_total", "counter", "Joins refused because the room was full.",
         c.full);
  metric("switchboard_signaling_errors_total", "counter", "Error replies sent to clients.",
         c.errors_sent);
  metric("switchboard_rooms_closed_by_worker_death_total", "counter",
         "Rooms closed because their worker died.", c.rooms_closed_by_worker_death);
  metric("switchboard_participants_disconnected", "gauge",
         "Participants whose connection broke, within their resume grace period.",
         conference_->disconnected_count());
  metric("switchboard_resumes_total", "counter",
         "Participants who resumed after a broken connection.", c.resumes);
  metric("switchboard_resume_expired_total", "counter",
         "Participants removed because they did not resume within the grace period.",
         c.resume_expired);
  metric("switchboard_ice_restarts_total", "counter", "ICE restarts done.", c.ice_restarts);
  metric("switchboard_subscribe_offers_total", "counter", "Subscribe offers sent.", c.offers_sent);
  metric("switchboard_subscribe_offer_retries_total", "counter",
         "Subscribe offers sent again after a failed or missing answer.", c.offers_retried);
  metric("switchboard_tracks_not_forwarded_total", "counter",
         "Tracks not forwarded to a subscriber whose connection was at its m-line limit.",
         c.tracks_not_forwarded);
  return out;
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
