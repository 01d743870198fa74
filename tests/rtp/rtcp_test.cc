#include <gtest/gtest.h>

#include <vector>

#include "rtp/rtcp/bye.h"
#include "rtp/rtcp/fir.h"
#include "rtp/rtcp/nack.h"
#include "rtp/rtcp/pli.h"
#include "rtp/rtcp/receiver_report.h"
#include "rtp/rtcp/remb.h"
#include "rtp/rtcp/rtcp_packet.h"
#include "rtp/rtcp/sdes.h"
#include "rtp/rtcp/sender_report.h"
#include "tests/rtp/rtcp_test_util.h"

namespace sb::rtp {
namespace {

using testing::Bytes;
using testing::ExpectRoundTrip;
using testing::Serialized;

ReportBlock Block(uint32_t ssrc, int32_t lost) {
  return {ssrc, 25, lost, 0x0001FFFF, 321, 0x12345678, 0x00010000};
}

TEST(RtcpTest, SenderReportRoundTrip) {
  SenderReport sr{0x11111111, 0xE0000000, 0x80000000, 90000, 10, 1000, {Block(1, 5), Block(2, -3)}};
  ExpectRoundTrip(sr);
  ExpectRoundTrip(SenderReport{});
}

TEST(RtcpTest, ReceiverReportRoundTripAndNegativeLost) {
  ReceiverReport rr{7, {Block(3, -1), Block(4, 0x7FFFFF), Block(5, -0x800000)}};
  ExpectRoundTrip(rr);
  Bytes b = Serialized(rr);
  EXPECT_EQ(b[8 + 5], 0xFF);  // -1 as 24-bit two's complement
  // Values beyond 24 bits are clamped when written.
  ReceiverReport big{7, {Block(3, 1 << 25)}};
  auto parsed = ReceiverReport::Parse(Serialized(big));
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->report_blocks[0].cumulative_lost, ReportBlock::kMaxCumulativeLost);
}

TEST(RtcpTest, SdesRoundTrip) {
  Sdes sdes{{{0xAAAA, "user@host", {}},
             {0xBBBB, "abcd", {{2, "Name"}, {8, std::string("\x03xyz", 4)}}},
             {0xCCCC, "", {{5, ""}}}}};
  ExpectRoundTrip(sdes);
  // CNAME of 2 bytes: 4 ssrc + 2 + 2 + 1 null = 9 -> padded to 12.
  Sdes small{{{1, "ab", {}}}};
  EXPECT_EQ(small.Size(), 4u + 12u);
  // CNAME of 3 bytes: 4 + 2 + 3 + 1 null = 10 -> 12.
  Sdes three{{{1, "abc", {}}}};
  EXPECT_EQ(three.Size(), 16u);
  ExpectRoundTrip(three);
}

TEST(RtcpTest, SdesRejectsItemPastEnd) {
  Sdes sdes{{{1, "abcdef", {}}}};
  Bytes b = Serialized(sdes);
  b[9] = 200;  // CNAME length past the chunk
  EXPECT_FALSE(Sdes::Parse(b));
  b[9] = 6;
  b[16] = 0x05;  // terminator replaced: an item with no room
  b[17] = 0x05;
  b[18] = 0x05;
  b[19] = 0x05;
  EXPECT_FALSE(Sdes::Parse(b));
}

TEST(RtcpTest, ByeRoundTrip) {
  ExpectRoundTrip(Bye{{1, 2, 3}, "leaving"});
  ExpectRoundTrip(Bye{{0x12345678}, ""});
  ExpectRoundTrip(Bye{{}, "abc"});
}

TEST(RtcpTest, NackRoundTripAndSequenceHelpers) {
  const uint16_t seqs[] = {65530, 65531, 65535, 0, 9, 10, 100, 101, 116, 117};
  Nack nack = Nack::FromSequenceNumbers(1, 2, seqs);
  ASSERT_EQ(nack.items.size(), 3u);
  EXPECT_EQ(nack.items[0].pid, 65530);
  // 65531 (+1), 65535 (+5), 0 (+6), 9 (+15), 10 (+16)
  EXPECT_EQ(nack.items[0].blp, (1 << 0) | (1 << 4) | (1 << 5) | (1 << 14) | (1 << 15));
  EXPECT_EQ(nack.items[1].pid, 100);
  EXPECT_EQ(nack.items[1].blp, (1 << 0) | (1 << 15));
  EXPECT_EQ(nack.items[2].pid, 117);
  EXPECT_EQ(nack.SequenceNumbers(), std::vector<uint16_t>(std::begin(seqs), std::end(seqs)));
  ExpectRoundTrip(nack);
}

TEST(RtcpTest, NackWithoutItemsAndTooShort) {
  Nack nack{1, 2, {{10, 0}}};
  Bytes b = Serialized(nack);
  b[3] = 2;  // 12 bytes: the ssrcs only
  b.resize(12);
  auto empty = Nack::Parse(b);
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->items.empty());
  b[3] = 1;  // 8 bytes: no media ssrc
  b.resize(8);
  EXPECT_FALSE(Nack::Parse(b));
}

