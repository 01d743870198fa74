#include <gtest/gtest.h>

#include <vector>

#include "rtp/codecs/h264.h"
#include "rtp/codecs/keyframe.h"
#include "rtp/codecs/vp8.h"

namespace sb::rtp {
namespace {

using Bytes = std::vector<uint8_t>;

TEST(Vp8Test, KeyFrameWith15BitPictureId) {
  // X=1 S=1 PID=0; I=1; M=1 picture id 0x1234; VP8 frame tag with frame type 0 (key).
  Bytes key = {0x90, 0x80, 0x92, 0x34, 0x10, 0x02, 0x00};
  auto d = Vp8Descriptor::Parse(key);
  ASSERT_TRUE(d);
  EXPECT_TRUE(d->has_picture_id);
  EXPECT_TRUE(d->picture_id_15bit);
  EXPECT_EQ(d->picture_id, 0x1234);
  EXPECT_EQ(d->size, 4u);
  EXPECT_TRUE(d->IsFrameStart());
  EXPECT_TRUE(Vp8IsKeyFrame(key));

  Bytes delta = key;
  delta[4] = 0x11;  // frame type 1: inter frame
  EXPECT_FALSE(Vp8IsKeyFrame(delta));
  Bytes middle = key;
  middle[0] = 0x80;  // S=0: not the first packet of the frame
  EXPECT_FALSE(Vp8IsKeyFrame(middle));
  Bytes other_partition = key;
  other_partition[0] = 0x91;  // PID=1
  EXPECT_FALSE(Vp8IsKeyFrame(other_partition));
}

TEST(Vp8Test, AllExtensionFields) {
  // I L T K; 7-bit picture id 5; TL0PICIDX 0x22; TID=2 Y=1 KEYIDX=3; then VP8 data.
  Bytes p = {0xB0, 0xF0, 0x05, 0x22, 0xA3, 0x00};
  auto d = Vp8Descriptor::Parse(p);
  ASSERT_TRUE(d);
  EXPECT_TRUE(d->non_reference);
  EXPECT_FALSE(d->picture_id_15bit);
  EXPECT_EQ(d->picture_id, 5);
  EXPECT_TRUE(d->has_tl0_pic_idx);
  EXPECT_EQ(d->tl0_pic_idx, 0x22);
  EXPECT_TRUE(d->has_tid);
  EXPECT_EQ(d->tid, 2);
  EXPECT_TRUE(d->layer_sync);
  EXPECT_TRUE(d->has_key_idx);
  EXPECT_EQ(d->key_idx, 3);
  EXPECT_EQ(d->size, 5u);
  EXPECT_TRUE(Vp8IsKeyFrame(p));
  for (size_t len = 0; len < p.size(); ++len) {
    EXPECT_FALSE(Vp8Descriptor::Parse(absl::MakeConstSpan(p.data(), len))) << len;
    EXPECT_FALSE(Vp8IsKeyFrame(absl::MakeConstSpan(p.data(), len))) << len;
  }
}

TEST(Vp8Test, MinimalDescriptorAndRewrite) {
  Bytes minimal = {0x10, 0x00};
  auto d = Vp8Descriptor::Parse(minimal);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->size, 1u);
  EXPECT_TRUE(Vp8IsKeyFrame(minimal));
  EXPECT_FALSE(Vp8SetPictureId(*d, minimal.data(), 1));

  Bytes p = {0x90, 0xC0, 0x92, 0x34, 0x07, 0x00};
  d = Vp8Descriptor::Parse(p);
  ASSERT_TRUE(d);
  EXPECT_TRUE(Vp8SetPictureId(*d, p.data(), 0x7ABC));
  EXPECT_TRUE(Vp8SetTl0PicIdx(*d, p.data(), 0x99));
  auto again = Vp8Descriptor::Parse(p);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->picture_id, 0x7ABC);
  EXPECT_EQ(again->tl0_pic_idx, 0x99);
}

TEST(H264Test, SingleNalUnits) {
  EXPECT_TRUE(H264IsKeyFrame(Bytes{0x65, 0x88, 0x84}));  // IDR
  EXPECT_TRUE(H264IsKeyFrame(Bytes{0x67, 0x42, 0xE0}));  // SPS
  EXPECT_FALSE(H264IsKeyFrame(Bytes{0x68, 0xCE}));       // PPS alone
  EXPECT_FALSE(H264IsKeyFrame(Bytes{0x41, 0x9A}));       // non-IDR slice
  EXPECT_FALSE(H264IsKeyFrame(Bytes{}));
}

TEST(H264Test, StapA) {
  Bytes stap = {0x78, 0x00, 0x02, 0x67, 0x42, 0x00, 0x02, 0x68, 0xCE, 0x00, 0x03, 0x65, 0x88, 0x84};
  EXPECT_TRUE(H264IsKeyFrame(stap));
  Bytes non_key = {0x78, 0x00, 0x02, 0x41, 0x9A, 0x00, 0x01, 0x06};
  EXPECT_FALSE(H264IsKeyFrame(non_key));
  Bytes overrun = {0x78, 0x00, 0x02, 0x41, 0x9A, 0x00, 0x09, 0x65};  // size past end
  EXPECT_FALSE(H264IsKeyFrame(overrun));
  Bytes half_size = {0x78, 0x00, 0x01, 0x65, 0x00};
  EXPECT_FALSE(H264IsKeyFrame(half_size));
  for (size_t len = 0; len < stap.size(); ++len) {
    H264IsKeyFrame(absl::MakeConstSpan(stap.data(), len));  // must not read past the end
  }
}

TEST(H264Test, FuA) {
  EXPECT_TRUE(H264IsKeyFrame(Bytes{0x7C, 0x85, 0xB8}));   // start of IDR
  EXPECT_FALSE(H264IsKeyFrame(Bytes{0x7C, 0x05, 0xB8}));  // continuation
  EXPECT_FALSE(H264IsKeyFrame(Bytes{0x7C, 0x81, 0x9A}));  // start of non-IDR
  EXPECT_FALSE(H264IsKeyFrame(Bytes{0x7C}));
}

TEST(KeyFrameTest, Dispatch) {
  Bytes vp8 = {0x10, 0x00};
  Bytes h264 = {0x65, 0x88};
  EXPECT_EQ(VideoCodecFromMime("video/vp8"), VideoCodec::kVp8);
  EXPECT_EQ(VideoCodecFromMime("VIDEO/H264"), VideoCodec::kH264);
  EXPECT_EQ(VideoCodecFromMime("audio/opus"), VideoCodec::kOther);
  EXPECT_TRUE(IsKeyFrame("video/VP8", vp8));
  EXPECT_TRUE(IsKeyFrame("video/H264", h264));
  EXPECT_FALSE(IsKeyFrame("video/H264", vp8));
  EXPECT_FALSE(IsKeyFrame("audio/opus", h264));
  EXPECT_TRUE(IsKeyFrame(VideoCodec::kVp8, vp8));
}

}  // namespace
}  // namespace sb::rtp
