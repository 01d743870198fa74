// What a forwarder reads of a video packet's layers (VP8 RFC 7741 4.2, VP9 RFC 9628 4.2); AV1
// is tested next to the dependency descriptor.
#include "rtp/codecs/video_layers.h"

#include <gtest/gtest.h>

#include <vector>

namespace sb::rtp {
namespace {

using Bytes = std::vector<uint8_t>;

// X=1 S=`start` PID 0; I L T present; 15-bit picture id; TL0PICIDX; TID/Y; then the VP8 frame
// header (P = 0 on a key frame).
Bytes Vp8(bool start, bool key, uint8_t tid, bool layer_sync) {
  Bytes p = {static_cast<uint8_t>(0x80 | (start ? 0x10 : 0)),           0xE0, 0x81, 0x23, 0x05,
             static_cast<uint8_t>((tid << 6) | (layer_sync ? 0x20 : 0))};
  p.push_back(key ? 0x00 : 0x01);
  p.push_back(0x9d);
  return p;
}

TEST(VideoLayerReaderTest, Vp8TemporalLayerAndSyncPoints) {
  VideoLayerReader reader(VideoCodec::kVp8);
  VideoLayers l = reader.Read(Vp8(true, true, 0, false), {});
  EXPECT_TRUE(l.key_frame);
  EXPECT_EQ(l.temporal, 0);
  EXPECT_TRUE(l.switching_point);  // a base-layer frame
  EXPECT_TRUE(l.start_of_frame);

  l = reader.Read(Vp8(true, false, 2, false), {});
  EXPECT_FALSE(l.key_frame);
  EXPECT_EQ(l.temporal, 2);
  EXPECT_FALSE(l.switching_point);

  l = reader.Read(Vp8(true, false, 1, true), {});
  EXPECT_EQ(l.temporal, 1);
  EXPECT_TRUE(l.switching_point);  // Y: depends on the base layer only

  // A later packet of a key frame is not "a key frame starts here".
  l = reader.Read(Vp8(false, true, 0, false), {});
  EXPECT_FALSE(l.key_frame);
  EXPECT_FALSE(l.start_of_frame);

  // A descriptor without T: one layer.
  l = reader.Read(Bytes{0x10, 0x01, 0x00}, {});
  EXPECT_EQ(l.temporal, 0);
  EXPECT_TRUE(l.switching_point);
  EXPECT_EQ(reader.malformed(), 0u);

  // Truncated: counted, the base layer, not a place to switch.
  l = reader.Read(Bytes{0x80, 0xE0}, {});
  EXPECT_EQ(reader.malformed(), 1u);
  EXPECT_FALSE(l.switching_point);
  EXPECT_FALSE(l.key_frame);
}

TEST(VideoLayerReaderTest, Vp9SpatialAndTemporalLayers) {
  VideoLayerReader reader(VideoCodec::kVp9);
  // I=1 P=0 L=1 F=0 B=1 E=0; picture id 0x0105 (15 bits); TID 0 U 0 SID 0 D 0; TL0PICIDX 7.
  VideoLayers l = reader.Read(Bytes{0xA8, 0x81, 0x05, 0x00, 0x07, 0xAB}, {});
  EXPECT_TRUE(l.key_frame);
  EXPECT_EQ(l.spatial, 0);
  EXPECT_TRUE(l.start_of_frame);
  EXPECT_FALSE(l.end_of_frame);

  // P=1 B=1 E=1; TID 2 U 1 SID 1 D 0.
  l = reader.Read(Bytes{0xEC, 0x81, 0x06, 0x52, 0x07, 0xAB}, {});
  EXPECT_FALSE(l.key_frame);
  EXPECT_EQ(l.spatial, 1);
  EXPECT_EQ(l.temporal, 2);
  EXPECT_TRUE(l.end_of_frame);
  EXPECT_TRUE(l.switching_point);  // U

  // SID 7 is read as the highest layer told apart.
  l = reader.Read(Bytes{0xEC, 0x81, 0x06, 0x4E, 0x07, 0xAB}, {});
  EXPECT_EQ(l.spatial, VideoLayers::kMaxSpatial - 1);
  EXPECT_EQ(reader.malformed(), 0u);

  l = reader.Read(Bytes{0xA8, 0x81}, {});
  EXPECT_EQ(reader.malformed(), 1u);
  EXPECT_FALSE(l.key_frame);
}

TEST(VideoLayerReaderTest, OtherCodecsAreOneLayer) {
  VideoLayerReader reader(VideoCodec::kH264);
  // An IDR NAL unit (type 5) alone.
  const VideoLayers l = reader.Read(Bytes{0x65, 0x88, 0x84}, {});
  EXPECT_TRUE(l.key_frame);
  EXPECT_EQ(l.spatial, 0);
  EXPECT_EQ(l.temporal, 0);
  EXPECT_TRUE(l.switching_point);
}

}  // namespace
}  // namespace sb::rtp
