#include "rtp/rtp_parameters.h"

#include <algorithm>
#include <set>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace sb::rtp {
namespace {

// RFC 6184 8.1: without profile-level-id, Baseline profile at level 1.0 is implied.
constexpr char kDefaultH264ProfileLevelId[] = "42000a";

absl::string_view Param(const CodecParameterMap& params, const std::string& key,
                        absl::string_view fallback) {
  auto it = params.find(key);
  return it == params.end() ? fallback : absl::string_view(it->second);
}

// profile_idc and profile-iop: the first 4 hex digits of profile-level-id (RFC 6184 8.1). The
// level is not compared: a forwarder passes whatever level the producer sends.
std::optional<std::string> H264Profile(const CodecParameterMap& params) {
  absl::string_view id = Param(params, "profile-level-id", kDefaultH264ProfileLevelId);
  if (id.size() != 6) {
    return std::nullopt;
  }
  for (char c : id) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(c))) {
      return std::nullopt;
    }
  }
  return absl::AsciiStrToLower(id.substr(0, 4));
}

bool CodecFieldsMatch(absl::string_view mime_a, uint32_t clock_a, uint8_t channels_a,
                      const CodecParameterMap& params_a, absl::string_view mime_b, uint32_t clock_b,
                      uint8_t channels_b, const CodecParameterMap& params_b) {
  if (!absl::EqualsIgnoreCase(mime_a, mime_b) || clock_a != clock_b) {
    return false;
  }
  if (absl::StartsWithIgnoreCase(mime_a, "audio/") &&
      std::max<uint8_t>(channels_a, 1) != std::max<uint8_t>(channels_b, 1)) {
    return false;
  }
  if (absl::EqualsIgnoreCase(mime_a, "video/H264")) {
    if (Param(params_a, "packetization-mode", "0") != Param(params_b, "packetization-mode", "0")) {
      return false;
    }
    std::optional<std::string> pa = H264Profile(params_a);
    std::optional<std::string> pb = H264Profile(params_b);
    if (!pa || !pb || *pa != *pb) {
      return false;
    }
  }
  return true;
}

bool CapabilitiesMatch(const RtpCodecCapability& a, const RtpCodecCapability& b) {
  return a.kind == b.kind && CodecFieldsMatch(a.mime_type, a.clock_rate, a.channels, a.parameters,
                                              b.mime_type, b.clock_rate, b.channels, b.parameters);
}

bool IsRtxMime(absl::string_view mime) {
  size_t slash = mime.find('/');
  return slash != absl::string_view::npos && absl::EqualsIgnoreCase(mime.substr(slash + 1), "rtx");
}

bool MimeIsKind(absl::string_view mime, MediaKind kind) {
  return absl::StartsWithIgnoreCase(mime, kind == MediaKind::kAudio ? "audio/" : "video/");
}

RtpCodecCapability MakeCodec(MediaKind kind, std::string mime, uint8_t pt, uint32_t clock,
                             uint8_t channels, CodecParameterMap params,
                             std::vector<RtcpFeedback> feedback) {
  return RtpCodecCapability{
      kind, std::move(mime), pt, clock, channels, std::move(params), std::move(feedback)};
}

RtpCapabilities BuildRouterCapabilities() {
  // transport-cc: subscribers send transport-wide feedback on what we send them, for the
  // worker's send-side estimate (bwe/).
  const std::vector<RtcpFeedback> video_fb = {
      {"nack", ""}, {"nack", "pli"}, {"ccm", "fir"}, {"transport-cc", ""}};
  RtpCapabilities caps;
  const MediaKind a = MediaKind::kAudio;
  const MediaKind v = MediaKind::kVideo;
  caps.codecs = {
      MakeCodec(a, "audio/opus", 100, 48000, 2, {{"minptime", "10"}, {"useinbandfec", "1"}},
                {{"transport-cc", ""}}),
      MakeCodec(v, "video/VP8", 101, 90000, 0, {}, video_fb),
      MakeCodec(v, "video/rtx", 102, 90000, 0, {{"apt", "101"}}, {}),
      MakeCodec(v, "video/H264", 103, 90000, 0,
                {{"packetization-mode", "1"},
                 {"level-asymmetry-allowed", "1"},
                 {"profile-level-id", "42e01f"}},
                video_fb),
      MakeCodec(v, "video/rtx", 104, 90000, 0, {{"apt", "103"}}, {}),
      MakeCodec(v, "video/H264", 105, 90000, 0,
                {{"packetization-mode", "1"}, {"profile-level-id", "42001f"}}, video_fb),
      MakeCodec(v, "video/rtx", 106, 90000, 0, {{"apt", "105"}}, {}),
      // VP9 and AV1, also as SVC: the worker forwards their spatial and temporal layers by what
      // each subscriber's preference and bandwidth allow (from VP9's payload descriptor, from
      // AV1's dependency descriptor, which is forwarded with it).
      MakeCodec(v, "video/VP9", 107, 90000, 0, {{"profile-id", "0"}}, video_fb),
      MakeCodec(v, "video/rtx", 108, 90000, 0, {{"apt", "107"}}, {}),
      MakeCodec(v, "video/AV1", 109, 90000, 0, {}, video_fb),
      MakeCodec(v, "video/rtx", 110, 90000, 0, {{"apt", "109"}}, {}),
  };
  caps.header_extensions = {
      {a, kUriMid, 1},
      {v, kUriMid, 1},
      {v, kUriToffset, 2},
      {a, kUriAbsSendTime, 3},
      {v, kUriAbsSendTime, 3},
      {a, kUriTransportWideCc, 5},
      {v, kUriTransportWideCc, 5},
      {a, kUriAudioLevel, 10},
      {v, kUriVideoOrientation, 13},
      {v, kUriDependencyDescriptor, 11},
  };
  return caps;
}

