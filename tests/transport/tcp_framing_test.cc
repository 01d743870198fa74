// RFC 4571 framing: whole, split and coalesced frames, the length bound and garbage.
#include "transport/tcp_framing.h"

#include <gtest/gtest.h>

#include <vector>

namespace sb::transport {
namespace {

using Bytes = std::vector<uint8_t>;

Bytes Frame(const Bytes& payload) {
  Bytes out(kTcpFrameHeaderSize);
  WriteTcpFrameHeader(payload.size(), out.data());
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

Bytes Payload(size_t len, uint8_t seed) {
  Bytes p(len);
  for (size_t i = 0; i < len; ++i) p[i] = static_cast<uint8_t>(seed + i);
  return p;
}

struct Collector {
  TcpFrameDecoder decoder;
  std::vector<Bytes> frames;
  TcpFrameDecoder::Result Feed(Bytes bytes) {
    return decoder.Feed(bytes.data(), bytes.size(), [this](uint8_t* data, size_t len) {
      frames.emplace_back(data, data + len);
      return true;
    });
  }
};

TEST(TcpFramingTest, HeaderIsBigEndianLength) {
  uint8_t h[2];
  WriteTcpFrameHeader(0x1234, h);
  EXPECT_EQ(h[0], 0x12);
  EXPECT_EQ(h[1], 0x34);
}

TEST(TcpFramingTest, WholeAndCoalescedFrames) {
  Collector c;
  const Bytes a = Payload(20, 1), b = Payload(1200, 7), d = Payload(1, 9);
  Bytes stream = Frame(a);
  for (const Bytes* p : {&b, &d}) {
    Bytes f = Frame(*p);
    stream.insert(stream.end(), f.begin(), f.end());
  }
  EXPECT_EQ(c.Feed(stream), TcpFrameDecoder::Result::kOk);
  ASSERT_EQ(c.frames.size(), 3u);
  EXPECT_EQ(c.frames[0], a);
  EXPECT_EQ(c.frames[1], b);
  EXPECT_EQ(c.frames[2], d);
  EXPECT_EQ(c.decoder.buffered(), 0u);
}

// Every way of cutting two frames into two reads gives the same two frames.
TEST(TcpFramingTest, SplitAtEveryOffset) {
  const Bytes a = Payload(300, 3), b = Payload(17, 5);
  Bytes stream = Frame(a);
  Bytes fb = Frame(b);
  stream.insert(stream.end(), fb.begin(), fb.end());
  for (size_t cut = 0; cut <= stream.size(); ++cut) {
    Collector c;
    EXPECT_EQ(c.Feed(Bytes(stream.begin(), stream.begin() + cut)), TcpFrameDecoder::Result::kOk);
    EXPECT_EQ(c.Feed(Bytes(stream.begin() + cut, stream.end())), TcpFrameDecoder::Result::kOk);
    ASSERT_EQ(c.frames.size(), 2u) << "cut at " << cut;
    EXPECT_EQ(c.frames[0], a);
    EXPECT_EQ(c.frames[1], b);
    EXPECT_EQ(c.decoder.buffered(), 0u);
  }
}

TEST(TcpFramingTest, OneByteAtATime) {
  const Bytes a = Payload(1000, 11);
  Bytes stream = Frame(a);
  Collector c;
  for (uint8_t byte : stream) EXPECT_EQ(c.Feed(Bytes{byte}), TcpFrameDecoder::Result::kOk);
  ASSERT_EQ(c.frames.size(), 1u);
  EXPECT_EQ(c.frames[0], a);
}

TEST(TcpFramingTest, LongestFrameAcceptedLongerRejected) {
  Collector c;
  EXPECT_EQ(c.Feed(Frame(Payload(kMaxTcpFrameLength, 0))), TcpFrameDecoder::Result::kOk);
  ASSERT_EQ(c.frames.size(), 1u);
  EXPECT_EQ(c.frames[0].size(), kMaxTcpFrameLength);
  // The header alone is enough to reject: nothing is buffered for it.
  uint8_t h[2];
  WriteTcpFrameHeader(kMaxTcpFrameLength + 1, h);
  EXPECT_EQ(c.Feed(Bytes{h[0], h[1]}), TcpFrameDecoder::Result::kTooLong);
  // Split header, from a buffered first byte.
  Collector d;
  EXPECT_EQ(d.Feed(Bytes{0xFF}), TcpFrameDecoder::Result::kOk);
  EXPECT_EQ(d.Feed(Bytes{0xFF, 1, 2, 3}), TcpFrameDecoder::Result::kTooLong);
  EXPECT_TRUE(d.frames.empty());
}

// Text where frames should be: "PO" (0x504F = 20559) announces more than the bound and is
// rejected at once; "GE" (0x4745 = 18245) is within it and only waits, buffered, for bytes
// that never come (WebRtcServer's first-frame deadline closes such a connection).
TEST(TcpFramingTest, GarbageRejectedOrBoundedInBuffer) {
  Collector post;
  const std::string p = "POST / HTTP/1.1\r\nHost: x\r\n\r\n";
  EXPECT_EQ(post.Feed(Bytes(p.begin(), p.end())), TcpFrameDecoder::Result::kTooLong);
  EXPECT_TRUE(post.frames.empty());
  Collector get;
  const std::string g = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  EXPECT_EQ(get.Feed(Bytes(g.begin(), g.end())), TcpFrameDecoder::Result::kOk);
  EXPECT_TRUE(get.frames.empty());
  EXPECT_EQ(get.decoder.buffered(), g.size());
}

TEST(TcpFramingTest, EmptyFramesSkippedAndCounted) {
  Collector c;
  const Bytes a = Payload(4, 1);
  Bytes stream = {0, 0};
  Bytes fa = Frame(a);
  stream.insert(stream.end(), fa.begin(), fa.end());
  stream.push_back(0);
  EXPECT_EQ(c.Feed(stream), TcpFrameDecoder::Result::kOk);
  EXPECT_EQ(c.Feed(Bytes{0}), TcpFrameDecoder::Result::kOk);
  ASSERT_EQ(c.frames.size(), 1u);
  EXPECT_EQ(c.decoder.empty_frames(), 2u);
}

TEST(TcpFramingTest, StopLeavesTheRestUnread) {
  TcpFrameDecoder decoder;
  Bytes stream = Frame(Payload(3, 1));
  Bytes f2 = Frame(Payload(3, 2));
  stream.insert(stream.end(), f2.begin(), f2.end());
  int calls = 0;
  EXPECT_EQ(decoder.Feed(stream.data(), stream.size(),
                         [&](uint8_t*, size_t) {
                           ++calls;
                           return false;
                         }),
            TcpFrameDecoder::Result::kStopped);
  EXPECT_EQ(calls, 1);
}

}  // namespace
}  // namespace sb::transport
