#include "signaling/workers/worker_pool.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/log.h"
#include "worker/fbs/message_builder.h"

namespace sb::signaling {
namespace {

// A worker that ran this long before dying is not crash-looping: its next restart is immediate
// (after restart_delay) again.
constexpr uint64_t kStableRunMs = 30000;

// libuv may only free a timer in its close callback.
uv_timer_t* NewTimer(uv_loop_t* loop, void* data) {
  auto timer = std::make_unique<uv_timer_t>();
  uv_timer_init(loop, timer.get());
  timer->data = data;
  return timer.release();  // freed by CloseTimer
}

void CloseTimer(uv_timer_t* timer) {
  if (timer == nullptr) return;
  timer->data = nullptr;
  uv_close(reinterpret_cast<uv_handle_t*>(timer), [](uv_handle_t* handle) {
    std::unique_ptr<uv_timer_t>(reinterpret_cast<uv_timer_t*>(handle));
  });
}

}  // namespace

struct WorkerPool::Slot {
  WorkerPool* pool = nullptr;
  int index = 0;
  std::unique_ptr<WorkerProcess> process;
  uv_timer_t* restart_timer = nullptr;
  uv_timer_t* hang_timer = nullptr;  // runs while a heartbeat is unanswered
  uint64_t heartbeat_pending = 0;    // the unanswered heartbeat's sequence number, 0: none
  uint64_t started_at_ms = 0;
  int consecutive_failures = 0;
  std::vector<std::pair<std::string, uint64_t>> network;  // from the last heartbeat reply
};

WorkerPool::WorkerPool(uv_loop_t* loop, Options options, Listener* listener)
    : loop_(loop), options_(std::move(options)), listener_(listener) {
  int n = options_.num_workers > 0 ? options_.num_workers
                                   : static_cast<int>(uv_available_parallelism());
  for (int i = 0; i < n; ++i) {
    auto slot = std::make_unique<Slot>();
    slot->pool = this;
    slot->index = i;
    slot->restart_timer = NewTimer(loop_, slot.get());
    slot->hang_timer = NewTimer(loop_, slot.get());
    slots_.push_back(std::move(slot));
  }
  close_timer_ = NewTimer(loop_, this);
  heartbeat_timer_ = NewTimer(loop_, this);
}

WorkerPool::~WorkerPool() {
  closing_ = true;
  for (auto& slot : slots_) {
    CloseTimer(slot->restart_timer);
    CloseTimer(slot->hang_timer);
    slot->process.reset();  // closes its pipes; the child exits on EOF
  }
  CloseTimer(close_timer_);
  CloseTimer(heartbeat_timer_);
}

absl::Status WorkerPool::Start() {
  for (int i = 0; i < size(); ++i) {
    absl::Status status = SpawnSlot(i);
    if (!status.ok()) {
      for (auto& slot : slots_) slot->process.reset();
      return status;
    }
  }
  SB_LOG_INFO("workers", "{} workers started", size());
  if (options_.heartbeat_interval.count() > 0) {
    const auto interval = static_cast<uint64_t>(options_.heartbeat_interval.count());
    uv_timer_start(
        heartbeat_timer_,
        [](uv_timer_t* timer) {
          if (auto* pool = static_cast<WorkerPool*>(timer->data)) pool->SendHeartbeats();
        },
        interval, interval);
  }
  return absl::OkStatus();
}

void WorkerPool::SendHeartbeats() {
  if (closing_) return;
  for (auto& slot : slots_) {
    WorkerProcess* process = slot->process.get();
    // One heartbeat at a time: an unanswered one is left to its hang timer.
    if (process == nullptr || !process->alive() || slot->heartbeat_pending != 0) continue;
    const uint64_t sequence = ++heartbeat_sequence_;
    slot->heartbeat_pending = sequence;
    uv_timer_start(
        slot->hang_timer,
        [](uv_timer_t* timer) {
          if (auto* s = static_cast<Slot*>(timer->data)) s->pool->OnHung(s->index);
        },
        static_cast<uint64_t>(options_.hang_timeout.count()), 0);
    const int index = slot->index;
    // May answer at once (with WorkerDied) when the worker cannot be written to.
    process->Request(fbs::Method::WORKER_DUMP, "", {},
                     [this, index, sequence](const fbs::Response* response) {
                       OnHeartbeatReply(index, sequence, response);
                     });
  }
}

void WorkerPool::OnHeartbeatReply(int index, uint64_t sequence, const fbs::Response* response) {
  Slot& slot = *slots_[static_cast<size_t>(index)];
  if (slot.heartbeat_pending != sequence) return;
  // Errors the control side makes up are not the worker answering: its request timed out, or
  // it is gone (the exit path handles that). Anything the worker itself sent means it runs.
  const std::string_view error =
      response->error() != nullptr ? response->error()->string_view() : std::string_view();
  if (error == ipc::error::kTimeout || error == ipc::error::kWorkerDied) return;
  slot.heartbeat_pending = 0;
  uv_timer_stop(slot.hang_timer);
  if (const auto* dump = response->body_as_WorkerDump(); dump && dump->network()) {
    slot.network.clear();
    for (const auto* counter : *dump->network()) {
      slot.network.emplace_back(counter->name()->str(), counter->value());
    }
  }
}

std::vector<std::pair<std::string, uint64_t>> WorkerPool::NetworkCounters() const {
  std::vector<std::pair<std::string, uint64_t>> sum;
  for (const auto& slot : slots_) {
    for (const auto& counter : slot->network) {
      auto it = std::find_if(sum.begin(), sum.end(),
                             [&](const auto& e) { return e.first == counter.first; });
      if (it == sum.end()) {
        sum.push_back(counter);
      } else {
        it->second += counter.second;
      }
    }
  }
  return sum;
}

void WorkerPool::OnHung(int index) {
  Slot& slot = *slots_[static_cast<size_t>(index)];
  slot.heartbeat_pending = 0;
  if (closing_ || slot.process == nullptr || !slot.process->alive()) return;
  ++hangs_;
  SB_LOG_ERROR("workers", "worker {} (pid {}) hung: no heartbeat reply within {} ms; killing it",
               index, slot.process->pid(), options_.hang_timeout.count());
  // Its exit is then handled like any death: rooms closed, listener told, worker restarted.
  slot.process->Kill(SIGKILL);
}

absl::Status WorkerPool::SpawnSlot(int index) {
  Slot& slot = *slots_[static_cast<size_t>(index)];
  slot.network.clear();
  WorkerProcess::Options options;
  options.binary_path = options_.binary_path;
  options.log_level = options_.log_level;
  options.worker_id = index;
  options.request_timeout = options_.request_timeout;
  absl::StatusOr<std::unique_ptr<WorkerProcess>> process =
      WorkerProcess::Spawn(loop_, std::move(options), this);
  if (!process.ok()) return process.status();
  slot.process = std::move(*process);
  slot.started_at_ms = uv_now(loop_);
  if (listener_ != nullptr) {
    slot.process->SetNotificationHandler([this, index](const fbs::Notification& notification) {
      listener_->OnWorkerNotification(index, notification);
    });
  }
  return absl::OkStatus();
}

void WorkerPool::OnWorkerExited(WorkerProcess* worker, int64_t exit_status, int term_signal) {
  const int index = IndexOf(worker);
  if (index < 0) return;
  Slot& slot = *slots_[static_cast<size_t>(index)];
  uv_timer_stop(slot.hang_timer);
  slot.heartbeat_pending = 0;
  // WorkerProcess::OnExit touches nothing after calling us, so it may be destroyed here.
  slot.process.reset();
  if (closing_) {
    MaybeFinishClose();
    return;
  }
  ++deaths_;
  SB_LOG_ERROR("workers", "worker {} died (status {}, signal {})", index, exit_status, term_signal);
  if (listener_ != nullptr) listener_->OnWorkerDied(index);
  ScheduleRestart(index);
}

void WorkerPool::ScheduleRestart(int index) {
  Slot& slot = *slots_[static_cast<size_t>(index)];
  if (uv_now(loop_) - slot.started_at_ms >= kStableRunMs) slot.consecutive_failures = 0;
  ++slot.consecutive_failures;
  int64_t delay = options_.restart_delay.count();
  for (int i = 1; i < slot.consecutive_failures && delay < options_.max_restart_delay.count();
       ++i) {
    delay *= 2;
  }
  delay = std::min<int64_t>(delay, options_.max_restart_delay.count());
  SB_LOG_INFO("workers", "restarting worker {} in {} ms", index, delay);
  uv_timer_start(
      slot.restart_timer,
      [](uv_timer_t* timer) {
        auto* s = static_cast<Slot*>(timer->data);
        if (s == nullptr || s->pool->closing_) return;
        WorkerPool* pool = s->pool;
        absl::Status status = pool->SpawnSlot(s->index);
        if (!status.ok()) {
          SB_LOG_ERROR("workers", "restarting worker {} failed: {}", s->index,
                       std::string(status.message()));
          s->started_at_ms = uv_now(pool->loop_);
          pool->ScheduleRestart(s->index);
          return;
        }
        ++pool->restarts_;
        if (pool->listener_ != nullptr) pool->listener_->OnWorkerRestarted(s->index);
      },
      static_cast<uint64_t>(delay), 0);
}

void WorkerPool::Close(std::function<void()> on_closed) {
  closing_ = true;
  on_closed_ = std::move(on_closed);
  uv_timer_stop(heartbeat_timer_);
  for (auto& slot : slots_) {
    uv_timer_stop(slot->restart_timer);
    uv_timer_stop(slot->hang_timer);
    if (slot->process != nullptr) slot->process->Close();
  }
  uv_timer_start(
      close_timer_,
      [](uv_timer_t* timer) {
        auto* pool = static_cast<WorkerPool*>(timer->data);
        if (pool == nullptr) return;
        for (auto& slot : pool->slots_) {
          if (slot->process == nullptr) continue;
          SB_LOG_WARN("workers", "worker {} did not exit after its pipe closed; killing it",
                      slot->index);
          slot->process->Kill(SIGKILL);
        }
      },
      static_cast<uint64_t>(options_.close_timeout.count()), 0);
  MaybeFinishClose();
}

void WorkerPool::MaybeFinishClose() {
  if (!closing_ || !on_closed_) return;
  for (const auto& slot : slots_) {
    if (slot->process != nullptr) return;
  }
  uv_timer_stop(close_timer_);
  std::function<void()> done = std::move(on_closed_);
  on_closed_ = nullptr;
  done();
}

WorkerProcess* WorkerPool::LeastLoaded() {
  WorkerProcess* best = nullptr;
  for (const auto& slot : slots_) {
    WorkerProcess* p = slot->process.get();
    if (p == nullptr || !p->alive()) continue;
    if (best == nullptr || p->load() < best->load()) best = p;
  }
  return best;
}

WorkerProcess* WorkerPool::worker(int index) {
  if (index < 0 || index >= size()) return nullptr;
  return slots_[static_cast<size_t>(index)]->process.get();
}

int WorkerPool::IndexOf(const WorkerProcess* worker) const {
  for (const auto& slot : slots_) {
    if (slot->process.get() == worker) return slot->index;
  }
  return -1;
}

}  // namespace sb::signaling
