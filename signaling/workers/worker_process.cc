#include "signaling/workers/worker_process.h"

#include <signal.h>

#include <algorithm>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "base/log.h"
#include "worker/fbs/message_builder.h"
#include "worker/fbs/pipe_writer.h"

namespace sb::signaling {
namespace {

// One read's worth; larger frames are reassembled by the FrameDecoder.
constexpr size_t kReadBufferSize = 64 * 1024;
// fds the worker expects (worker/main.cc): it reads 3 and writes 4.
constexpr int kWorkerReadFd = 3;
constexpr int kWorkerWriteFd = 4;

void OnQueuedWriteFailed(int status) {
  SB_LOG_WARN("workers", "write to worker failed: {}", uv_strerror(status));
}

uint64_t SweepInterval(std::chrono::milliseconds timeout) {
  return static_cast<uint64_t>(std::clamp<int64_t>(timeout.count() / 5, 10, 1000));
}

}  // namespace

// The libuv handles of one child. They must stay valid until libuv's close callbacks ran, and
// the process handle must stay open until the child is reaped, so they live apart from the
// WorkerProcess: a destroyed WorkerProcess orphans them (owner = nullptr) and the last close
// callback frees them.
struct WorkerProcess::Handles {
  WorkerProcess* owner = nullptr;
  uv_process_t process{};
  uv_pipe_t to_worker{};    // child's fd 3
  uv_pipe_t from_worker{};  // child's fd 4
  uv_timer_t sweep{};
  int open = 0;  // handles initialized and not yet closed

  void Close(uv_handle_t* handle) {
    if (uv_is_closing(handle)) return;
    uv_close(handle, [](uv_handle_t* h) {
      auto* self = static_cast<Handles*>(h->data);
      if (--self->open == 0 && self->owner == nullptr) {
        std::unique_ptr<Handles> owned(self);
      }
    });
  }
  void Init(uv_handle_t* handle) {
    handle->data = this;
    ++open;
  }
};

absl::StatusOr<std::unique_ptr<WorkerProcess>> WorkerProcess::Spawn(uv_loop_t* loop,
                                                                    Options options,
                                                                    Listener* listener) {
  std::unique_ptr<WorkerProcess> worker(new WorkerProcess(loop, std::move(options), listener));
  absl::Status status = worker->Start();
  if (!status.ok()) return status;
  return worker;
}

WorkerProcess::WorkerProcess(uv_loop_t* loop, Options options, Listener* listener)
    : loop_(loop),
      options_(std::move(options)),
      listener_(listener),
      read_buffer_(kReadBufferSize) {}

absl::Status WorkerProcess::Start() {
  auto handles = std::make_unique<Handles>();
  handles->owner = this;
  handles_ = handles.release();  // from here on freed by the close callbacks
  Handles& h = *handles_;
  uv_pipe_init(loop_, &h.to_worker, 0);
  h.Init(reinterpret_cast<uv_handle_t*>(&h.to_worker));
  uv_pipe_init(loop_, &h.from_worker, 0);
  h.Init(reinterpret_cast<uv_handle_t*>(&h.from_worker));
  uv_timer_init(loop_, &h.sweep);
  h.Init(reinterpret_cast<uv_handle_t*>(&h.sweep));

  std::vector<std::string> args = {options_.binary_path,
                                   absl::StrCat("--worker-id=", options_.worker_id),
                                   absl::StrCat("--log-level=", options_.log_level)};
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);

  uv_stdio_container_t stdio[5];
  stdio[0].flags = UV_IGNORE;
  stdio[1].flags = UV_INHERIT_FD;
  stdio[1].data.fd = 1;
  stdio[2].flags = UV_INHERIT_FD;
  stdio[2].data.fd = 2;
  // Flags are from the child's point of view: it reads fd 3 and writes fd 4.
  stdio[kWorkerReadFd].flags = static_cast<uv_stdio_flags>(UV_CREATE_PIPE | UV_READABLE_PIPE);
  stdio[kWorkerReadFd].data.stream = reinterpret_cast<uv_stream_t*>(&h.to_worker);
  stdio[kWorkerWriteFd].flags = static_cast<uv_stdio_flags>(UV_CREATE_PIPE | UV_WRITABLE_PIPE);
  stdio[kWorkerWriteFd].data.stream = reinterpret_cast<uv_stream_t*>(&h.from_worker);

