#include "worker/fbs/frame_codec.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "worker/fbs/message_builder.h"

namespace sb::ipc {
namespace {

using Bytes = std::vector<uint8_t>;

Bytes Payload(size_t n, uint8_t seed) {
  Bytes out(n);
  for (size_t i = 0; i < n; ++i) out[i] = static_cast<uint8_t>(seed + i);
  return out;
}

Bytes RequestPayload(uint32_t id) {
  flatbuffers::FlatBufferBuilder fbb;
  auto body = fbs::CreateCreateRouterRequestDirect(fbb, "router-1");
  BuildRequest(fbb, id, fbs::Method::WORKER_CREATE_ROUTER, "",
               fbs::RequestBody::CreateRouterRequest, body.Union());
  return Bytes(fbb.GetBufferPointer(), fbb.GetBufferPointer() + fbb.GetSize());
}

struct Collector {
  std::vector<Bytes> frames;
  FrameDecoder::FrameFn fn() {
    return [this](absl::Span<const uint8_t> p) { frames.emplace_back(p.begin(), p.end()); };
  }
};

TEST(FrameDecoderTest, AppendFrameWritesLittleEndianLength) {
  Bytes out;
  AppendFrame(&out, Payload(258, 0));
  ASSERT_EQ(out.size(), 262u);
  EXPECT_EQ(out[0], 0x02);
  EXPECT_EQ(out[1], 0x01);
  EXPECT_EQ(out[2], 0x00);
  EXPECT_EQ(out[3], 0x00);
  std::string str;
  AppendFrame(&str, Payload(258, 0));
  EXPECT_EQ(Bytes(str.begin(), str.end()), out);
}

TEST(FrameDecoderTest, ByteByByte) {
  Bytes stream;
  AppendFrame(&stream, Payload(10, 1));
  AppendFrame(&stream, Payload(0, 0));
  AppendFrame(&stream, Payload(300, 7));
  FrameDecoder decoder;
  Collector c;
  for (uint8_t byte : stream) ASSERT_TRUE(decoder.Feed(&byte, 1, c.fn()).ok());
  ASSERT_EQ(c.frames.size(), 3u);
  EXPECT_EQ(c.frames[0], Payload(10, 1));
  EXPECT_TRUE(c.frames[1].empty());
  EXPECT_EQ(c.frames[2], Payload(300, 7));
  EXPECT_EQ(decoder.buffered(), 0u);
}

TEST(FrameDecoderTest, SeveralFramesInOneRead) {
  Bytes stream;
  for (uint8_t i = 0; i < 5; ++i) AppendFrame(&stream, Payload(17 + i, i));
  FrameDecoder decoder;
  Collector c;
  ASSERT_TRUE(decoder.Feed(stream.data(), stream.size(), c.fn()).ok());
  ASSERT_EQ(c.frames.size(), 5u);
  for (uint8_t i = 0; i < 5; ++i) EXPECT_EQ(c.frames[i], Payload(17 + i, i));
}

TEST(FrameDecoderTest, SplitsAtEveryOffset) {
  Bytes stream;
  AppendFrame(&stream, Payload(13, 3));
  AppendFrame(&stream, Payload(40, 9));
  for (size_t cut = 0; cut <= stream.size(); ++cut) {
    FrameDecoder decoder;
    Collector c;
    ASSERT_TRUE(decoder.Feed(stream.data(), cut, c.fn()).ok());
    ASSERT_TRUE(decoder.Feed(stream.data() + cut, stream.size() - cut, c.fn()).ok());
    ASSERT_EQ(c.frames.size(), 2u) << "cut " << cut;
    EXPECT_EQ(c.frames[1], Payload(40, 9));
  }
}

TEST(FrameDecoderTest, PayloadsAreAligned) {
  Bytes stream;
  AppendFrame(&stream, Payload(3, 0));  // pushes the next payload off 8-byte alignment
  AppendFrame(&stream, Payload(16, 0));
  FrameDecoder decoder;
  ASSERT_TRUE(decoder
                  .Feed(stream.data(), stream.size(),
                        [](absl::Span<const uint8_t> p) {
                          EXPECT_EQ(reinterpret_cast<uintptr_t>(p.data()) % 8, 0u);
                        })
                  .ok());
}

TEST(FrameDecoderTest, OversizeLengthBreaksTheStream) {
  Bytes stream;
  AppendFrame(&stream, Payload(5, 0));
  const uint32_t huge = kMaxFrameSize + 1;
  for (int i = 0; i < 4; ++i) stream.push_back(static_cast<uint8_t>(huge >> (8 * i)));
  FrameDecoder decoder;
  Collector c;
  EXPECT_FALSE(decoder.Feed(stream.data(), stream.size(), c.fn()).ok());
  EXPECT_EQ(c.frames.size(), 1u);  // the frame before the bad length still arrived
  EXPECT_TRUE(decoder.broken());
  Bytes more;
  AppendFrame(&more, Payload(5, 0));
  EXPECT_FALSE(decoder.Feed(more.data(), more.size(), c.fn()).ok());
  EXPECT_EQ(c.frames.size(), 1u);
}

TEST(FrameDecoderTest, MaxSizeFrameIsAccepted) {
  Bytes stream;
  AppendFrame(&stream, Bytes(kMaxFrameSize, 0xab));
  FrameDecoder decoder;
  Collector c;
  ASSERT_TRUE(decoder.Feed(stream.data(), stream.size() / 2, c.fn()).ok());
  ASSERT_TRUE(
      decoder.Feed(stream.data() + stream.size() / 2, stream.size() - stream.size() / 2, c.fn())
          .ok());
  ASSERT_EQ(c.frames.size(), 1u);
  EXPECT_EQ(c.frames[0].size(), kMaxFrameSize);
}

TEST(VerifyMessageTest, AcceptsValidRequest) {
  Bytes payload = RequestPayload(42);
  absl::StatusOr<const fbs::Message*> message = VerifyMessage(payload);
  ASSERT_TRUE(message.ok()) << message.status();
  const fbs::Request* request = (*message)->body_as_Request();
  ASSERT_NE(request, nullptr);
  EXPECT_EQ(request->id(), 42u);
  EXPECT_EQ(request->method(), fbs::Method::WORKER_CREATE_ROUTER);
  EXPECT_EQ(request->body_as_CreateRouterRequest()->router_id()->str(), "router-1");
}

TEST(VerifyMessageTest, RejectsRandomBytes) {
  std::mt19937 rng(1234);
  int rejected = 0;
  for (int round = 0; round < 2000; ++round) {
    Bytes junk(static_cast<size_t>(rng() % 200));
    for (auto& b : junk) b = static_cast<uint8_t>(rng());
    if (!VerifyMessage(junk).ok()) ++rejected;
  }
  // Random bytes essentially never form a Message with a known, present body.
  EXPECT_EQ(rejected, 2000);
}

TEST(VerifyMessageTest, RejectsEmptyAndTiny) {
  EXPECT_FALSE(VerifyMessage({}).ok());
  const uint8_t three[3] = {1, 2, 3};
  EXPECT_FALSE(VerifyMessage(three).ok());
}

TEST(VerifyMessageTest, RejectsTruncatedMessage) {
  Bytes payload = RequestPayload(7);
  // The builder writes back to front; the last string ends with its NUL and up to 3 bytes of
  // alignment padding, which are the only bytes a message can lose and stay valid.
  constexpr size_t kMaxTrailingPadding = 3;
  for (size_t len = 0; len + kMaxTrailingPadding < payload.size(); ++len) {
    EXPECT_FALSE(VerifyMessage(absl::MakeConstSpan(payload.data(), len)).ok()) << "len " << len;
  }
  // Dropping leading bytes shifts every offset.
  EXPECT_FALSE(VerifyMessage(absl::MakeConstSpan(payload.data() + 4, payload.size() - 4)).ok());
}

TEST(VerifyMessageTest, RejectsCorruptedBytes) {
  // Flipping single bytes may yield another valid message but must never crash the verifier.
  Bytes payload = RequestPayload(7);
  for (size_t i = 0; i < payload.size(); ++i) {
    for (uint8_t flip : {0x01, 0x80, 0xff}) {
      Bytes copy = payload;
      copy[i] ^= flip;
      (void)VerifyMessage(copy);
    }
  }
}

TEST(VerifyMessageTest, RejectsUnknownUnionType) {
  flatbuffers::FlatBufferBuilder fbb;
  auto log = fbs::CreateLogDirect(fbb, fbs::LogLevel::INFO, "x");
  fbb.Finish(fbs::CreateMessage(fbb, static_cast<fbs::Body>(9), log.Union()));
  absl::StatusOr<const fbs::Message*> message =
      VerifyMessage(absl::MakeConstSpan(fbb.GetBufferPointer(), fbb.GetSize()));
  EXPECT_FALSE(message.ok());
}

TEST(VerifyMessageTest, RejectsMissingBody) {
  flatbuffers::FlatBufferBuilder fbb;
  fbb.Finish(fbs::CreateMessage(fbb));
  EXPECT_FALSE(VerifyMessage(absl::MakeConstSpan(fbb.GetBufferPointer(), fbb.GetSize())).ok());
}

TEST(VerifyMessageTest, RejectsUnknownNestedUnionType) {
  flatbuffers::FlatBufferBuilder fbb;
  auto body = fbs::CreateCreateRouterRequestDirect(fbb, "r");
  BuildRequest(fbb, 1, fbs::Method::WORKER_CREATE_ROUTER, "", static_cast<fbs::RequestBody>(77),
               body.Union());
  EXPECT_FALSE(VerifyMessage(absl::MakeConstSpan(fbb.GetBufferPointer(), fbb.GetSize())).ok());
}

TEST(VerifyMessageTest, RejectsMissingRequiredField) {
  // CreateRouterRequest.router_id is (required).
  flatbuffers::FlatBufferBuilder fbb;
  // The generated builder asserts on a missing required field; build the empty table by hand.
  flatbuffers::Offset<fbs::CreateRouterRequest> body(fbb.EndTable(fbb.StartTable()));
  BuildRequest(fbb, 1, fbs::Method::WORKER_CREATE_ROUTER, "", fbs::RequestBody::CreateRouterRequest,
               body.Union());
  EXPECT_FALSE(VerifyMessage(absl::MakeConstSpan(fbb.GetBufferPointer(), fbb.GetSize())).ok());
}

TEST(RecoverIdTest, RecoversIdOfRequestWithBadBody) {
  flatbuffers::FlatBufferBuilder fbb;
  // The generated builder asserts on a missing required field; build the empty table by hand.
  flatbuffers::Offset<fbs::CreateRouterRequest> body(fbb.EndTable(fbb.StartTable()));
  BuildRequest(fbb, 99, fbs::Method::WORKER_CREATE_ROUTER, "",
               fbs::RequestBody::CreateRouterRequest, body.Union());
  auto payload = absl::MakeConstSpan(fbb.GetBufferPointer(), fbb.GetSize());
  ASSERT_FALSE(VerifyMessage(payload).ok());
  EXPECT_EQ(RecoverId(payload, fbs::Body::Request), 99u);
  EXPECT_EQ(RecoverId(payload, fbs::Body::Response), std::nullopt);
}

TEST(RecoverIdTest, NothingFromGarbage) {
  std::mt19937 rng(99);
  for (int round = 0; round < 2000; ++round) {
    Bytes junk(static_cast<size_t>(rng() % 64));
    for (auto& b : junk) b = static_cast<uint8_t>(rng());
    (void)RecoverId(junk, fbs::Body::Request);  // must not crash or read out of bounds
  }
  Bytes payload = RequestPayload(5);
  for (size_t len = 0; len < payload.size(); ++len) {
    (void)RecoverId(absl::MakeConstSpan(payload.data(), len), fbs::Body::Request);
  }
  EXPECT_EQ(RecoverId(payload, fbs::Body::Request), 5u);
}

}  // namespace
}  // namespace sb::ipc
