// Conversions between rtp/'s parameter model and the IPC tables (rtp_parameters.fbs).
#pragma once

#include <flatbuffers/flatbuffers.h>

#include "absl/status/statusor.h"
#include "fbs/rtp_parameters_generated.h"
#include "rtp/rtp_parameters.h"

namespace sb::ipc {

flatbuffers::Offset<fbs::RtpParameters> ToFbs(flatbuffers::FlatBufferBuilder& fbb,
                                              const rtp::RtpParameters& params);
flatbuffers::Offset<fbs::RtpCapabilities> ToFbs(flatbuffers::FlatBufferBuilder& fbb,
                                                const rtp::RtpCapabilities& caps);

// Reading back checks what the verifier cannot: required strings present, sane counts.
absl::StatusOr<rtp::RtpParameters> FromFbs(const fbs::RtpParameters* params);
absl::StatusOr<rtp::RtpCapabilities> FromFbs(const fbs::RtpCapabilities* caps);

inline fbs::MediaKind ToFbs(rtp::MediaKind kind) {
  return kind == rtp::MediaKind::kAudio ? fbs::MediaKind::AUDIO : fbs::MediaKind::VIDEO;
}
inline rtp::MediaKind FromFbs(fbs::MediaKind kind) {
  return kind == fbs::MediaKind::AUDIO ? rtp::MediaKind::kAudio : rtp::MediaKind::kVideo;
}

}  // namespace sb::ipc
