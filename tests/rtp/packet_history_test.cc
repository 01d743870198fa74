// The retransmission history: exact lookup by sequence number across wrap-around, eviction by
// newer packets, refusal of oversize and too-old packets.
#include "rtp/packet_history.h"

#include <gtest/gtest.h>

#include <vector>

namespace sb::rtp {
namespace {

// A fake packet whose bytes name its sequence number, `size` bytes long.
std::vector<uint8_t> Packet(uint16_t seq, size_t size = 20) {
  std::vector<uint8_t> p(size, 0xAB);
  p[0] = static_cast<uint8_t>(seq >> 8);
  p[1] = static_cast<uint8_t>(seq);
  return p;
}

bool Holds(const PacketHistory& h, uint16_t seq, size_t size = 20) {
  auto got = h.Get(seq);
  auto want = Packet(seq, size);
  return std::vector<uint8_t>(got.begin(), got.end()) == want;
}

TEST(PacketHistory, EmptyHistoryHasNothing) {
  PacketHistory h(8, 100);
  EXPECT_TRUE(h.Get(0).empty());
  EXPECT_TRUE(h.Get(1234).empty());
  EXPECT_EQ(h.allocated_bytes(), 0u);  // nothing reserved before the first packet
}

TEST(PacketHistory, StoresAndReturnsTheExactBytes) {
  PacketHistory h(8, 100);
  ASSERT_TRUE(h.Insert(100, Packet(100, 30)));
  ASSERT_TRUE(h.Insert(101, Packet(101, 50)));
  EXPECT_EQ(h.allocated_bytes(), 800u);
  EXPECT_TRUE(Holds(h, 100, 30));
  EXPECT_TRUE(Holds(h, 101, 50));
}

TEST(PacketHistory, MissingPacketsAreNotFound) {
  PacketHistory h(8, 100);
  ASSERT_TRUE(h.Insert(100, Packet(100)));
  ASSERT_TRUE(h.Insert(102, Packet(102)));
  EXPECT_TRUE(h.Get(101).empty());  // lost on the way in
  EXPECT_TRUE(h.Get(103).empty());  // not yet received
  // 108 maps to 100's slot: still not found, whatever the slot holds.
  EXPECT_TRUE(h.Get(108).empty());
  EXPECT_TRUE(h.Get(static_cast<uint16_t>(100 + 0x8000)).empty());
}

TEST(PacketHistory, NewerPacketsEvictTheOldest) {
  PacketHistory h(8, 100);
  for (uint16_t s = 0; s < 8; ++s) ASSERT_TRUE(h.Insert(s, Packet(s)));
  EXPECT_TRUE(Holds(h, 0));
  ASSERT_TRUE(h.Insert(8, Packet(8)));
  EXPECT_TRUE(h.Get(0).empty());  // evicted by 8
  for (uint16_t s = 1; s <= 8; ++s) EXPECT_TRUE(Holds(h, s)) << s;
}

TEST(PacketHistory, WrapsAroundTheSequenceSpace) {
  PacketHistory h(16, 100);
  for (uint32_t i = 0; i < 12; ++i) {
    const auto seq = static_cast<uint16_t>(65530 + i);
    ASSERT_TRUE(h.Insert(seq, Packet(seq)));
  }
  for (uint32_t i = 0; i < 12; ++i) {
    const auto seq = static_cast<uint16_t>(65530 + i);
    EXPECT_TRUE(Holds(h, seq)) << seq;
  }
  EXPECT_TRUE(h.Get(6).empty());
}

TEST(PacketHistory, AcceptsReorderedPacketsWithinReach) {
  PacketHistory h(8, 100);
  ASSERT_TRUE(h.Insert(2, Packet(2)));
  ASSERT_TRUE(h.Insert(65535, Packet(65535)));  // late, from before the wrap
  ASSERT_TRUE(h.Insert(1, Packet(1)));
  EXPECT_TRUE(Holds(h, 65535));
  EXPECT_TRUE(Holds(h, 1));
  EXPECT_TRUE(Holds(h, 2));
}

TEST(PacketHistory, RefusesPacketsOlderThanItsReach) {
  PacketHistory h(8, 100);
  ASSERT_TRUE(h.Insert(100, Packet(100)));
  EXPECT_FALSE(h.Insert(92, Packet(92)));  // would overwrite 100's slot
  EXPECT_TRUE(Holds(h, 100));
  EXPECT_TRUE(h.Get(92).empty());
}

TEST(PacketHistory, RefusesOversizeAndEmptyPackets) {
  PacketHistory h(8, 100);
  EXPECT_FALSE(h.Insert(1, Packet(1, 101)));
  EXPECT_FALSE(h.Insert(2, {}));
  EXPECT_TRUE(h.Get(1).empty());
  EXPECT_TRUE(h.Insert(3, Packet(3, 100)));
  EXPECT_TRUE(Holds(h, 3, 100));
}

TEST(PacketHistory, DuplicateReplacesTheSlot) {
  PacketHistory h(8, 100);
  ASSERT_TRUE(h.Insert(5, Packet(5, 20)));
  ASSERT_TRUE(h.Insert(5, Packet(5, 40)));
  EXPECT_TRUE(Holds(h, 5, 40));
}

TEST(PacketHistory, StartsOverWhenTheSenderRestartsItsNumbering) {
  PacketHistory h(8, 100);
  ASSERT_TRUE(h.Insert(30000, Packet(30000)));
  // Far behind: a new numbering, not a late packet.
  ASSERT_TRUE(h.Insert(1000, Packet(1000)));
  EXPECT_TRUE(Holds(h, 1000));
  EXPECT_TRUE(h.Get(30000).empty());
  ASSERT_TRUE(h.Insert(1001, Packet(1001)));
  EXPECT_TRUE(Holds(h, 1001));
}

TEST(PacketHistory, ClearForgetsEverything) {
  PacketHistory h(8, 100);
  ASSERT_TRUE(h.Insert(5, Packet(5)));
  h.Clear();
  EXPECT_TRUE(h.Get(5).empty());
}

}  // namespace
}  // namespace sb::rtp
