// This switchboard as one node of a cluster (issue 14, --redis): it registers in the shared
// directory (signaling/cluster/directory.h) with its address and load, heartbeats, learns which
// other nodes are live and notices those that die (purging what they left), and claims the rooms
// it hosts participants of. Without --redis there is no ClusterNode and nothing changes.
//
// A room whose participants joined different nodes is one meeting: for each room it hosts, a
// node keeps an entry per local participant in the room's shared state and publishes every
// change on the room's channel; the others apply them (Conference::ApplyRemoteParticipant).
// Media crosses between nodes through pipes the consuming side asks for over the nodes' own
// channels (RemoteLink: open-pipe, relay and relay-data requests, answered on the asker's
// channel).
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "base/uv_timer.h"
#include "signaling/cluster/directory.h"
#include "signaling/cluster_messages.h"
#include "signaling/config.h"
#include "signaling/room_media.h"

namespace sb::signaling {

class Conference;

class ClusterNode : public cluster::Directory::Listener, public RemoteLink {
 public:
  struct Counters {
    uint64_t nodes_down = 0;  // other nodes found dead (their registration expired)
    uint64_t registrations_lost = 0;
    uint64_t requests_failed = 0;     // to other nodes: refused, timed out, or the node died
    uint64_t messages_malformed = 0;  // from other nodes, ignored
  };
  // Participants and workers on this node now, for the load it announces.
  using LoadFn = std::function<cluster::NodeLoad()>;

  // `conference` outlives this; it is told of the other nodes' participants and requests.
  ClusterNode(uv_loop_t* loop, const Config& config, uint16_t http_port, Conference* conference,
              LoadFn load);
  ~ClusterNode() override;

  absl::Status Start();
  // A clean leave: unregisters (the others drop this node at their next scan), then `done`.
  void Stop(std::function<void()> done);

  // Rooms this node hosts participants of, for the room directory and its channel.
  void RoomOpened(const std::string& room);
  void RoomClosed(const std::string& room);
  // A local participant's entry (Conference::on_participant_changed), or its end.
  void ParticipantChanged(const std::string& room, const RemoteEntry& entry);
  void ParticipantRemoved(const std::string& room, const std::string& id);

  // RemoteLink
  void OpenPipe(const std::string& node, const std::string& room, const std::string& remote_router,
                const std::string& local_router, const PipeEndpoint& local_end,
                Callback<PipeEndpoint> done) override;
  void Relay(const std::string& node, const std::string& room, const std::string& producer_id,
             const std::string& remote_router, const std::string& local_router,
             Callback<rtp::RtpParameters> done) override;
  void RelayData(const std::string& node, const std::string& room,
                 const std::string& data_producer_id, const std::string& remote_router,
                 const std::string& local_router, Callback<bool> done) override;
  void RelayLayers(const std::string& node, const std::string& room, const std::string& producer_id,
                   const std::string& remote_router, const std::string& local_router,
                   int max_layer) override;
  void ClosePipe(const std::string& node, const std::string& room, const std::string& remote_router,
                 const std::string& local_router) override;

  const std::string& node_id() const { return node_id_; }
  // The address this node's ends of pipes between nodes listen on (--node-address, else the
  // first media address).
  const std::string& pipe_ip() const { return pipe_ip_; }
  bool redis_connected() const { return directory_->connected(); }
  // Refused AUTH or NOAUTH replies on either connection to Redis (RedisClientStats).
  uint64_t redis_auth_failures() const {
    return directory_->command_stats().auth_failures + directory_->subscriber_stats().auth_failures;
  }
  size_t live_node_count() const { return nodes_.size(); }
  const Counters& counters() const { return counters_; }
  // HOST:PORT of this node and then of the other live nodes (by id).
  std::vector<std::string> Addresses() const;
  // GET /api/nodes: this node and the live ones it knows.
  nlohmann::json Json() const;

  // cluster::Directory::Listener
  void OnNodeDown(const std::string& node_id) override;
  void OnNodeUp(const cluster::NodeInfo& node) override;
  void OnRegistrationLost() override;
  void OnRedisAvailable(bool available) override;

 private:
  struct Pending {
    std::string node;
    uint64_t deadline_ms = 0;
    std::function<void(absl::StatusOr<NodeMessage>)> done;
  };

  void ClaimAll();
  // Announces this node's load and reads the others'.
  void Refresh();
  void OnRoomMessage(const std::string& room, const std::string& payload);
  void OnNodeMessage(const std::string& payload);
  // A request to another node (`build` writes it with its id); `done` gets the answer (or a
  // timeout, or the node's death).
  void Request(const std::string& node, const std::function<std::string(uint64_t id)>& build,
               std::function<void(absl::StatusOr<NodeMessage>)> done);
  // Fails the requests past their deadline, or all those to `node` when it is gone.
  void FailRequests(const std::string& node);

  // Passed by argument.
  uv_loop_t* const loop_;
  Conference* const conference_;
  const LoadFn load_;
  // Allocated by this.
  std::string node_id_;
  std::string address_;  // host:port of this node's HTTP/WebSocket port, for clients and nodes
  std::string pipe_ip_;
  std::unique_ptr<cluster::Directory> directory_;
  UvTimer load_timer_;
  UvTimer request_timer_;
  absl::flat_hash_map<std::string, cluster::NodeInfo> nodes_;  // live, this one included
  absl::flat_hash_map<std::string, int> rooms_;                // rooms claimed here (value unused)
  absl::flat_hash_map<uint64_t, Pending> pending_;             // requests to other nodes, by id
  uint64_t next_request_ = 1;
  // Expires with this object: a callback from the directory finds it gone.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  Counters counters_;
};

}  // namespace sb::signaling
