#include "signaling/capabilities.h"

#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace sb::signaling {
namespace {

// Chromium lists about 30 codecs and 15 extensions per kind; anything far beyond is abuse.
constexpr size_t kMaxCodecsPerKind = 128;
constexpr size_t kMaxExtensionsPerKind = 64;
constexpr size_t kMaxStringLength = 512;

absl::Status AddKind(const nlohmann::json& json, rtp::MediaKind kind, rtp::RtpCapabilities* out) {
  if (json.is_null()) return absl::OkStatus();
  if (!json.is_object()) return absl::InvalidArgumentError("capabilities must be objects");
  if (json.contains("codecs")) {
    const auto& codecs = json["codecs"];
    if (!codecs.is_array() || codecs.size() > kMaxCodecsPerKind) {
      return absl::InvalidArgumentError("codecs must be an array of at most 128");
    }
    for (const auto& c : codecs) {
      if (!c.is_object() || !c.contains("mimeType") || !c["mimeType"].is_string() ||
          !c.contains("clockRate") || !c["clockRate"].is_number_unsigned()) {
        return absl::InvalidArgumentError("a codec needs a mimeType and a clockRate");
      }
      rtp::RtpCodecCapability codec;
      codec.kind = kind;
      codec.mime_type = c["mimeType"].get<std::string>();
      if (codec.mime_type.size() > kMaxStringLength) {
        return absl::InvalidArgumentError("mimeType too long");
      }
      codec.clock_rate = c["clockRate"].get<uint32_t>();
      if (c.contains("channels") && c["channels"].is_number_unsigned()) {
        codec.channels =
            static_cast<uint8_t>(std::min<uint32_t>(c["channels"].get<uint32_t>(), 255));
      }
      if (c.contains("sdpFmtpLine") && c["sdpFmtpLine"].is_string()) {
        std::string line = c["sdpFmtpLine"].get<std::string>();
        if (line.size() > kMaxStringLength) return absl::InvalidArgumentError("fmtp too long");
        codec.parameters = ParseFmtpLine(line);
      }
      out->codecs.push_back(std::move(codec));
    }
  }
  if (json.contains("headerExtensions")) {
    const auto& exts = json["headerExtensions"];
    if (!exts.is_array() || exts.size() > kMaxExtensionsPerKind) {
      return absl::InvalidArgumentError("headerExtensions must be an array of at most 64");
    }
    for (const auto& e : exts) {
      if (!e.is_object() || !e.contains("uri") || !e["uri"].is_string()) {
        return absl::InvalidArgumentError("a header extension needs a uri");
      }
      std::string uri = e["uri"].get<std::string>();
      if (uri.size() > kMaxStringLength) return absl::InvalidArgumentError("uri too long");
      out->header_extensions.push_back({kind, std::move(uri), 0});
    }
  }
  return absl::OkStatus();
}

}  // namespace

rtp::CodecParameterMap ParseFmtpLine(std::string_view line) {
  rtp::CodecParameterMap map;
  for (absl::string_view part :
       absl::StrSplit(absl::string_view(line.data(), line.size()), ';', absl::SkipWhitespace())) {
    part = absl::StripAsciiWhitespace(part);
    size_t eq = part.find('=');
    if (eq == absl::string_view::npos) {
      map[std::string(part)] = "";
    } else {
      map[std::string(absl::StripAsciiWhitespace(part.substr(0, eq)))] =
          std::string(absl::StripAsciiWhitespace(part.substr(eq + 1)));
    }
  }
  return map;
}

absl::StatusOr<rtp::RtpCapabilities> CapabilitiesFromJson(const nlohmann::json& json) {
  if (json.is_null()) return rtp::RouterCapabilities();
  if (!json.is_object()) return absl::InvalidArgumentError("rtpCapabilities must be an object");
  rtp::RtpCapabilities caps;
  if (json.contains("audio")) {
    if (auto s = AddKind(json["audio"], rtp::MediaKind::kAudio, &caps); !s.ok()) return s;
  }
  if (json.contains("video")) {
    if (auto s = AddKind(json["video"], rtp::MediaKind::kVideo, &caps); !s.ok()) return s;
  }
  return caps;
}

}  // namespace sb::signaling
