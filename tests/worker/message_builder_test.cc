#include "worker/fbs/message_builder.h"

#include <gtest/gtest.h>

#include "worker/fbs/frame_codec.h"

namespace sb::ipc {
namespace {

const fbs::Message* Verified(const flatbuffers::FlatBufferBuilder& fbb) {
  absl::StatusOr<const fbs::Message*> message =
      VerifyMessage(absl::MakeConstSpan(fbb.GetBufferPointer(), fbb.GetSize()));
  EXPECT_TRUE(message.ok()) << message.status();
  return message.ok() ? *message : nullptr;
}

TEST(MessageBuilderTest, ResponseOkWithBody) {
  flatbuffers::FlatBufferBuilder fbb;
  auto dump = fbs::CreateWorkerDump(fbb, 1234, fbb.CreateVectorOfStrings({"a", "b"}), 3);
  BuildResponseOk(fbb, 17, fbs::ResponseBody::WorkerDump, dump.Union());
  const fbs::Message* message = Verified(fbb);
  ASSERT_NE(message, nullptr);
  const fbs::Response* response = message->body_as_Response();
  ASSERT_NE(response, nullptr);
  EXPECT_EQ(response->id(), 17u);
  EXPECT_TRUE(response->accepted());
  ASSERT_NE(response->body_as_WorkerDump(), nullptr);
  EXPECT_EQ(response->body_as_WorkerDump()->pid(), 1234u);
  EXPECT_EQ(response->body_as_WorkerDump()->router_ids()->size(), 2u);
}

TEST(MessageBuilderTest, ResponseError) {
  flatbuffers::FlatBufferBuilder fbb;
  BuildResponseError(fbb, 5, error::kNotFound, "no such router");
  const fbs::Response* response = Verified(fbb)->body_as_Response();
  ASSERT_NE(response, nullptr);
  EXPECT_FALSE(response->accepted());
  EXPECT_EQ(response->error()->str(), "NotFound");
  EXPECT_EQ(response->reason()->str(), "no such router");
}

TEST(MessageBuilderTest, NotificationAndLog) {
  flatbuffers::FlatBufferBuilder fbb;
  auto change = fbs::CreateIceStateChange(fbb, fbs::IceState::CONNECTED);
  BuildNotification(fbb, "t1", fbs::Event::TRANSPORT_ICE_STATE_CHANGE,
                    fbs::NotificationBody::IceStateChange, change.Union());
  const fbs::Notification* n = Verified(fbb)->body_as_Notification();
  ASSERT_NE(n, nullptr);
  EXPECT_EQ(n->handler_id()->str(), "t1");
  EXPECT_EQ(n->body_as_IceStateChange()->state(), fbs::IceState::CONNECTED);

  flatbuffers::FlatBufferBuilder log;
  BuildLog(log, fbs::LogLevel::WARN, "careful");
  EXPECT_EQ(Verified(log)->body_as_Log()->text()->str(), "careful");
}

TEST(MessageBuilderTest, EncodeFrameRoundTrips) {
  flatbuffers::FlatBufferBuilder fbb;
  BuildRequest(fbb, 3, fbs::Method::ROUTER_DUMP, "r1");
  std::vector<uint8_t> frame = EncodeFrame(fbb);
  ASSERT_EQ(frame.size(), fbb.GetSize() + kFrameHeaderSize);
  FrameDecoder decoder;
  int frames = 0;
  ASSERT_TRUE(decoder
                  .Feed(frame.data(), frame.size(),
                        [&](absl::Span<const uint8_t> payload) {
                          ++frames;
                          auto message = VerifyMessage(payload);
                          ASSERT_TRUE(message.ok());
                          EXPECT_EQ((*message)->body_as_Request()->handler_id()->str(), "r1");
                        })
                  .ok());
  EXPECT_EQ(frames, 1);
}

}  // namespace
}  // namespace sb::ipc
