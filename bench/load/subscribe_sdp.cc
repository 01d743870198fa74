#include "bench/load/subscribe_sdp.h"

#include <arpa/inet.h>

#include <algorithm>
#include <map>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace sb::bench {
namespace {

using signaling::sdp::Fingerprint;

absl::Status Bad(size_t line_no, absl::string_view what, absl::string_view line) {
  return absl::InvalidArgumentError(
      absl::StrCat("subscribe-offer line ", line_no, ": ", what, ": ", line.substr(0, 80)));
}

std::vector<absl::string_view> Fields(absl::string_view s) {
  return absl::StrSplit(s, ' ', absl::SkipEmpty());
}

// "<pt> <rest>" of rtpmap, fmtp and rtcp-fb; nullopt when the payload type is not a number
// ("*" in rtcp-fb means every format: -1).
std::optional<std::pair<int, absl::string_view>> PayloadTypeAndRest(absl::string_view value) {
  const size_t space = value.find(' ');
  absl::string_view pt = value.substr(0, space);
  absl::string_view rest = space == absl::string_view::npos ? "" : value.substr(space + 1);
  if (pt == "*") return std::make_pair(-1, rest);
  uint32_t n = 0;
  if (!absl::SimpleAtoi(pt, &n) || n > 127) {
    return std::nullopt;
  }
  return std::make_pair(static_cast<int>(n), rest);
}

// RFC 8839 5.1: foundation component transport priority address port "typ" type ...
std::optional<sockaddr_in> UdpCandidate(absl::string_view value) {
  std::vector<absl::string_view> f = Fields(value);
  if (f.size() < 8 || f[1] != "1" || (f[2] != "udp" && f[2] != "UDP")) return std::nullopt;
  uint32_t port = 0;
  if (!absl::SimpleAtoi(f[5], &port) || port == 0 || port > 65535) return std::nullopt;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, std::string(f[4]).c_str(), &addr.sin_addr) != 1) return std::nullopt;
  return addr;
}

// The transport attributes of one level (the session or one m-section).
struct TransportAttributes {
  std::string ice_ufrag, ice_pwd;
  std::vector<Fingerprint> fingerprints;
  bool complete() const { return !ice_ufrag.empty() && !ice_pwd.empty() && !fingerprints.empty(); }
};

// What applies to one m-section: each attribute from its own level, else from the session's
// (RFC 8839 5.4 for ice-ufrag and ice-pwd, RFC 8122 5 for fingerprint). Servers split them:
// Janus writes a=fingerprint only at session level and the ICE credentials only in each
// m-section.
TransportAttributes Resolve(TransportAttributes media, const TransportAttributes& session) {
  if (media.ice_ufrag.empty()) media.ice_ufrag = session.ice_ufrag;
  if (media.ice_pwd.empty()) media.ice_pwd = session.ice_pwd;
  if (media.fingerprints.empty()) media.fingerprints = session.fingerprints;
  return media;
}

// What a section's lines say before they are put together.
struct SectionBuilder {
  OfferedSection section;
  TransportAttributes transport;
  std::map<int, OfferedCodec> rtpmaps;
  std::vector<std::pair<int, std::string>> fmtps, feedback;
  bool has_msid = false;
};

OfferedSection Finish(SectionBuilder& b) {
  for (auto& [pt, fmtp] : b.fmtps) {
    if (auto it = b.rtpmaps.find(pt); it != b.rtpmaps.end()) it->second.fmtp = std::move(fmtp);
  }
  for (auto& [pt, fb] : b.feedback) {
    for (auto& [codec_pt, codec] : b.rtpmaps) {
      if (pt == -1 || pt == codec_pt) codec.feedback.push_back(fb);
    }
  }
  OfferedSection s = std::move(b.section);
  for (const std::string& format : s.formats) {
    uint32_t pt = 0;
    if (!absl::SimpleAtoi(format, &pt)) continue;
    if (auto it = b.rtpmaps.find(static_cast<int>(pt)); it != b.rtpmaps.end()) {
      s.codecs.push_back(it->second);
    }
  }
  return s;
}

}  // namespace

