// RouterHandler's data channel requests and events (docs/ipc.md, "Data channels").
#include "base/log.h"
#include "worker/fbs/message_builder.h"
#include "worker/router_handler.h"

namespace sb::worker {
using ipc::Str;

router::Router* RouterHandler::RouterWithDataConsumer(const std::string& id) const {
  for (const auto& [rid, r] : routers_) {
    if (r->FindDataConsumer(id)) return r.get();
  }
  return nullptr;
}

void RouterHandler::HandleDataRequest(const fbs::Request& request, router::Router* router,
                                      Responder& respond) {
  const std::string id = Str(request.handler_id());
  switch (request.method()) {
    case fbs::Method::TRANSPORT_ENABLE_SCTP: {
      const auto* body = request.body_as_EnableSctpRequest();
      if (!body) return respond.Error(ipc::error::kInvalidArgument, "missing EnableSctpRequest");
      transport::WebRtcTransport* webrtc = router->FindTransport(id)->webrtc();
      if (!webrtc) return respond.Error(ipc::error::kInvalidArgument, "not a WebRTC transport");
      webrtc->EnableSctp(body->max_message_size());
      return respond.Ok();
    }
    case fbs::Method::TRANSPORT_CONSUME_DATA: {
      const auto* body = request.body_as_ConsumeDataRequest();
      if (!body) return respond.Error(ipc::error::kInvalidArgument, "missing ConsumeDataRequest");
      auto consumer = router->ConsumeData(id, body->data_consumer_id()->str(),
                                          body->data_producer_id()->str(), Str(body->protocol()));
      if (!consumer.ok()) return respond.Error(consumer.status());
      return respond.Ok();
    }
    case fbs::Method::DATA_CONSUMER_CLOSE: {
      absl::Status status = router->CloseDataConsumer(id);
      if (!status.ok()) return respond.Error(status);
      return respond.Ok();
    }
    default:
      return respond.Error(ipc::error::kNotImplemented, "unknown data method");
  }
}

void RouterHandler::OnDataProducerOpened(const std::string& transport_id,
                                         const router::DataProducer& producer) {
  const transport::DataChannelInfo& info = producer.info();
  flatbuffers::FlatBufferBuilder fbb;
  const auto& r = info.reliability;
  const auto& origin = producer.origin();
  auto body = fbs::CreateDataProducerOpenedDirect(
      fbb, producer.id().c_str(), info.stream_id, info.label.c_str(), info.protocol.c_str(),
      r.ordered, r.max_retransmits ? static_cast<int64_t>(*r.max_retransmits) : -1,
      r.max_packet_life_time_ms ? static_cast<int64_t>(*r.max_packet_life_time_ms) : -1,
      origin ? origin->label.c_str() : nullptr, origin ? origin->protocol.c_str() : nullptr);
  notifier_->NotifyWithBody(fbb, fbs::Event::DATA_PRODUCER_OPENED, transport_id,
                            fbs::NotificationBody::DataProducerOpened, body.Union());
}

void RouterHandler::OnDataProducerClosed(const std::string& data_producer_id) {
  notifier_->Notify(fbs::Event::DATA_PRODUCER_CLOSED, data_producer_id);
}

void RouterHandler::OnDataConsumerClosed(const std::string& data_consumer_id,
                                         const std::string& reason) {
  flatbuffers::FlatBufferBuilder fbb;
  auto body = fbs::CreateDataConsumerClosedDirect(fbb, reason.c_str());
  notifier_->NotifyWithBody(fbb, fbs::Event::DATA_CONSUMER_CLOSED, data_consumer_id,
                            fbs::NotificationBody::DataConsumerClosed, body.Union());
}

}  // namespace sb::worker
