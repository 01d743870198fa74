#include "signaling/workers/worker_pool.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <cerrno>
#include <optional>
#include <vector>

#include "tests/signaling/workers/loop_fixture.h"

namespace sb::signaling {
namespace {

class WorkerPoolTest : public testing::LoopTest, public WorkerPool::Listener {
 protected:
  void OnWorkerDied(int index) override { died_.push_back(index); }
  void OnWorkerRestarted(int index) override { restarted_.push_back(index); }
  void OnWorkerNotification(int index, const fbs::Notification& n) override {
    if (n.event() == fbs::Event::WORKER_RUNNING) ++running_[static_cast<size_t>(index)];
  }

  WorkerPool::Options PoolOptions(int n) {
    WorkerPool::Options options;
    options.binary_path = SB_WORKER_BINARY;
    options.log_level = "warn";
    options.num_workers = n;
    options.restart_delay = std::chrono::milliseconds(50);
    running_.assign(static_cast<size_t>(n), 0);
    return options;
  }

  std::optional<pid_t> DumpPid(WorkerProcess* worker) {
    std::optional<pid_t> pid;
    bool done = false;
    worker->Request(fbs::Method::WORKER_DUMP, "", {}, [&](const fbs::Response* response) {
      done = true;
      if (const fbs::WorkerDump* dump = response->body_as_WorkerDump()) pid = dump->pid();
    });
    RunUntil([&] { return done; });
    return pid;
  }

