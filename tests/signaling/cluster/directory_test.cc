// Directory against a real redis-server on 127.0.0.1: two (or three) Directory instances play
// switchboard nodes sharing it, with short intervals (heartbeat 100 ms, node TTL 300 ms); and on
// a server that wants a password (requirepass, an ACL user).
#include "signaling/cluster/directory.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "tests/signaling/cluster/redis_server_fixture.h"

namespace sb::signaling::cluster {
namespace {

using ::sb::signaling::cluster::testing::RedisTest;
using Done = absl::Status;
using Nodes = absl::StatusOr<std::vector<NodeInfo>>;
using Names = absl::StatusOr<std::vector<std::string>>;
using Entries = absl::StatusOr<absl::flat_hash_map<std::string, std::string>>;

constexpr auto kHeartbeat = std::chrono::milliseconds(100);
constexpr auto kTtl = std::chrono::milliseconds(300);

class RecordingListener : public Directory::Listener {
 public:
  void OnNodeDown(const std::string& node_id) override { down.push_back(node_id); }
  void OnNodeUp(const NodeInfo& node) override { up.push_back(node.id); }
  void OnRegistrationLost() override { ++lost; }
  void OnRedisAvailable(bool available) override { available ? ++redis_up : ++redis_down; }
  std::vector<std::string> down;
  std::vector<std::string> up;
  int lost = 0;
  int redis_up = 0;
  int redis_down = 0;
};

std::vector<std::string> Ids(const std::vector<NodeInfo>& nodes) {
  std::vector<std::string> ids;
  for (const NodeInfo& node : nodes) ids.push_back(node.id);
  return ids;
}

class DirectoryTest : public RedisTest {
 protected:
  std::unique_ptr<Directory> Make(RecordingListener* listener, const std::string& prefix = "sb:") {
    DirectoryOptions options;
    options.key_prefix = prefix;
    options.heartbeat_interval = kHeartbeat;
    options.node_ttl = kTtl;
    options.redis.address = {"127.0.0.1", server_.port()};
    options.redis.min_backoff = std::chrono::milliseconds(20);
    options.redis.max_backoff = std::chrono::milliseconds(100);
    options.redis.username = redis_user_;
    options.redis.password = redis_password_;
    auto directory = std::make_unique<Directory>(&loop_, options, listener);
    EXPECT_TRUE(directory->Start().ok());
    EXPECT_TRUE(RunUntil([&] { return directory->connected(); }));
    return directory;
  }

  // The node ids LiveNodes lists, once they are `expected` (or the last answer at the deadline).
  std::vector<std::string> WaitForLiveNodes(Directory& directory,
                                            const std::vector<std::string>& expected) {
    std::vector<std::string> ids;
    RunUntil([&] {
      std::optional<Nodes> nodes =
          Await<Nodes>([&](std::function<void(Nodes)> done) { directory.LiveNodes(done); });
      if (nodes && nodes->ok()) ids = Ids(**nodes);
      return ids == expected;
    });
    return ids;
  }

  absl::Status Wait(const std::function<void(Directory::DoneCallback)>& start) {
    std::optional<Done> done = Await<Done>(start);
    return done.has_value() ? *done : absl::DeadlineExceededError("no callback");
  }

