// RTP (RFC 3550 5.1) with RFC 8285 header extensions and, for plain payloads of a mapped
// payload type, the codec's payload descriptor.
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "rtp/byte_io.h"
#include "rtp/codecs/av1.h"
#include "rtp/codecs/h264.h"
#include "rtp/codecs/opus.h"
#include "rtp/codecs/vp8.h"
#include "rtp/codecs/vp9.h"
#include "rtp/header_extensions.h"
#include "rtp/rtp_packet.h"
#include "tools/rtpdump/decoders.h"

namespace sb::rtpdump {
namespace {

Json SdesText(std::optional<std::string_view> s) {
  if (!s) return nullptr;
  return BytesAsText({reinterpret_cast<const uint8_t*>(s->data()), s->size()});
}

// The decoded value of a mapped extension, or null when its bytes do not parse.
Json ExtensionValue(ExtKind kind, absl::Span<const uint8_t> v, uint32_t ssrc,
                    absl::flat_hash_map<uint32_t, rtp::DependencyDescriptorReader>& dd_readers) {
  switch (kind) {
    case ExtKind::kMid:
      return SdesText(rtp::ParseMid(v));
    case ExtKind::kRid:
      return SdesText(rtp::ParseRid(v));
    case ExtKind::kRepairedRid:
      return SdesText(rtp::ParseRepairedRid(v));
    case ExtKind::kAbsSendTime:
      if (auto t = rtp::ParseAbsSendTime(v)) {
        return Json{{"raw", *t}, {"us", rtp::AbsSendTimeToUs(*t)}};
      }
      return nullptr;
    case ExtKind::kTransportCc:
      if (auto seq = rtp::ParseTransportSequenceNumber(v)) return *seq;
      return nullptr;
    case ExtKind::kAudioLevel:
      if (auto a = rtp::ParseAudioLevel(v)) {
        return Json{{"voice_activity", a->voice_activity}, {"level_dbov", -int{a->level}}};
      }
      return nullptr;
    case ExtKind::kVideoOrientation:
      if (auto o = rtp::ParseVideoOrientation(v)) {
        return Json{
            {"rotation", o->RotationDegrees()}, {"flip", o->flip}, {"back_camera", o->back_camera}};
      }
      return nullptr;
    case ExtKind::kToffset:
      if (auto t = rtp::ParseToffset(v)) return *t;
      return nullptr;
    case ExtKind::kPlayoutDelay:
      if (auto d = rtp::ParsePlayoutDelay(v)) {
        return Json{{"min_ms", 10 * d->min_10ms}, {"max_ms", 10 * d->max_10ms}};
      }
      return nullptr;
    case ExtKind::kAbsCaptureTime:
      if (auto t = rtp::ParseAbsCaptureTime(v)) {
        Json j = {{"ntp_timestamp", t->absolute_capture_timestamp}};
        if (t->estimated_capture_clock_offset) {
          j["clock_offset"] = *t->estimated_capture_clock_offset;
        }
        return j;
      }
      return nullptr;
    case ExtKind::kDependencyDescriptor: {
      auto dd = dd_readers[ssrc].Parse(v);
      Json j = Json::object();
      if (!dd) {
        // Without the structure (sent on key frames) only the mandatory fields can be read.
        dd = rtp::DependencyDescriptor::ParseMandatory(v);
        if (!dd) return nullptr;
        j["structure_known"] = false;
      }
      j["start_of_frame"] = dd->start_of_frame;
      j["end_of_frame"] = dd->end_of_frame;
      j["template_id"] = dd->template_id;
      j["frame_number"] = dd->frame_number;
      if (!j.contains("structure_known")) {
        j["spatial_id"] = dd->spatial_id;
        j["temporal_id"] = dd->temporal_id;
      }
      if (dd->attached_structure) {
        j["structure"] = {{"decode_targets", dd->attached_structure->decode_target_count},
                          {"chains", dd->attached_structure->chain_count},
                          {"templates", dd->attached_structure->templates.size()}};
      }
      if (dd->active_decode_targets_bitmask) {
        j["active_decode_targets"] = *dd->active_decode_targets_bitmask;
      }
      return j;
    }
    case ExtKind::kUnknown:
      return nullptr;
  }
  return nullptr;
}

std::string_view H264NalName(uint8_t type) {
  switch (type) {  // RFC 6184 5.2, H.264 table 7-1
    case 1:
      return "slice";
    case 5:
      return "IDR";
    case 6:
      return "SEI";
    case 7:
      return "SPS";
    case 8:
      return "PPS";
    case 9:
      return "AUD";
    case 24:
      return "STAP-A";
    case 28:
      return "FU-A";
    default:
      return "";
  }
}

absl::StatusOr<Json> H264Json(absl::Span<const uint8_t> p) {
  Json j = Json::object();
  uint8_t type = p[0] & 0x1F;
  j["packetization"] = type == rtp::kH264StapA ? "STAP-A"
                       : type == rtp::kH264FuA ? "FU-A"
                                               : "single NAL unit";
  Json nal_types = Json::array();
  if (type == rtp::kH264StapA) {  // RFC 6184 5.7.1: 16-bit size, then the NAL unit
    for (size_t pos = 1; pos < p.size();) {
      if (p.size() - pos < 2) return absl::InvalidArgumentError("truncated STAP-A size");
      size_t size = rtp::ReadU16(p.data() + pos);
      pos += 2;
      if (size == 0 || size > p.size() - pos) {
        return absl::InvalidArgumentError("STAP-A unit past the payload");
      }
      nal_types.push_back(p[pos] & 0x1F);
      pos += size;
    }
  } else if (type == rtp::kH264FuA) {  // RFC 6184 5.8: FU header S, E, R, type
    if (p.size() < 2) return absl::InvalidArgumentError("truncated FU-A header");
    j["fu_start"] = (p[1] & 0x80) != 0;
    j["fu_end"] = (p[1] & 0x40) != 0;
    nal_types.push_back(p[1] & 0x1F);
  } else {
    nal_types.push_back(type);
  }
  Json names = Json::array();
  for (const Json& t : nal_types) {
    std::string_view n = H264NalName(t.get<uint8_t>());
    names.push_back(n.empty() ? Json(t) : Json(n));
  }
  j["nal_types"] = std::move(nal_types);
  j["nal_names"] = std::move(names);
  j["key_frame"] = rtp::H264IsKeyFrame(p);
  return j;
}

absl::StatusOr<Json> DescriptorJson(Codec codec, absl::Span<const uint8_t> p) {
  switch (codec) {
    case Codec::kVp8: {
      auto d = rtp::Vp8Descriptor::Parse(p);
      if (!d) return absl::InvalidArgumentError("malformed VP8 descriptor");
      Json j = {{"start_of_partition", d->start_of_partition},
                {"partition_id", d->partition_id},
                {"non_reference", d->non_reference}};
      if (d->has_picture_id) j["picture_id"] = d->picture_id;
      if (d->has_tl0_pic_idx) j["tl0_pic_idx"] = d->tl0_pic_idx;
      if (d->has_tid) {
        j["tid"] = d->tid;
        j["layer_sync"] = d->layer_sync;
      }
      if (d->has_key_idx) j["key_idx"] = d->key_idx;
      j["size"] = d->size;
      j["key_frame"] = rtp::Vp8IsKeyFrame(p);
      return j;
    }
    case Codec::kVp9: {
      auto d = rtp::Vp9Descriptor::Parse(p);
      if (!d) return absl::InvalidArgumentError("malformed VP9 descriptor");
      Json j = {{"flexible_mode", d->flexible_mode},
                {"start_of_frame", d->start_of_frame},
                {"end_of_frame", d->end_of_frame},
                {"inter_picture_predicted", d->inter_picture_predicted}};
      if (d->has_picture_id) j["picture_id"] = d->picture_id;
      if (d->has_layer_indices) {
        j["spatial_id"] = d->spatial_id;
        j["temporal_id"] = d->temporal_id;
        j["switching_up_point"] = d->switching_up_point;
        j["inter_layer_dependency"] = d->inter_layer_dependency;
      }
      if (d->has_tl0_pic_idx) j["tl0_pic_idx"] = d->tl0_pic_idx;
      if (d->num_p_diffs > 0) {
        j["p_diffs"] =
            std::vector<uint8_t>(d->p_diffs.begin(), d->p_diffs.begin() + d->num_p_diffs);
      }
      if (d->ss) {
        Json ss = {{"spatial_layers", d->ss->num_spatial_layers}};
        if (d->ss->has_resolutions) {
          Json res = Json::array();
          for (size_t i = 0; i < d->ss->num_spatial_layers; ++i) {
            res.push_back(std::to_string(d->ss->widths[i]) + "x" +
                          std::to_string(d->ss->heights[i]));
          }
          ss["resolutions"] = std::move(res);
        }
        if (d->ss->has_picture_group) ss["picture_group_size"] = d->ss->picture_group.size();
        j["scalability_structure"] = std::move(ss);
      }
      j["size"] = d->size;
      j["key_frame"] = d->IsKeyFrame();
      return j;
    }
    case Codec::kH264:
      return H264Json(p);
    case Codec::kAv1: {
      auto d = rtp::Av1Descriptor::Parse(p);
      if (!d) return absl::InvalidArgumentError("malformed AV1 aggregation header");
      Json j = {{"continuation", d->continuation},
                {"will_continue", d->will_continue},
                {"obu_count_field", d->obu_count},
                {"new_coded_video_sequence", d->new_coded_video_sequence},
                {"elements", d->element_count}};
      if (d->first_obu_type) j["first_obu_type"] = *d->first_obu_type;
      j["key_frame"] = d->IsKeyFrame();
      return j;
    }
    case Codec::kOpus: {
      auto toc = rtp::OpusToc::Parse(p);
      if (!toc) return absl::InvalidArgumentError("empty Opus payload");
      static constexpr std::string_view kModes[] = {"SILK", "hybrid", "CELT"};
      Json j = {{"config", toc->config},
                {"mode", kModes[static_cast<size_t>(toc->mode())]},
                {"stereo", toc->stereo},
                {"frame_duration_us", toc->FrameDurationUs()}};
      if (auto frames = rtp::OpusFrameCount(p)) j["frames"] = *frames;
      j["dtx"] = rtp::OpusIsDtx(p);
      return j;
    }
  }
  return absl::InvalidArgumentError("unknown codec");
}

}  // namespace

absl::StatusOr<Json> DecodeRtp(
    absl::Span<const uint8_t> payload, const Options& options,
    absl::flat_hash_map<uint32_t, rtp::DependencyDescriptorReader>& dd_readers) {
  if (payload.size() < rtp::kRtpFixedHeaderSize) {
    return absl::InvalidArgumentError("rtp: shorter than the 12-byte header");
  }
  std::vector<uint8_t> copy(payload.begin(), payload.end());
  const bool padding_bit = (copy[0] & 0x20) != 0;
  // In SRTP the padding count (the last byte) is encrypted or belongs to the auth tag: ignore
  // it unless the payload is declared plain.
  if (!options.plain) copy[0] &= ~0x20;
  std::optional<rtp::RtpPacket> packet = rtp::RtpPacket::Parse(copy.data(), copy.size());
  if (!packet) {
    return absl::InvalidArgumentError(
        (copy[0] >> 6) != 2 ? "rtp: version is not 2"
                            : "rtp: malformed header (CSRC list, extension block or padding)");
  }
  Json j = Json::object();
  j["version"] = 2;
  j["padding"] = padding_bit;
  j["extension"] = packet->has_extension();
  j["marker"] = packet->marker();
  j["pt"] = packet->payload_type();
  j["seq"] = packet->sequence_number();
  j["ts"] = packet->timestamp();
  j["ssrc"] = packet->ssrc();
  Json csrcs = Json::array();
  for (size_t i = 0; i < packet->csrc_count(); ++i) csrcs.push_back(packet->csrc(i));
  j["csrcs"] = std::move(csrcs);
  if (packet->has_extension()) {
    uint8_t profile[2];
    rtp::WriteU16(profile, packet->extension_profile());
    j["extension_profile"] = "0x" + ToHex(profile);
    Json extensions = Json::array();
    packet->ForEachExtension([&](uint8_t id, absl::Span<const uint8_t> value) {
      Json e = {{"id", id}, {"hex", ToHex(value)}};
      auto it = options.extensions.find(id);
      if (it != options.extensions.end()) {
        e["uri"] = it->second.uri;
        if (it->second.kind != ExtKind::kUnknown) {
          e["name"] = ExtKindName(it->second.kind);
          Json decoded = ExtensionValue(it->second.kind, value, packet->ssrc(), dd_readers);
          if (decoded.is_null()) {
            e["value_error"] = "does not parse as " + std::string(ExtKindName(it->second.kind));
          } else {
            e["value"] = std::move(decoded);
          }
        }
      }
      extensions.push_back(std::move(e));
    });
    j["extensions"] = std::move(extensions);
  }
  absl::Span<const uint8_t> body = packet->payload();
  j["payload_length"] = body.size();
  if (options.plain && packet->has_padding()) j["padding_length"] = packet->padding_length();
  auto codec = options.payload_types.find(packet->payload_type());
  if (codec != options.payload_types.end()) {
    j["codec"] = CodecName(codec->second);
    // An SRTP payload is ciphertext: a descriptor read from it would be noise.
    if (options.plain && !body.empty()) {
      absl::StatusOr<Json> descriptor = DescriptorJson(codec->second, body);
      if (descriptor.ok()) {
        j["descriptor"] = std::move(*descriptor);
      } else {
        j["descriptor_error"] = std::string(descriptor.status().message());
      }
    }
  }
  return j;
}

}  // namespace sb::rtpdump
