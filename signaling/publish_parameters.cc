#include "signaling/publish_parameters.h"

#include <algorithm>

namespace sb::signaling {
namespace {

// Header extensions we accept from publishers. mid, rid and repaired-rid name the streams the
// worker has to learn (RFC 8843, RFC 8852); the transport-wide sequence number is what the
// worker's transport-cc feedback reports on, so that the publisher's own bandwidth estimate
// grows past its start value; abs-send-time is what the worker's receive-side estimate for a
// REMB-only publisher reads.
bool AcceptedExtension(const std::string& uri) {
  return uri == rtp::kUriMid || uri == rtp::kUriRid || uri == rtp::kUriRepairedRid ||
         uri == rtp::kUriAbsSendTime || uri == rtp::kUriAudioLevel || uri == rtp::kUriToffset ||
         uri == rtp::kUriVideoOrientation || uri == rtp::kUriTransportWideCc ||
         // AV1's layers are only in it (the worker reads it for every video codec that has it
         // and forwards it with AV1 alone: router/consumer.cc).
         uri == rtp::kUriDependencyDescriptor;
}

// REMB (goog-remb) only for a publisher that cannot have transport-cc: a codec that offers
// both gets transport-cc alone (the publisher's own estimator is the better one, and the
// worker sends no REMB then); and only with abs-send-time, which the worker's estimate reads.
bool AcceptedRemb(const sdp::RemoteMedia& m, const rtp::RtpCodecParameters& codec) {
  const auto& fbs = codec.rtcp_feedback;
  const auto& exts = m.rtp.header_extensions;
  return std::none_of(fbs.begin(), fbs.end(),
                      [](const auto& fb) { return fb.type == "transport-cc"; }) &&
         std::any_of(exts.begin(), exts.end(),
                     [](const auto& ext) { return ext.uri == rtp::kUriAbsSendTime; });
}

bool AcceptedFeedback(rtp::MediaKind kind, const rtp::RtcpFeedback& fb) {
  if (fb.type == "transport-cc") return true;  // audio too: its packets count for the estimate
  return kind == rtp::MediaKind::kVideo &&
         ((fb.type == "nack" && (fb.parameter.empty() || fb.parameter == "pli")) ||
          (fb.type == "ccm" && fb.parameter == "fir"));
}

}  // namespace

std::optional<rtp::RtpParameters> ProducerParametersFor(const sdp::RemoteMedia& m) {
  const auto& router_caps = rtp::RouterCapabilities();
  const rtp::RtpCodecParameters* chosen = nullptr;
  for (const auto& codec : m.rtp.codecs) {
    if (codec.IsRtx()) continue;
    bool supported = std::any_of(
        router_caps.codecs.begin(), router_caps.codecs.end(),
        [&](const auto& cap) { return cap.kind == m.kind && rtp::CodecsMatch(codec, cap); });
    if (supported) {
      chosen = &codec;
      break;
    }
  }
  if (!chosen) return std::nullopt;
  rtp::RtpParameters params;
  params.mid = m.mid;
  params.cname = m.rtp.cname;
  params.reduced_size = m.rtp.reduced_size;
  rtp::RtpCodecParameters media = *chosen;
  media.rtcp_feedback.clear();
  const bool remb = AcceptedRemb(m, *chosen);
  for (const auto& fb : chosen->rtcp_feedback) {
    if (AcceptedFeedback(m.kind, fb) || (remb && fb.type == "goog-remb" && fb.parameter.empty())) {
      media.rtcp_feedback.push_back(fb);
    }
  }
  params.codecs.push_back(media);
  if (const auto* rtx = m.rtp.RtxCodecFor(chosen->payload_type)) {
    rtp::RtpCodecParameters rtx_codec = *rtx;
    rtx_codec.rtcp_feedback.clear();
    params.codecs.push_back(rtx_codec);
  }
  for (const auto& ext : m.rtp.header_extensions) {
    if (AcceptedExtension(ext.uri)) params.header_extensions.push_back(ext);
  }
  // The SDP parser lists the simulcast rids (or the SIM group's ssrcs) in offer order.
  params.encodings = m.rtp.encodings;
  if (params.encodings.empty()) params.encodings.push_back({});  // learn the ssrc by mid
  // Without an RTX codec in the answer, an announced RTX ssrc means nothing.
  if (params.codecs.size() == 1) {
    for (auto& e : params.encodings) e.rtx_ssrc = 0;
  }
  return params;
}

std::vector<sdp::LocalMedia> PublishAnswerMedia(
    const sdp::RemoteDescription& offer,
    absl::FunctionRef<const rtp::RtpParameters*(const std::string& mid)> produced) {
  std::vector<sdp::LocalMedia> media;
  for (const auto& m : offer.media) {
    sdp::LocalMedia local;
    local.mid = m.mid;
    local.kind = m.kind;
    const bool av = !m.rejected && (m.media == "audio" || m.media == "video");
    if (m.data_channel && !m.rejected) {
      local.data_channel = true;  // data channels go to the participant's send transport
    } else if (const rtp::RtpParameters* params = produced(m.mid)) {
      local.direction = "recvonly";
      local.rtp = *params;
    } else if (auto kept =
                   av && m.direction == "inactive" ? ProducerParametersFor(m) : std::nullopt) {
      local.direction = "inactive";
      local.rtp = *std::move(kept);
    } else {
      local.rejected = true;
    }
    media.push_back(std::move(local));
  }
  return media;
}

}  // namespace sb::signaling
