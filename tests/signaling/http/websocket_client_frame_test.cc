// The client side of the RFC 6455 codec: masked frames out, unmasked server frames in.
#include <set>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "gtest/gtest.h"
#include "tests/signaling/http/websocket_test_codec.h"

namespace sb::signaling::http::ws {
namespace {

std::string Bytes(std::initializer_list<uint8_t> bytes) {
  return std::string(bytes.begin(), bytes.end());
}

TEST(WebSocketClientFrame, ParsesUnmaskedServerFrames) {
  // RFC 6455 section 5.7: unmasked "Hello", then fragmented "Hel" + "lo" with a ping between.
  FrameParser parser(Role::kClient);
  std::vector<Message> out;
  EXPECT_FALSE(parser.Feed(Bytes({0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f}), &out));
  EXPECT_FALSE(parser.Feed(Bytes({0x01, 0x03, 0x48, 0x65, 0x6c}), &out));
  EXPECT_FALSE(parser.Feed(Bytes({0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f}), &out));
  EXPECT_FALSE(parser.Feed(Bytes({0x80, 0x02, 0x6c, 0x6f}), &out));
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].payload, "Hello");
  EXPECT_EQ(out[1].opcode, Opcode::kPing);
  EXPECT_EQ(out[2].opcode, Opcode::kText);
  EXPECT_EQ(out[2].payload, "Hello");
}

TEST(WebSocketClientFrame, ParsesLargeServerFramesByteByByte) {
  for (size_t size : {0u, 125u, 126u, 65535u, 65536u}) {
    const std::string payload(size, 'z');
    const std::string frame = EncodeFrame(Opcode::kText, payload);
    FrameParser parser(Role::kClient);
    std::vector<Message> out;
    for (char c : frame) ASSERT_FALSE(parser.Feed(std::string_view(&c, 1), &out));
    ASSERT_EQ(out.size(), 1u) << size;
    EXPECT_EQ(out[0].payload, payload);
  }
}

TEST(WebSocketClientFrame, RejectsMaskedServerFrame) {
  FrameParser parser(Role::kClient);
  std::vector<Message> out;
  auto error = parser.Feed(EncodeClientFrame(Opcode::kText, "Hello"), &out);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->close_code, kCloseProtocolError);
  EXPECT_TRUE(out.empty());
}

TEST(WebSocketClientFrame, ClientFramesAreMaskedAndRoundTripThroughServerParser) {
  const std::string text = "{\"type\":\"join\",\"room\":\"r\"}" + std::string(300, ' ');
  const std::string frame = EncodeClientFrame(Opcode::kText, text);
  ASSERT_GE(frame.size(), 8u);
  EXPECT_EQ(static_cast<uint8_t>(frame[0]), 0x81);
  EXPECT_EQ(static_cast<uint8_t>(frame[1]) & 0x80, 0x80);  // MASK bit
  EXPECT_EQ(frame.size(), 4u + 4u + text.size());
  EXPECT_EQ(frame.find("join"), std::string::npos);  // the payload is not in clear
  FrameParser server;
  std::vector<Message> out;
  EXPECT_FALSE(server.Feed(frame, &out));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].payload, text);
}

TEST(WebSocketClientFrame, FreshMaskPerFrame) {
  std::set<std::string> masks;
  for (int i = 0; i < 16; ++i) masks.insert(EncodeClientFrame(Opcode::kText, "x").substr(2, 4));
  EXPECT_GT(masks.size(), 8u);
}

TEST(WebSocketClientFrame, CloseFrameRoundTrip) {
  FrameParser server;
  std::vector<Message> out;
  EXPECT_FALSE(server.Feed(EncodeClientCloseFrame(kCloseNormal, "bye"), &out));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].opcode, Opcode::kClose);
  auto close = ParseClosePayload(out[0].payload);
  ASSERT_TRUE(close);
  EXPECT_EQ(close->code, kCloseNormal);
  EXPECT_EQ(close->reason, "bye");
}

TEST(WebSocketClientFrame, ClientKeyIsValidAndFresh) {
  const std::string a = GenerateClientKey();
  const std::string b = GenerateClientKey();
  EXPECT_TRUE(IsValidClientKey(a));
  EXPECT_NE(a, b);
  std::string decoded;
  ASSERT_TRUE(absl::Base64Unescape(absl::string_view(a.data(), a.size()), &decoded));
  EXPECT_EQ(decoded.size(), 16u);
  // RFC 6455 section 1.3 example, as a client checks the server's answer.
  EXPECT_EQ(ComputeAcceptKey("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

}  // namespace
}  // namespace sb::signaling::http::ws
