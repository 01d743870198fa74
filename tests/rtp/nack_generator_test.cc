#include "rtp/nack_generator.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace sb::rtp {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

TEST(NackGenerator, AsksForWhatWasSkippedAtOnceThenEveryInterval) {
  NackGenerator nack;
  EXPECT_TRUE(nack.OnPacket(100, 0));
  EXPECT_TRUE(nack.OnPacket(101, 10));
  EXPECT_TRUE(nack.OnPacket(104, 20));  // 102 and 103 lost
  EXPECT_EQ(nack.missing(), 2u);
  EXPECT_THAT(nack.Due(20, 100), ElementsAre(102, 103));
  EXPECT_THAT(nack.Due(50, 100), IsEmpty()) << "within the retry interval";
  EXPECT_THAT(nack.Due(120, 100), ElementsAre(102, 103));
  EXPECT_TRUE(nack.OnPacket(103, 130)) << "the retransmission is wanted";
  EXPECT_FALSE(nack.OnPacket(103, 131)) << "a second copy is not";
  EXPECT_THAT(nack.Due(220, 100), ElementsAre(102));
  EXPECT_EQ(nack.stats().requested, 5u);
  EXPECT_EQ(nack.stats().recovered, 1u);
}

TEST(NackGenerator, ReorderedPacketIsNotAskedFor) {
  NackGenerator nack;
  nack.OnPacket(1, 0);
  nack.OnPacket(3, 1);
  EXPECT_TRUE(nack.OnPacket(2, 2));  // late, not lost
  EXPECT_THAT(nack.Due(5, 100), IsEmpty());
  EXPECT_FALSE(nack.OnPacket(1, 6)) << "old and never missed: a duplicate";
}

TEST(NackGenerator, GivesUpAfterMaxRetriesOrMaxAge) {
  NackGenerator nack;
  nack.OnPacket(10, 0);
  nack.OnPacket(12, 0);
  int asked = 0;
  for (int64_t t = 0; t < 500; t += 20) asked += static_cast<int>(nack.Due(t, 20).size());
  EXPECT_EQ(asked, NackGenerator::kMaxRetries);
  EXPECT_EQ(nack.missing(), 0u);
  EXPECT_EQ(nack.stats().given_up, 1u);

  nack.OnPacket(14, 1000);
  EXPECT_THAT(nack.Due(1000, 100), ElementsAre(13));
  EXPECT_THAT(nack.Due(1000 + NackGenerator::kMaxAgeMs + 1, 100), IsEmpty()) << "too old now";
  EXPECT_EQ(nack.stats().given_up, 2u);
}

TEST(NackGenerator, HugeGapIsLeftToAKeyFrame) {
  NackGenerator nack;
  nack.OnPacket(0, 0);
  nack.OnPacket(5, 0);
  nack.OnPacket(static_cast<uint16_t>(5 + NackGenerator::kMaxMissing + 10), 1);
  EXPECT_EQ(nack.missing(), 0u) << "bounded: nothing tracked";
  EXPECT_GT(nack.stats().given_up, NackGenerator::kMaxMissing);
}

TEST(NackGenerator, AcrossTheWrap) {
  NackGenerator nack;
  nack.OnPacket(65534, 0);
  nack.OnPacket(1, 1);  // 65535 and 0 lost
  EXPECT_THAT(nack.Due(1, 100), ElementsAre(65535, 0));
  EXPECT_TRUE(nack.OnPacket(0, 2));
  EXPECT_TRUE(nack.OnPacket(65535, 3));
  EXPECT_EQ(nack.missing(), 0u);
}

}  // namespace
}  // namespace sb::rtp
