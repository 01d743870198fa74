// Messages from another node of the cluster (signaling/cluster_messages.h), as they arrive from
// Redis: the input is parsed as a room message and as a node message. Whatever parses must
// build again (UpsertMessage, RemoveMessage, the requests, ReplyMessage) into text that parses
// to the same fields: nothing another node says can make us say something else.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "signaling/cluster_messages.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using sb::signaling::NodeMessage;
using sb::signaling::RoomMessage;

void CheckRoomMessage(std::string_view input) {
  auto message = sb::signaling::ParseRoomMessage(input);
  if (!message.ok()) return;
  const std::string again = message->op == RoomMessage::Op::kUpsert
                                ? sb::signaling::UpsertMessage(message->node, message->entry)
                                : sb::signaling::RemoveMessage(message->node, message->id);
  auto reparsed = sb::signaling::ParseRoomMessage(again);
  SB_FUZZ_CHECK(reparsed.ok());
  SB_FUZZ_CHECK(reparsed->op == message->op && reparsed->node == message->node);
  SB_FUZZ_CHECK(reparsed->id == message->id && reparsed->entry.id == message->entry.id);
  SB_FUZZ_CHECK(reparsed->entry.tracks.size() == message->entry.tracks.size());
  SB_FUZZ_CHECK(reparsed->entry.data.size() == message->entry.data.size());
  SB_FUZZ_CHECK(message->entry.data.size() <= sb::signaling::kMaxClusterDataChannels);
  for (size_t i = 0; i < message->entry.data.size(); ++i) {
    const auto& channel = message->entry.data[i];
    SB_FUZZ_CHECK(channel.label.size() <= sb::signaling::kMaxClusterLabel);
    SB_FUZZ_CHECK(reparsed->entry.data[i].id == channel.id &&
                  reparsed->entry.data[i].label == channel.label &&
                  reparsed->entry.data[i].to == channel.to);
  }
  for (size_t i = 0; i < message->entry.tracks.size(); ++i) {
    SB_FUZZ_CHECK(reparsed->entry.tracks[i].id == message->entry.tracks[i].id);
    SB_FUZZ_CHECK(reparsed->entry.tracks[i].paused == message->entry.tracks[i].paused);
  }
}

void CheckNodeMessage(std::string_view input) {
  auto message = sb::signaling::ParseNodeMessage(input);
  if (!message.ok()) return;
  std::string again;
  switch (message->op) {
    case NodeMessage::Op::kOpenPipe:
      SB_FUZZ_CHECK(message->end.has_value());
      again = sb::signaling::OpenPipeRequest(message->request_id, message->from, message->room,
                                             message->asked_router, message->asker_router,
                                             *message->end);
      break;
    case NodeMessage::Op::kRelay:
      again = sb::signaling::RelayRequest(message->request_id, message->from, message->room,
                                          message->asked_router, message->asker_router,
                                          message->producer);
      break;
    case NodeMessage::Op::kRelayData:
      again = sb::signaling::RelayDataRequest(message->request_id, message->from, message->room,
                                              message->asked_router, message->asker_router,
                                              message->producer);
      break;
    case NodeMessage::Op::kRelayLayers:
      SB_FUZZ_CHECK(message->max_layer >= -1 && message->max_layer <= 15);
      again = sb::signaling::RelayLayersNotice(message->from, message->room, message->asked_router,
                                               message->asker_router, message->producer,
                                               message->max_layer);
      break;
    case NodeMessage::Op::kClosePipe:
      SB_FUZZ_CHECK(message->request_id == 0);
      again = sb::signaling::ClosePipeNotice(message->from, message->room, message->asked_router,
                                             message->asker_router);
      break;
    case NodeMessage::Op::kReply:
      again = sb::signaling::ReplyMessage(
          message->request_id, message->from,
          message->ok ? absl::OkStatus() : absl::UnavailableError(message->error), message->end,
          message->params);
      break;
  }
  auto reparsed = sb::signaling::ParseNodeMessage(again);
  SB_FUZZ_CHECK(reparsed.ok());
  // A notice goes with request id 0, whatever the one it was parsed from had.
  SB_FUZZ_CHECK(reparsed->op == message->op &&
                reparsed->request_id ==
                    (message->op == NodeMessage::Op::kRelayLayers ? 0 : message->request_id));
  SB_FUZZ_CHECK(message->op != NodeMessage::Op::kClosePipe || message->producer.empty());
  SB_FUZZ_CHECK(reparsed->max_layer == message->max_layer);
  SB_FUZZ_CHECK(reparsed->from == message->from && reparsed->producer == message->producer);
  SB_FUZZ_CHECK(reparsed->room == message->room &&
                reparsed->asked_router == message->asked_router &&
                reparsed->asker_router == message->asker_router);
  SB_FUZZ_CHECK(reparsed->end.has_value() == message->end.has_value());
  if (message->end) {
    SB_FUZZ_CHECK(reparsed->end->port == message->end->port &&
                  reparsed->end->key == message->end->key);
  }
  SB_FUZZ_CHECK(reparsed->params.has_value() == message->params.has_value());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  CheckRoomMessage(input);
  CheckNodeMessage(input);
  return 0;
}
