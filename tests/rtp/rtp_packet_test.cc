#include "rtp/rtp_packet.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "rtp/rtp_builder.h"
#include "rtp/rtx.h"

namespace sb::rtp {
namespace {

using Bytes = std::vector<uint8_t>;

absl::Span<const uint8_t> S(const Bytes& b) { return absl::MakeConstSpan(b); }

// A hand-written packet (RFC 3550 5.1 + RFC 8285 4.2): V=2, P=1, X=1, CC=2, M=1, PT=111,
// one-byte extensions id 1 (1 byte) and id 3 (3 bytes) plus one padding byte, 4 bytes of
// payload, 3 bytes of RTP padding.
Bytes OneBytePacket() {
  return {0xB2, 0xEF, 0x12, 0x34,                          // V P X CC, M PT, seq
          0x00, 0x00, 0x10, 0x00,                          // timestamp
          0xCA, 0xFE, 0xBA, 0xBE,                          // ssrc
          0x00, 0x00, 0x00, 0x01,                          // csrc 1
          0x00, 0x00, 0x00, 0x02,                          // csrc 2
          0xBE, 0xDE, 0x00, 0x02,                          // one-byte profile, 2 words
          0x10, 0xAA, 0x32, 0x01, 0x02, 0x03, 0x00, 0x00,  // id1 len1, id3 len3, 2 pad
          0xDE, 0xAD, 0xBE, 0xEF,                          // payload
          0x00, 0x00, 0x03};                               // padding, count 3
}

TEST(RtpPacketTest, ParsesHandWrittenPacket) {
  Bytes b = OneBytePacket();
  auto p = RtpPacket::Parse(b.data(), b.size());
  ASSERT_TRUE(p.has_value());
  EXPECT_TRUE(p->marker());
  EXPECT_EQ(p->payload_type(), 111);
  EXPECT_EQ(p->sequence_number(), 0x1234);
  EXPECT_EQ(p->timestamp(), 0x1000u);
  EXPECT_EQ(p->ssrc(), 0xCAFEBABEu);
  EXPECT_EQ(p->csrc_count(), 2);
  EXPECT_EQ(p->csrc(1), 2u);
  EXPECT_TRUE(p->has_extension());
  EXPECT_EQ(p->extension_form(), RtpPacket::ExtensionForm::kOneByte);
  EXPECT_EQ(Bytes(p->GetExtension(1).begin(), p->GetExtension(1).end()), Bytes{0xAA});
  EXPECT_EQ(Bytes(p->GetExtension(3).begin(), p->GetExtension(3).end()), (Bytes{0x01, 0x02, 0x03}));
  EXPECT_TRUE(p->GetExtension(2).empty());
  EXPECT_FALSE(p->HasExtension(2));
  EXPECT_EQ(p->payload().size(), 4u);
  EXPECT_EQ(p->payload()[0], 0xDE);
  EXPECT_EQ(p->padding_length(), 3u);
  EXPECT_EQ(p->size(), b.size());
  EXPECT_EQ(p->header_size(), 32u);
}

TEST(RtpPacketTest, BuilderReproducesHandWrittenPacket) {
  const Bytes e1 = {0xAA}, e3 = {0x01, 0x02, 0x03}, payload = {0xDE, 0xAD, 0xBE, 0xEF};
  const uint32_t csrcs[] = {1, 2};
  const ExtensionValue exts[] = {{1, S(e1)}, {3, S(e3)}};
  RtpHeaderFields h{true, 111, 0x1234, 0x1000, 0xCAFEBABE, csrcs};
  uint8_t out[128];
  size_t n = BuildRtpPacket(h, exts, S(payload), 3, out, sizeof(out));
  EXPECT_EQ(Bytes(out, out + n), OneBytePacket());
  EXPECT_EQ(RtpPacketSize(h, exts, payload.size(), 3), n);
  EXPECT_EQ(BuildRtpPacket(h, exts, S(payload), 3, out, n - 1), 0u);
}

TEST(RtpPacketTest, RoundTripOneByteAndTwoByte) {
  const Bytes small = {7}, big(20, 0x55), empty;
  const Bytes payload(100, 0x42);
  for (auto form : {ExtensionFormChoice::kAuto, ExtensionFormChoice::kTwoByte}) {
    const ExtensionValue exts[] = {{5, S(small)}, {14, S(small)}};
    RtpHeaderFields h{false, 96, 65535, 0xFFFFFFFF, 1234, {}};
    uint8_t buf[256];
    size_t n = BuildRtpPacket(h, exts, S(payload), 0, buf, sizeof(buf), form);
    ASSERT_GT(n, 0u);
    Bytes original(buf, buf + n);
    auto p = RtpPacket::Parse(buf, n);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->extension_form(), form == ExtensionFormChoice::kAuto
                                       ? RtpPacket::ExtensionForm::kOneByte
                                       : RtpPacket::ExtensionForm::kTwoByte);
    EXPECT_EQ(p->GetExtension(14).size(), 1u);
    // Rebuild from what was parsed: same bytes.
    std::vector<ExtensionValue> parsed;
    p->ForEachExtension([&](uint8_t id, absl::Span<const uint8_t> v) {
      parsed.push_back({id, v});
    });
    uint8_t again[256];
    RtpHeaderFields h2{p->marker(),    p->payload_type(), p->sequence_number(),
                       p->timestamp(), p->ssrc(),         {}};
    size_t m = BuildRtpPacket(h2, parsed, p->payload(), 0, again, sizeof(again), form);
    EXPECT_EQ(Bytes(again, again + m), original);
  }
  // Two-byte chosen automatically for a long value, an id > 14, and an empty value.
  for (const ExtensionValue e :
       {ExtensionValue{1, S(big)}, ExtensionValue{200, S(small)}, ExtensionValue{2, S(empty)}}) {
    uint8_t buf[256];
    size_t n = BuildRtpPacket({}, {&e, 1}, S(payload), 4, buf, sizeof(buf));
    auto p = RtpPacket::Parse(buf, n);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->extension_form(), RtpPacket::ExtensionForm::kTwoByte);
    EXPECT_TRUE(p->HasExtension(e.id));
    EXPECT_EQ(p->GetExtension(e.id).size(), e.value.size());
    EXPECT_EQ(p->padding_length(), 4u);
    EXPECT_EQ(p->payload().size(), payload.size());
  }
}