absl::StatusOr<SubscribeOffer> ParseSubscribeOffer(std::string_view sdp_text) {
  const absl::string_view sdp(sdp_text.data(), sdp_text.size());
  if (sdp.size() > kMaxSubscribeSdpBytes) {
    return absl::InvalidArgumentError(absl::StrCat("subscribe-offer of ", sdp.size(),
                                                   " bytes, more than ", kMaxSubscribeSdpBytes));
  }
  SubscribeOffer offer;
  TransportAttributes session;
  std::vector<SectionBuilder> sections;
  // The FID partner of each ssrc of the current section (ssrc-group may come before a=ssrc).
  std::map<uint32_t, uint32_t> fid;
  size_t line_no = 0;
  for (absl::string_view raw : absl::StrSplit(sdp, '\n')) {
    ++line_no;
    absl::string_view line = raw;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    if (line.size() < 2 || line[1] != '=') return Bad(line_no, "not <type>=<value>", line);
    const char type = line[0];
    const absl::string_view value = line.substr(2);
    if (type == 'm') {
      if (!sections.empty()) sections.back().section.rtx_ssrc = fid[sections.back().section.ssrc];
      fid.clear();
      if (sections.size() == kMaxSubscribeSections) {
        return Bad(line_no, absl::StrCat("more than ", kMaxSubscribeSections, " m-lines"), line);
      }
      std::vector<absl::string_view> f = Fields(value);
      uint32_t port = 0;
      if (f.size() < 3 || !absl::SimpleAtoi(f[1].substr(0, f[1].find('/')), &port) ||
          port > 65535) {
        return Bad(line_no, "bad m= line", line);
      }
      SectionBuilder b;
      b.section.media = std::string(f[0]);
      b.section.port = static_cast<uint16_t>(port);
      b.section.proto = std::string(f[2]);
      for (size_t i = 3; i < f.size(); ++i) b.section.formats.emplace_back(f[i]);
      sections.push_back(std::move(b));
      continue;
    }
    if (type != 'a') continue;
    const size_t colon = value.find(':');
    const absl::string_view name = value.substr(0, colon);
    const absl::string_view arg = colon == absl::string_view::npos ? "" : value.substr(colon + 1);
    TransportAttributes& transport = sections.empty() ? session : sections.back().transport;
    if (name == "ice-ufrag") {
      transport.ice_ufrag = std::string(arg);
    } else if (name == "ice-pwd") {
      transport.ice_pwd = std::string(arg);
    } else if (name == "fingerprint") {
      std::vector<absl::string_view> f = Fields(arg);
      if (f.size() != 2) return Bad(line_no, "bad fingerprint", line);
      transport.fingerprints.push_back({std::string(f[0]), std::string(f[1])});
    } else if (name == "group") {
      std::vector<absl::string_view> f = Fields(arg);
      if (!f.empty() && f[0] == "BUNDLE" && offer.bundle_mids.empty()) {
        for (size_t i = 1; i < f.size(); ++i) offer.bundle_mids.emplace_back(f[i]);
      }
    } else if (name == "candidate") {
      if (!offer.candidate) offer.candidate = UdpCandidate(arg);
    } else if (sections.empty()) {
      continue;  // other session-level attributes (ice-lite, msid-semantic) need nothing
    } else if (name == "mid") {
      sections.back().section.mid = std::string(arg);
    } else if (name == "sendrecv" || name == "sendonly" || name == "recvonly" ||
               name == "inactive") {
      sections.back().section.direction = std::string(name);
    } else if (name == "bundle-only") {
      sections.back().section.bundle_only = true;
    } else if (name == "rtcp-rsize") {
      sections.back().section.rtcp_rsize = true;
    } else if (name == "extmap") {
      sections.back().section.extmaps.emplace_back(arg);
    } else if (name == "rtpmap") {
      // <pt> <name>/<clock rate>[/<channels>]
      auto pt = PayloadTypeAndRest(arg);
      std::vector<absl::string_view> enc =
          pt ? absl::StrSplit(pt->second, '/') : std::vector<absl::string_view>{};
      OfferedCodec codec;
      if (!pt || pt->first < 0 || enc.size() < 2 || enc[0].empty() ||
          !absl::SimpleAtoi(enc[1], &codec.clock_rate) ||
          (enc.size() > 2 && !absl::SimpleAtoi(enc[2], &codec.channels))) {
        return Bad(line_no, "bad rtpmap", line);
      }
      codec.payload_type = static_cast<uint8_t>(pt->first);
      codec.name = std::string(enc[0]);
      sections.back().rtpmaps[pt->first] = std::move(codec);
    } else if (name == "fmtp" || name == "rtcp-fb") {
      auto pt = PayloadTypeAndRest(arg);
      if (!pt || (name == "fmtp" && pt->first < 0)) return Bad(line_no, "bad payload type", line);
      (name == "fmtp" ? sections.back().fmtps : sections.back().feedback)
          .emplace_back(pt->first, std::string(pt->second));
    } else if (name == "msid") {
      std::vector<absl::string_view> f = Fields(arg);
      if (f.empty()) continue;
      OfferedSection& s = sections.back().section;
      s.msid_stream = std::string(f[0]);
      s.msid_track = f.size() > 1 ? std::string(f[1]) : "";
      sections.back().has_msid = true;
    } else if (name == "ssrc-group") {
      std::vector<absl::string_view> f = Fields(arg);
      uint32_t media = 0, rtx = 0;
      if (f.size() == 3 && f[0] == "FID" && absl::SimpleAtoi(f[1], &media) &&
          absl::SimpleAtoi(f[2], &rtx)) {
        fid[media] = rtx;
      }
    } else if (name == "ssrc") {
      // <ssrc> <attribute>[:<value>] (RFC 5576 4.1)
      const size_t space = arg.find(' ');
      uint32_t ssrc = 0;
      if (space == absl::string_view::npos || !absl::SimpleAtoi(arg.substr(0, space), &ssrc) ||
          ssrc == 0) {
        return Bad(line_no, "bad ssrc", line);
      }
      OfferedSection& s = sections.back().section;
      if (s.ssrc == 0) s.ssrc = ssrc;
      absl::string_view attribute = arg.substr(space + 1);
      if (ssrc == s.ssrc && !sections.back().has_msid && absl::ConsumePrefix(&attribute, "msid:")) {
        std::vector<absl::string_view> f = Fields(attribute);
        if (!f.empty()) s.msid_stream = std::string(f[0]);
        if (f.size() > 1) s.msid_track = std::string(f[1]);
      }
    }
  }
  if (!sections.empty()) sections.back().section.rtx_ssrc = fid[sections.back().section.ssrc];

  const TransportAttributes* chosen = nullptr;
  const TransportAttributes* any = nullptr;
  bool any_accepted = false;
  for (SectionBuilder& b : sections) {
    if (b.section.mid.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("subscribe-offer: m-line ", offer.sections.size(), " has no a=mid"));
    }
    b.transport = Resolve(std::move(b.transport), session);
    OfferedSection s = Finish(b);
    any_accepted = any_accepted || s.accepted();
    if (!chosen && s.accepted() && b.transport.complete()) chosen = &b.transport;
    if (!any && b.transport.complete()) any = &b.transport;
    offer.sections.push_back(std::move(s));
  }
  if (!chosen) {
    // An m-line to receive on but nobody to connect to: say so, rather than answer and never
    // start ICE (the subscriber would wait for media that cannot come).
    if (any_accepted) {
      return absl::InvalidArgumentError(
          "subscribe-offer: no ice-ufrag, ice-pwd and fingerprint for its m-lines, neither in "
          "them nor at session level");
    }
    chosen = session.complete() ? &session : any;
  }
  if (chosen) {
    offer.ice_ufrag = chosen->ice_ufrag;
    offer.ice_pwd = chosen->ice_pwd;
    offer.fingerprints = chosen->fingerprints;
  }
  return offer;
}

