// A hung worker, seen from the clients: a real switchboard with two workers; the worker of one
// room is stopped (SIGSTOP: alive, answering nothing). Within the hang timeout its clients get
// room-closed, the room on the other worker notices nothing, the hung worker is killed and
// replaced, and the replacement serves new joins.
#include <signal.h>

#include <chrono>
#include <string>

#include "tests/signaling/server_process_fixture.h"

namespace sb::signaling {
namespace {

using nlohmann::json;
using testing::WsClient;

class HungWorkerServerTest : public testing::ServerProcessFixture {
 protected:
  std::vector<std::string> ExtraFlags() const override {
    return {"--workers=2", "--worker-heartbeat=1", "--worker-hang-timeout=2"};
  }
};

TEST_F(HungWorkerServerTest, HungWorkersRoomsAreClosedAndItIsReplaced) {
  // Room A, then room B: rooms go to the least-loaded worker, so B lands on the other one.
  auto a1 = Connect();
  auto a2 = Connect();
  ASSERT_FALSE(Join(*a1, "room-a", "Ada").is_null());
  ASSERT_FALSE(Join(*a2, "room-a", "Grace").is_null());
  auto b1 = Connect();
  auto b2 = Connect();
  ASSERT_FALSE(Join(*b1, "room-b", "Linus").is_null());
  ASSERT_FALSE(Join(*b2, "room-b", "Dennis").is_null());
  ASSERT_TRUE(a1->Next("participant-joined"));
  ASSERT_TRUE(b1->Next("participant-joined"));
  const json room_a = Room("room-a");
  const json room_b = Room("room-b");
  ASSERT_FALSE(room_a.is_null());
  ASSERT_FALSE(room_b.is_null());
  ASSERT_NE(room_a["worker"], room_b["worker"]);
  const pid_t hung_pid = room_a["workerPid"].get<pid_t>();
  const pid_t other_pid = room_b["workerPid"].get<pid_t>();
  ASSERT_GT(hung_pid, 0);
  // Heartbeats have been answered for a while: nobody is hung.
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  ASSERT_EQ(Metric("switchboard_worker_hangs_total"), 0);

  const auto stopped_at = std::chrono::steady_clock::now();
  ASSERT_EQ(kill(hung_pid, SIGSTOP), 0);
  for (WsClient* client : {a1.get(), a2.get()}) {
    std::optional<json> closed = client->Next("room-closed");
    ASSERT_TRUE(closed) << Log();
    EXPECT_EQ((*closed)["room"], "room-a");
  }
  // The hang timeout (2 s) plus at most one heartbeat interval (1 s), and some slack.
  const auto elapsed = std::chrono::steady_clock::now() - stopped_at;
  EXPECT_GE(elapsed, std::chrono::seconds(2));
  EXPECT_LT(elapsed, std::chrono::seconds(6));
  EXPECT_EQ(Metric("switchboard_worker_hangs_total"), 1);
  EXPECT_EQ(Metric("switchboard_rooms_closed_by_worker_death_total"), 1);
  // Killed, not just forgotten: the stopped process is gone.
  EXPECT_EQ(kill(hung_pid, 0), -1);

  // Room B notices nothing.
  ExpectUnaffected(*b1, "room B's first member");
  ExpectUnaffected(*b2, "room B's second member");
  EXPECT_EQ(Room("room-b")["workerPid"], other_pid);

  // The replacement serves new joins: room A's members join again, on the replacement.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (Metric("switchboard_worker_restarts_total") < 1 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(Metric("switchboard_worker_restarts_total"), 1);
  ASSERT_FALSE(Join(*a1, "room-a", "Ada").is_null());
  ASSERT_FALSE(Join(*a2, "room-a", "Grace").is_null());
  ASSERT_TRUE(a1->Next("participant-joined"));
  const json again = Room("room-a");
  EXPECT_EQ(again["worker"], room_a["worker"]);  // the least loaded: the new one has no room
  EXPECT_NE(again["workerPid"], hung_pid);
  EXPECT_GT(again["workerPid"].get<pid_t>(), 0);
  EXPECT_EQ(Metric("switchboard_participants"), 4);
  // The heartbeat goes on without taking healthy workers for hung ones.
  std::this_thread::sleep_for(std::chrono::milliseconds(3000));
  EXPECT_EQ(Metric("switchboard_worker_hangs_total"), 1);
  ExpectUnaffected(*b1, "room B at the end");
  ExpectUnaffected(*a1, "room A at the end");
}

}  // namespace
}  // namespace sb::signaling
