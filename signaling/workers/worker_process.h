// The control process's handle on one switchboard-worker child: spawns it, sends requests and
// matches responses by id (with a timeout), delivers notifications and reports its exit.
#pragma once

#include <signal.h>
#include <sys/types.h>
#include <uv.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "fbs/message_generated.h"
#include "worker/fbs/frame_codec.h"

namespace sb::signaling {

class WorkerProcess {
 public:
  class Listener {
   public:
    // The child exited (or was killed). Every pending request has already failed with
    // "WorkerDied". The listener may destroy the WorkerProcess from here.
    virtual void OnWorkerExited(WorkerProcess* worker, int64_t exit_status, int term_signal) = 0;

   protected:
    ~Listener() = default;
  };

  struct Options {
    std::string binary_path;  // the switchboard-worker executable
    std::string log_level = "info";
    int worker_id = 0;  // only used for the worker's log tag
    std::chrono::milliseconds request_timeout{10000};
  };

  // Fills a request body into `fbb` and returns its union type and offset.
  using BuildBodyFn = std::function<std::pair<fbs::RequestBody, flatbuffers::Offset<void>>(
      flatbuffers::FlatBufferBuilder& fbb)>;
  // Never given nullptr: timeouts, a dead worker and malformed replies arrive as error responses
  // (error "Timeout", "WorkerDied", "Malformed"). The pointer is valid only during the call.
  using ResponseFn = std::function<void(const fbs::Response* response)>;
  using NotificationFn = std::function<void(const fbs::Notification& notification)>;

  static absl::StatusOr<std::unique_ptr<WorkerProcess>> Spawn(uv_loop_t* loop, Options options,
                                                              Listener* listener);
  // Closes the pipes (a live worker then exits on its own) and fails pending requests with
  // "WorkerDied". The child is still reaped after this object is gone.
  ~WorkerProcess();
  WorkerProcess(const WorkerProcess&) = delete;
  WorkerProcess& operator=(const WorkerProcess&) = delete;

  // `on_response` is called exactly once: later from the loop, or before Request returns if the
  // worker is not running. `build_body` may be empty (no body).
  void Request(fbs::Method method, std::string handler_id, const BuildBodyFn& build_body,
               ResponseFn on_response);
  void SetNotificationHandler(NotificationFn handler) {
    notification_handler_ = std::move(handler);
  }

  // Closes the control pipe: the worker sees EOF and exits with status 0.
  void Close();
  // Sends `signum` to the child (SIGKILL by default).
  void Kill(int signum = SIGKILL);

  pid_t pid() const { return pid_; }
  bool alive() const { return alive_; }
  int worker_id() const { return options_.worker_id; }
  size_t pending_requests() const { return pending_.size(); }
  // Messages from the worker that failed verification or had an unexpected body.
  uint64_t malformed_count() const { return malformed_count_; }

  // Rooms (or whatever the placement layer counts) on this worker.
  int load() const { return load_; }
  void AddLoad(int delta) { load_ += delta; }

  // Writes raw bytes on the worker's control pipe (tests: garbage must not kill the worker).
  void SendRawForTesting(absl::Span<const uint8_t> bytes);

 private:
  struct Pending {
    ResponseFn on_response;
  };
  struct Handles;  // libuv handles; outlive this object until the child is reaped

  WorkerProcess(uv_loop_t* loop, Options options, Listener* listener);
  absl::Status Start();
  static void OnExit(uv_process_t* process, int64_t exit_status, int term_signal);
  static void OnAlloc(uv_handle_t* handle, size_t suggested, uv_buf_t* buf);
  static void OnRead(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf);
  static void OnSweep(uv_timer_t* timer);
  void HandleFrame(absl::Span<const uint8_t> payload);
  void HandleMalformed(absl::Span<const uint8_t> payload, const std::string& why);
  void HandleLog(const fbs::Log& log);
  void Write(absl::Span<const uint8_t> bytes);
  void StopReading();
  // Completes request `id` with a synthesized error response.
  void FailRequest(uint32_t id, std::string_view error, std::string_view reason);
  void FailAll(std::string_view error, std::string_view reason);
  void ClosePipes();

  // Passed by argument.
  uv_loop_t* const loop_;
  const Options options_;
  Listener* const listener_;
  // Allocated by this (released to libuv on destruction, see Handles).
  Handles* handles_ = nullptr;

  pid_t pid_ = 0;
  bool alive_ = false;
  bool reading_ = false;
  bool write_failed_ = false;
  uint32_t next_request_id_ = 1;
  absl::flat_hash_map<uint32_t, Pending> pending_;
  // Requests in send order with their deadlines; the timeout is constant so this is sorted.
  std::deque<std::pair<uint32_t, uint64_t>> deadlines_;
  NotificationFn notification_handler_;
  ipc::FrameDecoder decoder_;
  std::vector<uint8_t> read_buffer_;
  uint64_t malformed_count_ = 0;
  int load_ = 0;
};

}  // namespace sb::signaling
