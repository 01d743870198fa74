// RouterHandler's pipe requests (docs/ipc.md, "Pipes between routers").
#include <vector>

#include "worker/fbs/message_builder.h"
#include "worker/router_handler.h"

namespace sb::worker {

void RouterHandler::HandlePipeRequest(const fbs::Request& request, router::Router* router,
                                      Responder& respond) {
  auto& fbb = respond.builder();
  if (request.method() == fbs::Method::ROUTER_CREATE_PIPE_TRANSPORT) {
    const auto* body = request.body_as_CreatePipeTransportRequest();
    if (!body) {
      return respond.Error(ipc::error::kInvalidArgument, "missing CreatePipeTransportRequest");
    }
    transport::PipeTransport::Options options;
    options.listen_ip = body->listen_ip()->str();
    options.srtp = body->srtp();
    options.sctp = body->sctp();
    options.sctp_client = body->sctp_client();
    auto transport = router->CreatePipeTransport(body->transport_id()->str(), options);
    if (!transport.ok()) return respond.Error(transport.status());
    const transport::PipeTransport& pipe = *(*transport)->pipe();
    auto info =
        fbs::CreatePipeTransportInfoDirect(fbb, (*transport)->id().c_str(), pipe.local_ip().c_str(),
                                           pipe.local_port(), &pipe.local_srtp_key());
    return respond.Ok(fbs::ResponseBody::PipeTransportInfo, info.Union());
  }
  // TRANSPORT_CONNECT_PIPE
  const std::string id = ipc::Str(request.handler_id());
  transport::PipeTransport* pipe = router->FindTransport(id)->pipe();
  if (!pipe) return respond.Error(ipc::error::kInvalidArgument, "not a pipe transport: " + id);
  const auto* body = request.body_as_ConnectPipeTransportRequest();
  if (!body)
    return respond.Error(ipc::error::kInvalidArgument, "missing ConnectPipeTransportRequest");
  std::vector<uint8_t> key;
  if (const auto* k = body->srtp_key()) key.assign(k->begin(), k->end());
  absl::Status status = pipe->Connect(body->ip()->str(), body->port(), key);
  if (!status.ok()) return respond.Error(status);
  respond.Ok();
}

}  // namespace sb::worker