std::string BuildSubscribeAnswer(const SubscribeOffer& offer, const ClientTransport& transport,
                                 uint64_t session_id, uint64_t session_version) {
  // The BUNDLE group: the accepted mids in the offer's group order, then any accepted mid the
  // group left out (in m-line order).
  std::vector<std::string> bundle;
  auto accepted_mid = [&](const std::string& mid) {
    return std::any_of(offer.sections.begin(), offer.sections.end(),
                       [&](const OfferedSection& s) { return s.mid == mid && s.accepted(); });
  };
  for (const std::string& mid : offer.bundle_mids) {
    if (accepted_mid(mid) && std::find(bundle.begin(), bundle.end(), mid) == bundle.end()) {
      bundle.push_back(mid);
    }
  }
  for (const OfferedSection& s : offer.sections) {
    if (s.accepted() && std::find(bundle.begin(), bundle.end(), s.mid) == bundle.end()) {
      bundle.push_back(s.mid);
    }
  }
  std::string out;
  out.reserve(256 + offer.sections.size() * 900);
  auto line = [&out](auto&&... parts) {
    absl::StrAppend(&out, parts...);
    out += "\r\n";
  };
  auto add_transport = [&] {
    line("a=ice-ufrag:", transport.ice_ufrag);
    line("a=ice-pwd:", transport.ice_pwd);
    for (const auto& fp : transport.fingerprints) {
      line("a=fingerprint:", fp.algorithm, " ", fp.value);
    }
  };
  line("v=0");
  line("o=- ", session_id, " ", session_version, " IN IP4 127.0.0.1");
  line("s=-");
  line("t=0 0");
  if (!bundle.empty()) line("a=group:BUNDLE ", absl::StrJoin(bundle, " "));
  line("a=extmap-allow-mixed");
  line("a=msid-semantic: WMS *");
  if (bundle.empty()) add_transport();
  for (const OfferedSection& s : offer.sections) {
    if (!s.accepted()) {
      // RFC 3264 6, RFC 8843 7.3.3: a rejected m-line is answered with port 0 and its mid.
      line("m=", s.media, " 0 ", s.proto, " ",
           s.formats.empty() ? std::string("0") : absl::StrJoin(s.formats, " "));
      line("c=IN IP4 0.0.0.0");
      line("a=mid:", s.mid);
      if (s.media != "application") line("a=inactive");
      continue;
    }
    std::vector<std::string> formats;
    for (const OfferedCodec& c : s.codecs) formats.push_back(absl::StrCat(c.payload_type));
    // JSEP 5.2.1 / 5.3.1: port 9 and 0.0.0.0 (we do not trickle: the server is ICE-lite).
    line("m=", s.media, " 9 ", s.proto, " ", absl::StrJoin(formats, " "));
    line("c=IN IP4 0.0.0.0");
    line("a=rtcp:9 IN IP4 0.0.0.0");
    add_transport();
    line("a=ice-options:trickle");
    line("a=setup:active");
    line("a=mid:", s.mid);
    for (const std::string& e : s.extmaps) line("a=extmap:", e);
    line(s.sending() ? "a=recvonly" : "a=inactive");
    line("a=rtcp-mux");
    if (s.rtcp_rsize) line("a=rtcp-rsize");
    for (const OfferedCodec& c : s.codecs) {
      if (c.channels > 1) {
        line("a=rtpmap:", c.payload_type, " ", c.name, "/", c.clock_rate, "/", c.channels);
      } else {
        line("a=rtpmap:", c.payload_type, " ", c.name, "/", c.clock_rate);
      }
      for (const std::string& fb : c.feedback) line("a=rtcp-fb:", c.payload_type, " ", fb);
      if (!c.fmtp.empty()) line("a=fmtp:", c.payload_type, " ", c.fmtp);
    }
  }
  return out;
}

}  // namespace sb::bench
