#include "signaling/cluster/directory.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/log.h"

namespace sb::signaling::cluster {
namespace {

// Node ids, room names and entry keys: room names are at most 64 bytes (auth.cc), node ids are
// configured; 256 bytes bounds what a key or channel name can grow to.
constexpr size_t kMaxNameBytes = 256;

// PurgeNode, atomically on the server. KEYS: the node's rooms set, its entries set, its key,
// the set of nodes. ARGV: the node id, the prefix of room-nodes sets, the prefix of room-entries
// hashes. An entry is recorded as "<room length>:<room><key>" (EntryMember).
constexpr char kPurgeScript[] = R"lua(
local rooms = redis.call('SMEMBERS', KEYS[1])
for _, room in ipairs(rooms) do
  redis.call('SREM', ARGV[2] .. room, ARGV[1])
end
local entries = redis.call('SMEMBERS', KEYS[2])
for _, entry in ipairs(entries) do
  local colon = string.find(entry, ':', 1, true)
  local length = colon and tonumber(string.sub(entry, 1, colon - 1))
  if length then
    local room = string.sub(entry, colon + 1, colon + length)
    redis.call('HDEL', ARGV[3] .. room, string.sub(entry, colon + length + 1))
  end
end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
redis.call('SREM', KEYS[4], ARGV[1])
return #rooms + #entries
)lua";

absl::Status CheckName(const char* what, const std::string& name) {
  if (name.empty() || name.size() > kMaxNameBytes) {
    return absl::InvalidArgumentError(absl::StrCat(what, " must be 1-", kMaxNameBytes, " bytes"));
  }
  return absl::OkStatus();
}

// The member of a node's entries set for one room entry: the room's length first, so that any
// room and key can be told apart again (kPurgeScript).
std::string EntryMember(const std::string& room, const std::string& key) {
  return absl::StrCat(room.size(), ":", room, key);
}

NodeInfo ParseNode(const std::string& id, const std::string& text) {
  NodeInfo node;
  node.id = id;
  // Written by Heartbeat; a value from another version or by hand still counts as live.
  const nlohmann::json value = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!value.is_object()) return node;
  if (auto it = value.find("address"); it != value.end() && it->is_string()) {
    node.address = it->get<std::string>();
  }
  if (auto it = value.find("participants"); it != value.end() && it->is_number_integer()) {
    node.load.participants = it->get<int64_t>();
  }
  if (auto it = value.find("workers"); it != value.end() && it->is_number_integer()) {
    node.load.workers = it->get<int64_t>();
  }
  return node;
}

}  // namespace

Directory::Directory(uv_loop_t* loop, DirectoryOptions options, Listener* listener)
    : loop_(loop),
      options_(std::move(options)),
      listener_(listener),
      heartbeat_timer_(loop, [this] { Heartbeat(); }),
      scan_timer_(loop, [this] { Scan(); }),
      deferred_timer_(loop, [this] { RunDeferred(); }) {
  RedisClientOptions command_options = options_.redis;
  command_options.subscriber = false;
  command_options.name = "directory";
  commands_ = std::make_unique<RedisClient>(loop, std::move(command_options), this);
  RedisClientOptions subscriber_options = options_.redis;
  subscriber_options.subscriber = true;
  subscriber_options.name = "directory subscriber";
  subscriber_ = std::make_unique<RedisClient>(loop, std::move(subscriber_options));
}

Directory::~Directory() { alive_.reset(); }

std::string Directory::NodesKey() const { return options_.key_prefix + "nodes"; }
std::string Directory::NodeKey(const std::string& node_id) const {
  return absl::StrCat(options_.key_prefix, "node:", node_id);
}
std::string Directory::NodeRoomsKey(const std::string& node_id) const {
  return absl::StrCat(options_.key_prefix, "noderooms:", node_id);
}
std::string Directory::NodeEntriesKey(const std::string& node_id) const {
  return absl::StrCat(options_.key_prefix, "nodeentries:", node_id);
}
std::string Directory::RoomNodesKey(const std::string& room) const {
  return absl::StrCat(options_.key_prefix, "roomnodes:", room);
}
std::string Directory::RoomEntriesKey(const std::string& room) const {
  return absl::StrCat(options_.key_prefix, "roomentries:", room);
}
std::string Directory::NodeChannel(const std::string& node_id) const {
  return absl::StrCat(options_.key_prefix, "node:", node_id);
}
std::string Directory::RoomChannel(const std::string& room) const {
  return absl::StrCat(options_.key_prefix, "room:", room);
}

