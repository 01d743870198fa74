// Which packets of an encoding with temporal (and SVC spatial) layers are forwarded, and where
// the layers forwarded may change.
#include "router/layer_filter.h"

#include <gtest/gtest.h>

namespace sb::router {
namespace {

rtp::VideoLayers Frame(uint8_t spatial, uint8_t temporal, bool key = false, bool sync = false,
                       bool end = false) {
  rtp::VideoLayers l;
  l.spatial = spatial;
  l.temporal = temporal;
  l.key_frame = key;
  l.switching_point = sync || temporal == 0;
  l.end_of_frame = end;
  return l;
}

constexpr uint32_t kTicks = 3000;

TEST(LayerFilterTest, ForwardsEverythingWithoutATarget) {
  LayerFilter f;
  EXPECT_TRUE(f.OnPacket(Frame(0, 0, true), 0).forward);
  EXPECT_TRUE(f.OnPacket(Frame(2, 3), kTicks).forward);
  EXPECT_FALSE(f.key_frame_needed());
}

TEST(LayerFilterTest, TemporalDownAtTheNextPictureUpAtASwitchingPoint) {
  LayerFilter f;
  uint32_t ts = 0;
  // L1T3: T0 T2 T1 T2 T0 ...
  const uint8_t pattern[] = {0, 2, 1, 2};
  EXPECT_TRUE(f.OnPacket(Frame(0, 0, true), ts).forward);
  f.SetTarget(LayerFilter::kTop, 0);
  // The rest of the current picture is not cut.
  EXPECT_TRUE(f.OnPacket(Frame(0, 0), ts).forward);
  for (int i = 1; i < 8; ++i) {
    ts += kTicks;
    const uint8_t tid = pattern[i % 4];
    EXPECT_EQ(f.OnPacket(Frame(0, tid), ts).forward, tid == 0) << i;
  }
  // Up to T2: not at a T2 frame that refers to a T1 frame never sent...
  f.SetTarget(LayerFilter::kTop, 2);
  ts += kTicks;
  EXPECT_FALSE(f.OnPacket(Frame(0, 2), ts).forward);
  EXPECT_EQ(f.current_temporal(), 0);
  // ... but at a frame marked as depending on the base layer only, and everything after it.
  ts += kTicks;
  EXPECT_TRUE(f.OnPacket(Frame(0, 1, false, /*sync=*/true), ts).forward);
  EXPECT_EQ(f.current_temporal(), 2);
  ts += kTicks;
  EXPECT_TRUE(f.OnPacket(Frame(0, 2), ts).forward);
  // A late packet of an older picture does not move anything.
  f.SetTarget(LayerFilter::kTop, 0);
  EXPECT_TRUE(f.OnPacket(Frame(0, 2), ts - kTicks).forward);
  ts += kTicks;
  EXPECT_FALSE(f.OnPacket(Frame(0, 2), ts).forward);
  // A key frame takes the target at once.
  f.SetTarget(LayerFilter::kTop, 1);
  ts += kTicks;
  EXPECT_TRUE(f.OnPacket(Frame(0, 0, true), ts).forward);
  EXPECT_EQ(f.current_temporal(), 1);
}

TEST(LayerFilterTest, SpatialDownAtAnyPictureUpOnlyAtAKeyFrameWithTheMarkerMoved) {
  LayerFilter f;
  uint32_t ts = 0;
  f.SetTarget(2, LayerFilter::kTop);
  EXPECT_TRUE(f.OnPacket(Frame(0, 0, true), ts).forward);
  EXPECT_TRUE(f.OnPacket(Frame(1, 0), ts).forward);
  auto d = f.OnPacket(Frame(2, 0, false, false, /*end=*/true), ts);
  EXPECT_TRUE(d.forward);
  EXPECT_TRUE(d.set_marker) << "S2 ends the picture (the publisher's marker is there already)";

  f.SetTarget(1, LayerFilter::kTop);
  ts += kTicks;
  EXPECT_TRUE(f.OnPacket(Frame(0, 1), ts).forward);
  d = f.OnPacket(Frame(1, 1, false, false, true), ts);
  EXPECT_TRUE(d.forward);
  EXPECT_TRUE(d.set_marker) << "S1 now ends the picture for the receiver";
  EXPECT_FALSE(f.OnPacket(Frame(2, 1, false, false, true), ts).forward);
  EXPECT_FALSE(f.OnPacket(Frame(0, 1), ts).set_marker);

  // Up: an upper layer refers to its own past frames, which were not sent; wait for a key
  // frame.
  f.SetTarget(2, LayerFilter::kTop);
  EXPECT_TRUE(f.key_frame_needed());
  ts += kTicks;
  EXPECT_TRUE(f.OnPacket(Frame(0, 0), ts).forward);
  EXPECT_FALSE(f.OnPacket(Frame(2, 0), ts).forward);
  ts += kTicks;
  EXPECT_TRUE(f.OnPacket(Frame(0, 0, true), ts).forward);
  EXPECT_TRUE(f.OnPacket(Frame(2, 0), ts).forward);
  EXPECT_FALSE(f.key_frame_needed());
}

}  // namespace
}  // namespace sb::router
