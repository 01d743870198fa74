// Codec dispatch for key-frame detection.
#pragma once

#include <cstdint>
#include <string_view>

#include "absl/types/span.h"

namespace sb::rtp {

enum class VideoCodec : uint8_t { kOther, kVp8, kH264 };

// From a mime type ("video/VP8", case-insensitive).
VideoCodec VideoCodecFromMime(std::string_view mime_type);

bool IsKeyFrame(VideoCodec codec, absl::Span<const uint8_t> payload);
bool IsKeyFrame(std::string_view mime_type, absl::Span<const uint8_t> payload);

}  // namespace sb::rtp
