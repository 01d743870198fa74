// What a forwarding decision needs to know about one video packet, read once when it arrives
// (not by every consumer): its spatial and temporal layer, whether it starts a key frame, and
// the frame boundaries and switching points the codec marks. VP8 (RFC 7741 4.2: TID, Y),
// VP9 (RFC 9628 4.2: SID, TID, U, B, E) and AV1 through the dependency descriptor (AV1 RTP
// specification, appendix A: spatial and temporal id from the frame's template, frame
// boundaries); other codecs are one layer.
#pragma once

#include <cstdint>

#include "absl/types/span.h"
#include "rtp/codecs/dependency_descriptor.h"
#include "rtp/codecs/keyframe.h"

namespace sb::rtp {

struct VideoLayers {
  // Layers a stream is told apart into: VP9's SID has 3 bits and AV1 allows 4 spatial layers,
  // but browsers send at most 3 (L3T3); VP8's TID has 2 bits. Higher ids are read as the top.
  static constexpr uint8_t kMaxSpatial = 3;
  static constexpr uint8_t kMaxTemporal = 4;

  uint8_t spatial = 0;   // SVC spatial layer; 0 for a simulcast encoding or a single layer
  uint8_t temporal = 0;  // 0 when the codec or the packet says nothing
  bool key_frame = false;
  // The first packet of this layer's frame (VP8 S with partition 0, VP9 B, AV1 start of
  // frame); true when the codec does not say.
  bool start_of_frame = true;
  // The last packet of this layer's frame (VP9 E, AV1 end of frame): where a forwarder that
  // drops the spatial layers above sets the marker bit. False when not known.
  bool end_of_frame = false;
  // A temporal layer switch up may start here: the frame depends on the base layer only
  // (VP8 Y, VP9 U, or a base-layer frame).
  bool switching_point = false;
};

// Reads the layers of one stream's packets (one per producer encoding: the AV1 dependency
// descriptor's structure arrives on key frames and later packets refer to it).
class VideoLayerReader {
 public:
  explicit VideoLayerReader(VideoCodec codec) : codec_(codec) {}

  // `payload` is the RTP payload; `dependency_descriptor` the extension's value (empty when
  // absent or not negotiated). Malformed descriptors read as layer 0 (and count).
  VideoLayers Read(absl::Span<const uint8_t> payload,
                   absl::Span<const uint8_t> dependency_descriptor);
  uint64_t malformed() const { return malformed_; }

 private:
  VideoCodec codec_;
  DependencyDescriptorReader dd_;
  uint64_t malformed_ = 0;
};

}  // namespace sb::rtp
