// TMMBR/TMMBN (RFC 5104 4.2.1, 4.2.2) and SLI (RFC 4585 6.3.2).
#include <gtest/gtest.h>

#include <limits>

#include "rtp/rtcp/sli.h"
#include "rtp/rtcp/tmmb.h"
#include "tests/rtp/rtcp_test_util.h"

namespace sb::rtp {
namespace {

using testing::Bytes;
using testing::ExpectParsesAndRebuilds;
using testing::ExpectRoundTrip;
using testing::Serialized;

TEST(TmmbTest, KnownBytesTmmbr) {
  // 1 Mbps = 125000 << 3; overhead 40: exp 3 | mantissa 125000 | 40 = 0x0FD09028.
  const Bytes bytes = {0x83, 0xCD, 0x00, 0x04, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00,
                       0x00, 0x00, 0xCA, 0xFE, 0xBA, 0xBE, 0x0F, 0xD0, 0x90, 0x28};
  Tmmbr r = ExpectParsesAndRebuilds<Tmmbr>(bytes);
  EXPECT_EQ(r.sender_ssrc, 1u);
  ASSERT_EQ(r.items.size(), 1u);
  EXPECT_EQ(r.items[0], (TmmbItem{0xCAFEBABE, 1000000, 40}));
  // The same FCI as TMMBN (FMT 4) is not a TMMBR, and vice versa.
  EXPECT_FALSE(Tmmbn::Parse(bytes));
  Bytes n = bytes;
  n[0] = 0x84;
  EXPECT_FALSE(Tmmbr::Parse(n));
  EXPECT_TRUE(Tmmbn::Parse(n));
}

TEST(TmmbTest, RoundTrips) {
  Tmmbr r;
  r.sender_ssrc = 5;
  r.items = {{1, 0, 0}, {2, 131071, 511}, {3, uint64_t{131071} << 40, 28}};
  ExpectRoundTrip(r);
  Tmmbn n;
  n.sender_ssrc = 6;
  ExpectRoundTrip(n);  // empty bounding set
  n.items = {{9, 256000, 60}};
  ExpectRoundTrip(n);
}

TEST(TmmbTest, BitrateRoundedDownAndSaturated) {
  Tmmbr r;
  r.items = {{1, 1000001, 0}};
  auto parsed = Tmmbr::Parse(Serialized(r));
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->items[0].bitrate_bps, 1000000u);
  // exp 63 with a large mantissa saturates instead of overflowing.
  Bytes b = {0x83, 0xCD, 0x00, 0x04, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2, 0xFF, 0xFF, 0xFE, 0x00};
  parsed = Tmmbr::Parse(b);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->items[0].bitrate_bps, std::numeric_limits<uint64_t>::max());
}

TEST(TmmbTest, Rejects) {
  uint8_t buf[64];
  Tmmbr r;
  r.items = {{1, 1000, 512}};  // overhead over 9 bits
  EXPECT_EQ(r.Serialize(buf, sizeof(buf)), 0u);
  // FCI not a multiple of 8 bytes.
  EXPECT_FALSE(Tmmbr::Parse(Bytes{0x83, 0xCD, 0x00, 0x03, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2}));
  // Shorter than the two ssrcs.
  EXPECT_FALSE(Tmmbn::Parse(Bytes{0x84, 0xCD, 0x00, 0x01, 0, 0, 0, 1}));
}

TEST(SliTest, KnownBytes) {
  // first 100, number 50, picture id 33: 100 << 19 | 50 << 6 | 33 = 0x03200CA1.
  const Bytes bytes = {0x82, 0xCE, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01,
                       0x00, 0x00, 0x00, 0x02, 0x03, 0x20, 0x0C, 0xA1};
  Sli sli = ExpectParsesAndRebuilds<Sli>(bytes);
  EXPECT_EQ(sli.sender_ssrc, 1u);
  EXPECT_EQ(sli.media_ssrc, 2u);
  EXPECT_EQ(sli.items, (std::vector<SliItem>{{100, 50, 33}}));
}

TEST(SliTest, RoundTripsAndRejects) {
  ExpectRoundTrip(Sli{1, 2, {{0, 0, 0}, {8191, 8191, 63}, {1, 2, 3}}});
  uint8_t buf[64];
  EXPECT_EQ((Sli{1, 2, {}}.Serialize(buf, sizeof(buf))), 0u);  // no items
  EXPECT_EQ((Sli{1, 2, {{8192, 0, 0}}}.Serialize(buf, sizeof(buf))), 0u);
  EXPECT_EQ((Sli{1, 2, {{0, 8192, 0}}}.Serialize(buf, sizeof(buf))), 0u);
  EXPECT_EQ((Sli{1, 2, {{0, 0, 64}}}.Serialize(buf, sizeof(buf))), 0u);
  // No FCI, and a PLI (FMT 1) is not an SLI.
  EXPECT_FALSE(Sli::Parse(Bytes{0x82, 0xCE, 0x00, 0x02, 0, 0, 0, 1, 0, 0, 0, 2}));
  EXPECT_FALSE(Sli::Parse(Bytes{0x81, 0xCE, 0x00, 0x03, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0}));
}

}  // namespace
}  // namespace sb::rtp
