// The cluster's directory on a shared Redis (docs/cluster.md): a registry of switchboard nodes
// that heartbeat with their load, a room directory (which nodes host a room, and the room's
// shared state), and messages between nodes. Everything is asynchronous; when Redis is down
// calls fail with kUnavailable and the node goes on serving its local rooms.
#pragma once

#include <uv.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "base/uv_timer.h"
#include "signaling/cluster/redis_client.h"

namespace sb::signaling::cluster {

struct NodeLoad {
  int64_t participants = 0;
  int64_t workers = 0;
  bool operator==(const NodeLoad&) const = default;
};

struct NodeInfo {
  std::string id;
  std::string address;  // What other nodes reach (--node-address).
  NodeLoad load;
};

struct DirectoryOptions {
  // In front of every key and channel, so that deployments and tests can share one server.
  std::string key_prefix = "sb:";
  // A node refreshes its key this often...
  std::chrono::milliseconds heartbeat_interval{1000};
  // ...and the key expires this long after the last refresh: two missed heartbeats are
  // tolerated (a busy loop, a slow Redis), the third means the node is gone.
  std::chrono::milliseconds node_ttl{3000};
  // How often the registry is read to notice nodes that went down; 0: heartbeat_interval.
  // A dead node is reported within node_ttl + scan_interval of its last heartbeat.
  std::chrono::milliseconds scan_interval{0};
  RedisClientOptions redis;  // Its `subscriber` and `name` are set by the directory.
};

class Directory : public RedisClient::Listener {
 public:
  class Listener {
   public:
    virtual ~Listener() = default;
    // A node stopped heartbeating (its key expired) or unregistered. Call PurgeNode to drop
    // what it left in the room directory (any node may; purging twice is harmless).
    virtual void OnNodeDown(const std::string& node_id) = 0;
    // A node was seen for the first time, or again after it was down.
    virtual void OnNodeUp(const NodeInfo& /*node*/) {}
    // This node's own key had expired when a heartbeat renewed it (Redis restarted empty, or
    // it was out of reach longer than node_ttl): other nodes may have purged it, so claim the
    // rooms and write the room entries again.
    virtual void OnRegistrationLost() {}
    // The connection to Redis came up (true) or broke (false).
    virtual void OnRedisAvailable(bool /*available*/) {}
  };
  using DoneCallback = std::function<void(absl::Status)>;
  template <typename T>
  using ResultCallback = std::function<void(absl::StatusOr<T>)>;
  using MessageHandler = RedisClient::MessageHandler;

  Directory(uv_loop_t* loop, DirectoryOptions options, Listener* listener);
  ~Directory() override;
  Directory(const Directory&) = delete;
  Directory& operator=(const Directory&) = delete;

  // Connects the command and subscriber connections and starts watching the registry.
  absl::Status Start();
  // Stops heartbeating and disconnects, leaving the registration to expire (as a crash would);
  // Unregister first for a clean leave. Pending callbacks fail with kCancelled.
  void Close();

  // Registers this node and heartbeats every heartbeat_interval until Unregister or Close.
  absl::Status Register(const std::string& node_id, const std::string& address, NodeLoad load);
  // Written by the next heartbeat.
  void SetLoad(NodeLoad load) { load_ = load; }
  // Stops heartbeating and purges this node (key, room claims, room entries): the others get
  // OnNodeDown at their next scan.
  void Unregister(DoneCallback done = nullptr);
  // Nodes whose key has not expired (this one included), sorted by id.
  void LiveNodes(ResultCallback<std::vector<NodeInfo>> callback);

