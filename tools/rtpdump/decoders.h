// The per-protocol decoders behind PacketDecoder (internal to sb_rtpdump). Each returns the
// fields of its kind, or InvalidArgument saying what is malformed.
#pragma once

#include <cstdint>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "rtp/codecs/dependency_descriptor.h"
#include "tools/rtpdump/options.h"
#include "tools/rtpdump/packet_decoder.h"

namespace sb::rtpdump {

absl::StatusOr<Json> DecodeStun(absl::Span<const uint8_t> payload);
absl::StatusOr<Json> DecodeDtls(absl::Span<const uint8_t> payload);
absl::StatusOr<Json> DecodeRtp(
    absl::Span<const uint8_t> payload, const Options& options,
    absl::flat_hash_map<uint32_t, rtp::DependencyDescriptorReader>& dd_readers);
absl::StatusOr<Json> DecodeRtcp(absl::Span<const uint8_t> payload);

// A string field from packet bytes: shown as text when printable ASCII, else as hex.
Json BytesAsText(absl::Span<const uint8_t> bytes);

}  // namespace sb::rtpdump
