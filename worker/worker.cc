#include "worker/worker.h"

#include <unistd.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/log.h"
#include "worker/fbs/message_builder.h"

namespace sb::worker {

absl::StatusOr<std::unique_ptr<Worker>> Worker::Create(uv_loop_t* loop, int read_fd, int write_fd) {
  std::unique_ptr<Worker> worker(new Worker(loop));
  absl::StatusOr<std::unique_ptr<Channel>> channel =
      Channel::Open(loop, read_fd, write_fd, worker.get());
  if (!channel.ok()) return channel.status();
  worker->channel_ = std::move(*channel);
  return worker;
}

Worker::Worker(uv_loop_t* loop) : loop_(loop) {}

Worker::~Worker() {
  handler_.reset();
  channel_.reset();
}

void Worker::SetRequestHandler(std::unique_ptr<RequestHandler> handler) {
  handler_ = std::move(handler);
}

void Worker::Start() { Notify(fbs::Event::WORKER_RUNNING, ""); }

void Worker::OnChannelRequest(const fbs::Request& request) {
  Responder respond(request.id(), this);
  const fbs::Method method = request.method();
  if (method < fbs::Method::MIN || method > fbs::Method::MAX) {
    respond.Error(ipc::error::kInvalidArgument,
                  absl::StrCat("unknown method ", static_cast<int>(method)));
    return;
  }
  if (method == fbs::Method::WORKER_DUMP) {
    HandleWorkerDump(std::move(respond));
    return;
  }
  if (handler_ == nullptr) {
    respond.Error(ipc::error::kNotImplemented,
                  absl::StrCat(fbs::EnumNameMethod(method), " has no handler in this worker"));
    return;
  }
  handler_->HandleRequest(request, std::move(respond));
}

void Worker::HandleWorkerDump(Responder respond) {
  flatbuffers::FlatBufferBuilder& fbb = respond.builder();
  std::vector<std::string> router_ids;
  if (handler_ != nullptr) router_ids = handler_->RouterIds();
  const auto ids = fbb.CreateVectorOfStrings(router_ids);
  std::vector<flatbuffers::Offset<fbs::NamedCounter>> counters;
  if (handler_ != nullptr) {
    for (const auto& [name, value] : handler_->NetworkCounters()) {
      counters.push_back(fbs::CreateNamedCounterDirect(fbb, name.c_str(), value));
    }
  }
  const auto dump = fbs::CreateWorkerDump(fbb, static_cast<uint32_t>(getpid()), ids,
                                          malformed_count(), fbb.CreateVector(counters));
  respond.Ok(fbs::ResponseBody::WorkerDump, dump.Union());
}

void Worker::OnChannelNotification(const fbs::Notification& notification) {
  // No control -> worker notifications are defined yet.
  SB_LOG_DEBUG("worker", "ignoring notification {} for '{}'",
               fbs::EnumNameEvent(notification.event()),
               notification.handler_id() ? notification.handler_id()->string_view() : "");
}

void Worker::OnChannelClosed(const absl::Status& reason) {
  closed_ = true;
  exit_code_ = reason.ok() ? 0 : 1;
  // The handler may own sockets and timers; stopping the loop (rather than waiting for every
  // handle to close) guarantees the process exits. main() tears everything down afterwards.
  uv_stop(loop_);
}

void Worker::SendResponse(const flatbuffers::FlatBufferBuilder& fbb) {
  if (channel_ != nullptr) channel_->Send(fbb);
}

void Worker::NotifyWithBody(flatbuffers::FlatBufferBuilder& fbb, fbs::Event event,
                            std::string_view handler_id, fbs::NotificationBody body_type,
                            flatbuffers::Offset<void> body) {
  ipc::BuildNotification(fbb, handler_id, event, body_type, body);
  if (channel_ != nullptr) channel_->Send(fbb);
}

}  // namespace sb::worker
