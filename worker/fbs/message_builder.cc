#include "worker/fbs/message_builder.h"

#include "worker/fbs/frame_codec.h"

namespace sb::ipc {
namespace {

flatbuffers::Offset<flatbuffers::String> String(flatbuffers::FlatBufferBuilder& fbb,
                                                std::string_view text) {
  return fbb.CreateString(text.data(), text.size());
}

void FinishMessage(flatbuffers::FlatBufferBuilder& fbb, fbs::Body type,
                   flatbuffers::Offset<void> body) {
  fbb.Finish(fbs::CreateMessage(fbb, type, body));
}

}  // namespace

void BuildRequest(flatbuffers::FlatBufferBuilder& fbb, uint32_t id, fbs::Method method,
                  std::string_view handler_id, fbs::RequestBody body_type,
                  flatbuffers::Offset<void> body) {
  const auto handler = String(fbb, handler_id);
  const auto request = fbs::CreateRequest(fbb, id, method, handler, body_type, body);
  FinishMessage(fbb, fbs::Body::Request, request.Union());
}

void BuildResponseOk(flatbuffers::FlatBufferBuilder& fbb, uint32_t id, fbs::ResponseBody body_type,
                     flatbuffers::Offset<void> body) {
  const auto response = fbs::CreateResponse(fbb, id, /*accepted=*/true, 0, 0, body_type, body);
  FinishMessage(fbb, fbs::Body::Response, response.Union());
}

void BuildResponseError(flatbuffers::FlatBufferBuilder& fbb, uint32_t id, std::string_view error,
                        std::string_view reason) {
  const auto error_str = String(fbb, error);
  const auto reason_str = String(fbb, reason);
  const auto response = fbs::CreateResponse(fbb, id, /*accepted=*/false, error_str, reason_str);
  FinishMessage(fbb, fbs::Body::Response, response.Union());
}

void BuildNotification(flatbuffers::FlatBufferBuilder& fbb, std::string_view handler_id,
                       fbs::Event event, fbs::NotificationBody body_type,
                       flatbuffers::Offset<void> body) {
  const auto handler = String(fbb, handler_id);
  const auto notification = fbs::CreateNotification(fbb, handler, event, body_type, body);
  FinishMessage(fbb, fbs::Body::Notification, notification.Union());
}

void BuildLog(flatbuffers::FlatBufferBuilder& fbb, fbs::LogLevel level, std::string_view text) {
  const auto text_str = String(fbb, text);
  FinishMessage(fbb, fbs::Body::Log, fbs::CreateLog(fbb, level, text_str).Union());
}

std::vector<uint8_t> EncodeFrame(const flatbuffers::FlatBufferBuilder& fbb) {
  std::vector<uint8_t> frame;
  AppendFrame(&frame, absl::MakeConstSpan(fbb.GetBufferPointer(), fbb.GetSize()));
  return frame;
}

}  // namespace sb::ipc