  uv_process_options_t process_options{};
  process_options.exit_cb = &WorkerProcess::OnExit;
  process_options.file = options_.binary_path.c_str();
  process_options.args = argv.data();
  process_options.stdio_count = 5;
  process_options.stdio = stdio;

  int rc = uv_spawn(loop_, &h.process, &process_options);
  // A failed spawn still initialized the handle, which must be closed like any other.
  h.Init(reinterpret_cast<uv_handle_t*>(&h.process));
  if (rc < 0) {
    return absl::InternalError(
        absl::StrCat("spawning ", options_.binary_path, ": ", uv_strerror(rc)));
  }
  pid_ = h.process.pid;
  alive_ = true;
  rc = uv_read_start(reinterpret_cast<uv_stream_t*>(&h.from_worker), &WorkerProcess::OnAlloc,
                     &WorkerProcess::OnRead);
  if (rc < 0) {
    Kill();
    return absl::InternalError(absl::StrCat("uv_read_start: ", uv_strerror(rc)));
  }
  reading_ = true;
  SB_LOG_INFO("workers", "worker {} started, pid {}", options_.worker_id, pid_);
  return absl::OkStatus();
}

WorkerProcess::~WorkerProcess() {
  FailAll(ipc::error::kWorkerDied, "worker handle destroyed");
  if (handles_ == nullptr) return;
  Handles* h = handles_;
  handles_ = nullptr;
  h->owner = nullptr;
  h->Close(reinterpret_cast<uv_handle_t*>(&h->to_worker));
  h->Close(reinterpret_cast<uv_handle_t*>(&h->from_worker));
  h->Close(reinterpret_cast<uv_handle_t*>(&h->sweep));
  // A live child sees EOF and exits; its exit callback then closes the process handle.
  if (!alive_) h->Close(reinterpret_cast<uv_handle_t*>(&h->process));
  if (h->open == 0) std::unique_ptr<Handles> owned(h);
}

void WorkerProcess::OnExit(uv_process_t* process, int64_t exit_status, int term_signal) {
  auto* h = static_cast<Handles*>(process->data);
  WorkerProcess* self = h->owner;
  h->Close(reinterpret_cast<uv_handle_t*>(process));
  if (self == nullptr) return;
  self->alive_ = false;
  SB_LOG_INFO("workers", "worker {} (pid {}) exited: status {}, signal {}",
              self->options_.worker_id, self->pid_, exit_status, term_signal);
  self->ClosePipes();
  self->FailAll(ipc::error::kWorkerDied,
                absl::StrCat("worker exited with status ", exit_status, ", signal ", term_signal));
  if (self->listener_ != nullptr) self->listener_->OnWorkerExited(self, exit_status, term_signal);
  // `self` may be gone here.
}

void WorkerProcess::Request(fbs::Method method, std::string handler_id,
                            const BuildBodyFn& build_body, ResponseFn on_response) {
  const uint32_t id = next_request_id_++;
  if (next_request_id_ == 0) next_request_id_ = 1;
  flatbuffers::FlatBufferBuilder fbb;
  std::pair<fbs::RequestBody, flatbuffers::Offset<void>> body{fbs::RequestBody::NONE, 0};
  if (build_body) body = build_body(fbb);
  ipc::BuildRequest(fbb, id, method, handler_id, body.first, body.second);
  if (fbb.GetSize() > ipc::kMaxFrameSize) {
    flatbuffers::FlatBufferBuilder error;
    ipc::BuildResponseError(error, id, ipc::error::kInvalidArgument, "request too large");
    on_response(flatbuffers::GetRoot<fbs::Message>(error.GetBufferPointer())->body_as_Response());
    return;
  }
  pending_.emplace(id, Pending{std::move(on_response)});
  if (handles_ == nullptr || !alive_ || write_failed_ || !reading_) {
    FailRequest(id, ipc::error::kWorkerDied, "worker is not running");
    return;
  }
  deadlines_.emplace_back(id,
                          uv_now(loop_) + static_cast<uint64_t>(options_.request_timeout.count()));
  if (!uv_is_active(reinterpret_cast<uv_handle_t*>(&handles_->sweep))) {
    const uint64_t interval = SweepInterval(options_.request_timeout);
    uv_timer_start(&handles_->sweep, &WorkerProcess::OnSweep, interval, interval);
  }
  Write(ipc::EncodeFrame(fbb));
}

