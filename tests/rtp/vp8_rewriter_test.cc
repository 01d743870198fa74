// VP8 picture id / TL0PICIDX continuity across source switches.
#include "rtp/codecs/vp8_rewriter.h"

#include <gtest/gtest.h>

#include <vector>

#include "rtp/codecs/vp8.h"

namespace sb::rtp {
namespace {

struct Fields {
  uint16_t picture_id;
  uint8_t tl0;
};

// A descriptor with I and L set (15-bit or 7-bit picture id), then one byte of VP8 data.
std::vector<uint8_t> Payload(uint16_t picture_id, uint8_t tl0, bool is_15bit = true) {
  std::vector<uint8_t> p = {0x90, 0xC0};
  if (is_15bit) {
    p.push_back(static_cast<uint8_t>(0x80 | (picture_id >> 8)));
    p.push_back(static_cast<uint8_t>(picture_id));
  } else {
    p.push_back(static_cast<uint8_t>(picture_id & 0x7F));
  }
  p.push_back(tl0);
  p.push_back(0x00);
  return p;
}

Fields Forward(Vp8Rewriter& r, uint16_t picture_id, uint8_t tl0, bool is_15bit = true) {
  std::vector<uint8_t> p = Payload(picture_id, tl0, is_15bit);
  auto d = Vp8Descriptor::Parse(p);
  EXPECT_TRUE(d.has_value());
  if (!d) return {};
  r.Rewrite(*d, p.data());
  auto out = Vp8Descriptor::Parse(p);
  EXPECT_TRUE(out.has_value());
  EXPECT_EQ(out->picture_id_15bit, is_15bit) << "the field keeps its width";
  return {out->picture_id, out->tl0_pic_idx};
}

TEST(Vp8Rewriter, FirstRunKeepsTheSourceValues) {
  Vp8Rewriter r;
  EXPECT_TRUE(r.sync_required());
  Fields f = Forward(r, 1234, 77);
  EXPECT_EQ(f.picture_id, 1234);
  EXPECT_EQ(f.tl0, 77);
  EXPECT_FALSE(r.sync_required());
  f = Forward(r, 1235, 78);
  EXPECT_EQ(f.picture_id, 1235);
}

TEST(Vp8Rewriter, SwitchContinuesAfterTheHighestSent) {
  Vp8Rewriter r;
  Forward(r, 0x7FFE, 254);
  Forward(r, 0x7FFF, 255);
  Forward(r, 0x7FFE, 254);  // reordered: not the highest
  r.RequestSync();
  Fields f = Forward(r, 300, 10);  // another source
  EXPECT_EQ(f.picture_id, 0) << "0x7FFF + 1 wraps in 15 bits";
  EXPECT_EQ(f.tl0, 0) << "255 + 1 wraps";
  f = Forward(r, 301, 11);
  EXPECT_EQ(f.picture_id, 1);
  EXPECT_EQ(f.tl0, 1);
  f = Forward(r, 300, 10);  // a late packet of the switch frame keeps its mapping
  EXPECT_EQ(f.picture_id, 0);
}

TEST(Vp8Rewriter, SevenBitPictureIds) {
  Vp8Rewriter r;
  Forward(r, 126, 1, false);
  Forward(r, 127, 2, false);
  Fields f = Forward(r, 0, 3, false);  // the source wraps at 7 bits
  EXPECT_EQ(f.picture_id, 0);
  r.RequestSync();
  f = Forward(r, 90, 40, false);
  EXPECT_EQ(f.picture_id, 1) << "continues after 0, the newest in 7-bit order";
  EXPECT_EQ(f.tl0, 4);
}

TEST(Vp8Rewriter, PacketsWithoutTheFieldsAreLeftAlone) {
  Vp8Rewriter r;
  std::vector<uint8_t> minimal = {0x10, 0x00, 0xAB};
  auto d = Vp8Descriptor::Parse(minimal);
  ASSERT_TRUE(d.has_value());
  r.Rewrite(*d, minimal.data());
  EXPECT_EQ(minimal, (std::vector<uint8_t>{0x10, 0x00, 0xAB}));
  // Nothing to continue from: the first picture id after it is kept.
  r.RequestSync();
  EXPECT_EQ(Forward(r, 500, 9).picture_id, 500);
}

TEST(Vp8Rewriter, ApplyRepeatsARunsRewrite) {
  Vp8Rewriter r;
  Forward(r, 100, 10);
  r.RequestSync();
  Forward(r, 5000, 200);  // a switch: offsets change
  const Vp8Rewriter::Offsets offsets = r.offsets();
  const Fields first = Forward(r, 5001, 201);
  Forward(r, 5002, 202);  // later packets do not change the run's offsets
  std::vector<uint8_t> p = Payload(5001, 201);
  auto d = Vp8Descriptor::Parse(p);
  ASSERT_TRUE(d.has_value());
  Vp8Rewriter::Apply(*d, offsets, p.data());
  auto out = Vp8Descriptor::Parse(p);
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(out->picture_id, first.picture_id);
  EXPECT_EQ(out->tl0_pic_idx, first.tl0);
  EXPECT_EQ(out->picture_id, 102);
}

// A dropped picture (a temporal layer the receiver does not get) closes up: the next picture
// forwarded follows the last one sent, so a VP8 receiver waits for nothing that never comes.
TEST(Vp8Rewriter, DroppedPicturesLeaveNoGap) {
  Vp8Rewriter r;
  std::vector<uint8_t> dropped = Payload(11, 3);
  auto d = Vp8Descriptor::Parse(dropped);
  ASSERT_TRUE(d);
  EXPECT_FALSE(r.DropPicture(*d)) << "nothing sent yet";
  EXPECT_EQ(Forward(r, 10, 3).picture_id, 10);
  EXPECT_TRUE(r.DropPicture(*d));
  EXPECT_FALSE(r.DropPicture(*d)) << "the picture's second packet shifts nothing";
  dropped = Payload(12, 3);
  d = Vp8Descriptor::Parse(dropped);
  EXPECT_TRUE(r.DropPicture(*d));
  Fields f = Forward(r, 13, 4);
  EXPECT_EQ(f.picture_id, 11);
  EXPECT_EQ(f.tl0, 4) << "base-layer frames are never dropped: TL0PICIDX is untouched";
  // 7-bit picture ids wrap at 128.
  Vp8Rewriter s;
  EXPECT_EQ(Forward(s, 127, 0, false).picture_id, 127);
  dropped = Payload(0, 0, false);
  d = Vp8Descriptor::Parse(dropped);
  EXPECT_TRUE(s.DropPicture(*d));
  EXPECT_EQ(Forward(s, 1, 1, false).picture_id, 0);
}

}  // namespace
}  // namespace sb::rtp
