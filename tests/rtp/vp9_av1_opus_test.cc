// VP9 (RFC 9628), AV1 (AV1 RTP specification 4.4-4.5) and Opus (RFC 6716 3.1) payloads.
#include <gtest/gtest.h>

#include <vector>

#include "rtp/codecs/av1.h"
#include "rtp/codecs/keyframe.h"
#include "rtp/codecs/opus.h"
#include "rtp/codecs/vp9.h"

namespace sb::rtp {
namespace {

using Bytes = std::vector<uint8_t>;

// Every proper prefix of a valid payload must be rejected by `parse`.
template <typename F>
void ExpectPrefixesRejected(const Bytes& payload, size_t from, F parse) {
  for (size_t len = from; len < payload.size(); ++len) {
    EXPECT_FALSE(parse(absl::MakeConstSpan(payload.data(), len))) << len;
  }
}

// Non-flexible key frame with SS: I=1 P=0 L=1 F=0 B=1 E=0 V=1 Z=0; 15-bit picture id 0x1234;
// TID=0 U=0 SID=0 D=0; TL0PICIDX 5; SS: N_S=1 Y=1 G=1, 320x180 and 640x360, N_G=2:
// (TID 0, R 1, P_DIFF 4), (TID 1, U, R 1, P_DIFF 1); then one byte of VP9 data.
const Bytes kVp9KeyWithSs = {0xAA, 0x92, 0x34, 0x00, 0x05, 0x38, 0x01, 0x40, 0x00, 0xB4,
                             0x02, 0x80, 0x01, 0x68, 0x02, 0x04, 0x04, 0x34, 0x01, 0xFF};

TEST(Vp9Test, NonFlexibleKeyFrameWithScalabilityStructure) {
  std::optional<Vp9Descriptor> d = Vp9Descriptor::Parse(kVp9KeyWithSs);
  ASSERT_TRUE(d);
  EXPECT_TRUE(d->has_picture_id);
  EXPECT_TRUE(d->picture_id_15bit);
  EXPECT_EQ(d->picture_id, 0x1234);
  EXPECT_FALSE(d->flexible_mode);
  EXPECT_TRUE(d->has_tl0_pic_idx);
  EXPECT_EQ(d->tl0_pic_idx, 5);
  EXPECT_TRUE(d->start_of_frame);
  EXPECT_FALSE(d->end_of_frame);
  ASSERT_TRUE(d->ss);
  EXPECT_EQ(d->ss->num_spatial_layers, 2);
  EXPECT_EQ(d->ss->widths[0], 320);
  EXPECT_EQ(d->ss->heights[0], 180);
  EXPECT_EQ(d->ss->widths[1], 640);
  EXPECT_EQ(d->ss->heights[1], 360);
  ASSERT_EQ(d->ss->picture_group.size(), 2u);
  EXPECT_EQ(d->ss->picture_group[0], (Vp9PictureGroupEntry{0, false, 1, {4, 0, 0}}));
  EXPECT_EQ(d->ss->picture_group[1], (Vp9PictureGroupEntry{1, true, 1, {1, 0, 0}}));
  EXPECT_EQ(d->size, kVp9KeyWithSs.size() - 1);
  EXPECT_TRUE(d->IsKeyFrame());
  EXPECT_TRUE(Vp9IsKeyFrame(kVp9KeyWithSs));
  EXPECT_TRUE(IsKeyFrame("video/vp9", kVp9KeyWithSs));
  ExpectPrefixesRejected(kVp9KeyWithSs, 0, [](absl::Span<const uint8_t> p) {
    return Vp9Descriptor::Parse(p).has_value();
  });

  // Rewrites in place.
  Bytes p = kVp9KeyWithSs;
  EXPECT_TRUE(Vp9SetPictureId(*d, p.data(), 0x0102));
  EXPECT_TRUE(Vp9SetTl0PicIdx(*d, p.data(), 77));
  d = Vp9Descriptor::Parse(p);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->picture_id, 0x0102);
  EXPECT_EQ(d->tl0_pic_idx, 77);
}

TEST(Vp9Test, NotKeyFrames) {
  Bytes p = kVp9KeyWithSs;
  p[0] |= 0x40;  // P: inter predicted
  EXPECT_FALSE(Vp9IsKeyFrame(p));
  p = kVp9KeyWithSs;
  p[0] &= ~0x08;  // B = 0: not the first packet
  EXPECT_FALSE(Vp9IsKeyFrame(p));
  p = kVp9KeyWithSs;
  p[3] = 0x02;  // SID 1
  EXPECT_FALSE(Vp9IsKeyFrame(p));
  // Without layer indices the spatial layer is 0: B=1 P=0 alone is a key frame.
  EXPECT_TRUE(Vp9IsKeyFrame(Bytes{0x08, 0x00}));
}

TEST(Vp9Test, FlexibleModeReferenceIndices) {
  // I P L F B E: 7-bit picture id 0x15; TID=2 U=1 SID=1 D=1; P_DIFF 1 (N=1), P_DIFF 2 (N=0).
  const Bytes p = {0xFC, 0x15, 0x53, 0x03, 0x04, 0xAB};
  std::optional<Vp9Descriptor> d = Vp9Descriptor::Parse(p);
  ASSERT_TRUE(d);
  EXPECT_TRUE(d->flexible_mode);
  EXPECT_FALSE(d->picture_id_15bit);
  EXPECT_EQ(d->picture_id, 0x15);
  EXPECT_EQ(d->temporal_id, 2);
  EXPECT_TRUE(d->switching_up_point);
  EXPECT_EQ(d->spatial_id, 1);
  EXPECT_TRUE(d->inter_layer_dependency);
  EXPECT_FALSE(d->has_tl0_pic_idx);
  ASSERT_EQ(d->num_p_diffs, 2);
  EXPECT_EQ(d->p_diffs[0], 1);
  EXPECT_EQ(d->p_diffs[1], 2);
  EXPECT_EQ(d->size, 5u);
  EXPECT_FALSE(d->IsKeyFrame());
  EXPECT_FALSE(Vp9SetTl0PicIdx(*d, nullptr, 1));
  ExpectPrefixesRejected(
      p, 0, [](absl::Span<const uint8_t> s) { return Vp9Descriptor::Parse(s).has_value(); });
  // A fourth P_DIFF is not allowed.
  EXPECT_FALSE(Vp9Descriptor::Parse(Bytes{0x50, 0x03, 0x05, 0x07, 0x08, 0xAB}));
  EXPECT_TRUE(Vp9Descriptor::Parse(Bytes{0x50, 0x03, 0x05, 0x06, 0xAB}));
}

TEST(Vp9Test, SsWithoutResolutionsOrGroup) {
  // V only: N_S = 2 (3 layers), Y = 0, G = 0.
  std::optional<Vp9Descriptor> d = Vp9Descriptor::Parse(Bytes{0x0A, 0x40, 0x00});
  ASSERT_TRUE(d);
  ASSERT_TRUE(d->ss);
  EXPECT_EQ(d->ss->num_spatial_layers, 3);
  EXPECT_FALSE(d->ss->has_resolutions);
  EXPECT_TRUE(d->ss->picture_group.empty());
  EXPECT_FALSE(Vp9Descriptor::Parse(Bytes{0x0A, 0x40}));  // no VP9 data
}

TEST(Av1Test, Leb128) {
  uint8_t buf[8];
  for (uint32_t v : {0u, 1u, 127u, 128u, 200u, 16383u, 16384u, 0xFFFFFFFFu}) {
    const size_t n = WriteLeb128(v, buf, sizeof(buf));
    ASSERT_GT(n, 0u);
    size_t pos = 0;
    EXPECT_EQ(ReadLeb128(absl::MakeConstSpan(buf, n), pos), v);
    EXPECT_EQ(pos, n);
    EXPECT_EQ(WriteLeb128(v, buf, n - 1), 0u);
  }
  EXPECT_EQ(WriteLeb128(200, buf, 2), 2u);
  EXPECT_EQ(buf[0], 0xC8);
  EXPECT_EQ(buf[1], 0x01);
  size_t pos = 0;
  EXPECT_FALSE(ReadLeb128(Bytes{0x80, 0x80}, pos));  // truncated
  pos = 0;
  EXPECT_FALSE(ReadLeb128(Bytes(9, 0x80), pos));  // longer than 8 bytes
  pos = 0;
  EXPECT_FALSE(ReadLeb128(Bytes{0x80, 0x80, 0x80, 0x80, 0x10}, pos));  // 2^32
}

TEST(Av1Test, NewCodedVideoSequenceIsKeyFrame) {
  // Z=0 Y=0 W=1 N=1; one sequence header OBU (type 1: header byte 0x08) without length.
  const Bytes p = {0x18, 0x08, 0x00, 0x00, 0x00};
  std::optional<Av1Descriptor> d = Av1Descriptor::Parse(p);
  ASSERT_TRUE(d);
  EXPECT_TRUE(d->new_coded_video_sequence);
  EXPECT_EQ(d->obu_count, 1);
  EXPECT_EQ(d->element_count, 1u);
  EXPECT_EQ(d->first_obu_type, kAv1ObuSequenceHeader);
  EXPECT_TRUE(Av1IsKeyFrame(p));
  EXPECT_TRUE(IsKeyFrame(VideoCodec::kAv1, p));
  EXPECT_EQ(VideoCodecFromMime("video/AV1"), VideoCodec::kAv1);
  // N=1 without a sequence header still marks a key frame.
  EXPECT_TRUE(Av1IsKeyFrame(Bytes{0x18, 0x30, 0x00}));
  // N=1 with Z=1 is malformed.
  EXPECT_FALSE(Av1Descriptor::Parse(Bytes{0x98, 0x08, 0x00}));
}

TEST(Av1Test, LengthPrefixedElements) {
  // W=0: every element has a length. Sequence header (2 bytes), then a frame OBU (3 bytes).
  const Bytes p = {0x00, 0x02, 0x08, 0xAA, 0x03, 0x30, 0x01, 0x02};
  std::optional<Av1Descriptor> d = Av1Descriptor::Parse(p);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->element_count, 2u);
  EXPECT_TRUE(d->IsKeyFrame());
  std::vector<Bytes> elements;
  ASSERT_TRUE(ForEachAv1ObuElement(
      p, [&](absl::Span<const uint8_t> e) { elements.emplace_back(e.begin(), e.end()); }));
  EXPECT_EQ(elements, (std::vector<Bytes>{{0x08, 0xAA}, {0x30, 0x01, 0x02}}));
  // Cut inside an element: rejected. (A cut at an element boundary, after 4 bytes, is a valid
  // one-element payload.)
  for (size_t len : {0, 1, 2, 3, 5, 6, 7}) {
    EXPECT_FALSE(Av1Descriptor::Parse(absl::MakeConstSpan(p.data(), len))) << len;
  }
  // Same with W=2: the last element takes the rest of the payload.
  const Bytes w2 = {0x20, 0x02, 0x08, 0xAA, 0x30, 0x01, 0x02};
  d = Av1Descriptor::Parse(w2);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->element_count, 2u);
  // W=3 with only two elements, and a length past the end.
  EXPECT_FALSE(Av1Descriptor::Parse(Bytes{0x30, 0x02, 0x08, 0xAA, 0x30}));
  EXPECT_FALSE(Av1Descriptor::Parse(Bytes{0x00, 0x05, 0x08, 0xAA}));
  EXPECT_FALSE(Av1Descriptor::Parse(Bytes{0x00}));  // no element
  EXPECT_FALSE(Av1Descriptor::Parse(Bytes{}));
}