void WorkerProcess::OnSweep(uv_timer_t* timer) {
  WorkerProcess* self = static_cast<Handles*>(timer->data)->owner;
  if (self == nullptr) return;
  const uint64_t now = uv_now(self->loop_);
  while (!self->deadlines_.empty() && self->deadlines_.front().second <= now) {
    const uint32_t id = self->deadlines_.front().first;
    self->deadlines_.pop_front();
    if (self->pending_.contains(id)) {
      SB_LOG_WARN("workers", "worker {}: request {} timed out", self->options_.worker_id, id);
      self->FailRequest(
          id, ipc::error::kTimeout,
          absl::StrCat("no response within ", self->options_.request_timeout.count(), " ms"));
    }
  }
  if (self->pending_.empty()) {
    self->deadlines_.clear();
    uv_timer_stop(timer);
  }
}

void WorkerProcess::FailRequest(uint32_t id, std::string_view error, std::string_view reason) {
  auto it = pending_.find(id);
  if (it == pending_.end()) return;
  ResponseFn fn = std::move(it->second.on_response);
  pending_.erase(it);
  flatbuffers::FlatBufferBuilder fbb;
  ipc::BuildResponseError(fbb, id, error, reason);
  fn(flatbuffers::GetRoot<fbs::Message>(fbb.GetBufferPointer())->body_as_Response());
}

void WorkerProcess::FailAll(std::string_view error, std::string_view reason) {
  // Callbacks may issue new requests (which fail at once); take the current set first.
  std::vector<uint32_t> ids;
  ids.reserve(pending_.size());
  for (const auto& [id, pending] : pending_) ids.push_back(id);
  std::sort(ids.begin(), ids.end());
  for (uint32_t id : ids) FailRequest(id, error, reason);
  deadlines_.clear();
}

void WorkerProcess::Close() {
  ClosePipes();
  FailAll(ipc::error::kWorkerDied, "worker closed");
}

void WorkerProcess::Kill(int signum) {
  if (handles_ == nullptr || !alive_) return;
  if (int rc = uv_process_kill(&handles_->process, signum); rc < 0) {
    SB_LOG_WARN("workers", "kill({}, {}): {}", pid_, signum, uv_strerror(rc));
  }
}

void WorkerProcess::ClosePipes() {
  if (handles_ == nullptr) return;
  reading_ = false;
  write_failed_ = true;  // nothing more can be sent
  handles_->Close(reinterpret_cast<uv_handle_t*>(&handles_->to_worker));
  handles_->Close(reinterpret_cast<uv_handle_t*>(&handles_->from_worker));
}

void WorkerProcess::OnAlloc(uv_handle_t* handle, size_t /*suggested*/, uv_buf_t* buf) {
  WorkerProcess* self = static_cast<Handles*>(handle->data)->owner;
  if (self == nullptr) {
    *buf = uv_buf_init(nullptr, 0);  // libuv reports UV_ENOBUFS; we are closing anyway
    return;
  }
  *buf = uv_buf_init(reinterpret_cast<char*>(self->read_buffer_.data()),
                     static_cast<unsigned int>(self->read_buffer_.size()));
}

