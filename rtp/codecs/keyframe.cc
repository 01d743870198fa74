#include "rtp/codecs/keyframe.h"

#include "absl/strings/match.h"
#include "rtp/codecs/av1.h"
#include "rtp/codecs/h264.h"
#include "rtp/codecs/vp8.h"
#include "rtp/codecs/vp9.h"

namespace sb::rtp {

VideoCodec VideoCodecFromMime(std::string_view mime) {
  // Debian's Abseil has its own string_view type.
  const absl::string_view mime_type(mime.data(), mime.size());
  if (absl::EqualsIgnoreCase(mime_type, "video/VP8")) {
    return VideoCodec::kVp8;
  }
  if (absl::EqualsIgnoreCase(mime_type, "video/H264")) {
    return VideoCodec::kH264;
  }
  if (absl::EqualsIgnoreCase(mime_type, "video/VP9")) {
    return VideoCodec::kVp9;
  }
  if (absl::EqualsIgnoreCase(mime_type, "video/AV1")) {
    return VideoCodec::kAv1;
  }
  return VideoCodec::kOther;
}

bool IsKeyFrame(VideoCodec codec, absl::Span<const uint8_t> payload) {
  switch (codec) {
    case VideoCodec::kVp8:
      return Vp8IsKeyFrame(payload);
    case VideoCodec::kH264:
      return H264IsKeyFrame(payload);
    case VideoCodec::kVp9:
      return Vp9IsKeyFrame(payload);
    case VideoCodec::kAv1:
      return Av1IsKeyFrame(payload);
    case VideoCodec::kOther:
      break;
  }
  return false;
}

bool IsKeyFrame(std::string_view mime_type, absl::Span<const uint8_t> payload) {
  return IsKeyFrame(VideoCodecFromMime(mime_type), payload);
}

}  // namespace sb::rtp
