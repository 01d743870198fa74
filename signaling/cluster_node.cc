#include "signaling/cluster_node.h"

#include <unistd.h>

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "base/log.h"
#include "signaling/conference.h"
#include "worker/fbs/rtp_parameters_convert.h"

namespace sb::signaling {
namespace {

// The load a node announces is refreshed this often (the directory writes it with each
// heartbeat, every second by default).
constexpr uint64_t kLoadRefreshMs = 1000;
// A request to another node unanswered this long fails (a pipe is two worker round trips and
// two Redis messages there: milliseconds; seconds mean the node or Redis is in trouble).
constexpr uint64_t kRequestTimeoutMs = 5000;
constexpr uint64_t kRequestSweepMs = 500;
// What another node may send in one message: entries and requests are small.
constexpr size_t kMaxMessageBytes = 64 * 1024;

std::string DefaultNodeId(uint16_t port) {
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) != 0 || host[0] == '\0') {
    return absl::StrCat("node-", port);
  }
  return absl::StrCat(host, "-", port);
}

std::string PipeIp(const Config& config) {
  if (!config.node_address.empty()) return config.node_address;
  if (!config.announced_ips.empty()) return config.announced_ips.front();
  if (!config.rtc_listen_ips.empty() && config.rtc_listen_ips.front() != "0.0.0.0" &&
      config.rtc_listen_ips.front() != "::") {
    return config.rtc_listen_ips.front();
  }
  return config.listen_ip;
}

nlohmann::json EndpointJson(const PipeEndpoint& end) {
  return {{"ip", end.ip},
          {"port", end.port},
          {"key", absl::Base64Escape(std::string(end.key.begin(), end.key.end()))}};
}

absl::StatusOr<PipeEndpoint> EndpointFromJson(const nlohmann::json& json) {
  auto ip = json.find("ip");
  auto port = json.find("port");
  auto key = json.find("key");
  std::string raw;
  if (!json.is_object() || ip == json.end() || !ip->is_string() || port == json.end() ||
      !port->is_number_unsigned() || port->get<uint64_t>() == 0 || port->get<uint64_t>() > 65535 ||
      key == json.end() || !key->is_string() ||
      !absl::Base64Unescape(key->get<std::string>(), &raw) || raw.size() > 64) {
    return absl::InvalidArgumentError("malformed pipe end");
  }
  return PipeEndpoint{ip->get<std::string>(), port->get<uint16_t>(),
                      std::vector<uint8_t>(raw.begin(), raw.end())};
}

// RTP parameters between nodes: the IPC's flatbuffers table, verified on the way in.
std::string EncodeParameters(const rtp::RtpParameters& params) {
  flatbuffers::FlatBufferBuilder fbb;
  fbb.Finish(ipc::ToFbs(fbb, params));
  return absl::Base64Escape(
      std::string(reinterpret_cast<const char*>(fbb.GetBufferPointer()), fbb.GetSize()));
}

absl::StatusOr<rtp::RtpParameters> DecodeParameters(const nlohmann::json& json) {
  std::string raw;
  if (!json.is_string() || !absl::Base64Unescape(json.get<std::string>(), &raw)) {
    return absl::InvalidArgumentError("malformed parameters");
  }
  flatbuffers::Verifier verifier(reinterpret_cast<const uint8_t*>(raw.data()), raw.size());
  if (!verifier.VerifyBuffer<fbs::RtpParameters>(nullptr)) {
    return absl::InvalidArgumentError("parameters fail verification");
  }
  return ipc::FromFbs(flatbuffers::GetRoot<fbs::RtpParameters>(raw.data()));
}