void WorkerProcess::OnRead(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
  WorkerProcess* self = static_cast<Handles*>(stream->data)->owner;
  if (self == nullptr || !self->reading_ || nread == 0) return;
  if (nread < 0) {
    // EOF or error: the worker is exiting; OnExit fails what is still pending.
    if (nread != UV_EOF) {
      SB_LOG_WARN("workers", "worker {}: read: {}", self->options_.worker_id, uv_strerror(nread));
    }
    self->StopReading();
    return;
  }
  absl::Status status = self->decoder_.Feed(
      reinterpret_cast<const uint8_t*>(buf->base), static_cast<size_t>(nread),
      [self](absl::Span<const uint8_t> payload) { self->HandleFrame(payload); });
  if (!status.ok()) {
    // Framing is lost: nothing further from this worker can be trusted. Kill it; the exit
    // callback fails the pending requests and the pool restarts it.
    ++self->malformed_count_;
    SB_LOG_ERROR("workers", "worker {}: broken stream: {}", self->options_.worker_id,
                 std::string(status.message()));
    self->StopReading();
    self->Kill();
  }
}

void WorkerProcess::StopReading() {
  if (!reading_) return;
  reading_ = false;
  uv_read_stop(reinterpret_cast<uv_stream_t*>(&handles_->from_worker));
}

void WorkerProcess::HandleFrame(absl::Span<const uint8_t> payload) {
  if (!reading_) return;
  absl::StatusOr<const fbs::Message*> message = ipc::VerifyMessage(payload);
  if (!message.ok()) {
    HandleMalformed(payload, std::string(message.status().message()));
    return;
  }
  switch ((*message)->body_type()) {
    case fbs::Body::Response: {
      const fbs::Response* response = (*message)->body_as_Response();
      auto it = pending_.find(response->id());
      if (it == pending_.end()) {
        SB_LOG_DEBUG("workers", "worker {}: response to unknown or expired request {}",
                     options_.worker_id, response->id());
        return;
      }
      ResponseFn fn = std::move(it->second.on_response);
      pending_.erase(it);
      fn(response);
      return;
    }
    case fbs::Body::Notification:
      if (notification_handler_) notification_handler_(*(*message)->body_as_Notification());
      return;
    case fbs::Body::Log:
      HandleLog(*(*message)->body_as_Log());
      return;
    default:
      HandleMalformed(payload, absl::StrCat("unexpected body type ",
                                            fbs::EnumNameBody((*message)->body_type())));
      return;
  }
}

void WorkerProcess::HandleMalformed(absl::Span<const uint8_t> payload, const std::string& why) {
  ++malformed_count_;
  SB_LOG_ERROR("workers", "worker {}: malformed message ({} bytes): {}", options_.worker_id,
               payload.size(), why);
  if (std::optional<uint32_t> id = ipc::RecoverId(payload, fbs::Body::Response)) {
    FailRequest(*id, ipc::error::kMalformed, why);
  }
}

void WorkerProcess::HandleLog(const fbs::Log& log) {
  const std::string_view text = log.text() ? log.text()->string_view() : std::string_view();
  switch (log.level()) {
    case fbs::LogLevel::DEBUG:
      SB_LOG_DEBUG("workers", "worker {} says: {}", options_.worker_id, text);
      break;
    case fbs::LogLevel::INFO:
      SB_LOG_INFO("workers", "worker {} says: {}", options_.worker_id, text);
      break;
    case fbs::LogLevel::WARN:
      SB_LOG_WARN("workers", "worker {} says: {}", options_.worker_id, text);
      break;
    default:
      SB_LOG_ERROR("workers", "worker {} says: {}", options_.worker_id, text);
      break;
  }
}

void WorkerProcess::SendRawForTesting(absl::Span<const uint8_t> bytes) { Write(bytes); }

void WorkerProcess::Write(absl::Span<const uint8_t> bytes) {
  if (handles_ == nullptr || write_failed_) return;
  const int rc = ipc::WriteInOrder(reinterpret_cast<uv_stream_t*>(&handles_->to_worker), bytes,
                                   OnQueuedWriteFailed);
  if (rc == 0) return;
  write_failed_ = true;
  SB_LOG_ERROR("workers", "worker {}: write failed: {}", options_.worker_id, uv_strerror(rc));
}

}  // namespace sb::signaling