absl::Status Directory::Start() {
  if (options_.heartbeat_interval.count() <= 0 ||
      options_.node_ttl <= options_.heartbeat_interval) {
    return absl::InvalidArgumentError("node_ttl must be longer than heartbeat_interval");
  }
  if (absl::Status status = commands_->Start(); !status.ok()) return status;
  if (absl::Status status = subscriber_->Start(); !status.ok()) return status;
  const auto scan = static_cast<uint64_t>(options_.scan_interval.count() > 0
                                              ? options_.scan_interval.count()
                                              : options_.heartbeat_interval.count());
  scan_timer_.Start(scan, scan);
  return absl::OkStatus();
}

void Directory::Close() {
  heartbeat_timer_.Stop();
  scan_timer_.Stop();
  std::weak_ptr<bool> alive = alive_;
  commands_->Close();
  if (alive.expired()) return;
  subscriber_->Close();
}

absl::Status Directory::Register(const std::string& node_id, const std::string& address,
                                 NodeLoad load) {
  if (absl::Status status = CheckName("a node id", node_id); !status.ok()) return status;
  if (!node_id_.empty() && node_id_ != node_id) {
    return absl::FailedPreconditionError("registered under another node id already");
  }
  node_id_ = node_id;
  address_ = address;
  load_ = load;
  heartbeats_renewed_ = 0;
  const auto interval = static_cast<uint64_t>(options_.heartbeat_interval.count());
  heartbeat_timer_.Start(interval, interval);
  Heartbeat();
  return absl::OkStatus();
}

void Directory::Heartbeat() {
  if (node_id_.empty() || heartbeat_in_flight_ || !commands_->connected()) return;
  heartbeat_in_flight_ = true;
  const nlohmann::json value = {
      {"address", address_}, {"participants", load_.participants}, {"workers", load_.workers}};
  // SET ... GET returns the previous value: nil after the first heartbeat means the key had
  // expired (or was purged) in between.
  commands_->Transaction({{"SET", NodeKey(node_id_), value.dump(), "PX",
                           absl::StrCat(options_.node_ttl.count()), "GET"},
                          {"SADD", NodesKey(), node_id_}},
                         [this](absl::StatusOr<Reply> reply) {
                           heartbeat_in_flight_ = false;
                           if (!reply.ok()) {
                             if (!heartbeat_failing_) {
                               SB_LOG_WARN("cluster", "heartbeat of node {} failed: {}", node_id_,
                                           reply.status().ToString());
                             }
                             heartbeat_failing_ = true;
                             return;
                           }
                           heartbeat_failing_ = false;
                           const bool lost = heartbeats_renewed_ > 0 && !reply->elements.empty() &&
                                             reply->elements[0].is_null();
                           ++heartbeats_renewed_;
                           if (lost) {
                             SB_LOG_WARN("cluster",
                                         "node {}: its registration had expired; registered again",
                                         node_id_);
                             if (listener_ != nullptr) listener_->OnRegistrationLost();
                           }
                         });
}

void Directory::Unregister(DoneCallback done) {
  heartbeat_timer_.Stop();
  const std::string node_id = std::move(node_id_);
  node_id_.clear();
  if (node_id.empty()) {
    Fail(std::move(done), absl::FailedPreconditionError("not registered"));
    return;
  }
  PurgeNode(node_id, std::move(done));
}

void Directory::ReadRegistry(ResultCallback<Registry> callback) {
  commands_->Command(
      {"SMEMBERS", NodesKey()}, [this, callback](absl::StatusOr<Reply> members) mutable {
        if (!members.ok()) {
          callback(members.status());
          return;
        }
        std::vector<std::string> ids;
        for (const Reply& member : members->elements) {
          if (member.is_string()) ids.push_back(member.str);
        }
        std::sort(ids.begin(), ids.end());
        if (ids.empty()) {
          callback(Registry{});
          return;
        }
        std::vector<std::string> args = {"MGET"};
        for (const std::string& id : ids) args.push_back(NodeKey(id));
        commands_->Command(std::move(args), [ids = std::move(ids), callback = std::move(callback)](
                                                absl::StatusOr<Reply> values) {
          if (!values.ok()) {
            callback(values.status());
            return;
          }
          if (values->elements.size() != ids.size()) {
            callback(absl::DataLossError("MGET answered with the wrong number of values"));
            return;
          }
          Registry registry;
          for (size_t i = 0; i < ids.size(); ++i) {
            const Reply& value = values->elements[i];
            if (value.is_string()) {
              registry.live.push_back(ParseNode(ids[i], value.str));
            } else {
              registry.expired.push_back(ids[i]);
            }
          }
          callback(std::move(registry));
        });
      });
}