std::string StringOf(const nlohmann::json& object, const char* name) {
  auto it = object.find(name);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

ClusterNode::ClusterNode(uv_loop_t* loop, const Config& config, uint16_t http_port,
                         Conference* conference, LoadFn load)
    : loop_(loop),
      conference_(conference),
      load_(std::move(load)),
      node_id_(config.node_id.empty() ? DefaultNodeId(http_port) : config.node_id),
      address_(absl::StrCat(config.node_address.empty() ? config.listen_ip : config.node_address,
                            ":", http_port)),
      pipe_ip_(PipeIp(config)),
      load_timer_(loop, [this] { Refresh(); }),
      request_timer_(loop, [this] { FailRequests(""); }) {
  cluster::DirectoryOptions options;
  // Checked by the config parser already.
  if (auto address = cluster::ParseRedisAddress(config.redis); address.ok()) {
    options.redis.address = *address;
  }
  directory_ = std::make_unique<cluster::Directory>(loop_, options, this);
}

ClusterNode::~ClusterNode() = default;

absl::Status ClusterNode::Start() {
  if (auto status = directory_->Start(); !status.ok()) return status;
  if (auto status = directory_->Register(node_id_, address_, load_()); !status.ok()) return status;
  if (auto status = directory_->Subscribe(
          directory_->NodeChannel(node_id_),
          [this](const std::string&, const std::string& payload) { OnNodeMessage(payload); });
      !status.ok()) {
    return status;
  }
  load_timer_.Start(kLoadRefreshMs, kLoadRefreshMs);
  request_timer_.Start(kRequestSweepMs, kRequestSweepMs);
  SB_LOG_INFO("cluster", "node {} at {} joins the cluster (pipes on {})", node_id_, address_,
              pipe_ip_);
  return absl::OkStatus();
}

void ClusterNode::Stop(std::function<void()> done) {
  load_timer_.Stop();
  request_timer_.Stop();
  directory_->Unregister([this, done = std::move(done)](absl::Status status) {
    if (!status.ok()) {
      SB_LOG_WARN("cluster", "unregistering {}: {}", node_id_, status.ToString());
    }
    directory_->Close();
    if (done) done();
  });
}

void ClusterNode::Refresh() {
  directory_->SetLoad(load_());
  // The others' loads as they last announced them, for /api/nodes.
  directory_->LiveNodes([this, alive = std::weak_ptr<bool>(alive_)](
                            absl::StatusOr<std::vector<cluster::NodeInfo>> live) {
    if (alive.expired() || !live.ok()) return;  // Redis down: keep what we knew
    nodes_.clear();
    for (auto& node : *live) nodes_[node.id] = std::move(node);
  });
}

void ClusterNode::RoomOpened(const std::string& room) {
  if (!rooms_.emplace(room, 0).second) return;
  directory_->ClaimRoomNode(room, node_id_, [room](absl::Status status) {
    // Redis down: claimed again when it is back (OnRedisAvailable).
    if (!status.ok()) SB_LOG_WARN("cluster", "claiming room {}: {}", room, status.ToString());
  });
  std::weak_ptr<bool> alive = alive_;
  const auto status = directory_->Subscribe(
      directory_->RoomChannel(room),
      [this, room](const std::string&, const std::string& payload) {
        OnRoomMessage(room, payload);
      },
      // Subscribed (again): what the room's other nodes wrote meanwhile.
      [this, alive, room] {
        if (alive.expired() || !rooms_.contains(room)) return;
        directory_->RoomEntries(
            room, [this, alive,
                   room](absl::StatusOr<absl::flat_hash_map<std::string, std::string>> entries) {
              if (alive.expired() || !entries.ok() || !rooms_.contains(room)) return;
              for (const auto& [id, text] : *entries) {
                auto entry = nlohmann::json::parse(text, nullptr, false);
                if (StringOf(entry, "node") == node_id_) continue;
                conference_->ApplyRemoteParticipant(room, entry);
              }
            });
      });
  if (!status.ok()) SB_LOG_WARN("cluster", "room {}: {}", room, status.ToString());
}

void ClusterNode::RoomClosed(const std::string& room) {
  if (rooms_.erase(room) == 0) return;
  directory_->Unsubscribe(directory_->RoomChannel(room));
  directory_->ReleaseRoomNode(room, node_id_);
}

void ClusterNode::ParticipantChanged(const std::string& room, const nlohmann::json& entry) {
  const std::string id = StringOf(entry, "id");
  directory_->SetRoomEntry(room, id, entry.dump());
  directory_->Publish(
      directory_->RoomChannel(room),
      nlohmann::json{{"op", "upsert"}, {"node", node_id_}, {"entry", entry}}.dump());
}

void ClusterNode::ParticipantRemoved(const std::string& room, const std::string& id) {
  directory_->DeleteRoomEntry(room, id);
  directory_->Publish(directory_->RoomChannel(room),
                      nlohmann::json{{"op", "remove"}, {"node", node_id_}, {"id", id}}.dump());
}

void ClusterNode::OnRoomMessage(const std::string& room, const std::string& payload) {
  if (payload.size() > kMaxMessageBytes) return void(++counters_.messages_malformed);
  auto message = nlohmann::json::parse(payload, nullptr, false);
  const std::string op = StringOf(message, "op");
  const std::string node = StringOf(message, "node");
  if (node == node_id_) return;  // our own, back from Redis
  if (op == "upsert" && message.contains("entry")) {
    conference_->ApplyRemoteParticipant(room, message["entry"]);
  } else if (op == "remove" && !StringOf(message, "id").empty()) {
    conference_->RemoveRemoteParticipant(room, StringOf(message, "id"));
  } else {
    ++counters_.messages_malformed;
  }
}

void ClusterNode::OnNodeMessage(const std::string& payload) {
  if (payload.size() > kMaxMessageBytes) return void(++counters_.messages_malformed);
  auto message = nlohmann::json::parse(payload, nullptr, false);
  const std::string op = StringOf(message, "op");
  const std::string from = StringOf(message, "from");
  auto req = message.is_object() ? message.find("req") : message.end();
  if (from.empty() || req == message.end() || !req->is_number_unsigned()) {
    return void(++counters_.messages_malformed);
  }
  const uint64_t id = req->get<uint64_t>();
  if (op == "reply") {
    auto it = pending_.find(id);
    if (it == pending_.end() || it->second.node != from) return;  // late, or not ours
    auto done = std::move(it->second.done);
    pending_.erase(it);
    auto ok = message.find("ok");
    if (ok == message.end() || !ok->is_boolean() || !ok->get<bool>()) {
      ++counters_.requests_failed;
      return done(
          absl::UnavailableError(absl::StrCat("node ", from, ": ", StringOf(message, "error"))));
    }
    return done(std::move(message));
  }
  const std::string room = StringOf(message, "room");
  const std::string remote_router = StringOf(message, "localRouter");  // the asker's
  const std::string local_router = StringOf(message, "remoteRouter");  // ours
  if (room.empty() || remote_router.empty() || local_router.empty()) {
    return void(++counters_.messages_malformed);
  }
  std::weak_ptr<bool> alive = alive_;
  if (op == "open-pipe") {
    auto end = message.contains("end")
                   ? EndpointFromJson(message["end"])
                   : absl::StatusOr<PipeEndpoint>(absl::InvalidArgumentError(""));
    if (!end.ok()) return Reply(from, id, end.status());
    conference_->ServeOpenPipe(room, from, remote_router, local_router, *end,
                               [this, alive, from, id](absl::StatusOr<PipeEndpoint> ours) {
                                 if (alive.expired()) return;
                                 if (!ours.ok()) return Reply(from, id, ours.status());
                                 Reply(from, id, nlohmann::json{{"end", EndpointJson(*ours)}});
                               });
  } else if (op == "relay") {
    const std::string producer = StringOf(message, "producer");
    if (producer.empty()) return void(++counters_.messages_malformed);
    conference_->ServeRelay(
        room, producer, local_router, remote_router,
        [this, alive, from, id](absl::StatusOr<rtp::RtpParameters> params) {
          if (alive.expired()) return;
          if (!params.ok()) return Reply(from, id, params.status());
          Reply(from, id, nlohmann::json{{"params", EncodeParameters(*params)}});
        });
  } else {
    ++counters_.messages_malformed;
  }
}

void ClusterNode::Request(const std::string& node, nlohmann::json request,
                          std::function<void(absl::StatusOr<nlohmann::json>)> done) {
  const uint64_t id = next_request_++;
  request["req"] = id;
  request["from"] = node_id_;
  pending_[id] = Pending{node, uv_now(loop_) + kRequestTimeoutMs, std::move(done)};
  directory_->Publish(
      directory_->NodeChannel(node), request.dump(),
      [this, alive = std::weak_ptr<bool>(alive_), id, node](absl::StatusOr<int64_t> n) {
        if (alive.expired()) return;
        if (n.ok() && *n > 0) return;
        // Nobody listens there (the node is gone) or Redis is down.
        auto it = pending_.find(id);
        if (it == pending_.end()) return;
        auto done = std::move(it->second.done);
        pending_.erase(it);
        ++counters_.requests_failed;
        done(absl::UnavailableError("node " + node + " is not listening"));
      });
}

void ClusterNode::Reply(const std::string& node, uint64_t request_id,
                        absl::StatusOr<nlohmann::json> answer) {
  nlohmann::json reply = answer.ok() ? *std::move(answer) : nlohmann::json::object();
  reply["op"] = "reply";
  reply["req"] = request_id;
  reply["from"] = node_id_;
  reply["ok"] = answer.ok();
  if (!answer.ok()) reply["error"] = std::string(answer.status().message());
  directory_->Publish(directory_->NodeChannel(node), reply.dump());
}

void ClusterNode::FailRequests(const std::string& node) {
  const uint64_t now = uv_now(loop_);
  std::vector<uint64_t> failed;
  for (const auto& [id, pending] : pending_) {
    if (node.empty() ? pending.deadline_ms <= now : pending.node == node) failed.push_back(id);
  }
  for (uint64_t id : failed) {
    auto it = pending_.find(id);
    if (it == pending_.end()) continue;
    auto done = std::move(it->second.done);
    const std::string to = it->second.node;
    pending_.erase(it);
    ++counters_.requests_failed;
    done(absl::DeadlineExceededError("node " + to + " did not answer"));
  }
}

void ClusterNode::OpenPipe(const std::string& node, const std::string& room,
                           const std::string& remote_router, const std::string& local_router,
                           const PipeEndpoint& local_end, Callback<PipeEndpoint> done) {
  Request(node,
          {{"op", "open-pipe"},
           {"room", room},
           {"remoteRouter", remote_router},
           {"localRouter", local_router},
           {"end", EndpointJson(local_end)}},
          [done = std::move(done)](absl::StatusOr<nlohmann::json> reply) {
            if (!reply.ok()) return done(reply.status());
            if (!reply->contains("end")) return done(absl::InvalidArgumentError("no pipe end"));
            done(EndpointFromJson((*reply)["end"]));
          });
}

void ClusterNode::Relay(const std::string& node, const std::string& room,
                        const std::string& producer_id, const std::string& remote_router,
                        const std::string& local_router, Callback<rtp::RtpParameters> done) {
  Request(node,
          {{"op", "relay"},
           {"room", room},
           {"producer", producer_id},
           {"remoteRouter", remote_router},
           {"localRouter", local_router}},
          [done = std::move(done)](absl::StatusOr<nlohmann::json> reply) {
            if (!reply.ok()) return done(reply.status());
            if (!reply->contains("params")) return done(absl::InvalidArgumentError("no params"));
            done(DecodeParameters((*reply)["params"]));
          });
}

void ClusterNode::ClaimAll() {
  for (const auto& [room, unused] : rooms_) {
    directory_->ClaimRoomNode(room, node_id_);
    for (const auto& entry : conference_->LocalEntries(room)) {
      directory_->SetRoomEntry(room, StringOf(entry, "id"), entry.dump());
    }
  }
}

void ClusterNode::OnNodeDown(const std::string& node_id) {
  if (node_id == node_id_) return;
  nodes_.erase(node_id);
  ++counters_.nodes_down;
  // Any node may purge a dead one; twice is harmless.
  directory_->PurgeNode(node_id);
  FailRequests(node_id);
  conference_->RemoveRemoteNode(node_id);
}

void ClusterNode::OnNodeUp(const cluster::NodeInfo& node) { nodes_[node.id] = node; }

void ClusterNode::OnRegistrationLost() {
  ++counters_.registrations_lost;
  SB_LOG_WARN("cluster", "this node's registration had expired: claiming its rooms again");
  ClaimAll();
}

void ClusterNode::OnRedisAvailable(bool available) {
  if (available) {
    SB_LOG_INFO("cluster", "connected to redis");
    ClaimAll();
  } else {
    SB_LOG_WARN("cluster", "lost the connection to redis; local rooms go on");
  }
}

std::vector<std::string> ClusterNode::Addresses() const {
  std::vector<std::string> out = {address_};
  std::vector<const cluster::NodeInfo*> others;
  for (const auto& [id, node] : nodes_) {
    if (id != node_id_ && !node.address.empty()) others.push_back(&node);
  }
  std::sort(others.begin(), others.end(), [](auto* a, auto* b) { return a->id < b->id; });
  for (const auto* node : others) out.push_back(node->address);
  return out;
}

nlohmann::json ClusterNode::Json() const {
  std::vector<const cluster::NodeInfo*> sorted;
  for (const auto& [id, node] : nodes_) sorted.push_back(&node);
  std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return a->id < b->id; });
  nlohmann::json nodes = nlohmann::json::array();
  for (const auto* node : sorted) {
    nodes.push_back({{"id", node->id},
                     {"address", node->address},
                     {"participants", node->load.participants},
                     {"workers", node->load.workers},
                     {"self", node->id == node_id_}});
  }
  return {{"node", node_id_},
          {"address", address_},
          {"redis", directory_->connected()},
          {"nodes", std::move(nodes)}};
}

}  // namespace sb::signaling
