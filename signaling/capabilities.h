// A browser's receive capabilities, as the client library sends them in `join`
// ({"audio": RTCRtpReceiver.getCapabilities('audio'), "video": ...}), in the RTP model.
#pragma once

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "rtp/rtp_parameters.h"

namespace sb::signaling {

// Strict about shape and bounded in size; unknown members are ignored. A missing value
// (null) yields the router's own capabilities, which match current Chromium and Firefox.
absl::StatusOr<rtp::RtpCapabilities> CapabilitiesFromJson(const nlohmann::json& json);

// "a=b;c=d" (an SDP fmtp line) into a parameter map.
rtp::CodecParameterMap ParseFmtpLine(std::string_view line);

}  // namespace sb::signaling