TEST(RtpPacketTest, Setters) {
  Bytes b = OneBytePacket();
  auto p = RtpPacket::Parse(b.data(), b.size());
  ASSERT_TRUE(p);
  p->SetMarker(false);
  p->SetPayloadType(96);
  p->SetSequenceNumber(7);
  p->SetTimestamp(0xABCDEF01);
  p->SetSsrc(42);
  auto q = RtpPacket::Parse(b.data(), b.size());
  ASSERT_TRUE(q);
  EXPECT_FALSE(q->marker());
  EXPECT_EQ(q->payload_type(), 96);
  EXPECT_EQ(q->sequence_number(), 7);
  EXPECT_EQ(q->timestamp(), 0xABCDEF01u);
  EXPECT_EQ(q->ssrc(), 42u);
  EXPECT_EQ(q->GetExtension(3).size(), 3u);
}

TEST(RtpPacketTest, RejectsEveryTruncation) {
  Bytes b = OneBytePacket();
  for (size_t len = 0; len < b.size(); ++len) {
    Bytes t(b.begin(), b.begin() + len);
    // Truncation at most lengths breaks the padding count or a header length; the padding
    // byte then reads 0x00 or a count larger than the room, and every case must be rejected.
    EXPECT_FALSE(RtpPacket::Parse(t.data(), t.size()).has_value()) << len;
  }
  EXPECT_FALSE(RtpPacket::Parse(nullptr, 0).has_value());
}

TEST(RtpPacketTest, RejectsMalformed) {
  {
    Bytes b = OneBytePacket();
    b[0] = (b[0] & 0x3F) | 0x40;  // version 1
    EXPECT_FALSE(RtpPacket::Parse(b.data(), b.size()));
  }
  {
    Bytes b = OneBytePacket();
    b[23] = 0x20;  // extension length past the end
    EXPECT_FALSE(RtpPacket::Parse(b.data(), b.size()));
  }
  {
    Bytes b = OneBytePacket();
    b[26] = 0x3F;  // id 3 claims 16 bytes, more than the block
    EXPECT_FALSE(RtpPacket::Parse(b.data(), b.size()));
  }
  {
    Bytes b = OneBytePacket();
    b.back() = 8;  // padding larger than payload + padding room (7)
    EXPECT_FALSE(RtpPacket::Parse(b.data(), b.size()));
    b.back() = 7;  // exactly the room: payload empty
    auto p = RtpPacket::Parse(b.data(), b.size());
    ASSERT_TRUE(p);
    EXPECT_TRUE(p->payload().empty());
    b.back() = 0;  // a zero count is invalid
    EXPECT_FALSE(RtpPacket::Parse(b.data(), b.size()));
  }
  {
    Bytes b = OneBytePacket();
    b[0] = 0x9F;  // CC = 15: CSRCs past the end
    EXPECT_FALSE(RtpPacket::Parse(b.data(), b.size()));
  }
  {
    // Two-byte element whose length runs past the block.
    const Bytes v = {1, 2};
    const ExtensionValue e{20, S(v)};
    uint8_t buf[64];
    size_t n = BuildRtpPacket({}, {&e, 1}, {}, 0, buf, sizeof(buf));
    ASSERT_TRUE(RtpPacket::Parse(buf, n));
    buf[kRtpFixedHeaderSize + 5] = 3;
    EXPECT_FALSE(RtpPacket::Parse(buf, n));
  }
}

