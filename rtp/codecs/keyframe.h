// Codec dispatch for key-frame detection.
#pragma once

#include <cstdint>
#include <string_view>

#include "absl/types/span.h"

namespace sb::rtp {

// New codecs are appended so existing values keep their meaning.
enum class VideoCodec : uint8_t { kOther, kVp8, kH264, kVp9, kAv1 };

// From a mime type ("video/VP8", "video/VP9", "video/AV1", case-insensitive).
VideoCodec VideoCodecFromMime(std::string_view mime_type);

bool IsKeyFrame(VideoCodec codec, absl::Span<const uint8_t> payload);
bool IsKeyFrame(std::string_view mime_type, absl::Span<const uint8_t> payload);

}  // namespace sb::rtp