void Directory::LiveNodes(ResultCallback<std::vector<NodeInfo>> callback) {
  ReadRegistry([callback = std::move(callback)](absl::StatusOr<Registry> registry) {
    if (!registry.ok()) {
      callback(registry.status());
      return;
    }
    callback(std::move(registry->live));
  });
}

void Directory::Scan() {
  // After a (re)connection every live node gets node_ttl to heartbeat before anyone missing is
  // called down: Redis may have restarted empty.
  if (scan_in_flight_ || !commands_->connected() || uv_now(loop_) < scan_not_before_ms_) return;
  scan_in_flight_ = true;
  ReadRegistry([this](absl::StatusOr<Registry> registry) {
    scan_in_flight_ = false;
    if (!registry.ok()) {
      SB_LOG_DEBUG("cluster", "registry scan failed: {}", registry.status().ToString());
      return;
    }
    ApplyScan(*registry);
  });
}

void Directory::ApplyScan(const Registry& registry) {
  std::vector<NodeInfo> up;
  absl::flat_hash_set<std::string> down;
  absl::flat_hash_set<std::string> live_now;
  for (const NodeInfo& node : registry.live) {
    if (node.id == node_id_) continue;
    live_now.insert(node.id);
    if (live_.insert(node.id).second) up.push_back(node);
  }
  // Gone from the set altogether (unregistered, or purged by another node), or expired.
  absl::erase_if(live_, [&](const std::string& id) {
    if (live_now.contains(id)) return false;
    down.insert(id);
    return true;
  });
  // Still in the set with the key expired: crashed, or cut off from Redis. Reported once, also
  // when this directory never saw the node live (it died before we started); forgotten once
  // purged, so that a node that comes back and dies again is reported again.
  absl::flat_hash_set<std::string> expired;
  for (const std::string& id : registry.expired) {
    if (id == node_id_) continue;
    expired.insert(id);
    if (!down_reported_.contains(id)) down.insert(id);
  }
  down_reported_ = std::move(expired);
  if (listener_ == nullptr) return;
  std::vector<std::string> sorted_down(down.begin(), down.end());
  std::sort(sorted_down.begin(), sorted_down.end());
  std::weak_ptr<bool> alive = alive_;
  for (const NodeInfo& node : up) {
    SB_LOG_INFO("cluster", "node {} is up at {}", node.id, node.address);
    listener_->OnNodeUp(node);
    if (alive.expired()) return;
  }
  for (const std::string& id : sorted_down) {
    SB_LOG_WARN("cluster", "node {} is down", id);
    listener_->OnNodeDown(id);
    if (alive.expired()) return;
  }
}

void Directory::OnRedisConnected(RedisClient* /*client*/) {
  scan_not_before_ms_ = uv_now(loop_) + static_cast<uint64_t>(options_.node_ttl.count());
  Heartbeat();
  if (listener_ != nullptr) listener_->OnRedisAvailable(true);
}

void Directory::OnRedisDisconnected(RedisClient* /*client*/, const absl::Status& /*reason*/) {
  if (listener_ != nullptr) listener_->OnRedisAvailable(false);
}

void Directory::Exec(std::vector<std::vector<std::string>> commands, DoneCallback done) {
  commands_->Transaction(std::move(commands), [done = std::move(done)](absl::StatusOr<Reply> r) {
    if (done) done(r.status());
  });
}

void Directory::ClaimRoomNode(const std::string& room, const std::string& node_id,
                              DoneCallback done) {
  if (absl::Status s = CheckName("a room", room); !s.ok()) return Fail(std::move(done), s);
  if (absl::Status s = CheckName("a node id", node_id); !s.ok()) return Fail(std::move(done), s);
  Exec({{"SADD", RoomNodesKey(room), node_id}, {"SADD", NodeRoomsKey(node_id), room}},
       std::move(done));
}

void Directory::ReleaseRoomNode(const std::string& room, const std::string& node_id,
                                DoneCallback done) {
  if (absl::Status s = CheckName("a room", room); !s.ok()) return Fail(std::move(done), s);
  if (absl::Status s = CheckName("a node id", node_id); !s.ok()) return Fail(std::move(done), s);
  Exec({{"SREM", RoomNodesKey(room), node_id}, {"SREM", NodeRoomsKey(node_id), room}},
       std::move(done));
}

void Directory::RoomNodes(const std::string& room,
                          ResultCallback<std::vector<std::string>> callback) {
  if (absl::Status s = CheckName("a room", room); !s.ok()) {
    deferred_.push_back([callback = std::move(callback), s] { callback(s); });
    deferred_timer_.Start(0);
    return;
  }
  commands_->Command({"SMEMBERS", RoomNodesKey(room)},
                     [callback = std::move(callback)](absl::StatusOr<Reply> reply) {
                       if (!reply.ok()) {
                         callback(reply.status());
                         return;
                       }
                       std::vector<std::string> nodes;
                       for (const Reply& e : reply->elements) nodes.push_back(e.str);
                       std::sort(nodes.begin(), nodes.end());
                       callback(std::move(nodes));
                     });
}

