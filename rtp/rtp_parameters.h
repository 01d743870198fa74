// The RTP parameters and capabilities model shared by the worker and the control process:
// what a producer sends, what a consumer sends, and what an endpoint can receive. The shape
// follows ORTC / mediasoup's RtpParameters (RFC 3264 offer/answer concepts without SDP).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace sb::rtp {

enum class MediaKind : uint8_t { kAudio = 0, kVideo = 1 };

const char* MediaKindName(MediaKind kind);  // "audio" / "video"

struct RtcpFeedback {
  std::string type;       // "nack", "ccm", "goog-remb", "transport-cc"
  std::string parameter;  // "", "pli", "fir"
  bool operator==(const RtcpFeedback&) const = default;
};

// Codec-specific parameters as written in SDP fmtp ("apt" -> "96", "packetization-mode" -> "1").
using CodecParameterMap = std::map<std::string, std::string>;

struct RtpCodecParameters {
  std::string mime_type;  // "audio/opus", "video/VP8", "video/H264", "video/rtx"
  uint8_t payload_type = 0;
  uint32_t clock_rate = 0;
  uint8_t channels = 0;  // audio only; 0 = unset
  CodecParameterMap parameters;
  std::vector<RtcpFeedback> rtcp_feedback;

  bool IsRtx() const;  // mime subtype "rtx" (case-insensitive)
  // Value of an integer parameter, if present and well formed.
  std::optional<uint32_t> IntParameter(const std::string& key) const;
};

struct RtpEncodingParameters {
  uint32_t ssrc = 0;
  uint32_t rtx_ssrc = 0;  // 0 = none
  std::string rid;
  uint32_t max_bitrate = 0;
};

struct RtpHeaderExtensionParameters {
  std::string uri;
  uint8_t id = 0;
};

// The first non-RTX codec is the media codec; RTX codecs point to it with "apt".
struct RtpParameters {
  std::string mid;
  std::vector<RtpCodecParameters> codecs;
  std::vector<RtpEncodingParameters> encodings;
  std::vector<RtpHeaderExtensionParameters> header_extensions;
  std::string cname;
  bool reduced_size = true;

  // The first non-RTX codec, or nullptr.
  const RtpCodecParameters* MediaCodec() const;
  // The RTX codec whose apt is the given payload type, or nullptr.
  const RtpCodecParameters* RtxCodecFor(uint8_t payload_type) const;
  // The id negotiated for an extension URI, or 0 when absent.
  uint8_t HeaderExtensionId(const std::string& uri) const;
};

struct RtpCodecCapability {
  MediaKind kind = MediaKind::kAudio;
  std::string mime_type;
  uint8_t preferred_payload_type = 0;
  uint32_t clock_rate = 0;
  uint8_t channels = 0;
  CodecParameterMap parameters;
  std::vector<RtcpFeedback> rtcp_feedback;
};

struct RtpHeaderExtensionCapability {
  MediaKind kind = MediaKind::kAudio;
  std::string uri;
  uint8_t preferred_id = 0;
};

struct RtpCapabilities {
  std::vector<RtpCodecCapability> codecs;
  std::vector<RtpHeaderExtensionCapability> header_extensions;
};

// Header extension URIs (RFC 8285 registry and WebRTC's).
inline constexpr char kUriMid[] = "urn:ietf:params:rtp-hdrext:sdes:mid";
inline constexpr char kUriRid[] = "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id";
inline constexpr char kUriRepairedRid[] = "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id";
inline constexpr char kUriAbsSendTime[] =
    "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time";
inline constexpr char kUriTransportWideCc[] =
    "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01";
inline constexpr char kUriDependencyDescriptor[] =
    "https://aomediacodec.github.io/av1-rtp-spec/#dependency-descriptor-rtp-header-extension";
inline constexpr char kUriAudioLevel[] = "urn:ietf:params:rtp-hdrext:ssrc-audio-level";
inline constexpr char kUriVideoOrientation[] = "urn:3gpp:video-orientation";
inline constexpr char kUriToffset[] = "urn:ietf:params:rtp-hdrext:toffset";
inline constexpr char kUriPlayoutDelay[] =
    "http://www.webrtc.org/experiments/rtp-hdrext/playout-delay";
inline constexpr char kUriAbsCaptureTime[] =
    "http://www.webrtc.org/experiments/rtp-hdrext/abs-capture-time";

// What every router can forward: Opus, VP8, H264 (packetization-mode 1 and 0, constrained
// baseline and baseline), each video codec with RTX, and the header extensions consumers send.
// Payload types and extension ids here are the ones consumers use on the wire.
const RtpCapabilities& RouterCapabilities();

// True when two codecs are the same codec for forwarding purposes: same mime type
// (case-insensitive), clock rate, channels, and for H264 the same packetization-mode and
// compatible profile-level-id (profile must match; RFC 6184 section 8.1).
bool CodecsMatch(const RtpCodecParameters& a, const RtpCodecCapability& b);

// Checks that a producer's parameters are usable: one media codec the router supports, RTX
// codecs that point at it, at least one encoding with an ssrc (or rid), distinct extension
// ids in 1..14. Returns a clear reason otherwise.
absl::Status ValidateProducerParameters(MediaKind kind, const RtpParameters& params);

// The parameters a consumer of `producer` sends to a subscriber with `caps`: the producer's
// media codec with the router's payload type (and its RTX when the subscriber supports it),
// the subscriber's supported subset of the router's header extensions with the router's ids,
// rtcp feedback the subscriber supports, and one encoding with fresh ssrc/rtx ssrc given by
// the caller. Fails with FailedPrecondition when the subscriber cannot receive the codec.
absl::StatusOr<RtpParameters> ConsumerParameters(MediaKind kind, const RtpParameters& producer,
                                                 const RtpCapabilities& caps, uint32_t ssrc,
                                                 uint32_t rtx_ssrc);

}  // namespace sb::rtp
