// APP (RFC 3550 6.7) and XR RRTR/DLRR (RFC 3611 4.4, 4.5).
#include <gtest/gtest.h>

#include "rtp/rtcp/app.h"
#include "rtp/rtcp/xr.h"
#include "tests/rtp/rtcp_test_util.h"

namespace sb::rtp {
namespace {

using testing::Bytes;
using testing::ExpectParsesAndRebuilds;
using testing::ExpectRoundTrip;

TEST(AppTest, KnownBytes) {
  // V=2 subtype=5, PT=204, length 3; ssrc; "TEST"; 4 bytes of data.
  const Bytes bytes = {0x85, 0xCC, 0x00, 0x03, 0x12, 0x34, 0x56, 0x78,
                       'T',  'E',  'S',  'T',  0xDE, 0xAD, 0xBE, 0xEF};
  App app = ExpectParsesAndRebuilds<App>(bytes);
  EXPECT_EQ(app.subtype, 5);
  EXPECT_EQ(app.ssrc, 0x12345678u);
  EXPECT_EQ(std::string(app.name.data(), 4), "TEST");
  EXPECT_EQ(app.data, (Bytes{0xDE, 0xAD, 0xBE, 0xEF}));
}

TEST(AppTest, RoundTripsAndRejects) {
  ExpectRoundTrip(App{31, 1, {'a', 'b', 'c', 'd'}, {}});
  ExpectRoundTrip(App{0, 0xFFFFFFFF, {'x', 'y', 'z', 'w'}, Bytes(64, 7)});
  uint8_t buf[64];
  EXPECT_EQ((App{32, 1, {}, {}}.Serialize(buf, sizeof(buf))), 0u);          // subtype > 5 bits
  EXPECT_EQ((App{0, 1, {}, Bytes(3, 0)}.Serialize(buf, sizeof(buf))), 0u);  // not 32-bit aligned
  // Body shorter than ssrc + name.
  EXPECT_FALSE(App::Parse(Bytes{0x80, 0xCC, 0x00, 0x01, 0, 0, 0, 1}));
  // Another packet type.
  EXPECT_FALSE(App::Parse(Bytes{0x80, 0xCB, 0x00, 0x02, 0, 0, 0, 1, 'a', 'b', 'c', 'd'}));
}

TEST(XrTest, KnownBytesRrtrAndDlrr) {
  const Bytes bytes = {
      0x80, 0xCF, 0x00, 0x08,                          // XR, length 8
      0x11, 0x22, 0x33, 0x44,                          // sender ssrc
      0x04, 0x00, 0x00, 0x02,                          // RRTR, block length 2
      0xE0, 0x00, 0x00, 0x01, 0x80, 0x00, 0x00, 0x00,  // NTP
      0x05, 0x00, 0x00, 0x03,                          // DLRR, one sub-block
      0xAA, 0xBB, 0xCC, 0xDD,                          // ssrc
      0x00, 0x01, 0x80, 0x00,                          // LRR
      0x00, 0x00, 0x80, 0x00,                          // DLRR: 0.5 s
  };
  Xr xr = ExpectParsesAndRebuilds<Xr>(bytes);
  EXPECT_EQ(xr.sender_ssrc, 0x11223344u);
  ASSERT_EQ(xr.rrtrs.size(), 1u);
  EXPECT_EQ(xr.rrtrs[0].ntp_timestamp, 0xE000000180000000ull);
  ASSERT_EQ(xr.dlrrs.size(), 1u);
  EXPECT_EQ(xr.dlrrs[0].items, (std::vector<XrDlrrItem>{{0xAABBCCDD, 0x00018000, 0x8000}}));
}

TEST(XrTest, RoundTrips) {
  ExpectRoundTrip(Xr{1, {}, {}, 0});
  ExpectRoundTrip(Xr{2, {{0x0102030405060708}, {9}}, {}, 0});
  ExpectRoundTrip(Xr{3, {{42}}, {{{{1, 2, 3}, {4, 5, 6}}}, {{}}, {{{7, 8, 9}}}}, 0});
}

TEST(XrTest, SkipsUnknownBlocks) {
  const Bytes bytes = {
      0x80, 0xCF, 0x00, 0x07,                          // XR, length 7
      0x00, 0x00, 0x00, 0x01,                          // sender ssrc
      0x06, 0x01, 0x00, 0x02, 1, 2, 3, 4, 5, 6, 7, 8,  // statistics summary-ish: unknown here
      0x04, 0x00, 0x00, 0x02, 0, 0, 0, 9, 0, 0, 0, 1,  // RRTR
  };
  std::optional<Xr> xr = Xr::Parse(bytes);
  ASSERT_TRUE(xr);
  EXPECT_EQ(xr->skipped_blocks, 1u);
  ASSERT_EQ(xr->rrtrs.size(), 1u);
  EXPECT_EQ(xr->rrtrs[0].ntp_timestamp, 0x0000000900000001ull);
}

TEST(XrTest, RejectsBadBlockLengths) {
  Bytes rrtr_short = {0x80, 0xCF, 0x00, 0x03, 0, 0, 0, 1, 0x04, 0x00, 0x00, 0x01, 0, 0, 0, 0};
  EXPECT_FALSE(Xr::Parse(rrtr_short));
  Bytes dlrr_partial = {0x80, 0xCF, 0x00, 0x04, 0, 0, 0, 1, 0x05, 0x00,
                        0x00, 0x02, 0,    0,    0, 0, 0, 0, 0,    0};
  EXPECT_FALSE(Xr::Parse(dlrr_partial));
  // Block length past the end of the packet.
  Bytes past_end = {0x80, 0xCF, 0x00, 0x03, 0, 0, 0, 1, 0x09, 0x00, 0x00, 0x05, 0, 0, 0, 0};
  EXPECT_FALSE(Xr::Parse(past_end));
  // A block header cut short: 2 bytes before 2 bytes of RTCP padding.
  Bytes cut = {0xA0, 0xCF, 0x00, 0x02, 0, 0, 0, 1, 0x04, 0x00, 0x00, 0x02};
  EXPECT_FALSE(Xr::Parse(cut));
  // Packet shorter than its sender ssrc.
  EXPECT_FALSE(Xr::Parse(Bytes{0x80, 0xCF, 0x00, 0x00}));
}

}  // namespace
}  // namespace sb::rtp
