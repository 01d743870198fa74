// The allocator on its own: audio first, video by priority, lowest layers before upgrades,
// preferences, pauses, headroom against flapping.
#include "router/bandwidth_allocator.h"

#include <gtest/gtest.h>

#include <vector>

namespace sb::router {
namespace {

using Item = BandwidthAllocator::Item;
constexpr size_t kPaused = BandwidthAllocator::kPaused;

// A 3-layer simulcast camera as Chromium sends 720p: 150k, 500k, 1.7M.
Item Camera(int priority = 0) {
  Item item;
  item.priority = priority;
  item.layer_bps = {150'000, 500'000, 1'700'000};
  return item;
}

Item Audio() {
  Item item;
  item.audio = true;
  item.layer_bps = {40'000};
  return item;
}

std::vector<size_t> Layers(int64_t available, const std::vector<Item>& items) {
  return BandwidthAllocator::Allocate(available, items).layers;
}

TEST(BandwidthAllocatorTest, EverythingFitsEverythingAtTheTop) {
  auto r = BandwidthAllocator::Allocate(10'000'000, {Audio(), Camera(), Camera()});
  EXPECT_EQ(r.layers, (std::vector<size_t>{0, 2, 2}));
  EXPECT_EQ(r.allocated_bps, 40'000 + 2 * 1'700'000);
  EXPECT_EQ(r.desired_bps, r.allocated_bps);
}

TEST(BandwidthAllocatorTest, AudioFirstThenEveryonesLowestLayerBeforeAnyUpgrade) {
  // 40k audio + 2 x 150k fit in 400k; one upgrade to 500k does not.
  auto r = BandwidthAllocator::Allocate(400'000, {Audio(), Camera(), Camera()});
  EXPECT_EQ(r.layers, (std::vector<size_t>{0, 0, 0}));
  EXPECT_EQ(r.allocated_bps, 340'000);
  EXPECT_EQ(r.desired_bps, 40'000 + 2 * 1'700'000);
}

TEST(BandwidthAllocatorTest, UpgradesGoByPriorityOneLayerAtATime) {
  // 40k + 150k + 150k = 340k; + 350k (to h) for the screen share first, then the other.
  EXPECT_EQ(Layers(800'000, {Audio(), Camera(0), Camera(2)}), (std::vector<size_t>{0, 0, 1}));
  EXPECT_EQ(Layers(1'200'000, {Audio(), Camera(0), Camera(2)}), (std::vector<size_t>{0, 1, 1}));
  EXPECT_EQ(Layers(3'000'000, {Audio(), Camera(0), Camera(2)}), (std::vector<size_t>{0, 1, 2}));
}

TEST(BandwidthAllocatorTest, EqualPriorityTakesTurnsInTheCallersOrder) {
  EXPECT_EQ(Layers(900'000, {Camera(), Camera(), Camera()}), (std::vector<size_t>{1, 0, 0}));
  EXPECT_EQ(Layers(1'400'000, {Camera(), Camera(), Camera()}), (std::vector<size_t>{1, 1, 0}));
}

TEST(BandwidthAllocatorTest, VideoThatDoesNotFitIsPausedAudioNever) {
  // 100k: audio (40k) fits, no camera's 150k does.
  auto r = BandwidthAllocator::Allocate(100'000, {Audio(), Camera(1), Camera()});
  EXPECT_EQ(r.layers, (std::vector<size_t>{0, kPaused, kPaused}));
  // Audio even past the estimate.
  EXPECT_EQ(Layers(10'000, {Audio(), Audio()}), (std::vector<size_t>{0, 0}));
  // The higher priority keeps its picture when only one fits.
  EXPECT_EQ(Layers(250'000, {Audio(), Camera(0), Camera(1)}), (std::vector<size_t>{0, kPaused, 0}));
}

TEST(BandwidthAllocatorTest, PreferenceIsACeiling) {
  Item small = Camera();
  small.preferred = 0;  // a thumbnail
  auto r = BandwidthAllocator::Allocate(10'000'000, {small, Camera()});
  EXPECT_EQ(r.layers, (std::vector<size_t>{0, 2}));
  EXPECT_EQ(r.desired_bps, 150'000 + 1'700'000);
}

TEST(BandwidthAllocatorTest, DisabledItemsTakeNothing) {
  Item hidden = Camera(2);
  hidden.enabled = false;
  auto r = BandwidthAllocator::Allocate(700'000, {hidden, Camera()});
  EXPECT_EQ(r.layers[1], 1u);  // 500k fits: the hidden one took nothing
  EXPECT_EQ(r.layers[0], 0u) << "and starts low when shown again";
  EXPECT_EQ(r.allocated_bps, 500'000);
}

TEST(BandwidthAllocatorTest, OnlyLiveLayersAreChosen) {
  Item camera = Camera();
  camera.layer_bps[2] = 0;  // the publisher does not send its top layer (yet)
  EXPECT_EQ(Layers(10'000'000, {camera}), (std::vector<size_t>{1}));
  // A new stream with nothing measured starts at its lowest layer at no cost.
  Item fresh = Camera();
  fresh.layer_bps = {0, 0, 0};
  auto r = BandwidthAllocator::Allocate(10'000'000, {fresh, Camera()});
  EXPECT_EQ(r.layers, (std::vector<size_t>{0, 2}));
  EXPECT_EQ(r.allocated_bps, 1'700'000);
  // Nothing live under the preference: the lowest live layer is what the subscriber gets.
  Item only_top = Camera();
  only_top.layer_bps = {0, 0, 1'700'000};
  only_top.preferred = 0;
  EXPECT_EQ(Layers(10'000'000, {only_top}), (std::vector<size_t>{2}));
}

TEST(BandwidthAllocatorTest, GoingUpNeedsHeadroomStayingDoesNot) {
  // 600k: h (500k) fits exactly but not with 15 % to spare.
  Item fresh = Camera();
  EXPECT_EQ(Layers(560'000, {fresh}), (std::vector<size_t>{0}));
  Item at_h = Camera();
  at_h.current = 1;
  EXPECT_EQ(Layers(560'000, {at_h}), (std::vector<size_t>{1}));
  // Below the layer itself it comes down.
  EXPECT_EQ(Layers(450'000, {at_h}), (std::vector<size_t>{0}));
  // A paused stream resumes only with headroom.
  Item paused = Camera();
  paused.current = kPaused;
  EXPECT_EQ(Layers(160'000, {paused}), (std::vector<size_t>{kPaused}));
  EXPECT_EQ(Layers(180'000, {paused}), (std::vector<size_t>{0}));
}

TEST(BandwidthAllocatorTest, SingleEncodingVideoIsAllOrNothing) {
  Item plain;
  plain.layer_bps = {800'000};
  EXPECT_EQ(Layers(1'000'000, {plain}), (std::vector<size_t>{0}));
  EXPECT_EQ(Layers(500'000, {plain}), (std::vector<size_t>{kPaused}));
}

TEST(BandwidthAllocatorTest, NothingToAllocate) {
  auto r = BandwidthAllocator::Allocate(1'000'000, {});
  EXPECT_TRUE(r.layers.empty());
  EXPECT_EQ(r.allocated_bps, 0);
  EXPECT_EQ(r.desired_bps, 0);
}

}  // namespace
}  // namespace sb::router

namespace sb::router {
namespace {

TEST(BandwidthAllocatorTest, AnUnpausableStreamKeepsItsLowestLayerAndTheRestPay) {
  Item plain;
  plain.layer_bps = {800'000};
  plain.pausable = false;
  auto r = BandwidthAllocator::Allocate(500'000, {plain, Camera()});
  EXPECT_EQ(r.layers, (std::vector<size_t>{0, kPaused}));
  EXPECT_EQ(r.allocated_bps, 800'000);
}

}  // namespace
}  // namespace sb::router