  std::vector<int> died_;
  std::vector<int> restarted_;
  std::vector<int> running_;
};

TEST_F(WorkerPoolTest, DefaultsToOneWorkerPerCore) {
  WorkerPool::Options options = PoolOptions(0);
  WorkerPool pool(&loop_, options, this);
  EXPECT_EQ(pool.size(), static_cast<int>(uv_available_parallelism()));
}

TEST_F(WorkerPoolTest, RestartsKilledWorker) {
  WorkerPool pool(&loop_, PoolOptions(2), this);
  ASSERT_TRUE(pool.Start().ok());
  ASSERT_TRUE(RunUntil([&] { return running_[0] == 1 && running_[1] == 1; }));
  WorkerProcess* victim = pool.worker(0);
  ASSERT_NE(victim, nullptr);
  const pid_t old_pid = victim->pid();
  EXPECT_EQ(DumpPid(victim), old_pid);

  victim->Kill(SIGKILL);
  ASSERT_TRUE(RunUntil([&] { return !restarted_.empty(); }));
  EXPECT_EQ(died_, std::vector<int>{0});
  EXPECT_EQ(restarted_, std::vector<int>{0});
  EXPECT_EQ(pool.restarts(), 1u);
  EXPECT_EQ(pool.deaths(), 1u);
  WorkerProcess* replacement = pool.worker(0);
  ASSERT_NE(replacement, nullptr);
  EXPECT_NE(replacement->pid(), old_pid);
  EXPECT_EQ(DumpPid(replacement), replacement->pid());
  ASSERT_TRUE(RunUntil([&] { return running_[0] == 2; }));
  // The other worker was untouched.
  EXPECT_EQ(DumpPid(pool.worker(1)), pool.worker(1)->pid());

  bool closed = false;
  pool.Close([&] { closed = true; });
  EXPECT_TRUE(RunUntil([&] { return closed; }));
  EXPECT_EQ(pool.restarts(), 1u);  // closing is not dying
  EXPECT_EQ(died_.size(), 1u);
}

TEST_F(WorkerPoolTest, LeastLoadedPicksLowestLoad) {
  WorkerPool pool(&loop_, PoolOptions(3), this);
  ASSERT_TRUE(pool.Start().ok());
  pool.worker(0)->AddLoad(2);
  pool.worker(1)->AddLoad(1);
  pool.worker(2)->AddLoad(3);
  EXPECT_EQ(pool.LeastLoaded(), pool.worker(1));
  pool.worker(1)->Kill(SIGKILL);
  ASSERT_TRUE(RunUntil([&] { return died_.size() == 1; }));
  // While worker 1 is down the choice falls back to the next lowest.
  EXPECT_EQ(pool.LeastLoaded(), pool.worker(0));
  bool closed = false;
  pool.Close([&] { closed = true; });
  EXPECT_TRUE(RunUntil([&] { return closed; }));
}

TEST_F(WorkerPoolTest, BacksOffWhenWorkerKeepsDying) {
  WorkerPool::Options options = PoolOptions(1);
  options.restart_delay = std::chrono::milliseconds(100);
  WorkerPool pool(&loop_, options, this);
  ASSERT_TRUE(pool.Start().ok());
  for (size_t round = 1; round <= 3; ++round) {
    ASSERT_TRUE(RunUntil([&] { return pool.worker(0) != nullptr; }));
    const uint64_t killed_at = uv_now(&loop_);
    pool.worker(0)->Kill(SIGKILL);
    ASSERT_TRUE(RunUntil([&] { return restarted_.size() == round; }));
    // 100, 200, 400 ms: each quick death doubles the delay.
    EXPECT_GE(uv_now(&loop_) - killed_at, 100u << (round - 1)) << "round " << round;
  }
  EXPECT_EQ(pool.restarts(), 3u);
  bool closed = false;
  pool.Close([&] { closed = true; });
  EXPECT_TRUE(RunUntil([&] { return closed; }));
}

// A stopped worker (SIGSTOP: alive, but it answers nothing) is found by the heartbeat, killed and
// replaced like one that died; the other worker and the replacement are left alone.
TEST_F(WorkerPoolTest, HungWorkerIsKilledAndReplaced) {
  WorkerPool::Options options = PoolOptions(2);
  options.heartbeat_interval = std::chrono::milliseconds(100);
  options.hang_timeout = std::chrono::milliseconds(500);
  WorkerPool pool(&loop_, options, this);
  ASSERT_TRUE(pool.Start().ok());
  ASSERT_TRUE(RunUntil([&] { return running_[0] == 1 && running_[1] == 1; }));
  const pid_t hung_pid = pool.worker(0)->pid();
  const pid_t other_pid = pool.worker(1)->pid();
  // Heartbeats answered for a while: nobody is hung.
  RunFor(std::chrono::milliseconds(700));
  EXPECT_EQ(pool.hangs(), 0u);
  ASSERT_TRUE(died_.empty());

  const uint64_t stopped_at = uv_now(&loop_);
  ASSERT_EQ(kill(hung_pid, SIGSTOP), 0);
  // Should the pool not kill it, a stopped child must not outlive the test (it holds ctest's
  // output pipe open).
  struct KillIfFailed {
    pid_t pid;
    ~KillIfFailed() {
      if (::testing::Test::HasFailure()) kill(pid, SIGKILL);
    }
  } cleanup{hung_pid};
  ASSERT_TRUE(RunUntil([&] { return !died_.empty(); }, std::chrono::seconds(5)));
  const uint64_t detected_after = uv_now(&loop_) - stopped_at;
  EXPECT_EQ(died_, std::vector<int>{0});
  EXPECT_EQ(pool.hangs(), 1u);
  EXPECT_EQ(pool.deaths(), 1u);
  // The hang timeout, plus at most one heartbeat interval before the unanswered heartbeat left.
  EXPECT_GE(detected_after, 500u);
  EXPECT_LT(detected_after, 2000u);
  ASSERT_EQ(kill(hung_pid, 0), -1);  // gone (SIGKILL), and reaped
  EXPECT_EQ(errno, ESRCH);

  ASSERT_TRUE(RunUntil([&] { return restarted_.size() == 1; }));
  WorkerProcess* replacement = pool.worker(0);
  ASSERT_NE(replacement, nullptr);
  EXPECT_NE(replacement->pid(), hung_pid);
  EXPECT_EQ(DumpPid(replacement), replacement->pid());
  // Heartbeats go on: the replacement and the other worker answer them and stay.
  RunFor(std::chrono::milliseconds(1000));
  EXPECT_EQ(pool.hangs(), 1u);
  EXPECT_EQ(died_.size(), 1u);
  ASSERT_NE(pool.worker(1), nullptr);
  EXPECT_EQ(pool.worker(1)->pid(), other_pid);
  EXPECT_EQ(DumpPid(pool.worker(1)), other_pid);

  bool closed = false;
  pool.Close([&] { closed = true; });
  EXPECT_TRUE(RunUntil([&] { return closed; }));
}

// A worker that answers late, but within the hang timeout, is not hung.
TEST_F(WorkerPoolTest, SlowWorkerWithinTheTimeoutIsNotHung) {
  WorkerPool::Options options = PoolOptions(1);
  options.heartbeat_interval = std::chrono::milliseconds(100);
  options.hang_timeout = std::chrono::milliseconds(1500);
  WorkerPool pool(&loop_, options, this);
  ASSERT_TRUE(pool.Start().ok());
  ASSERT_TRUE(RunUntil([&] { return running_[0] == 1; }));
  const pid_t pid = pool.worker(0)->pid();
  for (int round = 0; round < 2; ++round) {
    ASSERT_EQ(kill(pid, SIGSTOP), 0);
    RunFor(std::chrono::milliseconds(700));
    ASSERT_EQ(kill(pid, SIGCONT), 0);
    RunFor(std::chrono::milliseconds(300));
  }
  RunFor(std::chrono::milliseconds(1000));
  EXPECT_EQ(pool.hangs(), 0u);
  EXPECT_TRUE(died_.empty());
  ASSERT_NE(pool.worker(0), nullptr);
  EXPECT_EQ(pool.worker(0)->pid(), pid);

  bool closed = false;
  pool.Close([&] { closed = true; });
  EXPECT_TRUE(RunUntil([&] { return closed; }));
}

// heartbeat_interval 0: no heartbeat, so a stopped worker is not noticed (and is killed on
// Close after close_timeout, like any straggler).
TEST_F(WorkerPoolTest, NoHeartbeatWhenTheIntervalIsZero) {
  WorkerPool::Options options = PoolOptions(1);
  options.heartbeat_interval = std::chrono::milliseconds(0);
  options.hang_timeout = std::chrono::milliseconds(100);
  options.close_timeout = std::chrono::milliseconds(200);
  WorkerPool pool(&loop_, options, this);
  ASSERT_TRUE(pool.Start().ok());
  ASSERT_TRUE(RunUntil([&] { return running_[0] == 1; }));
  ASSERT_EQ(kill(pool.worker(0)->pid(), SIGSTOP), 0);
  RunFor(std::chrono::milliseconds(600));
  EXPECT_EQ(pool.hangs(), 0u);
  EXPECT_TRUE(died_.empty());
  bool closed = false;
  pool.Close([&] { closed = true; });
  EXPECT_TRUE(RunUntil([&] { return closed; }));
  EXPECT_TRUE(died_.empty());  // closing is not dying
}

}  // namespace
}  // namespace sb::signaling
