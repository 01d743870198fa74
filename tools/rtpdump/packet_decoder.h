// Turns one UDP payload into a JSON object: demultiplexed by first byte (RFC 7983, as updated
// by RFC 9443) into STUN, DTLS, RTP or RTCP (RFC 5761 4), each decoded with the project's
// parsers. Keeps per-stream state (the AV1 dependency-descriptor structure per SSRC) and the
// counts per kind for the summary.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/types/span.h"
#include "nlohmann/json.hpp"
#include "rtp/codecs/dependency_descriptor.h"
#include "tools/rtpdump/options.h"

namespace sb::rtpdump {

// Insertion-ordered, so every line reads index, time, src, dst, length, kind, ...
using Json = nlohmann::ordered_json;

enum class Kind : uint8_t { kStun, kDtls, kRtp, kRtcp, kUnknown, kSkipped, kError };
inline constexpr size_t kKindCount = 7;
std::string_view KindName(Kind kind);

// The RFC 7983 range the first byte falls in; RTP vs RTCP needs the second byte.
Kind DemuxByFirstByte(absl::Span<const uint8_t> payload);

class PacketDecoder {
 public:
  explicit PacketDecoder(Options options);

  // Appends "kind" and its fields to `out` (which holds the common fields already), or "error"
  // for a malformed packet. Counts the result.
  void Decode(absl::Span<const uint8_t> payload, Json& out);
  // Counts a frame that never reached Decode (skipped or malformed below UDP).
  void Count(Kind kind) { ++counts_[static_cast<size_t>(kind)]; }

  // "packets 412: stun 20, dtls 9, rtp 350, rtcp 33, unknown 0, skipped 0, errors 0"
  std::string Summary() const;
  size_t count(Kind kind) const { return counts_[static_cast<size_t>(kind)]; }

 private:
  Options options_;
  // Latest dependency-descriptor structure per SSRC: later descriptors refer to it.
  absl::flat_hash_map<uint32_t, rtp::DependencyDescriptorReader> dd_readers_;
  std::array<size_t, kKindCount> counts_{};
};

// Lower-case hex of bytes, no separators.
std::string ToHex(absl::Span<const uint8_t> bytes);

}  // namespace sb::rtpdump
