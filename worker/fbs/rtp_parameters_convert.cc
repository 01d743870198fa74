#include "worker/fbs/rtp_parameters_convert.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "worker/fbs/message_builder.h"

namespace sb::ipc {
namespace {

// Bounds on what one request may carry; far above what any browser offers.
constexpr size_t kMaxCodecs = 64;
constexpr size_t kMaxEncodings = 16;
constexpr size_t kMaxHeaderExtensions = 32;
constexpr size_t kMaxCodecParameters = 32;
constexpr size_t kMaxFeedback = 32;

// Strings are written with their length (fbb.CreateString(std::string)), never through
// c_str(): a value holding a NUL would otherwise be cut short, and two parameter keys that
// differ after it would collide when read back.
flatbuffers::Offset<flatbuffers::Vector<flatbuffers::Offset<fbs::Parameter>>> ParametersToFbs(
    flatbuffers::FlatBufferBuilder& fbb, const rtp::CodecParameterMap& map) {
  std::vector<flatbuffers::Offset<fbs::Parameter>> out;
  for (const auto& [key, value] : map) {
    out.push_back(fbs::CreateParameter(fbb, fbb.CreateString(key), fbb.CreateString(value)));
  }
  return fbb.CreateVector(out);
}

flatbuffers::Offset<flatbuffers::Vector<flatbuffers::Offset<fbs::RtcpFeedback>>> FeedbackToFbs(
    flatbuffers::FlatBufferBuilder& fbb, const std::vector<rtp::RtcpFeedback>& list) {
  std::vector<flatbuffers::Offset<fbs::RtcpFeedback>> out;
  for (const auto& fb : list) {
    out.push_back(
        fbs::CreateRtcpFeedback(fbb, fbb.CreateString(fb.type), fbb.CreateString(fb.parameter)));
  }
  return fbb.CreateVector(out);
}

absl::StatusOr<rtp::CodecParameterMap> ParametersFromFbs(
    const flatbuffers::Vector<flatbuffers::Offset<fbs::Parameter>>* list) {
  rtp::CodecParameterMap map;
  if (!list) return map;
  if (list->size() > kMaxCodecParameters) {
    return absl::InvalidArgumentError("too many codec parameters");
  }
  for (const auto* p : *list) map[p->key()->str()] = Str(p->value());
  return map;
}

absl::StatusOr<std::vector<rtp::RtcpFeedback>> FeedbackFromFbs(
    const flatbuffers::Vector<flatbuffers::Offset<fbs::RtcpFeedback>>* list) {
  std::vector<rtp::RtcpFeedback> out;
  if (!list) return out;
  if (list->size() > kMaxFeedback) return absl::InvalidArgumentError("too many rtcp feedback");
  for (const auto* fb : *list) out.push_back({fb->type()->str(), Str(fb->parameter())});
  return out;
}

// The fields RtpCodecParameters and RtpCodecCapability share, read from either table.
template <typename Codec, typename Table>
absl::Status CodecCommonFromFbs(const Table* c, Codec* codec) {
  codec->mime_type = c->mime_type()->str();
  codec->clock_rate = c->clock_rate();
  codec->channels = c->channels();
  auto parameters = ParametersFromFbs(c->parameters());
  if (!parameters.ok()) return parameters.status();
  codec->parameters = *std::move(parameters);
  auto feedback = FeedbackFromFbs(c->rtcp_feedback());
  if (!feedback.ok()) return feedback.status();
  codec->rtcp_feedback = *std::move(feedback);
  return absl::OkStatus();
}

}  // namespace

flatbuffers::Offset<fbs::RtpParameters> ToFbs(flatbuffers::FlatBufferBuilder& fbb,
                                              const rtp::RtpParameters& params) {
  std::vector<flatbuffers::Offset<fbs::RtpCodecParameters>> codecs;
  for (const auto& c : params.codecs) {
    auto mime = fbb.CreateString(c.mime_type);
    auto parameters = ParametersToFbs(fbb, c.parameters);
    auto feedback = FeedbackToFbs(fbb, c.rtcp_feedback);
    codecs.push_back(fbs::CreateRtpCodecParameters(fbb, mime, c.payload_type, c.clock_rate,
                                                   c.channels, parameters, feedback));
  }
  std::vector<flatbuffers::Offset<fbs::RtpEncodingParameters>> encodings;
  for (const auto& e : params.encodings) {
    encodings.push_back(fbs::CreateRtpEncodingParameters(fbb, e.ssrc, e.rtx_ssrc,
                                                         fbb.CreateString(e.rid), e.max_bitrate));
  }
  std::vector<flatbuffers::Offset<fbs::RtpHeaderExtensionParameters>> exts;
  for (const auto& h : params.header_extensions) {
    exts.push_back(fbs::CreateRtpHeaderExtensionParameters(fbb, fbb.CreateString(h.uri), h.id));
  }
  auto mid = fbb.CreateString(params.mid);
  auto codecs_vector = fbb.CreateVector(codecs);
  auto encodings_vector = fbb.CreateVector(encodings);
  auto exts_vector = fbb.CreateVector(exts);
  return fbs::CreateRtpParameters(fbb, mid, codecs_vector, encodings_vector, exts_vector,
                                  fbb.CreateString(params.cname), params.reduced_size);
}

flatbuffers::Offset<fbs::RtpCapabilities> ToFbs(flatbuffers::FlatBufferBuilder& fbb,
                                                const rtp::RtpCapabilities& caps) {
  std::vector<flatbuffers::Offset<fbs::RtpCodecCapability>> codecs;
  for (const auto& c : caps.codecs) {
    auto mime = fbb.CreateString(c.mime_type);
    auto parameters = ParametersToFbs(fbb, c.parameters);
    auto feedback = FeedbackToFbs(fbb, c.rtcp_feedback);
    codecs.push_back(fbs::CreateRtpCodecCapability(fbb, ToFbs(c.kind), mime,
                                                   c.preferred_payload_type, c.clock_rate,
                                                   c.channels, parameters, feedback));
  }
  std::vector<flatbuffers::Offset<fbs::RtpHeaderExtensionCapability>> exts;
  for (const auto& h : caps.header_extensions) {
    exts.push_back(fbs::CreateRtpHeaderExtensionCapability(
        fbb, ToFbs(h.kind), fbb.CreateString(h.uri), h.preferred_id));
  }
  return fbs::CreateRtpCapabilitiesDirect(fbb, &codecs, &exts);
}

absl::StatusOr<rtp::RtpParameters> FromFbs(const fbs::RtpParameters* params) {
  if (!params) return absl::InvalidArgumentError("missing rtp parameters");
  rtp::RtpParameters out;
  out.mid = Str(params->mid());
  out.cname = Str(params->cname());
  out.reduced_size = params->reduced_size();
  if (const auto* codecs = params->codecs()) {
    if (codecs->size() > kMaxCodecs) return absl::InvalidArgumentError("too many codecs");
    for (const auto* c : *codecs) {
      rtp::RtpCodecParameters codec;
      codec.payload_type = c->payload_type();
      if (auto s = CodecCommonFromFbs(c, &codec); !s.ok()) return s;
      out.codecs.push_back(std::move(codec));
    }
  }
  if (const auto* encodings = params->encodings()) {
    if (encodings->size() > kMaxEncodings) return absl::InvalidArgumentError("too many encodings");
    for (const auto* e : *encodings) {
      out.encodings.push_back({e->ssrc(), e->rtx_ssrc(), Str(e->rid()), e->max_bitrate()});
    }
  }
  if (const auto* exts = params->header_extensions()) {
    if (exts->size() > kMaxHeaderExtensions) {
      return absl::InvalidArgumentError("too many header extensions");
    }
    for (const auto* h : *exts) out.header_extensions.push_back({h->uri()->str(), h->id()});
  }
  return out;
}

absl::StatusOr<rtp::RtpCapabilities> FromFbs(const fbs::RtpCapabilities* caps) {
  if (!caps) return absl::InvalidArgumentError("missing rtp capabilities");
  rtp::RtpCapabilities out;
  if (const auto* codecs = caps->codecs()) {
    if (codecs->size() > kMaxCodecs) return absl::InvalidArgumentError("too many codecs");
    for (const auto* c : *codecs) {
      rtp::RtpCodecCapability codec;
      codec.kind = FromFbs(c->kind());
      codec.preferred_payload_type = c->preferred_payload_type();
      if (auto s = CodecCommonFromFbs(c, &codec); !s.ok()) return s;
      out.codecs.push_back(std::move(codec));
    }
  }
  if (const auto* exts = caps->header_extensions()) {
    if (exts->size() > kMaxHeaderExtensions) {
      return absl::InvalidArgumentError("too many header extensions");
    }
    for (const auto* h : *exts) {
      out.header_extensions.push_back({FromFbs(h->kind()), h->uri()->str(), h->preferred_id()});
    }
  }
  return out;
}

}  // namespace sb::ipc
