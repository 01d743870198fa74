// This switchboard as one node of a cluster (issue 14, --redis): it registers in the shared
// directory (signaling/cluster/directory.h) with its address and load, heartbeats, learns which
// other nodes are live and notices those that die (purging what they left), and claims the rooms
// it hosts participants of. Without --redis there is no ClusterNode and nothing changes.
//
// Not yet: remote participants and media piped between nodes (a room's participants on two
// nodes do not see each other yet); the directory says which nodes host a room.
#pragma once

#include <uv.h>

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "base/uv_timer.h"
#include "signaling/cluster/directory.h"
#include "signaling/config.h"

namespace sb::signaling {

class ClusterNode : public cluster::Directory::Listener {
 public:
  struct Counters {
    uint64_t nodes_down = 0;  // other nodes found dead (their registration expired)
    uint64_t registrations_lost = 0;
  };
  // Participants and workers on this node now, for the load it announces.
  using LoadFn = std::function<cluster::NodeLoad()>;

  ClusterNode(uv_loop_t* loop, const Config& config, uint16_t http_port, LoadFn load);
  ~ClusterNode() override;

  absl::Status Start();
  // A clean leave: unregisters (the others drop this node at their next scan), then `done`.
  void Stop(std::function<void()> done);

  // Rooms this node hosts participants of, for the room directory.
  void RoomOpened(const std::string& room);
  void RoomClosed(const std::string& room);

  const std::string& node_id() const { return node_id_; }
  bool redis_connected() const { return directory_->connected(); }
  size_t live_node_count() const { return nodes_.size(); }
  const Counters& counters() const { return counters_; }
  // GET /api/nodes: this node and the live ones it knows.
  nlohmann::json Json() const;

  // cluster::Directory::Listener
  void OnNodeDown(const std::string& node_id) override;
  void OnNodeUp(const cluster::NodeInfo& node) override;
  void OnRegistrationLost() override;
  void OnRedisAvailable(bool available) override;

 private:
  void ClaimAll();
  // Announces this node's load and reads the others'.
  void Refresh();

  // Passed by argument.
  uv_loop_t* const loop_;
  const LoadFn load_;
  // Allocated by this.
  std::string node_id_;
  std::string address_;  // host:port of this node's HTTP/WebSocket port, for clients and nodes
  std::unique_ptr<cluster::Directory> directory_;
  UvTimer load_timer_;
  absl::flat_hash_map<std::string, cluster::NodeInfo> nodes_;  // live, this one included
  absl::flat_hash_map<std::string, int> rooms_;                // rooms claimed here (value unused)
  Counters counters_;
};

}  // namespace sb::signaling
