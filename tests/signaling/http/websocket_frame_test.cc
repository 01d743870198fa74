#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/signaling/http/websocket_test_codec.h"

namespace sb::signaling::http::ws {
namespace {

std::string Bytes(std::initializer_list<uint8_t> bytes) {
  return std::string(bytes.begin(), bytes.end());
}

constexpr std::array<uint8_t, 4> kMask = {0x37, 0xfa, 0x21, 0x3d};  // RFC 6455 section 5.7

// RFC 6455 section 5.7: a single-frame masked text message "Hello".
const std::string kMaskedHello =
    Bytes({0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58});

TEST(WebSocketFrame, Rfc6455MaskedHello) {
  FrameParser parser;
  std::vector<Message> out;
  EXPECT_FALSE(parser.Feed(kMaskedHello, &out));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].opcode, Opcode::kText);
  EXPECT_EQ(out[0].payload, "Hello");
  // And the encoder produces exactly those bytes given the same key.
  EXPECT_EQ(EncodeFrame(Opcode::kText, "Hello", true, kMask), kMaskedHello);
}

TEST(WebSocketFrame, Rfc6455UnmaskedServerFrames) {
  // Section 5.7: single-frame unmasked text, unmasked ping, fragmented "Hel" + "lo".
  EXPECT_EQ(EncodeFrame(Opcode::kText, "Hello"), Bytes({0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f}));
  EXPECT_EQ(EncodeFrame(Opcode::kPing, "Hello"), Bytes({0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f}));
  EXPECT_EQ(EncodeFrame(Opcode::kText, "Hel", false), Bytes({0x01, 0x03, 0x48, 0x65, 0x6c}));
  EXPECT_EQ(EncodeFrame(Opcode::kContinuation, "lo"), Bytes({0x80, 0x02, 0x6c, 0x6f}));
}

TEST(WebSocketFrame, Rfc6455LengthEncodings) {
  // Section 5.7: 256 bytes use the 16-bit length, 64 KiB the 64-bit one.
  const std::string f256 = EncodeFrame(Opcode::kBinary, std::string(256, 'x'));
  EXPECT_EQ(f256.substr(0, 4), Bytes({0x82, 0x7e, 0x01, 0x00}));
  EXPECT_EQ(f256.size(), 4u + 256u);
  const std::string f64k = EncodeFrame(Opcode::kBinary, std::string(65536, 'x'));
  EXPECT_EQ(f64k.substr(0, 10), Bytes({0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0}));
  EXPECT_EQ(f64k.size(), 10u + 65536u);
  EXPECT_EQ(EncodeFrame(Opcode::kText, std::string(125, 'a')).size(), 2u + 125u);
  EXPECT_EQ(EncodeFrame(Opcode::kText, std::string(126, 'a')).size(), 4u + 126u);
  EXPECT_EQ(EncodeFrame(Opcode::kText, std::string(65535, 'a')).size(), 4u + 65535u);
}

TEST(WebSocketFrame, ParsesAllLengthFormsByteByByte) {
  for (size_t size : {0u, 5u, 125u, 126u, 1000u, 65535u, 65536u, 70000u}) {
    const std::string payload(size, 'q');
    const std::string frame = EncodeFrame(Opcode::kText, payload, true, kMask);
    FrameParser parser;
    std::vector<Message> out;
    for (char c : frame) ASSERT_FALSE(parser.Feed(std::string_view(&c, 1), &out));
    ASSERT_EQ(out.size(), 1u) << size;
    EXPECT_EQ(out[0].payload, payload);
  }
}

TEST(WebSocketFrame, ReassemblesFragmentsWithPingInBetween) {
  std::string wire = EncodeFrame(Opcode::kText, "Hel", false, kMask) +
                     EncodeFrame(Opcode::kPing, "are you there", true, kMask) +
                     EncodeFrame(Opcode::kContinuation, "lo, ", false, kMask) +
                     EncodeFrame(Opcode::kContinuation, "world", true, kMask) +
                     EncodeFrame(Opcode::kText, "second", true, kMask);
  FrameParser parser;
  std::vector<Message> out;
  EXPECT_FALSE(parser.Feed(wire, &out));
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].opcode, Opcode::kPing);
  EXPECT_EQ(out[0].payload, "are you there");
  EXPECT_EQ(out[1].opcode, Opcode::kText);
  EXPECT_EQ(out[1].payload, "Hello, world");
  EXPECT_EQ(out[2].payload, "second");
}

TEST(WebSocketFrame, RejectsUnmaskedClientFrame) {
  FrameParser parser;
  std::vector<Message> out;
  auto error = parser.Feed(Bytes({0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f}), &out);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->close_code, kCloseProtocolError);
  EXPECT_TRUE(out.empty());
  // The parser stays failed.
  EXPECT_TRUE(parser.Feed(kMaskedHello, &out));
  EXPECT_TRUE(out.empty());
}

std::optional<ProtocolError> FeedOnce(const std::string& wire, size_t max = kMaxMessageBytes) {
  FrameParser parser(max);
  std::vector<Message> out;
  return parser.Feed(wire, &out);
}