TEST(RtcpTest, PliFirRembRoundTrip) {
  ExpectRoundTrip(Pli{0x01020304, 0x05060708});
  ExpectRoundTrip(Fir{1, 0, {{0xABCDEF01, 7}, {2, 255}}});
  ExpectRoundTrip(Remb{9, 256000, {0x1111, 0x2222}});
  ExpectRoundTrip(Remb{9, 0, {}});
  // Large values lose low bits: mantissa is 18 bits.
  Remb big{1, (uint64_t{0x3FFFF} << 20) + 12345, {1}};
  auto parsed = Remb::Parse(Serialized(big));
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->bitrate_bps, uint64_t{0x3FFFF} << 20);
}

TEST(RtcpTest, RembRejectsOtherAfbAndSaturates) {
  Bytes b = Serialized(Remb{9, 1000, {}});
  Bytes other = b;
  other[12] = 'X';
  EXPECT_FALSE(Remb::Parse(other));
  b[17] = 0xFF;  // exponent 63, mantissa high bits set
  b[18] = 0xFF;
  b[19] = 0xFF;
  auto parsed = Remb::Parse(b);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->bitrate_bps, UINT64_MAX);
}

TEST(RtcpTest, ParsersRejectOtherTypes) {
  Bytes pli = Serialized(Pli{1, 2});
  EXPECT_FALSE(Fir::Parse(pli));
  EXPECT_FALSE(Nack::Parse(pli));
  EXPECT_FALSE(SenderReport::Parse(pli));
  EXPECT_FALSE(Remb::Parse(pli));
}

// A compound shaped like what Chrome sends: SR with one report block, then SDES with a CNAME.
Bytes ChromeLikeCompound() {
  return {
      0x81, 0xC8, 0x00, 0x0C,                          // SR, RC=1, length 12
      0x5E, 0x2B, 0x9D, 0x21,                          // sender ssrc
      0xE9, 0x4C, 0x3A, 0x1B, 0x4F, 0xDF, 0x3B, 0x64,  // NTP
      0x5C, 0x1F, 0x80, 0x40,                          // RTP ts
      0x00, 0x00, 0x01, 0x2C,                          // packets 300
      0x00, 0x00, 0xBB, 0x80,                          // octets 48000
      0x11, 0x22, 0x33, 0x44,                          // block ssrc
      0x05, 0x00, 0x00, 0x02,                          // fraction 5, lost 2
      0x00, 0x01, 0x00, 0x10,                          // ext highest seq
      0x00, 0x00, 0x00, 0x20,                          // jitter
      0x3A, 0x1B, 0x4F, 0xDF,                          // lsr
      0x00, 0x00, 0x80, 0x00,                          // dlsr
      0x81, 0xCA, 0x00, 0x06,                          // SDES, SC=1, length 6
      0x5E, 0x2B, 0x9D, 0x21,                          // ssrc
      0x01, 0x10, 'h',  'Q',  '3',  'x',  'K',  '9',  'p',
      'L',  'm',  'N',  '2',  'v',  'R',  '8',  'a',  'Z',  // CNAME, 16 chars
      0x00, 0x00,                                           // end + pad
  };
}