TEST(RtpPacketTest, OneByteId15StopsAndUnknownProfileIsOpaque) {
  Bytes b = OneBytePacket();
  b[26] = 0xF2;  // id 15: stop processing; id 3 is no longer visible
  auto p = RtpPacket::Parse(b.data(), b.size());
  ASSERT_TRUE(p);
  EXPECT_EQ(p->GetExtension(1).size(), 1u);
  EXPECT_FALSE(p->HasExtension(3));
  b[20] = 0x12;  // some other profile
  p = RtpPacket::Parse(b.data(), b.size());
  ASSERT_TRUE(p);
  EXPECT_EQ(p->extension_form(), RtpPacket::ExtensionForm::kOther);
  EXPECT_FALSE(p->HasExtension(1));
  EXPECT_EQ(p->payload().size(), 4u);
}

TEST(RtpPacketTest, WriteRewrittenRemapsDropsAndAppends) {
  Bytes b = OneBytePacket();
  auto in = RtpPacket::Parse(b.data(), b.size());
  ASSERT_TRUE(in);
  const Bytes mid = {'v', '1'};
  const ExtensionValue extra[] = {{4, S(mid)}};
  RtpRewrite rw;
  rw.ssrc = 99;
  rw.payload_type = 100;
  rw.sequence_number = 5;
  rw.timestamp = 6;
  rw.ext_id_map[3] = 9;  // 3 -> 9, 1 dropped
  rw.extra = extra;
  uint8_t out[128];
  size_t n = WriteRewritten(*in, rw, out, sizeof(out));
  ASSERT_GT(n, 0u);
  auto p = RtpPacket::Parse(out, n);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->ssrc(), 99u);
  EXPECT_EQ(p->payload_type(), 100);
  EXPECT_TRUE(p->marker());
  EXPECT_EQ(p->sequence_number(), 5);
  EXPECT_EQ(p->timestamp(), 6u);
  EXPECT_EQ(p->csrc_count(), 2);
  EXPECT_EQ(p->csrc(0), 1u);
  EXPECT_EQ(p->extension_form(), RtpPacket::ExtensionForm::kOneByte);
  EXPECT_FALSE(p->HasExtension(1));
  EXPECT_FALSE(p->HasExtension(3));
  EXPECT_EQ(Bytes(p->GetExtension(9).begin(), p->GetExtension(9).end()), (Bytes{0x01, 0x02, 0x03}));
  EXPECT_EQ(Bytes(p->GetExtension(4).begin(), p->GetExtension(4).end()), mid);
  EXPECT_EQ(Bytes(p->payload().begin(), p->payload().end()), (Bytes{0xDE, 0xAD, 0xBE, 0xEF}));
  EXPECT_EQ(p->padding_length(), 3u);
  EXPECT_EQ(WriteRewritten(*in, rw, out, n - 1), 0u);
  EXPECT_EQ(WriteRewritten(*in, rw, out, n), n);
}

TEST(RtpPacketTest, RewriteExtensionsInPlaceGrowsAndShrinks) {
  const Bytes original = OneBytePacket();
  // Room to grow: the packet sits at the start of a larger buffer.
  Bytes buffer = original;
  buffer.resize(original.size() + 64, 0xEE);
  auto p = RtpPacket::Parse(buffer.data(), original.size());
  ASSERT_TRUE(p);
  const uint16_t seq = p->sequence_number();
  const uint32_t ssrc = p->ssrc();
  const Bytes mid = {'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l'};
  const ExtensionValue extra[] = {{4, S(mid)}};
  std::array<uint8_t, 256> map{};
  map[1] = 1;  // keep 1
  map[3] = 9;  // 3 -> 9
  ASSERT_TRUE(RewriteExtensionsInPlace(&*p, map, extra, buffer.size()));
  EXPECT_EQ(p->data(), buffer.data());
  EXPECT_GT(p->size(), original.size());
  EXPECT_EQ(p->sequence_number(), seq);
  EXPECT_EQ(p->ssrc(), ssrc);
  EXPECT_TRUE(p->HasExtension(1));
  EXPECT_FALSE(p->HasExtension(3));
  EXPECT_EQ(Bytes(p->GetExtension(9).begin(), p->GetExtension(9).end()), (Bytes{0x01, 0x02, 0x03}));
  EXPECT_EQ(Bytes(p->GetExtension(4).begin(), p->GetExtension(4).end()), mid);
  EXPECT_EQ(Bytes(p->payload().begin(), p->payload().end()), (Bytes{0xDE, 0xAD, 0xBE, 0xEF}));
  EXPECT_EQ(p->padding_length(), 3u);

  // Dropping everything shrinks it; the payload follows.
  ASSERT_TRUE(RewriteExtensionsInPlace(&*p, std::array<uint8_t, 256>{}, {}, buffer.size()));
  EXPECT_FALSE(p->has_extension());
  EXPECT_EQ(Bytes(p->payload().begin(), p->payload().end()), (Bytes{0xDE, 0xAD, 0xBE, 0xEF}));

  // No room: refused, packet untouched.
  Bytes tight = original;
  auto q = RtpPacket::Parse(tight.data(), tight.size());
  ASSERT_TRUE(q);
  EXPECT_FALSE(RewriteExtensionsInPlace(&*q, map, extra, tight.size()));
  EXPECT_EQ(tight, original);
  EXPECT_EQ(q->size(), original.size());
}

