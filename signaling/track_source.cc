#include "signaling/track_source.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace sb::signaling {

const char* TrackSourceName(TrackSource source) {
  switch (source) {
    case TrackSource::kMicrophone:
      return "microphone";
    case TrackSource::kCamera:
      return "camera";
    case TrackSource::kScreen:
      return "screen";
  }
  return "camera";
}

TrackSource DefaultSource(rtp::MediaKind kind) {
  return kind == rtp::MediaKind::kAudio ? TrackSource::kMicrophone : TrackSource::kCamera;
}

int ConsumerPriority(TrackSource source) {
  return source == TrackSource::kScreen ? kScreenSharePriority : 0;
}

absl::StatusOr<absl::flat_hash_map<std::string, TrackSource>> ParsePublishSources(
    const nlohmann::json& message, const sdp::RemoteDescription& offer) {
  absl::flat_hash_map<std::string, TrackSource> sources;
  auto it = message.find("sources");
  if (it == message.end()) return sources;
  if (!it->is_object()) {
    return absl::InvalidArgumentError(
        "\"sources\" must be an object from mids to \"microphone\", \"camera\" or \"screen\"");
  }
  for (const auto& item : it->items()) {
    // Not a structured binding: clang 14 (the fuzz build) cannot capture one in a lambda.
    const std::string& mid = item.key();
    const nlohmann::json& value = item.value();
    auto m = std::find_if(offer.media.begin(), offer.media.end(), [&](const sdp::RemoteMedia& m) {
      return m.mid == mid && !m.rejected && (m.media == "audio" || m.media == "video");
    });
    // The mid is the client's; it is not echoed (it may be anything up to the message's size).
    if (m == offer.media.end()) {
      return absl::InvalidArgumentError(
          "\"sources\" names a mid that is no audio or video m-line of the offer");
    }
    if (!value.is_string()) {
      return absl::InvalidArgumentError("\"sources\" values must be strings");
    }
    const auto& name = value.get_ref<const std::string&>();
    TrackSource source;
    if (name == "microphone") {
      source = TrackSource::kMicrophone;
    } else if (name == "camera") {
      source = TrackSource::kCamera;
    } else if (name == "screen") {
      source = TrackSource::kScreen;
    } else {
      return absl::InvalidArgumentError(
          "\"sources\" values are \"microphone\", \"camera\" or \"screen\"");
    }
    if ((m->kind == rtp::MediaKind::kAudio) != (source == TrackSource::kMicrophone)) {
      return absl::InvalidArgumentError(absl::StrCat("\"sources\": \"", TrackSourceName(source),
                                                     "\" is not a source of ", m->media));
    }
    sources[mid] = source;
  }
  return sources;
}

}  // namespace sb::signaling