std::optional<uint32_t> ParseUint(absl::string_view s) {
  uint32_t v = 0;
  if (s.empty() || !absl::SimpleAtoi(s, &v)) {
    return std::nullopt;
  }
  return v;
}

}  // namespace

const char* MediaKindName(MediaKind kind) { return kind == MediaKind::kAudio ? "audio" : "video"; }

bool RtpCodecParameters::IsRtx() const { return IsRtxMime(mime_type); }

std::optional<uint32_t> RtpCodecParameters::IntParameter(const std::string& key) const {
  auto it = parameters.find(key);
  if (it == parameters.end()) {
    return std::nullopt;
  }
  return ParseUint(it->second);
}

const RtpCodecParameters* RtpParameters::MediaCodec() const {
  for (const RtpCodecParameters& c : codecs) {
    if (!c.IsRtx()) {
      return &c;
    }
  }
  return nullptr;
}

const RtpCodecParameters* RtpParameters::RtxCodecFor(uint8_t payload_type) const {
  for (const RtpCodecParameters& c : codecs) {
    if (c.IsRtx() && c.IntParameter("apt") == uint32_t{payload_type}) {
      return &c;
    }
  }
  return nullptr;
}

uint8_t RtpParameters::HeaderExtensionId(const std::string& uri) const {
  for (const RtpHeaderExtensionParameters& e : header_extensions) {
    if (e.uri == uri) {
      return e.id;
    }
  }
  return 0;
}

const RtpCapabilities& RouterCapabilities() {
  static const RtpCapabilities caps = BuildRouterCapabilities();
  return caps;
}

bool CodecsMatch(const RtpCodecParameters& a, const RtpCodecCapability& b) {
  return CodecFieldsMatch(a.mime_type, a.clock_rate, a.channels, a.parameters, b.mime_type,
                          b.clock_rate, b.channels, b.parameters);
}

