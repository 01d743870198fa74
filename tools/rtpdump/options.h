// Command-line options of switchboard-rtpdump: the input, the header-extension id -> URI map
// and the payload type -> codec map that let RTP packets be decoded further.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"

namespace sb::rtpdump {

// Header extensions the tool can decode (typed parsers in rtp/header_extensions.h and
// rtp/codecs/dependency_descriptor.h).
enum class ExtKind : uint8_t {
  kUnknown,  // a URI the tool does not decode: printed, value left raw
  kMid,
  kRid,
  kRepairedRid,
  kAbsSendTime,
  kTransportCc,
  kAudioLevel,
  kVideoOrientation,
  kToffset,
  kPlayoutDelay,
  kAbsCaptureTime,
  kDependencyDescriptor,
};

struct ExtMapping {
  ExtKind kind = ExtKind::kUnknown;
  std::string uri;
};

enum class Codec : uint8_t { kVp8, kVp9, kH264, kAv1, kOpus };

struct Options {
  bool help = false;
  bool hex = false;    // hex UDP payloads on standard input instead of a capture file
  bool plain = false;  // RTP payloads are not encrypted: decode codec descriptors
  std::string file;
  absl::flat_hash_map<uint8_t, ExtMapping> extensions;  // by extension id
  absl::flat_hash_map<uint8_t, Codec> payload_types;
};

// `args` excludes the program name. InvalidArgument names the offending flag.
absl::StatusOr<Options> ParseOptions(const std::vector<std::string_view>& args);

// The full --help text.
extern const char kUsage[];

// "mid", a full URI, ... -> mapping; nullopt for a short name the tool does not know.
std::optional<ExtMapping> LookupExtension(std::string_view name_or_uri);
std::string_view ExtKindName(ExtKind kind);
std::string_view CodecName(Codec codec);

}  // namespace sb::rtpdump