TEST(RtpPacketTest, WriteRewrittenSwitchesToTwoByteAndReplacesById) {
  Bytes b = OneBytePacket();
  auto in = RtpPacket::Parse(b.data(), b.size());
  ASSERT_TRUE(in);
  const Bytes mid = {'m'};
  const ExtensionValue extra[] = {{1, S(mid)}};  // replaces incoming 1 -> 1
  RtpRewrite rw;
  rw.ext_id_map[1] = 1;
  rw.ext_id_map[3] = 200;  // needs two-byte form
  rw.extra = extra;
  uint8_t out[128];
  size_t n = WriteRewritten(*in, rw, out, sizeof(out));
  auto p = RtpPacket::Parse(out, n);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->extension_form(), RtpPacket::ExtensionForm::kTwoByte);
  EXPECT_EQ(p->GetExtension(200).size(), 3u);
  EXPECT_EQ(Bytes(p->GetExtension(1).begin(), p->GetExtension(1).end()), mid);
  int count = 0;
  p->ForEachExtension([&](uint8_t, absl::Span<const uint8_t>) { ++count; });
  EXPECT_EQ(count, 2);
}

TEST(RtpPacketTest, WriteRewrittenWithoutExtensions) {
  Bytes b = OneBytePacket();
  auto in = RtpPacket::Parse(b.data(), b.size());
  RtpRewrite rw;  // all ids dropped, nothing appended
  uint8_t out[128];
  size_t n = WriteRewritten(*in, rw, out, sizeof(out));
  auto p = RtpPacket::Parse(out, n);
  ASSERT_TRUE(p);
  EXPECT_FALSE(p->has_extension());
  EXPECT_EQ(n, 12u + 8 + 4 + 3);
}

TEST(RtxTest, EncapsulateDecapsulateRoundTrip) {
  Bytes b = OneBytePacket();
  auto in = RtpPacket::Parse(b.data(), b.size());
  ASSERT_TRUE(in);
  uint8_t rtx_buf[128];
  size_t n = RtxEncapsulate(*in, 97, 0x1111, 77, rtx_buf, sizeof(rtx_buf));
  ASSERT_GT(n, 0u);
  auto rtx = RtpPacket::Parse(rtx_buf, n);
  ASSERT_TRUE(rtx);
  EXPECT_EQ(rtx->payload_type(), 97);
  EXPECT_EQ(rtx->ssrc(), 0x1111u);
  EXPECT_EQ(rtx->sequence_number(), 77);
  EXPECT_EQ(rtx->timestamp(), in->timestamp());
  EXPECT_EQ(rtx->padding_length(), 0u);
  ASSERT_EQ(rtx->payload().size(), 6u);
  EXPECT_EQ(rtx->payload()[0], 0x12);  // OSN
  EXPECT_EQ(rtx->payload()[1], 0x34);
  EXPECT_EQ(rtx->GetExtension(3).size(), 3u);
  EXPECT_EQ(RtxEncapsulate(*in, 97, 1, 1, rtx_buf, n - 1), 0u);

  uint8_t orig[128];
  size_t m = RtxDecapsulate(*rtx, 111, 0xCAFEBABE, orig, sizeof(orig));
  ASSERT_GT(m, 0u);
  // Same as the original without its padding.
  Bytes expected(b.begin(), b.end() - 3);
  expected[0] &= 0xDF;
  EXPECT_EQ(Bytes(orig, orig + m), expected);
  EXPECT_EQ(RtxDecapsulate(*rtx, 111, 1, orig, m - 1), 0u);
}

TEST(RtxTest, DecapsulateRejectsShortPayload) {
  const Bytes one = {1};
  uint8_t buf[64];
  size_t n = BuildRtpPacket({}, {}, S(one), 0, buf, sizeof(buf));
  auto p = RtpPacket::Parse(buf, n);
  ASSERT_TRUE(p);
  uint8_t out[64];
  EXPECT_EQ(RtxDecapsulate(*p, 1, 1, out, sizeof(out)), 0u);
}

}  // namespace
}  // namespace sb::rtp