TEST(Av1Test, DeltaFramesAndContinuations) {
  // A frame OBU (type 6): not a key frame.
  EXPECT_FALSE(Av1IsKeyFrame(Bytes{0x10, 0x30, 0x00}));
  // Z=1: the first element continues an OBU, so its first byte is not an OBU header.
  const Bytes cont = {0x90, 0x08, 0x00};
  std::optional<Av1Descriptor> d = Av1Descriptor::Parse(cont);
  ASSERT_TRUE(d);
  EXPECT_TRUE(d->continuation);
  EXPECT_FALSE(d->first_obu_type);
  EXPECT_FALSE(d->IsKeyFrame());
  // Y=1 is only recorded.
  d = Av1Descriptor::Parse(Bytes{0x50, 0x30, 0x00});
  ASSERT_TRUE(d);
  EXPECT_TRUE(d->will_continue);
}

TEST(OpusTest, TocAndFrameCount) {
  // config 15 (hybrid fullband 20 ms), mono, one frame.
  std::optional<OpusToc> toc = OpusToc::Parse(Bytes{0x78, 0x01, 0x02});
  ASSERT_TRUE(toc);
  EXPECT_EQ(*toc, (OpusToc{15, false, 0}));
  EXPECT_EQ(toc->mode(), OpusToc::Mode::kHybrid);
  EXPECT_EQ(toc->FrameDurationUs(), 20000u);
  // config 31 (CELT fullband 20 ms), stereo, code 0.
  toc = OpusToc::Parse(Bytes{0xFC});
  ASSERT_TRUE(toc);
  EXPECT_TRUE(toc->stereo);
  EXPECT_EQ(toc->mode(), OpusToc::Mode::kCelt);
  EXPECT_EQ(toc->FrameDurationUs(), 20000u);
  EXPECT_EQ((OpusToc{3, false, 0}.FrameDurationUs()), 60000u);  // SILK NB 60 ms
  EXPECT_EQ((OpusToc{12, false, 0}.FrameDurationUs()), 10000u);
  EXPECT_EQ((OpusToc{16, false, 0}.FrameDurationUs()), 2500u);
  EXPECT_EQ((OpusToc{0, false, 0}.mode()), OpusToc::Mode::kSilk);
  EXPECT_FALSE(OpusToc::Parse(Bytes{}));

  EXPECT_EQ(OpusFrameCount(Bytes{0x78}), 1);
  EXPECT_EQ(OpusFrameCount(Bytes{0x79}), 2);
  EXPECT_EQ(OpusFrameCount(Bytes{0x7A}), 2);
  EXPECT_EQ(OpusFrameCount(Bytes{0x7B, 0x03}), 3);
  EXPECT_FALSE(OpusFrameCount(Bytes{0x7B}));        // code 3 without its count byte
  EXPECT_FALSE(OpusFrameCount(Bytes{0x7B, 0x80}));  // count 0
  EXPECT_FALSE(OpusFrameCount(Bytes{}));
}

TEST(OpusTest, Dtx) {
  EXPECT_TRUE(OpusIsDtx(Bytes{}));
  EXPECT_TRUE(OpusIsDtx(Bytes{0xF8}));
  EXPECT_TRUE(OpusIsDtx(Bytes{0xF8, 0xFF}));
  EXPECT_FALSE(OpusIsDtx(Bytes{0xF8, 0xFF, 0xFE}));
}

TEST(KeyFrameDispatchTest, NewCodecs) {
  EXPECT_EQ(VideoCodecFromMime("VIDEO/VP9"), VideoCodec::kVp9);
  EXPECT_EQ(VideoCodecFromMime("video/av1"), VideoCodec::kAv1);
  EXPECT_TRUE(IsKeyFrame(VideoCodec::kVp9, kVp9KeyWithSs));
  EXPECT_FALSE(IsKeyFrame(VideoCodec::kVp9, Bytes{}));
  EXPECT_FALSE(IsKeyFrame(VideoCodec::kAv1, Bytes{}));
  EXPECT_TRUE(IsKeyFrame("video/AV1", Bytes{0x18, 0x08}));
}

}  // namespace
}  // namespace sb::rtp