  // The credentials Make gives both connections of a directory (none by default).
  std::string redis_user_;
  std::string redis_password_;
};

TEST_F(DirectoryTest, TwoNodesSeeEachOther) {
  RecordingListener listener_a;
  RecordingListener listener_b;
  auto a = Make(&listener_a);
  auto b = Make(&listener_b);
  EXPECT_EQ(listener_a.redis_up, 1);
  ASSERT_TRUE(a->Register("a", "10.0.0.1:8080", {3, 2}).ok());
  ASSERT_TRUE(b->Register("b", "10.0.0.2:8080", {0, 4}).ok());
  ASSERT_EQ(WaitForLiveNodes(*a, {"a", "b"}), (std::vector<std::string>{"a", "b"}));
  std::optional<Nodes> nodes =
      Await<Nodes>([&](std::function<void(Nodes)> done) { b->LiveNodes(done); });
  ASSERT_TRUE(nodes.has_value() && nodes->ok());
  ASSERT_EQ((*nodes)->size(), 2u);
  EXPECT_EQ((**nodes)[0].address, "10.0.0.1:8080");
  EXPECT_EQ((**nodes)[0].load, (NodeLoad{3, 2}));
  EXPECT_EQ((**nodes)[1].address, "10.0.0.2:8080");
  EXPECT_EQ((**nodes)[1].load, (NodeLoad{0, 4}));
  // Each is told of the other (not of itself) once its first scan has run.
  ASSERT_TRUE(RunUntil([&] { return !listener_a.up.empty() && !listener_b.up.empty(); }));
  EXPECT_EQ(listener_a.up, std::vector<std::string>{"b"});
  EXPECT_EQ(listener_b.up, std::vector<std::string>{"a"});

  // A new load goes out with the next heartbeat.
  b->SetLoad({7, 4});
  EXPECT_TRUE(RunUntil([&] {
    std::optional<Nodes> now =
        Await<Nodes>([&](std::function<void(Nodes)> done) { a->LiveNodes(done); });
    return now && now->ok() && (*now)->size() == 2 && (**now)[1].load == NodeLoad{7, 4};
  }));
  EXPECT_TRUE(listener_a.down.empty());
  EXPECT_EQ(listener_a.lost, 0);
}

TEST_F(DirectoryTest, NodeThatStopsHeartbeatingIsReportedDown) {
  RecordingListener listener_a;
  RecordingListener listener_b;
  auto a = Make(&listener_a);
  auto b = Make(&listener_b);
  ASSERT_TRUE(a->Register("a", "10.0.0.1:8080", {}).ok());
  ASSERT_TRUE(b->Register("b", "10.0.0.2:8080", {}).ok());
  ASSERT_TRUE(RunUntil([&] { return listener_a.up == std::vector<std::string>{"b"}; }));

  // B crashes: no goodbye, its key just stops being refreshed.
  b.reset();
  const uint64_t crashed = uv_now(&loop_);
  ASSERT_TRUE(RunUntil([&] { return !listener_a.down.empty(); }, std::chrono::seconds(10)));
  const uint64_t noticed_after = uv_now(&loop_) - crashed;
  EXPECT_EQ(listener_a.down, std::vector<std::string>{"b"});
  // Expected within node_ttl + scan interval (400 ms); generous for a loaded machine.
  EXPECT_LT(noticed_after, 3000u);
  EXPECT_EQ(WaitForLiveNodes(*a, {"a"}), std::vector<std::string>{"a"});
  // Reported once, though it stays in the registry until purged.
  RunFor(kTtl * 2);
  EXPECT_EQ(listener_a.down, std::vector<std::string>{"b"});
  // A node that starts later still learns of the dead one (it was never live to it).
  RecordingListener listener_c;
  auto c = Make(&listener_c);
  ASSERT_TRUE(c->Register("c", "10.0.0.3:8080", {}).ok());
  ASSERT_TRUE(RunUntil([&] { return !listener_c.down.empty(); }));
  EXPECT_EQ(listener_c.down, std::vector<std::string>{"b"});
  EXPECT_EQ(listener_c.up, std::vector<std::string>{"a"});
  // Once purged, nobody hears of it again; a node that comes back under its id is up again.
  ASSERT_TRUE(Wait([&](auto done) { a->PurgeNode("b", done); }).ok());
  RecordingListener listener_b2;
  auto b2 = Make(&listener_b2);
  ASSERT_TRUE(b2->Register("b", "10.0.0.2:8080", {}).ok());
  ASSERT_TRUE(
      RunUntil([&] { return std::count(listener_a.up.begin(), listener_a.up.end(), "b") == 2; }));
  EXPECT_EQ(listener_a.down, std::vector<std::string>{"b"});
}

TEST_F(DirectoryTest, UnregisterIsNoticedAtTheNextScan) {
  RecordingListener listener_a;
  RecordingListener listener_b;
  auto a = Make(&listener_a);
  auto b = Make(&listener_b);
  ASSERT_TRUE(a->Register("a", "10.0.0.1:8080", {}).ok());
  ASSERT_TRUE(b->Register("b", "10.0.0.2:8080", {}).ok());
  ASSERT_TRUE(RunUntil([&] { return listener_a.up == std::vector<std::string>{"b"}; }));
  ASSERT_TRUE(Wait([&](auto done) { b->ClaimRoomNode("r", "b", done); }).ok());
  ASSERT_TRUE(Wait([&](auto done) { b->Unregister(done); }).ok());
  // Gone from the registry and from the room at once, not node_ttl later.
  std::optional<Nodes> nodes =
      Await<Nodes>([&](std::function<void(Nodes)> done) { a->LiveNodes(done); });
  EXPECT_EQ(Ids(**nodes), std::vector<std::string>{"a"});
  std::optional<Names> room = Await<Names>([&](auto done) { a->RoomNodes("r", done); });
  EXPECT_TRUE((*room)->empty());
  ASSERT_TRUE(RunUntil([&] { return !listener_a.down.empty(); }));
  EXPECT_EQ(listener_a.down, std::vector<std::string>{"b"});
  // B keeps its connection but no longer heartbeats: it stays gone.
  RunFor(kTtl);
  nodes = Await<Nodes>([&](std::function<void(Nodes)> done) { a->LiveNodes(done); });
  EXPECT_EQ(Ids(**nodes), std::vector<std::string>{"a"});
  EXPECT_EQ(Wait([&](auto done) { b->Unregister(done); }).code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(DirectoryTest, RoomNodesAndEntries) {
  RecordingListener listener_a;
  RecordingListener listener_b;
  auto a = Make(&listener_a);
  auto b = Make(&listener_b);
  // Entries belong to a registered node.
  EXPECT_EQ(Wait([&](auto done) { a->SetRoomEntry("r", "p1", "{}", done); }).code(),
            absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(a->Register("a", "10.0.0.1:8080", {}).ok());
  ASSERT_TRUE(b->Register("b", "10.0.0.2:8080", {}).ok());

  ASSERT_TRUE(Wait([&](auto done) { a->ClaimRoomNode("r", "a", done); }).ok());
  ASSERT_TRUE(Wait([&](auto done) { b->ClaimRoomNode("r", "b", done); }).ok());
  ASSERT_TRUE(Wait([&](auto done) { b->ClaimRoomNode("r", "b", done); }).ok());  // Idempotent.
  ASSERT_TRUE(Wait([&](auto done) { b->ClaimRoomNode("other", "b", done); }).ok());
  std::optional<Names> nodes = Await<Names>([&](auto done) { a->RoomNodes("r", done); });
  EXPECT_EQ(**nodes, (std::vector<std::string>{"a", "b"}));
  ASSERT_TRUE(Wait([&](auto done) { a->ReleaseRoomNode("r", "a", done); }).ok());
  nodes = Await<Names>([&](auto done) { b->RoomNodes("r", done); });
  EXPECT_EQ(**nodes, std::vector<std::string>{"b"});
  nodes = Await<Names>([&](auto done) { b->RoomNodes("empty", done); });
  EXPECT_TRUE((*nodes)->empty());

  const std::string p1 = R"({"name":"Ada","tracks":["audio","video"]})";
  ASSERT_TRUE(Wait([&](auto done) { a->SetRoomEntry("r", "p1", p1, done); }).ok());
  ASSERT_TRUE(Wait([&](auto done) { b->SetRoomEntry("r", "p2", "{}", done); }).ok());
  ASSERT_TRUE(Wait([&](auto done) { b->SetRoomEntry("r", "p2", R"({"v":2})", done); }).ok());
  std::optional<Entries> entries = Await<Entries>([&](auto done) { b->RoomEntries("r", done); });
  ASSERT_TRUE(entries->ok());
  EXPECT_EQ((*entries)->size(), 2u);
  EXPECT_EQ((**entries)["p1"], p1);
  EXPECT_EQ((**entries)["p2"], R"({"v":2})");
  ASSERT_TRUE(Wait([&](auto done) { a->DeleteRoomEntry("r", "p1", done); }).ok());
  entries = Await<Entries>([&](auto done) { b->RoomEntries("r", done); });
  EXPECT_EQ((*entries)->size(), 1u);
  EXPECT_TRUE((*entries)->contains("p2"));
  // Names are bounded.
  EXPECT_EQ(Wait([&](auto done) { a->ClaimRoomNode("", "a", done); }).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      Wait([&](auto done) { a->SetRoomEntry("r", std::string(300, 'k'), "{}", done); }).code(),
      absl::StatusCode::kInvalidArgument);
}

TEST_F(DirectoryTest, PurgeNodeRemovesItsClaimsAndEntries) {
  RecordingListener listener_a;
  RecordingListener listener_b;
  auto a = Make(&listener_a);
  auto b = Make(&listener_b);
  ASSERT_TRUE(a->Register("a", "10.0.0.1:8080", {}).ok());
  ASSERT_TRUE(b->Register("b", "10.0.0.2:8080", {}).ok());
  // Room names and keys with the separator of the entries set in them.
  for (const std::string room : {"r1", "r:2"}) {
    ASSERT_TRUE(Wait([&](auto done) { b->ClaimRoomNode(room, "b", done); }).ok());
    ASSERT_TRUE(Wait([&](auto done) { b->SetRoomEntry(room, "b:p1", "{}", done); }).ok());
    ASSERT_TRUE(Wait([&](auto done) { b->SetRoomEntry(room, "b:p2", "{}", done); }).ok());
  }
  ASSERT_TRUE(Wait([&](auto done) { a->ClaimRoomNode("r1", "a", done); }).ok());
  ASSERT_TRUE(Wait([&](auto done) { a->SetRoomEntry("r1", "a:p1", "{}", done); }).ok());
  ASSERT_EQ(WaitForLiveNodes(*a, {"a", "b"}), (std::vector<std::string>{"a", "b"}));

  b.reset();  // Crashed.
  ASSERT_TRUE(Wait([&](auto done) { a->PurgeNode("b", done); }).ok());
  std::optional<Names> nodes = Await<Names>([&](auto done) { a->RoomNodes("r1", done); });
  EXPECT_EQ(**nodes, std::vector<std::string>{"a"});
  nodes = Await<Names>([&](auto done) { a->RoomNodes("r:2", done); });
  EXPECT_TRUE((*nodes)->empty());
  std::optional<Entries> entries = Await<Entries>([&](auto done) { a->RoomEntries("r1", done); });
  ASSERT_EQ((*entries)->size(), 1u);
  EXPECT_TRUE((*entries)->contains("a:p1"));
  entries = Await<Entries>([&](auto done) { a->RoomEntries("r:2", done); });
  EXPECT_TRUE((*entries)->empty());
  // Its key is gone at once (no waiting for the TTL), and nothing of it is left in Redis.
  std::optional<Nodes> live =
      Await<Nodes>([&](std::function<void(Nodes)> done) { a->LiveNodes(done); });
  EXPECT_EQ(Ids(**live), std::vector<std::string>{"a"});
  RedisClientOptions options;
  options.address = {"127.0.0.1", server_.port()};
  RedisClient raw(&loop_, options);
  ASSERT_TRUE(raw.Start().ok());
  std::optional<absl::StatusOr<Reply>> keys = Await<absl::StatusOr<Reply>>([&](auto done) {
    raw.Command({"KEYS", "sb:*b"}, done);
  });
  ASSERT_TRUE(keys->ok());
  EXPECT_TRUE((*keys)->elements.empty()) << (*keys)->DebugString();
  // Purging again, or a node never seen, is harmless.
  EXPECT_TRUE(Wait([&](auto done) { a->PurgeNode("b", done); }).ok());
  EXPECT_TRUE(Wait([&](auto done) { a->PurgeNode("nobody", done); }).ok());
}

TEST_F(DirectoryTest, PublishAndSubscribeBetweenNodes) {
  RecordingListener listener_a;
  RecordingListener listener_b;
  auto a = Make(&listener_a);
  auto b = Make(&listener_b);
  EXPECT_EQ(a->NodeChannel("a"), "sb:node:a");
  EXPECT_EQ(a->RoomChannel("r"), "sb:room:r");
  std::vector<std::string> to_a;
  std::vector<std::string> room_at_a;
  std::vector<std::string> room_at_b;
  int active = 0;
  ASSERT_TRUE(a->Subscribe(
                   a->NodeChannel("a"),
                   [&](const std::string&, const std::string& payload) { to_a.push_back(payload); },
                   [&] { ++active; })
                  .ok());
  ASSERT_TRUE(a->Subscribe(
                   a->RoomChannel("r"),
                   [&](const std::string& channel, const std::string& payload) {
                     EXPECT_EQ(channel, "sb:room:r");
                     room_at_a.push_back(payload);
                   },
                   [&] { ++active; })
                  .ok());
  ASSERT_TRUE(
      b->Subscribe(
           b->RoomChannel("r"),
           [&](const std::string&, const std::string& payload) { room_at_b.push_back(payload); },
           [&] { ++active; })
          .ok());
  ASSERT_TRUE(RunUntil([&] { return active == 3; }));
  EXPECT_TRUE(a->subscribed(a->NodeChannel("a")));

  std::optional<absl::StatusOr<int64_t>> receivers = Await<absl::StatusOr<int64_t>>(
      [&](auto done) { b->Publish(b->NodeChannel("a"), R"({"type":"hello","from":"b"})", done); });
  EXPECT_EQ(**receivers, 1);
  receivers = Await<absl::StatusOr<int64_t>>(
      [&](auto done) { b->Publish(b->RoomChannel("r"), "joined", done); });
  EXPECT_EQ(**receivers, 2);
  b->Publish(b->NodeChannel("nobody"), "lost");
  ASSERT_TRUE(
      RunUntil([&] { return to_a.size() == 1 && room_at_a.size() == 1 && room_at_b.size() == 1; }));
  EXPECT_EQ(to_a[0], R"({"type":"hello","from":"b"})");
  EXPECT_EQ(room_at_a[0], "joined");
  EXPECT_EQ(room_at_b[0], "joined");
  a->Unsubscribe(a->RoomChannel("r"));
  EXPECT_FALSE(a->subscribed(a->RoomChannel("r")));
}

TEST_F(DirectoryTest, PrefixesKeepDeploymentsApart) {
  RecordingListener listener_a;
  RecordingListener listener_x;
  auto a = Make(&listener_a);
  auto x = Make(&listener_x, "test-x:");
  ASSERT_TRUE(a->Register("a", "10.0.0.1:8080", {}).ok());
  ASSERT_TRUE(x->Register("x", "10.0.0.9:8080", {}).ok());
  ASSERT_TRUE(Wait([&](auto done) { x->ClaimRoomNode("r", "x", done); }).ok());
  EXPECT_EQ(WaitForLiveNodes(*a, {"a"}), std::vector<std::string>{"a"});
  EXPECT_EQ(WaitForLiveNodes(*x, {"x"}), std::vector<std::string>{"x"});
  std::optional<Names> nodes = Await<Names>([&](auto done) { a->RoomNodes("r", done); });
  EXPECT_TRUE((*nodes)->empty());
  EXPECT_EQ(x->NodeKey("x"), "test-x:node:x");
}

TEST_F(DirectoryTest, RedisRestartedEmpty) {
  RecordingListener listener_a;
  RecordingListener listener_b;
  auto a = Make(&listener_a);
  auto b = Make(&listener_b);
  ASSERT_TRUE(a->Register("a", "10.0.0.1:8080", {}).ok());
  ASSERT_TRUE(b->Register("b", "10.0.0.2:8080", {}).ok());
  ASSERT_TRUE(RunUntil([&] { return listener_a.up == std::vector<std::string>{"b"}; }));
  ASSERT_TRUE(Wait([&](auto done) { b->ClaimRoomNode("r", "b", done); }).ok());

  // Redis loses everything (no persistence): calls fail meanwhile, nobody is called down, and
  // both nodes learn their registration was lost so they can claim their rooms again.
  server_.Kill();
  ASSERT_TRUE(RunUntil([&] { return listener_a.redis_down == 1 && listener_b.redis_down == 1; }));
  EXPECT_EQ(Wait([&](auto done) { a->ClaimRoomNode("r", "a", done); }).code(),
            absl::StatusCode::kUnavailable);
  RestartServer();
  ASSERT_TRUE(RunUntil([&] { return listener_a.lost == 1 && listener_b.lost == 1; }));
  EXPECT_EQ(WaitForLiveNodes(*a, {"a", "b"}), (std::vector<std::string>{"a", "b"}));
  // Past the grace period after the reconnection, scans have run: still nobody down.
  RunFor(kTtl * 3);
  EXPECT_TRUE(listener_a.down.empty());
  EXPECT_TRUE(listener_b.down.empty());
  std::optional<Names> nodes = Await<Names>([&](auto done) { a->RoomNodes("r", done); });
  EXPECT_TRUE((*nodes)->empty());  // Gone with the data: OnRegistrationLost is the cue.
}

// A server with requirepass and an ACL user: nodes authenticate on both connections (commands
// and subscriptions), and a node with the wrong password stays out. The ACL user has the rights
// docs/deploy.md recommends (keys and channels under sb: only, no admin or dangerous commands):
// everything a node does works with them.
class AuthenticatedDirectoryTest : public DirectoryTest {
 protected:
  std::vector<std::string> ServerArgs() const override {
    return {"--requirepass", "default-pw", "--user", "sfu",     "on",         ">sfu-pw",
            "~sb:*",         "&sb:*",      "+@all",  "-@admin", "-@dangerous"};
  }
};

TEST_F(AuthenticatedDirectoryTest, NodesRegisterAndSeeEachOther) {
  RecordingListener listener_a;
  RecordingListener listener_b;
  redis_user_ = "sfu";
  redis_password_ = "sfu-pw";
  auto a = Make(&listener_a);
  redis_user_.clear();
  redis_password_ = "default-pw";
  auto b = Make(&listener_b);
  ASSERT_TRUE(a->Register("a", "10.0.0.1:8080", {1, 2}).ok());
  ASSERT_TRUE(b->Register("b", "10.0.0.2:8080", {3, 4}).ok());
  ASSERT_EQ(WaitForLiveNodes(*a, {"a", "b"}), (std::vector<std::string>{"a", "b"}));
  ASSERT_TRUE(RunUntil([&] { return !listener_a.up.empty() && !listener_b.up.empty(); }));
  EXPECT_EQ(listener_a.up, std::vector<std::string>{"b"});
  EXPECT_EQ(listener_b.up, std::vector<std::string>{"a"});
  // The subscriber connections authenticated too.
  std::vector<std::string> at_a;
  bool active = false;
  ASSERT_TRUE(a->Subscribe(
                   a->NodeChannel("a"),
                   [&](const std::string&, const std::string& payload) { at_a.push_back(payload); },
                   [&] { active = true; })
                  .ok());
  ASSERT_TRUE(RunUntil([&] { return active; }));
  std::optional<absl::StatusOr<int64_t>> receivers = Await<absl::StatusOr<int64_t>>(
      [&](auto done) { b->Publish(b->NodeChannel("a"), "hello", done); });
  EXPECT_EQ(**receivers, 1);
  ASSERT_TRUE(RunUntil([&] { return at_a.size() == 1; }));
  // The room directory and the purge script (a, the ACL user, purges b).
  ASSERT_TRUE(Wait([&](auto done) { a->ClaimRoomNode("r", "a", done); }).ok());
  ASSERT_TRUE(Wait([&](auto done) { b->ClaimRoomNode("r", "b", done); }).ok());
  ASSERT_TRUE(Wait([&](auto done) { a->SetRoomEntry("r", "p1", R"({"n":1})", done); }).ok());
  ASSERT_TRUE(Wait([&](auto done) { b->SetRoomEntry("r", "p2", R"({"n":2})", done); }).ok());
  std::optional<Entries> entries = Await<Entries>([&](auto done) { a->RoomEntries("r", done); });
  ASSERT_TRUE(entries.has_value() && entries->ok()) << entries->status();
  EXPECT_EQ((*entries)->size(), 2u);
  ASSERT_TRUE(Wait([&](auto done) { a->PurgeNode("b", done); }).ok());
  std::optional<Names> nodes = Await<Names>([&](auto done) { a->RoomNodes("r", done); });
  ASSERT_TRUE(nodes.has_value() && nodes->ok()) << nodes->status();
  EXPECT_EQ(**nodes, std::vector<std::string>{"a"});

  // A node with the wrong password never connects, and the others never see it.
  DirectoryOptions options;
  options.redis.address = {"127.0.0.1", server_.port()};
  options.redis.password = "wrong";
  options.redis.min_backoff = std::chrono::milliseconds(20);
  options.redis.max_backoff = std::chrono::milliseconds(100);
  RecordingListener listener_c;
  Directory c(&loop_, options, &listener_c);
  ASSERT_TRUE(c.Start().ok());
  ASSERT_TRUE(c.Register("c", "10.0.0.3:8080", {}).ok());
  RunFor(kTtl);
  EXPECT_FALSE(c.connected());
  EXPECT_EQ(listener_c.redis_up, 0);
  EXPECT_EQ(WaitForLiveNodes(*a, {"a", "b"}), (std::vector<std::string>{"a", "b"}));
}

}  // namespace
}  // namespace sb::signaling::cluster
