// RTCP compound packets (RFC 3550 6, RFC 4585, RFC 5104, RFC 3611) and the plain part of
// SRTCP (RFC 3711 3.4).
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "rtp/byte_io.h"
#include "rtp/rtcp/app.h"
#include "rtp/rtcp/bye.h"
#include "rtp/rtcp/fir.h"
#include "rtp/rtcp/nack.h"
#include "rtp/rtcp/pli.h"
#include "rtp/rtcp/receiver_report.h"
#include "rtp/rtcp/remb.h"
#include "rtp/rtcp/rtcp_packet.h"
#include "rtp/rtcp/sdes.h"
#include "rtp/rtcp/sender_report.h"
#include "rtp/rtcp/sli.h"
#include "rtp/rtcp/tmmb.h"
#include "rtp/rtcp/transport_feedback.h"
#include "rtp/rtcp/xr.h"
#include "tools/rtpdump/decoders.h"

namespace sb::rtpdump {
namespace {

using rtp::ReadU32;

// SRTCP trailer (RFC 3711 3.4): E flag + 31-bit index, then the MKI (not used by DTLS-SRTP)
// and the authentication tag. With AEAD (RFC 7714 9.2) the tag is inside the ciphertext and
// the index is last; HMAC-SHA1 profiles put a 10- or 4-byte tag after it.
constexpr size_t kSrtcpTagSizes[] = {0, 10, 4};
constexpr size_t kSrtcpIndexSize = 4;
// A real index counts packets from a small start; a random word passes this 1 time in 2^12.
constexpr uint32_t kMaxPlausibleSrtcpIndex = 1u << 20;

std::string_view TypeName(uint8_t pt, uint8_t fmt) {
  switch (pt) {
    case rtp::kRtcpSr:
      return "SR";
    case rtp::kRtcpRr:
      return "RR";
    case rtp::kRtcpSdes:
      return "SDES";
    case rtp::kRtcpBye:
      return "BYE";
    case rtp::kRtcpApp:
      return "APP";
    case rtp::kRtcpXr:
      return "XR";
    case rtp::kRtcpRtpfb:
      switch (fmt) {
        case rtp::kRtpfbNack:
          return "NACK";
        case rtp::kRtpfbTmmbr:
          return "TMMBR";
        case rtp::kRtpfbTmmbn:
          return "TMMBN";
        case rtp::kRtpfbTwcc:
          return "transport-cc";
        default:
          return "RTPFB";
      }
    case rtp::kRtcpPsfb:
      switch (fmt) {
        case rtp::kPsfbPli:
          return "PLI";
        case rtp::kPsfbSli:
          return "SLI";
        case rtp::kPsfbFir:
          return "FIR";
        case rtp::kPsfbAfb:
          return "AFB";
        default:
          return "PSFB";
      }
    default:
      return "";
  }
}

Json ReportBlocks(const std::vector<rtp::ReportBlock>& blocks) {
  Json out = Json::array();
  for (const rtp::ReportBlock& b : blocks) {
    out.push_back({{"ssrc", b.ssrc},
                   {"fraction_lost", b.fraction_lost},
                   {"cumulative_lost", b.cumulative_lost},
                   {"ext_highest_seq", b.ext_highest_seq},
                   {"jitter", b.jitter},
                   {"lsr", b.lsr},
                   {"dlsr", b.dlsr}});
  }
  return out;
}

Json TmmbItems(const std::vector<rtp::TmmbItem>& items) {
  Json out = Json::array();
  for (const rtp::TmmbItem& i : items) {
    out.push_back({{"ssrc", i.ssrc}, {"bitrate_bps", i.bitrate_bps}, {"overhead", i.overhead}});
  }
  return out;
}

absl::Status Malformed(std::string_view name) {
  return absl::InvalidArgumentError("rtcp: malformed " + std::string(name));
}

// The fields of one sub-packet; InvalidArgument when its type's parser rejects it.
absl::Status AddFields(const rtp::RtcpHeader& h, Json& j) {
  std::string_view name = TypeName(h.packet_type, h.count_or_fmt);
  switch (h.packet_type) {
    case rtp::kRtcpSr: {
      auto sr = rtp::SenderReport::Parse(h.packet);
      if (!sr) return Malformed(name);
      j["sender_ssrc"] = sr->sender_ssrc;
      j["ntp_seconds"] = sr->ntp_seconds;
      j["ntp_fraction"] = sr->ntp_fraction;
      j["rtp_timestamp"] = sr->rtp_timestamp;
      j["packet_count"] = sr->packet_count;
      j["octet_count"] = sr->octet_count;
      j["report_blocks"] = ReportBlocks(sr->report_blocks);
      return absl::OkStatus();
    }
    case rtp::kRtcpRr: {
      auto rr = rtp::ReceiverReport::Parse(h.packet);
      if (!rr) return Malformed(name);
      j["sender_ssrc"] = rr->sender_ssrc;
      j["report_blocks"] = ReportBlocks(rr->report_blocks);
      return absl::OkStatus();
    }
    case rtp::kRtcpSdes: {
      auto sdes = rtp::Sdes::Parse(h.packet);
      if (!sdes) return Malformed(name);
      static constexpr std::string_view kItemNames[] = {"",    "cname", "name", "email", "phone",
                                                        "loc", "tool",  "note", "priv"};
      Json chunks = Json::array();
      for (const rtp::SdesChunk& c : sdes->chunks) {
        Json chunk = {{"ssrc", c.ssrc}};
        auto text = [](const std::string& s) {
          return BytesAsText({reinterpret_cast<const uint8_t*>(s.data()), s.size()});
        };
        if (!c.cname.empty()) chunk["cname"] = text(c.cname);
        for (const rtp::SdesItem& item : c.other_items) {
          std::string key = item.type < std::size(kItemNames) && item.type > 0
                                ? std::string(kItemNames[item.type])
                                : "item_" + std::to_string(item.type);
          chunk[key] = text(item.value);
        }
        chunks.push_back(std::move(chunk));
      }
      j["chunks"] = std::move(chunks);
      return absl::OkStatus();
    }
    case rtp::kRtcpBye: {
      auto bye = rtp::Bye::Parse(h.packet);
      if (!bye) return Malformed(name);
      j["ssrcs"] = bye->ssrcs;
      if (!bye->reason.empty()) {
        j["reason"] =
            BytesAsText({reinterpret_cast<const uint8_t*>(bye->reason.data()), bye->reason.size()});
      }
      return absl::OkStatus();
    }
    case rtp::kRtcpApp: {
      auto app = rtp::App::Parse(h.packet);
      if (!app) return Malformed(name);
      j["subtype"] = app->subtype;
      j["ssrc"] = app->ssrc;
      j["name"] =
          BytesAsText({reinterpret_cast<const uint8_t*>(app->name.data()), app->name.size()});
      j["data"] = ToHex(app->data);
      return absl::OkStatus();
    }
    case rtp::kRtcpXr: {
      auto xr = rtp::Xr::Parse(h.packet);
      if (!xr) return Malformed(name);
      j["sender_ssrc"] = xr->sender_ssrc;
      Json rrtrs = Json::array();
      for (const rtp::XrRrtr& r : xr->rrtrs) rrtrs.push_back({{"ntp_timestamp", r.ntp_timestamp}});
      Json dlrrs = Json::array();
      for (const rtp::XrDlrr& d : xr->dlrrs) {
        for (const rtp::XrDlrrItem& i : d.items) {
          dlrrs.push_back({{"ssrc", i.ssrc},
                           {"last_rr", i.last_rr},
                           {"delay_since_last_rr", i.delay_since_last_rr}});
        }
      }
      j["rrtr"] = std::move(rrtrs);
      j["dlrr"] = std::move(dlrrs);
      if (xr->skipped_blocks > 0) j["other_blocks"] = xr->skipped_blocks;
      return absl::OkStatus();
    }
    case rtp::kRtcpRtpfb:
    case rtp::kRtcpPsfb:
      break;
    default:
      // RFC 3550 6.1: an unknown type is skipped; show its bytes.
      j["body"] = ToHex(h.body);
      return absl::OkStatus();
  }
  // Feedback messages (RFC 4585 6.1): sender and media ssrc, then the FCI.
  if (h.body.size() < 8) return Malformed(name);
  j["sender_ssrc"] = ReadU32(h.body.data());
  j["media_ssrc"] = ReadU32(h.body.data() + 4);
  const uint8_t fmt = h.count_or_fmt;
  if (h.packet_type == rtp::kRtcpRtpfb) {
    if (fmt == rtp::kRtpfbNack) {
      auto nack = rtp::Nack::Parse(h.packet);
      if (!nack) return Malformed(name);
      j["seqs"] = nack->SequenceNumbers();
    } else if (fmt == rtp::kRtpfbTmmbr) {
      auto t = rtp::Tmmbr::Parse(h.packet);
      if (!t) return Malformed(name);
      j["items"] = TmmbItems(t->items);
    } else if (fmt == rtp::kRtpfbTmmbn) {
      auto t = rtp::Tmmbn::Parse(h.packet);
      if (!t) return Malformed(name);
      j["items"] = TmmbItems(t->items);
    } else if (fmt == rtp::kRtpfbTwcc) {
      auto fb = rtp::TransportFeedback::Parse(h.packet);
      if (!fb) return Malformed(name);
      size_t received = 0;
      for (const rtp::TwccPacketStatus& s : fb->packets) received += s.received ? 1 : 0;
      j["base_seq"] = fb->base_sequence_number;
      j["status_count"] = fb->packets.size();
      j["received"] = received;
      j["lost"] = fb->packets.size() - received;
      j["reference_time_ms"] = int64_t{fb->reference_time} * 64;
      j["feedback_packet_count"] = fb->feedback_packet_count;
    } else {
      j["fmt"] = fmt;
      j["fci"] = ToHex(h.body.subspan(8));
    }
    return absl::OkStatus();
  }
  if (fmt == rtp::kPsfbPli) {
    if (!rtp::Pli::Parse(h.packet)) return Malformed(name);
  } else if (fmt == rtp::kPsfbSli) {
    auto sli = rtp::Sli::Parse(h.packet);
    if (!sli) return Malformed(name);
    Json items = Json::array();
    for (const rtp::SliItem& i : sli->items) {
      items.push_back({{"first", i.first}, {"number", i.number}, {"picture_id", i.picture_id}});
    }
    j["items"] = std::move(items);
  } else if (fmt == rtp::kPsfbFir) {
    auto fir = rtp::Fir::Parse(h.packet);
    if (!fir) return Malformed(name);
    Json entries = Json::array();
    for (const rtp::FirEntry& e : fir->entries) {
      entries.push_back({{"ssrc", e.ssrc}, {"seq_nr", e.seq_nr}});
    }
    j["entries"] = std::move(entries);
  } else if (fmt == rtp::kPsfbAfb) {
    if (auto remb = rtp::Remb::Parse(h.packet)) {
      j["type"] = "REMB";
      j["bitrate_bps"] = remb->bitrate_bps;
      j["ssrcs"] = remb->ssrcs;
    } else {
      j["fci"] = ToHex(h.body.subspan(8));  // another application layer feedback
    }
  } else {
    j["fmt"] = fmt;
    j["fci"] = ToHex(h.body.subspan(8));
  }
  return absl::OkStatus();
}

Json CommonFields(const rtp::RtcpHeader& h) {
  Json j = Json::object();
  std::string_view name = TypeName(h.packet_type, h.count_or_fmt);
  j["type"] = name.empty() ? Json(h.packet_type) : Json(name);
  j["pt"] = h.packet_type;
  j["count_or_fmt"] = h.count_or_fmt;
  j["length"] = h.packet.size();
  if (h.padding_length > 0) j["padding_length"] = h.padding_length;
  return j;
}

// The compound, if every sub-packet frames and parses.
absl::StatusOr<Json> PlainCompound(absl::Span<const uint8_t> payload) {
  Json packets = Json::array();
  absl::Status field_status = absl::OkStatus();
  absl::Status framing = rtp::ForEachRtcpPacket(payload, [&](const rtp::RtcpHeader& h) {
    if (!field_status.ok()) return;
    Json j = CommonFields(h);
    field_status = AddFields(h, j);
    packets.push_back(std::move(j));
  });
  if (!framing.ok()) return framing;
  if (!field_status.ok()) return field_status;
  return packets;
}

// SRTCP: the first 8 bytes (header and sender ssrc) are plain; the trailer's E flag says the
// rest is encrypted. nullopt when no trailer position looks like one.
std::optional<Json> EncryptedCompound(absl::Span<const uint8_t> payload) {
  if (payload.size() < 8 + kSrtcpIndexSize) return std::nullopt;
  for (size_t tag : kSrtcpTagSizes) {
    if (payload.size() < 8 + kSrtcpIndexSize + tag) continue;
    uint32_t word = ReadU32(payload.data() + payload.size() - tag - kSrtcpIndexSize);
    uint32_t index = word & 0x7FFFFFFF;
    if ((word & 0x80000000u) == 0 || index >= kMaxPlausibleSrtcpIndex) continue;
    const uint8_t* p = payload.data();
    uint8_t pt = p[1];
    uint8_t count = p[0] & 0x1F;
    std::string_view name = TypeName(pt, count);
    Json first = {{"type", name.empty() ? Json(pt) : Json(name)},
                  {"pt", pt},
                  {"count_or_fmt", count},
                  {"length", (size_t{rtp::ReadU16(p + 2)} + 1) * 4},
                  {"ssrc", ReadU32(p + 4)}};
    return Json{{"encrypted", true},
                {"srtcp_index", index},
                {"auth_tag_length", tag},
                {"packets", Json::array({std::move(first)})}};
  }
  return std::nullopt;
}

}  // namespace

absl::StatusOr<Json> DecodeRtcp(absl::Span<const uint8_t> payload) {
  absl::StatusOr<Json> plain = PlainCompound(payload);
  if (plain.ok()) return Json{{"packets", std::move(*plain)}};
  if (std::optional<Json> encrypted = EncryptedCompound(payload)) return std::move(*encrypted);
  return plain.status();
}

}  // namespace sb::rtpdump