  // The room directory: which nodes host participants of a room.
  void ClaimRoomNode(const std::string& room, const std::string& node_id,
                     DoneCallback done = nullptr);
  void ReleaseRoomNode(const std::string& room, const std::string& node_id,
                       DoneCallback done = nullptr);
  void RoomNodes(const std::string& room, ResultCallback<std::vector<std::string>> callback);
  // A room's shared state: entries (key → JSON text) owned by this node (Register first).
  void SetRoomEntry(const std::string& room, const std::string& key, const std::string& json,
                    DoneCallback done = nullptr);
  void DeleteRoomEntry(const std::string& room, const std::string& key,
                       DoneCallback done = nullptr);
  void RoomEntries(const std::string& room,
                   ResultCallback<absl::flat_hash_map<std::string, std::string>> callback);
  // Removes a node's key, its room claims and its room entries, atomically (one Lua script).
  void PurgeNode(const std::string& node_id, DoneCallback done = nullptr);

  // Messages between nodes. Publish's result is the number of subscribers that got it.
  void Publish(const std::string& channel, const std::string& payload,
               ResultCallback<int64_t> callback = nullptr);
  // See RedisClient::Subscribe: `on_active` runs on every (re)subscription.
  absl::Status Subscribe(const std::string& channel, MessageHandler handler,
                         std::function<void()> on_active = nullptr);
  void Unsubscribe(const std::string& channel);
  bool subscribed(const std::string& channel) const { return subscriber_->subscribed(channel); }
  std::string NodeChannel(const std::string& node_id) const;  // "<prefix>node:<id>"
  std::string RoomChannel(const std::string& room) const;     // "<prefix>room:<name>"

  bool connected() const { return commands_->connected(); }
  // Of the command and the subscriber connection.
  const RedisClientStats& command_stats() const { return commands_->stats(); }
  const RedisClientStats& subscriber_stats() const { return subscriber_->stats(); }
  const std::string& node_id() const { return node_id_; }

  // Keys, each type first so that no id can make two of them collide (docs/cluster.md).
  std::string NodesKey() const;                                  // set of node ids
  std::string NodeKey(const std::string& node_id) const;         // JSON, expires after node_ttl
  std::string NodeRoomsKey(const std::string& node_id) const;    // set of rooms it claimed
  std::string NodeEntriesKey(const std::string& node_id) const;  // set of its entries
  std::string RoomNodesKey(const std::string& room) const;       // set of node ids
  std::string RoomEntriesKey(const std::string& room) const;     // hash key → JSON

 private:
  struct Registry {
    std::vector<NodeInfo> live;
    std::vector<std::string> expired;  // In the set of nodes, key gone.
  };

  // RedisClient::Listener (the command connection).
  void OnRedisConnected(RedisClient* client) override;
  void OnRedisDisconnected(RedisClient* client, const absl::Status& reason) override;

  void Heartbeat();
  void Scan();
  void ApplyScan(const Registry& registry);
  void ReadRegistry(ResultCallback<Registry> callback);
  void Exec(std::vector<std::vector<std::string>> commands, DoneCallback done);
  void Fail(DoneCallback done, absl::Status status);
  void RunDeferred();

  // Passed by argument.
  uv_loop_t* const loop_;
  const DirectoryOptions options_;
  Listener* const listener_;

  // Allocated by this.
  std::unique_ptr<RedisClient> commands_;
  std::unique_ptr<RedisClient> subscriber_;
  std::string node_id_;
  std::string address_;
  NodeLoad load_;
  bool heartbeat_in_flight_ = false;
  bool heartbeat_failing_ = false;
  uint64_t heartbeats_renewed_ = 0;
  bool scan_in_flight_ = false;
  uint64_t scan_not_before_ms_ = 0;
  absl::flat_hash_set<std::string> live_;           // Other nodes seen live at the last scan.
  absl::flat_hash_set<std::string> down_reported_;  // Expired nodes already reported.
  std::deque<std::function<void()>> deferred_;
  UvTimer heartbeat_timer_;
  UvTimer scan_timer_;
  UvTimer deferred_timer_;
  // Expires with this directory: listener calls may destroy it (see RedisClient::alive_).
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace sb::signaling::cluster
