// N switchboard-worker processes (one per core by default). Restarts a worker that dies, with
// exponential backoff while it keeps dying, and tells its listener so the rooms placed on the
// dead worker can be closed and rebuilt. A worker that stops answering (hung: stopped, stuck in
// a loop, deadlocked) is found by a heartbeat, killed and then handled like one that died.
#pragma once

#include <uv.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "fbs/message_generated.h"
#include "signaling/workers/worker_process.h"

namespace sb::signaling {

class WorkerPool final : public WorkerProcess::Listener {
 public:
  class Listener {
   public:
    // Worker `index` died unexpectedly; everything placed on it is gone. A replacement is
    // started after a delay (OnWorkerRestarted).
    virtual void OnWorkerDied(int index) = 0;
    virtual void OnWorkerRestarted(int /*index*/) {}
    virtual void OnWorkerNotification(int /*index*/, const fbs::Notification& /*notification*/) {}

   protected:
    ~Listener() = default;
  };

  struct Options {
    std::string binary_path;
    std::string log_level = "info";
    int num_workers = 0;  // 0: uv_available_parallelism()
    std::chrono::milliseconds request_timeout{10000};
    // First restart delay; doubles for each death within kStableRun of the last start.
    std::chrono::milliseconds restart_delay{100};
    std::chrono::milliseconds max_restart_delay{10000};
    // Close(): workers still running after this are killed.
    std::chrono::milliseconds close_timeout{3000};
    // Every heartbeat_interval each live worker is sent a WORKER_DUMP (0: no heartbeat); one
    // not answered within hang_timeout means the worker is hung: it is killed with SIGKILL and
    // replaced like a worker that died.
    std::chrono::milliseconds heartbeat_interval{2000};
    std::chrono::milliseconds hang_timeout{10000};
  };

  WorkerPool(uv_loop_t* loop, Options options, Listener* listener);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Spawns every worker; fails if any cannot be spawned (those started are closed again).
  absl::Status Start();
  // Closes every worker's pipes (they exit on EOF), stops restarting, kills stragglers after
  // close_timeout, and calls `on_closed` once every worker has exited.
  void Close(std::function<void()> on_closed);

  // The live worker with the lowest load(); nullptr if none is running.
  WorkerProcess* LeastLoaded();
  // nullptr while worker `index` is down, waiting for its restart.
  WorkerProcess* worker(int index);
  int IndexOf(const WorkerProcess* worker) const;
  int size() const { return static_cast<int>(slots_.size()); }

  // Metrics.
  uint64_t restarts() const { return restarts_; }
  uint64_t deaths() const { return deaths_; }  // hung workers killed included
  uint64_t hangs() const { return hangs_; }
  // The workers' network counters (WorkerDump.network) from their last heartbeat replies,
  // summed by name; a replaced worker's counts start again from 0.
  std::vector<std::pair<std::string, uint64_t>> NetworkCounters() const;

  // WorkerProcess::Listener
  void OnWorkerExited(WorkerProcess* worker, int64_t exit_status, int term_signal) override;

 private:
  struct Slot;

  absl::Status SpawnSlot(int index);
  void ScheduleRestart(int index);
  void MaybeFinishClose();
  void SendHeartbeats();
  void OnHeartbeatReply(int index, uint64_t sequence, const fbs::Response* response);
  void OnHung(int index);

  // Passed by argument.
  uv_loop_t* const loop_;
  const Options options_;
  Listener* const listener_;
  // Allocated by this.
  std::vector<std::unique_ptr<Slot>> slots_;
  uv_timer_t* close_timer_ = nullptr;      // freed in its close callback
  uv_timer_t* heartbeat_timer_ = nullptr;  // likewise

  bool closing_ = false;
  std::function<void()> on_closed_;
  uint64_t restarts_ = 0;
  uint64_t deaths_ = 0;
  uint64_t hangs_ = 0;
  uint64_t heartbeat_sequence_ = 0;
};

}  // namespace sb::signaling
