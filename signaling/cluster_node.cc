#include "signaling/cluster_node.h"

#include <unistd.h>

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/log.h"
#include "signaling/cluster_messages.h"
#include "signaling/conference.h"

namespace sb::signaling {
namespace {

// The load a node announces is refreshed this often (the directory writes it with each
// heartbeat, every second by default).
constexpr uint64_t kLoadRefreshMs = 1000;
// A request to another node unanswered this long fails (a pipe is two worker round trips and
// two Redis messages there: milliseconds; seconds mean the node or Redis is in trouble).
constexpr uint64_t kRequestTimeoutMs = 5000;
constexpr uint64_t kRequestSweepMs = 500;

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
  // The directory gives them to both its connections (commands and subscriptions).
  options.redis.username = config.redis_user;
  options.redis.password = config.redis_password;
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
                auto entry = ParseEntry(nlohmann::json::parse(text, nullptr, false));
                if (!entry.ok()) {
                  ++counters_.messages_malformed;
                  continue;
                }
                if (entry->node != node_id_) conference_->ApplyRemoteParticipant(room, *entry);
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

void ClusterNode::ParticipantChanged(const std::string& room, const RemoteEntry& entry) {
  directory_->SetRoomEntry(room, entry.id, EntryJson(entry).dump());
  directory_->Publish(directory_->RoomChannel(room), UpsertMessage(node_id_, entry));
}

void ClusterNode::ParticipantRemoved(const std::string& room, const std::string& id) {
  directory_->DeleteRoomEntry(room, id);
  directory_->Publish(directory_->RoomChannel(room), RemoveMessage(node_id_, id));
}

void ClusterNode::OnRoomMessage(const std::string& room, const std::string& payload) {
  auto message = ParseRoomMessage(payload);
  if (!message.ok()) return void(++counters_.messages_malformed);
  if (message->node == node_id_) return;  // our own, back from Redis
  if (message->op == RoomMessage::Op::kUpsert) {
    conference_->ApplyRemoteParticipant(room, message->entry);
  } else if (message->id.starts_with(message->node + ".")) {
    conference_->RemoveRemoteParticipant(room, message->id);
  }
}

void ClusterNode::OnNodeMessage(const std::string& payload) {
  auto message = ParseNodeMessage(payload);
  if (!message.ok()) return void(++counters_.messages_malformed);
  const std::string from = message->from;
  const uint64_t id = message->request_id;
  switch (message->op) {
    case NodeMessage::Op::kReply: {
      auto it = pending_.find(id);
      if (it == pending_.end() || it->second.node != from) return;  // late, or not ours
      auto done = std::move(it->second.done);
      pending_.erase(it);
      if (!message->ok) {
        ++counters_.requests_failed;
        return done(absl::UnavailableError(absl::StrCat("node ", from, ": ", message->error)));
      }
      return done(*std::move(message));
    }
    case NodeMessage::Op::kOpenPipe:
      return conference_->ServeOpenPipe(
          message->room, from, message->asker_router, message->asked_router, *message->end,
          [this, alive = std::weak_ptr<bool>(alive_), from, id](absl::StatusOr<PipeEndpoint> end) {
            if (alive.expired()) return;
            directory_->Publish(directory_->NodeChannel(from),
                                end.ok() ? ReplyMessage(id, node_id_, absl::OkStatus(), *end)
                                         : ReplyMessage(id, node_id_, end.status()));
          });
    case NodeMessage::Op::kRelayLayers:
      return conference_->ServeRelayLayers(message->room, from, message->producer,
                                           message->asked_router, message->asker_router,
                                           message->max_layer);
    case NodeMessage::Op::kClosePipe:
      return conference_->ServeClosePipe(message->room, from, message->asked_router,
                                         message->asker_router);
    case NodeMessage::Op::kRelayData:
      return conference_->ServeRelayData(
          message->room, from, message->producer, message->asked_router, message->asker_router,
          [this, alive = std::weak_ptr<bool>(alive_), from, id](absl::StatusOr<bool> relayed) {
            if (alive.expired()) return;
            directory_->Publish(directory_->NodeChannel(from),
                                ReplyMessage(id, node_id_, relayed.status()));
          });
    case NodeMessage::Op::kRelay:
      return conference_->ServeRelay(
          message->room, message->producer, message->asked_router, message->asker_router,
          [this, alive = std::weak_ptr<bool>(alive_), from,
           id](absl::StatusOr<rtp::RtpParameters> params) {
            if (alive.expired()) return;
            directory_->Publish(
                directory_->NodeChannel(from),
                params.ok() ? ReplyMessage(id, node_id_, absl::OkStatus(), std::nullopt, *params)
                            : ReplyMessage(id, node_id_, params.status()));
          });
  }
}

void ClusterNode::Request(const std::string& node,
                          const std::function<std::string(uint64_t id)>& build,
                          std::function<void(absl::StatusOr<NodeMessage>)> done) {
  const uint64_t id = next_request_++;
  pending_[id] = Pending{node, uv_now(loop_) + kRequestTimeoutMs, std::move(done)};
  directory_->Publish(
      directory_->NodeChannel(node), build(id),
      [this, alive = std::weak_ptr<bool>(alive_), id, node](absl::StatusOr<int64_t> listeners) {
        if (alive.expired()) return;
        if (listeners.ok() && *listeners > 0) return;
        // Nobody listens there (the node is gone) or Redis is down.
        auto it = pending_.find(id);
        if (it == pending_.end()) return;
        auto done = std::move(it->second.done);
        pending_.erase(it);
        ++counters_.requests_failed;
        done(absl::UnavailableError("node " + node + " is not listening"));
      });
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
  Request(
      node,
      [&](uint64_t id) {
        return OpenPipeRequest(id, node_id_, room, remote_router, local_router, local_end);
      },
      [done = std::move(done)](absl::StatusOr<NodeMessage> reply) {
        if (!reply.ok()) return done(reply.status());
        if (!reply->end) return done(absl::InvalidArgumentError("no pipe end in the reply"));
        done(*reply->end);
      });
}

void ClusterNode::Relay(const std::string& node, const std::string& room,
                        const std::string& producer_id, const std::string& remote_router,
                        const std::string& local_router, Callback<rtp::RtpParameters> done) {
  Request(
      node,
      [&](uint64_t id) {
        return RelayRequest(id, node_id_, room, remote_router, local_router, producer_id);
      },
      [done = std::move(done)](absl::StatusOr<NodeMessage> reply) {
        if (!reply.ok()) return done(reply.status());
        if (!reply->params) return done(absl::InvalidArgumentError("no parameters in the reply"));
        done(*reply->params);
      });
}

void ClusterNode::RelayData(const std::string& node, const std::string& room,
                            const std::string& data_producer_id, const std::string& remote_router,
                            const std::string& local_router, Callback<bool> done) {
  Request(
      node,
      [&](uint64_t id) {
        return RelayDataRequest(id, node_id_, room, remote_router, local_router, data_producer_id);
      },
      [done = std::move(done)](absl::StatusOr<NodeMessage> reply) {
        if (!reply.ok()) return done(reply.status());
        done(true);
      });
}

void ClusterNode::RelayLayers(const std::string& node, const std::string& room,
                              const std::string& producer_id, const std::string& remote_router,
                              const std::string& local_router, int max_layer) {
  directory_->Publish(
      directory_->NodeChannel(node),
      RelayLayersNotice(node_id_, room, remote_router, local_router, producer_id, max_layer));
}

void ClusterNode::ClosePipe(const std::string& node, const std::string& room,
                            const std::string& remote_router, const std::string& local_router) {
  directory_->Publish(directory_->NodeChannel(node),
                      ClosePipeNotice(node_id_, room, remote_router, local_router));
}

void ClusterNode::ClaimAll() {
  for (const auto& [room, unused] : rooms_) {
    directory_->ClaimRoomNode(room, node_id_);
    for (const auto& entry : conference_->LocalEntries(room)) {
      directory_->SetRoomEntry(room, entry.id, EntryJson(entry).dump());
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