absl::Status ValidateProducerParameters(MediaKind kind, const RtpParameters& params) {
  if (params.codecs.empty()) {
    return absl::InvalidArgumentError("no codecs");
  }
  std::set<uint8_t> pts;
  for (const RtpCodecParameters& c : params.codecs) {
    if (c.payload_type > 127) {
      return absl::InvalidArgumentError(absl::StrCat("payload type ", c.payload_type, " > 127"));
    }
    if (!pts.insert(c.payload_type).second) {
      return absl::InvalidArgumentError(absl::StrCat("duplicate payload type ", c.payload_type));
    }
    if (!MimeIsKind(c.mime_type, kind)) {
      return absl::InvalidArgumentError(
          absl::StrCat("codec ", c.mime_type, " is not ", MediaKindName(kind)));
    }
  }
  const RtpCodecParameters* media = params.MediaCodec();
  if (media == nullptr) {
    return absl::InvalidArgumentError("no media codec (only RTX)");
  }
  const bool supported = std::any_of(
      RouterCapabilities().codecs.begin(), RouterCapabilities().codecs.end(),
      [&](const RtpCodecCapability& cap) { return cap.kind == kind && CodecsMatch(*media, cap); });
  if (!supported) {
    return absl::InvalidArgumentError(
        absl::StrCat("codec ", media->mime_type, " not supported by the router"));
  }
  for (const RtpCodecParameters& c : params.codecs) {
    if (!c.IsRtx()) {
      continue;
    }
    std::optional<uint32_t> apt = c.IntParameter("apt");
    if (!apt) {
      return absl::InvalidArgumentError(
          absl::StrCat("rtx payload type ", c.payload_type, " has no valid apt"));
    }
    const bool points_at_media = std::any_of(
        params.codecs.begin(), params.codecs.end(),
        [&](const RtpCodecParameters& m) { return !m.IsRtx() && m.payload_type == *apt; });
    if (!points_at_media) {
      return absl::InvalidArgumentError(
          absl::StrCat("rtx payload type ", c.payload_type, " apt=", *apt, " names no codec"));
    }
  }
  if (params.encodings.empty()) {
    return absl::InvalidArgumentError("no encodings");
  }
  std::set<uint32_t> ssrcs;
  std::set<std::string> rids;
  for (const RtpEncodingParameters& e : params.encodings) {
    // A lone encoding may be announced by neither: its ssrc is learnt from the mid header
    // extension (RFC 8843 9.2), as GStreamer's webrtcbin offers before its encoders run.
    if (e.ssrc == 0 && e.rid.empty() && (params.encodings.size() > 1 || params.mid.empty())) {
      return absl::InvalidArgumentError("encoding has neither ssrc nor rid (nor a lone mid)");
    }
    if (e.ssrc != 0 && !ssrcs.insert(e.ssrc).second) {
      return absl::InvalidArgumentError(absl::StrCat("duplicate ssrc ", e.ssrc));
    }
    // A rid names one encoding (RFC 8851 4); the transport learns ssrcs by it.
    if (!e.rid.empty() && !rids.insert(e.rid).second) {
      return absl::InvalidArgumentError(absl::StrCat("duplicate rid ", e.rid));
    }
  }
  std::set<uint8_t> ids;
  for (const RtpHeaderExtensionParameters& h : params.header_extensions) {
    if (h.uri.empty()) {
      return absl::InvalidArgumentError("header extension without uri");
    }
    if (h.id < 1 || h.id > 14) {
      return absl::InvalidArgumentError(
          absl::StrCat("header extension ", h.uri, " id ", h.id, " not in 1..14"));
    }
    if (!ids.insert(h.id).second) {
      return absl::InvalidArgumentError(absl::StrCat("duplicate header extension id ", h.id));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<RtpParameters> ConsumerParameters(MediaKind kind, const RtpParameters& producer,
                                                 const RtpCapabilities& caps, uint32_t ssrc,
                                                 uint32_t rtx_ssrc) {
  const RtpCodecParameters* media = producer.MediaCodec();
  if (media == nullptr) {
    return absl::InvalidArgumentError("producer has no media codec");
  }
  const RtpCapabilities& router = RouterCapabilities();

  // The router codec for the producer's codec that the subscriber can also receive.
  const RtpCodecCapability* router_codec = nullptr;
  const RtpCodecCapability* sub_codec = nullptr;
  for (const RtpCodecCapability& rc : router.codecs) {
    if (rc.kind != kind || IsRtxMime(rc.mime_type) || !CodecsMatch(*media, rc)) {
      continue;
    }
    for (const RtpCodecCapability& sc : caps.codecs) {
      if (CapabilitiesMatch(rc, sc)) {
        router_codec = &rc;
        sub_codec = &sc;
        break;
      }
    }
    if (router_codec != nullptr) {
      break;
    }
  }
  if (router_codec == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("subscriber cannot receive ", media->mime_type));
  }

  RtpParameters out;
  RtpCodecParameters codec;
  codec.mime_type = router_codec->mime_type;
  codec.payload_type = router_codec->preferred_payload_type;
  codec.clock_rate = router_codec->clock_rate;
  codec.channels = router_codec->channels;
  codec.parameters = media->parameters;
  for (const RtcpFeedback& fb : router_codec->rtcp_feedback) {
    if (sub_codec->rtcp_feedback.empty() ||
        std::find(sub_codec->rtcp_feedback.begin(), sub_codec->rtcp_feedback.end(), fb) !=
            sub_codec->rtcp_feedback.end()) {
      codec.rtcp_feedback.push_back(fb);
    }
  }
  out.codecs.push_back(std::move(codec));

  // RTX only when the subscriber lists it, the router has one for this codec, and the caller
  // gave an rtx ssrc to send it on.
  const bool sub_rtx = std::any_of(
      caps.codecs.begin(), caps.codecs.end(),
      [&](const RtpCodecCapability& c) { return c.kind == kind && IsRtxMime(c.mime_type); });
  const RtpCodecCapability* router_rtx = nullptr;
  for (const RtpCodecCapability& rc : router.codecs) {
    if (rc.kind == kind && IsRtxMime(rc.mime_type) &&
        Param(rc.parameters, "apt", "") == std::to_string(router_codec->preferred_payload_type)) {
      router_rtx = &rc;
      break;
    }
  }
  const bool with_rtx = sub_rtx && router_rtx != nullptr && rtx_ssrc != 0;
  if (with_rtx) {
    RtpCodecParameters rtx;
    rtx.mime_type = router_rtx->mime_type;
    rtx.payload_type = router_rtx->preferred_payload_type;
    rtx.clock_rate = router_rtx->clock_rate;
    rtx.parameters = {{"apt", std::to_string(router_codec->preferred_payload_type)}};
    out.codecs.push_back(std::move(rtx));
  }

  for (const RtpHeaderExtensionCapability& re : router.header_extensions) {
    if (re.kind != kind) {
      continue;
    }
    const bool listed = std::any_of(caps.header_extensions.begin(), caps.header_extensions.end(),
                                    [&](const RtpHeaderExtensionCapability& se) {
                                      return se.kind == kind && se.uri == re.uri;
                                    });
    if (listed) {
      out.header_extensions.push_back({re.uri, re.preferred_id});
    }
  }

  RtpEncodingParameters enc;
  enc.ssrc = ssrc;
  enc.rtx_ssrc = with_rtx ? rtx_ssrc : 0;
  out.encodings.push_back(enc);
  out.cname = producer.cname;
  return out;
}

}  // namespace sb::rtp
