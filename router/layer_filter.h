// Which packets of one encoding a consumer forwards when the encoding has temporal layers
// (VP8, VP9, AV1) or spatial SVC layers (VP9, AV1): those at or under the current spatial and
// temporal layer. The current layers follow the target only where the codec allows a switch,
// always at the start of a picture (a newer timestamp), so a frame is forwarded whole or not
// at all:
// - down, at any picture;
// - temporal up, at a switching point (a base-layer frame, or one marked as depending on the
//   base layer only: VP8 Y, VP9 U), up to the target;
// - spatial up, at a key frame: the SVC modes browsers send (L3T3_KEY, and AV1's) predict an
//   upper spatial layer from a lower one only at key frames, so the consumer asks for one.
// A key frame takes the target at once.
#pragma once

#include <cstdint>

#include "rtp/codecs/video_layers.h"

namespace sb::router {

class LayerFilter {
 public:
  static constexpr uint8_t kTop = 0xFF;  // no limit

  void SetTarget(uint8_t spatial, uint8_t temporal) {
    target_spatial_ = spatial;
    target_temporal_ = temporal;
  }
  uint8_t target_spatial() const { return target_spatial_; }
  uint8_t target_temporal() const { return target_temporal_; }
  // The layers being forwarded (kTop: all).
  uint8_t current_spatial() const { return current_spatial_; }
  uint8_t current_temporal() const { return current_temporal_; }
  // A spatial layer above the current one is wanted: only a key frame can start it.
  bool key_frame_needed() const { return target_spatial_ > current_spatial_; }

  struct Decision {
    bool forward = false;
    // The forwarded packet ends the frame of the highest spatial layer forwarded: it ends the
    // picture for the receiver (RTP marker bit), as the dropped layers' last packet did.
    bool set_marker = false;
  };
  Decision OnPacket(const rtp::VideoLayers& layers, uint32_t timestamp);

 private:
  uint8_t target_spatial_ = kTop;
  uint8_t target_temporal_ = kTop;
  uint8_t current_spatial_ = kTop;
  uint8_t current_temporal_ = kTop;
  bool started_ = false;
  uint32_t picture_timestamp_ = 0;
};

}  // namespace sb::router