TEST(RtcpTest, ChromeLikeCompound) {
  Bytes b = ChromeLikeCompound();
  ASSERT_TRUE(IsRtcp(b));
  std::vector<uint8_t> types;
  std::optional<SenderReport> sr;
  std::optional<Sdes> sdes;
  absl::Status st = ForEachRtcpPacket(b, [&](const RtcpHeader& h) {
    types.push_back(h.packet_type);
    if (h.packet_type == kRtcpSr) sr = SenderReport::Parse(h.packet);
    if (h.packet_type == kRtcpSdes) sdes = Sdes::Parse(h.packet);
  });
  ASSERT_TRUE(st.ok()) << st;
  EXPECT_EQ(types, (std::vector<uint8_t>{kRtcpSr, kRtcpSdes}));
  ASSERT_TRUE(sr && sdes);
  EXPECT_EQ(sr->sender_ssrc, 0x5E2B9D21u);
  EXPECT_EQ(sr->packet_count, 300u);
  EXPECT_EQ(sr->octet_count, 48000u);
  ASSERT_EQ(sr->report_blocks.size(), 1u);
  EXPECT_EQ(sr->report_blocks[0].fraction_lost, 5);
  EXPECT_EQ(sr->report_blocks[0].cumulative_lost, 2);
  EXPECT_EQ(sr->report_blocks[0].dlsr, 0x8000u);
  ASSERT_EQ(sdes->chunks.size(), 1u);
  EXPECT_EQ(sdes->chunks[0].cname, "hQ3xK9pLmN2vR8aZ");
  // Re-serializing both gives back the compound.
  Bytes again(sr->Size() + sdes->Size());
  size_t n = sr->Serialize(again.data(), again.size());
  n += sdes->Serialize(again.data() + n, again.size() - n);
  EXPECT_EQ(again, b);
}

TEST(RtcpTest, CompoundRejectsMalformed) {
  Bytes b = ChromeLikeCompound();
  // Length overflow in the second packet: the first is delivered, then an error.
  Bytes over = b;
  over[52 + 3] = 0x07;
  int delivered = 0;
  absl::Status st = ForEachRtcpPacket(over, [&](const RtcpHeader&) { ++delivered; });
  EXPECT_FALSE(st.ok());
  EXPECT_EQ(delivered, 1);
  // Every truncation fails somewhere (it cuts a packet short).
  for (size_t len = 1; len < b.size(); ++len) {
    if (len == 52) continue;  // exactly the SR: valid on its own
    EXPECT_FALSE(
        ForEachRtcpPacket(absl::MakeConstSpan(b.data(), len), [](const RtcpHeader&) {}).ok())
        << len;
  }
  EXPECT_FALSE(ForEachRtcpPacket({}, [](const RtcpHeader&) {}).ok());
  // Bad version.
  Bytes v1 = b;
  v1[0] = 0x41;
  EXPECT_FALSE(ForEachRtcpPacket(v1, [](const RtcpHeader&) {}).ok());
  EXPECT_FALSE(IsRtcp(v1));
  // Padding larger than the packet body.
  Bytes pad = Serialized(Pli{1, 2});
  pad[0] |= 0x20;
  pad.back() = 9;
  EXPECT_FALSE(ParseRtcpHeader(pad).ok());
  pad.back() = 4;  // 4 bytes of padding: the media ssrc is gone
  auto h = ParseRtcpHeader(pad);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->body.size(), 4u);
  EXPECT_FALSE(Pli::Parse(pad));
  // Report count larger than the packet holds.
  Bytes rr = Serialized(ReceiverReport{1, {Block(1, 1)}});
  rr[0] = 0x82;
  EXPECT_FALSE(ReceiverReport::Parse(rr));
}

TEST(RtcpTest, UnknownTypesAreYieldedForSkipping) {
  Bytes app = {0x80, 0xCC, 0x00, 0x02, 0, 0, 0, 1, 'n', 'a', 'm', 'e'};  // APP
  Bytes pli = Serialized(Pli{1, 2});
  Bytes both = app;
  both.insert(both.end(), pli.begin(), pli.end());
  std::vector<uint8_t> types;
  ASSERT_TRUE(
      ForEachRtcpPacket(both, [&](const RtcpHeader& h) { types.push_back(h.packet_type); }).ok());
  EXPECT_EQ(types, (std::vector<uint8_t>{kRtcpApp, kRtcpPsfb}));
}

TEST(RtcpTest, IsRtcpDemux) {
  Bytes rtp = {0x80, 0x60, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1};  // PT 96
  EXPECT_FALSE(IsRtcp(rtp));
  rtp[1] = 0xE0;  // marker + PT 96 = 224: outside 192..223
  EXPECT_FALSE(IsRtcp(rtp));
  rtp[1] = 200;
  EXPECT_TRUE(IsRtcp(rtp));
  EXPECT_FALSE(IsRtcp(absl::MakeConstSpan(rtp.data(), 3)));
}

}  // namespace
}  // namespace sb::rtp
