#include "worker/request_handler.h"

#include <string>

#include "worker/fbs/frame_codec.h"
#include "worker/fbs/message_builder.h"

namespace sb::worker {

struct Responder::State {
  State(uint32_t id, ResponseSink* sink) : id(id), sink(sink) {}
  ~State() {
    if (!responded) Send(ipc::error::kInternal, "request dropped without a response");
  }
  void Send(std::string_view error, std::string_view reason) {
    ipc::BuildResponseError(fbb, id, error, reason);
    responded = true;
    sink->SendResponse(fbb);
  }

  const uint32_t id;
  ResponseSink* const sink;
  bool responded = false;
  flatbuffers::FlatBufferBuilder fbb;
};

Responder::Responder(uint32_t request_id, ResponseSink* sink)
    : state_(std::make_shared<State>(request_id, sink)) {}

Responder::~Responder() = default;

uint32_t Responder::request_id() const { return state_->id; }

bool Responder::responded() const { return state_->responded; }

flatbuffers::FlatBufferBuilder& Responder::builder() { return state_->fbb; }

void Responder::Ok(fbs::ResponseBody body_type, flatbuffers::Offset<void> body) {
  if (state_->responded) return;
  ipc::BuildResponseOk(state_->fbb, state_->id, body_type, body);
  if (state_->fbb.GetSize() > ipc::kMaxFrameSize) {
    // The control side would reject the frame; answer with an error it can read instead.
    state_->fbb.Clear();
    state_->Send(ipc::error::kInternal, "response exceeds the IPC frame size limit");
    return;
  }
  state_->responded = true;
  state_->sink->SendResponse(state_->fbb);
}

void Responder::Error(std::string_view error, std::string_view reason) {
  if (state_->responded) return;
  // A body the handler may have started is abandoned: the error carries none.
  state_->fbb.Clear();
  state_->Send(error, reason);
}

void Responder::Error(const absl::Status& status) {
  std::string_view error = ipc::error::kInternal;
  switch (status.code()) {
    case absl::StatusCode::kNotFound:
      error = ipc::error::kNotFound;
      break;
    case absl::StatusCode::kAlreadyExists:
      error = ipc::error::kAlreadyExists;
      break;
    case absl::StatusCode::kFailedPrecondition:
      error = ipc::error::kFailedPrecondition;
      break;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kOutOfRange:
      error = ipc::error::kInvalidArgument;
      break;
    case absl::StatusCode::kUnimplemented:
      error = ipc::error::kNotImplemented;
      break;
    default:
      break;
  }
  Error(error, std::string(status.message()));
}

void Notifier::Notify(fbs::Event event, std::string_view handler_id) {
  flatbuffers::FlatBufferBuilder fbb;
  NotifyWithBody(fbb, event, handler_id, fbs::NotificationBody::NONE, 0);
}

}  // namespace sb::worker
