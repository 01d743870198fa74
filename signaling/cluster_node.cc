#include "signaling/cluster_node.h"

#include <unistd.h>

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/log.h"

namespace sb::signaling {
namespace {

// The load a node announces is refreshed this often (the directory writes it with each
// heartbeat, every second by default).
constexpr uint64_t kLoadRefreshMs = 1000;

std::string DefaultNodeId(uint16_t port) {
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) != 0 || host[0] == '\0')
    return absl::StrCat("node-", port);
  return absl::StrCat(host, "-", port);
}

}  // namespace

ClusterNode::ClusterNode(uv_loop_t* loop, const Config& config, uint16_t http_port, LoadFn load)
    : loop_(loop),
      load_(std::move(load)),
      node_id_(config.node_id.empty() ? DefaultNodeId(http_port) : config.node_id),
      address_(absl::StrCat(config.node_address.empty() ? config.listen_ip : config.node_address,
                            ":", http_port)),
      load_timer_(loop, [this] { Refresh(); }) {
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
  load_timer_.Start(kLoadRefreshMs, kLoadRefreshMs);
  SB_LOG_INFO("cluster", "node {} at {} joins the cluster", node_id_, address_);
  return absl::OkStatus();
}

void ClusterNode::Stop(std::function<void()> done) {
  load_timer_.Stop();
  directory_->Unregister([this, done = std::move(done)](absl::Status status) {
    if (!status.ok()) {
      SB_LOG_WARN("cluster", "unregistering {}: {}", node_id_, status.ToString());
    }
    directory_->Close();
    if (done) done();
  });
}

void ClusterNode::RoomOpened(const std::string& room) {
  if (!rooms_.emplace(room, 0).second) return;
  directory_->ClaimRoomNode(room, node_id_, [room](absl::Status status) {
    // Redis down: claimed again when it is back (OnRegistrationLost / OnRedisAvailable).
    if (!status.ok()) SB_LOG_WARN("cluster", "claiming room {}: {}", room, status.ToString());
  });
}

void ClusterNode::RoomClosed(const std::string& room) {
  if (rooms_.erase(room) == 0) return;
  directory_->ReleaseRoomNode(room, node_id_);
}

void ClusterNode::Refresh() {
  directory_->SetLoad(load_());
  // The others' loads as they last announced them, for /api/nodes.
  directory_->LiveNodes([this](absl::StatusOr<std::vector<cluster::NodeInfo>> live) {
    if (!live.ok()) return;  // Redis down (or this node closing): keep what we knew
    nodes_.clear();
    for (auto& node : *live) nodes_[node.id] = std::move(node);
  });
}

void ClusterNode::ClaimAll() {
  for (const auto& [room, unused] : rooms_) directory_->ClaimRoomNode(room, node_id_);
}

void ClusterNode::OnNodeDown(const std::string& node_id) {
  if (node_id == node_id_) return;
  nodes_.erase(node_id);
  ++counters_.nodes_down;
  // Any node may purge a dead one; twice is harmless.
  directory_->PurgeNode(node_id);
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
