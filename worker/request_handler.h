// The seam between the worker's IPC plumbing and the router layer: the Worker hands every
// request addressed to a router/transport/producer/consumer to a RequestHandler, which answers
// through a Responder and reports events through a Notifier.
#pragma once

#include <uv.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "fbs/message_generated.h"

namespace sb::worker {

// Where a Responder sends its finished response (implemented by Worker).
class ResponseSink {
 public:
  virtual void SendResponse(const flatbuffers::FlatBufferBuilder& fbb) = 0;

 protected:
  ~ResponseSink() = default;
};

// Answers one request, exactly once. Build a body in builder(), then call Ok(type, offset); or
// call Ok() / Error(...). Copies share one state (shared_ptr: a Responder captured in a
// std::function must be copyable) so the request is still answered once; if the last copy dies
// unanswered it sends error "Internal" so the control side never waits for a timeout.
// Lifetime: must not outlive the Worker; the handler is owned by the Worker, so anything the
// handler keeps is destroyed first.
class Responder {
 public:
  Responder(uint32_t request_id, ResponseSink* sink);
  ~Responder();
  Responder(const Responder&) = default;
  Responder& operator=(const Responder&) = default;
  Responder(Responder&&) = default;
  Responder& operator=(Responder&&) = default;

  uint32_t request_id() const;
  bool responded() const;
  // Builder for the response body; Ok() finishes the response in it.
  flatbuffers::FlatBufferBuilder& builder();

  void Ok(fbs::ResponseBody body_type = fbs::ResponseBody::NONE,
          flatbuffers::Offset<void> body = 0);
  // `error` is one of sb::ipc::error (worker/fbs/message_builder.h).
  void Error(std::string_view error, std::string_view reason);
  // Maps the status code to an error string (NotFound, InvalidArgument, ...).
  void Error(const absl::Status& status);

 private:
  struct State;
  std::shared_ptr<State> state_;
};

// Sends notifications (worker -> control) on the channel.
class Notifier {
 public:
  // `fbb` already holds the body (if any); this finishes the message in it and sends it.
  virtual void NotifyWithBody(flatbuffers::FlatBufferBuilder& fbb, fbs::Event event,
                              std::string_view handler_id, fbs::NotificationBody body_type,
                              flatbuffers::Offset<void> body) = 0;
  void Notify(fbs::Event event, std::string_view handler_id);

 protected:
  ~Notifier() = default;
};

class RequestHandler {
 public:
  virtual ~RequestHandler() = default;
  // Handles a request addressed to a router/transport/producer/consumer (every method except
  // WORKER_DUMP, which the Worker answers). Must call respond exactly once (now or later). The
  // request is valid only during the call: copy what is needed later.
  virtual void HandleRequest(const fbs::Request& request, Responder respond) = 0;
  // Router ids for WORKER_DUMP.
  virtual std::vector<std::string> RouterIds() const = 0;
  // The worker's shared network counters for WORKER_DUMP, by name (none by default).
  virtual std::vector<std::pair<std::string, uint64_t>> NetworkCounters() const { return {}; }
};

// Builds the worker's handler (worker/default_handler.cc, replaced by the router-backed one).
// Returning nullptr makes the worker answer every method but WORKER_DUMP with NotImplemented.
std::unique_ptr<RequestHandler> MakeRequestHandler(uv_loop_t* loop, Notifier* notifier);

}  // namespace sb::worker
