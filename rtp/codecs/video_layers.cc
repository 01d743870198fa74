#include "rtp/codecs/video_layers.h"

#include <algorithm>
#include <optional>

#include "rtp/codecs/av1.h"
#include "rtp/codecs/vp8.h"
#include "rtp/codecs/vp9.h"

namespace sb::rtp {
namespace {

uint8_t ClampSpatial(uint8_t id) { return std::min<uint8_t>(id, VideoLayers::kMaxSpatial - 1); }
uint8_t ClampTemporal(uint8_t id) { return std::min<uint8_t>(id, VideoLayers::kMaxTemporal - 1); }

}  // namespace

VideoLayers VideoLayerReader::Read(absl::Span<const uint8_t> payload,
                                   absl::Span<const uint8_t> dependency_descriptor) {
  VideoLayers layers;
  switch (codec_) {
    case VideoCodec::kVp8: {
      const std::optional<Vp8Descriptor> d = Vp8Descriptor::Parse(payload);
      if (!d) break;
      layers.start_of_frame = d->IsFrameStart();
      // RFC 7741 4.3: the P bit of the payload header, in the frame's first packet.
      layers.key_frame =
          layers.start_of_frame && payload.size() > d->size && (payload[d->size] & 0x01) == 0;
      if (d->has_tid) {
        layers.temporal = ClampTemporal(d->tid);
        layers.switching_point = d->layer_sync || d->tid == 0;
      } else {
        layers.switching_point = true;
      }
      return layers;
    }
    case VideoCodec::kVp9: {
      const std::optional<Vp9Descriptor> d = Vp9Descriptor::Parse(payload);
      if (!d) break;
      layers.key_frame = d->IsKeyFrame();
      layers.start_of_frame = d->start_of_frame;
      layers.end_of_frame = d->end_of_frame;
      if (d->has_layer_indices) {
        layers.spatial = ClampSpatial(d->spatial_id);
        layers.temporal = ClampTemporal(d->temporal_id);
        layers.switching_point = d->switching_up_point || d->temporal_id == 0;
      } else {
        layers.switching_point = true;
      }
      return layers;
    }
    case VideoCodec::kAv1: {
      layers.key_frame = Av1IsKeyFrame(payload);
      if (dependency_descriptor.empty()) {
        layers.switching_point = true;
        return layers;
      }
      const std::optional<DependencyDescriptor> d = dd_.Parse(dependency_descriptor);
      if (!d) break;
      layers.spatial = ClampSpatial(d->spatial_id);
      layers.temporal = ClampTemporal(d->temporal_id);
      layers.key_frame = layers.key_frame && d->spatial_id == 0;
      layers.start_of_frame = d->start_of_frame;
      layers.end_of_frame = d->end_of_frame;
      layers.switching_point = d->temporal_id == 0;
      return layers;
    }
    default:
      layers.key_frame = IsKeyFrame(codec_, payload);
      layers.switching_point = true;
      return layers;
  }
  ++malformed_;
  layers.switching_point = false;
  return layers;
}

}  // namespace sb::rtp
