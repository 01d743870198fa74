// The worker process's top object: owns the control channel and the request handler, answers
// WORKER_DUMP itself and dispatches everything else to the handler.
#pragma once

#include <uv.h>

#include <cstdint>
#include <memory>

#include "absl/status/status.h"
#include "worker/channel.h"
#include "worker/request_handler.h"

namespace sb::worker {

class Worker final : public Channel::Listener, public ResponseSink, public Notifier {
 public:
  // Opens the channel on `read_fd`/`write_fd` (3 and 4 in a spawned worker).
  static absl::StatusOr<std::unique_ptr<Worker>> Create(uv_loop_t* loop, int read_fd, int write_fd);
  ~Worker();

  // nullptr: every method but WORKER_DUMP is answered NotImplemented.
  void SetRequestHandler(std::unique_ptr<RequestHandler> handler);
  // Sends WORKER_RUNNING; call once the handler is set.
  void Start();

  // Set once the channel closed; the loop is stopped at that moment.
  bool closed() const { return closed_; }
  // 0 after a clean EOF, 1 if the channel broke.
  int exit_code() const { return exit_code_; }
  uint64_t malformed_count() const { return channel_ ? channel_->malformed_count() : 0; }

  // Channel::Listener
  void OnChannelRequest(const fbs::Request& request) override;
  void OnChannelNotification(const fbs::Notification& notification) override;
  void OnChannelClosed(const absl::Status& reason) override;
  // ResponseSink
  void SendResponse(const flatbuffers::FlatBufferBuilder& fbb) override;
  // Notifier
  void NotifyWithBody(flatbuffers::FlatBufferBuilder& fbb, fbs::Event event,
                      std::string_view handler_id, fbs::NotificationBody body_type,
                      flatbuffers::Offset<void> body) override;

 private:
  explicit Worker(uv_loop_t* loop);
  void HandleWorkerDump(Responder respond);

  // Passed by argument.
  uv_loop_t* const loop_;
  // Allocated by this. Destroyed handler first: it may still send on the channel while closing.
  std::unique_ptr<Channel> channel_;
  std::unique_ptr<RequestHandler> handler_;

  bool closed_ = false;
  int exit_code_ = 0;
};

}  // namespace sb::worker
