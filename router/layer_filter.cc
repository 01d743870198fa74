#include "router/layer_filter.h"

#include <algorithm>

namespace sb::router {
namespace {

// RFC 3550 timestamps wrap: `a` is newer when it is ahead of `b` by less than half the space.
bool IsTimestampNewer(uint32_t a, uint32_t b) { return a != b && a - b < 0x80000000u; }

}  // namespace

LayerFilter::Decision LayerFilter::OnPacket(const rtp::VideoLayers& layers, uint32_t timestamp) {
  if (layers.key_frame) {
    current_spatial_ = target_spatial_;
    current_temporal_ = target_temporal_;
    started_ = true;
    picture_timestamp_ = timestamp;
  } else if (!started_ || IsTimestampNewer(timestamp, picture_timestamp_)) {
    started_ = true;
    picture_timestamp_ = timestamp;
    current_spatial_ = std::min(current_spatial_, target_spatial_);
    if (target_temporal_ < current_temporal_) {
      current_temporal_ = target_temporal_;
    } else if (target_temporal_ > current_temporal_ && layers.switching_point &&
               layers.temporal <= target_temporal_) {
      current_temporal_ = target_temporal_;
    }
  }
  Decision decision;
  decision.forward = layers.spatial <= current_spatial_ && layers.temporal <= current_temporal_;
  decision.set_marker =
      decision.forward && layers.end_of_frame && layers.spatial == current_spatial_;
  return decision;
}

}  // namespace sb::router