void Directory::SetRoomEntry(const std::string& room, const std::string& key,
                             const std::string& json, DoneCallback done) {
  if (node_id_.empty()) {
    return Fail(std::move(done), absl::FailedPreconditionError("Register before SetRoomEntry"));
  }
  if (absl::Status s = CheckName("a room", room); !s.ok()) return Fail(std::move(done), s);
  if (absl::Status s = CheckName("an entry key", key); !s.ok()) return Fail(std::move(done), s);
  Exec({{"HSET", RoomEntriesKey(room), key, json},
        {"SADD", NodeEntriesKey(node_id_), EntryMember(room, key)}},
       std::move(done));
}

void Directory::DeleteRoomEntry(const std::string& room, const std::string& key,
                                DoneCallback done) {
  if (node_id_.empty()) {
    return Fail(std::move(done), absl::FailedPreconditionError("Register before DeleteRoomEntry"));
  }
  if (absl::Status s = CheckName("a room", room); !s.ok()) return Fail(std::move(done), s);
  if (absl::Status s = CheckName("an entry key", key); !s.ok()) return Fail(std::move(done), s);
  Exec({{"HDEL", RoomEntriesKey(room), key},
        {"SREM", NodeEntriesKey(node_id_), EntryMember(room, key)}},
       std::move(done));
}

void Directory::RoomEntries(
    const std::string& room,
    ResultCallback<absl::flat_hash_map<std::string, std::string>> callback) {
  if (absl::Status s = CheckName("a room", room); !s.ok()) {
    deferred_.push_back([callback = std::move(callback), s] { callback(s); });
    deferred_timer_.Start(0);
    return;
  }
  commands_->Command({"HGETALL", RoomEntriesKey(room)}, [callback = std::move(callback)](
                                                            absl::StatusOr<Reply> reply) {
    if (!reply.ok()) {
      callback(reply.status());
      return;
    }
    const std::vector<Reply>& e = reply->elements;
    if (e.size() % 2 != 0) {
      callback(absl::DataLossError("HGETALL answered with an odd number of elements"));
      return;
    }
    absl::flat_hash_map<std::string, std::string> entries;
    for (size_t i = 0; i + 1 < e.size(); i += 2) entries[e[i].str] = e[i + 1].str;
    callback(std::move(entries));
  });
}

void Directory::PurgeNode(const std::string& node_id, DoneCallback done) {
  if (absl::Status s = CheckName("a node id", node_id); !s.ok()) return Fail(std::move(done), s);
  commands_->Command({"EVAL", kPurgeScript, "4", NodeRoomsKey(node_id), NodeEntriesKey(node_id),
                      NodeKey(node_id), NodesKey(), node_id,
                      options_.key_prefix + "roomnodes:", options_.key_prefix + "roomentries:"},
                     [node_id, done = std::move(done)](absl::StatusOr<Reply> reply) {
                       if (reply.ok()) {
                         SB_LOG_INFO("cluster", "purged node {} ({} room claims and entries)",
                                     node_id, reply->integer);
                       }
                       if (done) done(reply.status());
                     });
}

void Directory::Publish(const std::string& channel, const std::string& payload,
                        ResultCallback<int64_t> callback) {
  commands_->Command({"PUBLISH", channel, payload},
                     [callback = std::move(callback)](absl::StatusOr<Reply> reply) {
                       if (!callback) return;
                       if (!reply.ok()) {
                         callback(reply.status());
                         return;
                       }
                       callback(reply->integer);
                     });
}

absl::Status Directory::Subscribe(const std::string& channel, MessageHandler handler,
                                  std::function<void()> on_active) {
  return subscriber_->Subscribe(channel, std::move(handler), std::move(on_active));
}

void Directory::Unsubscribe(const std::string& channel) { subscriber_->Unsubscribe(channel); }

void Directory::Fail(DoneCallback done, absl::Status status) {
  if (!done) return;
  deferred_.push_back([done = std::move(done), status = std::move(status)] { done(status); });
  deferred_timer_.Start(0);
}

void Directory::RunDeferred() {
  auto deferred = std::move(deferred_);
  deferred_.clear();
  std::weak_ptr<bool> alive = alive_;
  for (auto& call : deferred) {
    call();
    if (alive.expired()) return;
  }
}

}  // namespace sb::signaling::cluster