TEST(WebSocketFrame, RejectsProtocolViolations) {
  // Reserved opcodes 0x3 and 0xB.
  EXPECT_EQ(FeedOnce(Bytes({0x83, 0x80, 1, 2, 3, 4}))->close_code, kCloseProtocolError);
  EXPECT_EQ(FeedOnce(Bytes({0x8b, 0x80, 1, 2, 3, 4}))->close_code, kCloseProtocolError);
  // RSV1 set without an extension.
  EXPECT_EQ(FeedOnce(Bytes({0xc1, 0x80, 1, 2, 3, 4}))->close_code, kCloseProtocolError);
  // Continuation with nothing to continue.
  EXPECT_EQ(FeedOnce(EncodeFrame(Opcode::kContinuation, "x", true, kMask))->close_code,
            kCloseProtocolError);
  // A new text frame inside a fragmented message.
  EXPECT_EQ(FeedOnce(EncodeFrame(Opcode::kText, "a", false, kMask) +
                     EncodeFrame(Opcode::kText, "b", true, kMask))
                ->close_code,
            kCloseProtocolError);
  // Fragmented ping.
  EXPECT_EQ(FeedOnce(EncodeFrame(Opcode::kPing, "a", false, kMask))->close_code,
            kCloseProtocolError);
  // Control frame over 125 bytes.
  EXPECT_EQ(FeedOnce(EncodeFrame(Opcode::kPing, std::string(126, 'a'), true, kMask))->close_code,
            kCloseProtocolError);
  // 64-bit length with the top bit set.
  EXPECT_EQ(FeedOnce(Bytes({0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 1}))->close_code,
            kCloseProtocolError);
}

TEST(WebSocketFrame, CloseFrames) {
  FrameParser parser;
  std::vector<Message> out;
  EXPECT_FALSE(parser.Feed(EncodeFrame(Opcode::kClose, "", true, kMask), &out));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].opcode, Opcode::kClose);

  const std::string close = EncodeCloseFrame(1000, "bye");
  EXPECT_EQ(close, Bytes({0x88, 0x05, 0x03, 0xe8, 'b', 'y', 'e'}));
  auto payload = ParseClosePayload(close.substr(2));
  ASSERT_TRUE(payload);
  EXPECT_EQ(payload->code, 1000);
  EXPECT_EQ(payload->reason, "bye");

  // One-byte payload, forbidden code 1005, invalid UTF-8 reason.
  EXPECT_EQ(FeedOnce(EncodeFrame(Opcode::kClose, "x", true, kMask))->close_code,
            kCloseProtocolError);
  EXPECT_EQ(FeedOnce(EncodeFrame(Opcode::kClose, Bytes({0x03, 0xed}), true, kMask))->close_code,
            kCloseProtocolError);
  EXPECT_EQ(
      FeedOnce(EncodeFrame(Opcode::kClose, Bytes({0x03, 0xe8, 0xff}), true, kMask))->close_code,
      kCloseInvalidPayload);
  // A long reason is cut to fit a control frame, on a character boundary.
  std::string long_reason;
  for (int i = 0; i < 100; ++i) long_reason += "\xc3\xa9";  // é
  const std::string truncated = EncodeCloseFrame(1001, long_reason);
  EXPECT_LE(truncated.size(), 2u + 125u);
  EXPECT_TRUE(IsValidUtf8(truncated.substr(4)));
}

TEST(WebSocketFrame, InvalidUtf8TextIs1007) {
  EXPECT_EQ(FeedOnce(EncodeFrame(Opcode::kText, "\xc3\x28", true, kMask))->close_code,
            kCloseInvalidPayload);
  // A character split across fragments is fine once reassembled.
  FrameParser parser;
  std::vector<Message> out;
  EXPECT_FALSE(parser.Feed(EncodeFrame(Opcode::kText, "caf\xc3", false, kMask) +
                               EncodeFrame(Opcode::kContinuation, "\xa9", true, kMask),
                           &out));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].payload, "caf\xc3\xa9");
  // Binary payloads are not checked.
  EXPECT_FALSE(FeedOnce(EncodeFrame(Opcode::kBinary, "\xff\xfe", true, kMask)));
}

TEST(WebSocketFrame, MessageTooBigIs1009) {
  // Announced length alone is enough; the payload never needs to arrive.
  EXPECT_EQ(FeedOnce(Bytes({0x81, 0xff, 0, 0, 0, 0, 0, 0x20, 0, 0}))->close_code,
            kCloseMessageTooBig);
  // Fragments adding up to more than the bound.
  EXPECT_EQ(FeedOnce(EncodeFrame(Opcode::kText, std::string(600, 'a'), false, kMask) +
                         EncodeFrame(Opcode::kContinuation, std::string(600, 'a'), true, kMask),
                     1000)
                ->close_code,
            kCloseMessageTooBig);
  // Exactly the bound is fine.
  EXPECT_FALSE(
      FeedOnce(EncodeFrame(Opcode::kText, std::string(kMaxMessageBytes, 'a'), true, kMask)));
}

TEST(WebSocketFrame, AcceptKey) {
  // RFC 6455 section 1.3.
  EXPECT_EQ(ComputeAcceptKey("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  EXPECT_TRUE(IsValidClientKey("dGhlIHNhbXBsZSBub25jZQ=="));
  EXPECT_FALSE(IsValidClientKey("dGhlIHNhbXBsZSBub25jZQ"));
  EXPECT_FALSE(IsValidClientKey("short"));
  EXPECT_FALSE(IsValidClientKey("!!!!!!!!!!!!!!!!!!!!!!=="));
}

TEST(WebSocketFrame, Utf8Validation) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("plain ascii"));
  EXPECT_TRUE(IsValidUtf8("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"));  // κόσμε
  EXPECT_TRUE(IsValidUtf8("\xf0\x9f\x98\x80"));                              // U+1F600
  EXPECT_TRUE(IsValidUtf8("\xf4\x8f\xbf\xbf"));                              // U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xc0\xaf"));                                     // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xe0\x80\xaf"));                                 // overlong
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));                                 // surrogate U+D800
  EXPECT_FALSE(IsValidUtf8("\xf4\x90\x80\x80"));                             // above U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\x80"));                                         // lone continuation
  EXPECT_FALSE(IsValidUtf8("\xe2\x82"));                                     // truncated
}

}  // namespace
}  // namespace sb::signaling::http::ws
