// What a published track is for: the microphone, the camera, or a screen share. The client
// says which of its m-lines is a screen share (`publish`'s "sources", docs/protocol.md); the
// server tells every subscriber (subscribe-offer `streams`) and gives a screen share's
// consumers the first place in every subscriber's bandwidth allocation.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "rtp/rtp_parameters.h"
#include "signaling/sdp/webrtc_sdp.h"

namespace sb::signaling {

enum class TrackSource : uint8_t { kMicrophone, kCamera, kScreen };

// "microphone", "camera", "screen": the protocol's names.
const char* TrackSourceName(TrackSource source);
// What a track is when the client did not say: its kind's usual source.
TrackSource DefaultSource(rtp::MediaKind kind);

// The allocation priority of a consumer (router::BandwidthAllocator::Item::priority, sent in
// CONSUMER_SET_PREFERENCES): a screen share is served before everything else, active speaker
// included. The worker adds the producer's own priority (1 for the active speaker's video,
// router::Router::SetSpeakerPriority), so 2 keeps a screen share above any camera whoever speaks.
inline constexpr int kScreenSharePriority = 2;
int ConsumerPriority(TrackSource source);

// The source of each m-line `publish`'s "sources" names: an object from mids of the offer's
// audio/video m-lines to "microphone" (audio), "camera" or "screen" (video). Absent: empty (every
// track its kind's default). Fails (InvalidArgument, with the reason for a `bad-message`) when it
// is not an object, names a mid the offer has no audio/video m-line for, or gives a name that is
// unknown or not for that m-line's kind.
absl::StatusOr<absl::flat_hash_map<std::string, TrackSource>> ParsePublishSources(
    const nlohmann::json& message, const sdp::RemoteDescription& offer);

}  // namespace sb::signaling
