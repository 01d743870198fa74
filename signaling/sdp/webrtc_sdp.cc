// Parsing of a peer's WebRTC SDP into RemoteDescription. The builders are in
// webrtc_sdp_builder.cc.
#include "signaling/sdp/webrtc_sdp.h"

#include <algorithm>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "signaling/sdp/sdp_session.h"

namespace sb::signaling::sdp {
namespace {

constexpr absl::string_view kRtpProto = "UDP/TLS/RTP/SAVPF";
constexpr absl::string_view kDataChannelProto = "UDP/DTLS/SCTP";
constexpr absl::string_view kDataChannelFormat = "webrtc-datachannel";
// RFC 8285 section 5: extension ids 1-14 (one-byte) and 1-255 (two-byte header).
constexpr uint32_t kMaxExtensionId = 255;
// RFC 8843 section 7.2 makes mid a token; peers use short ones and we echo them.
constexpr size_t kMaxMidLength = 64;
// RFC 8851 section 10 does not bound rid length; libwebrtc accepts up to 255 characters.
constexpr size_t kMaxRidLength = 255;

// Debian's Abseil has its own string_view type; these adapt AttributeList's std ones.
absl::string_view A(std::string_view s) { return absl::string_view(s.data(), s.size()); }

std::vector<absl::string_view> All(const AttributeList& attrs, absl::string_view name) {
  std::vector<absl::string_view> out;
  for (std::string_view v : attrs.GetAll(std::string_view(name.data(), name.size()))) {
    out.push_back(A(v));
  }
  return out;
}

std::optional<absl::string_view> First(const AttributeList& attrs, absl::string_view name) {
  std::optional<std::string_view> v = attrs.Get(std::string_view(name.data(), name.size()));
  if (!v) return std::nullopt;
  return A(*v);
}

bool IsDigits(absl::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

template <typename T>
std::optional<T> ParseUnsigned(absl::string_view s, uint64_t max) {
  uint64_t v = 0;
  if (!IsDigits(s) || s.size() > 20 || !absl::SimpleAtoi(s, &v) || v > max) return std::nullopt;
  return static_cast<T>(v);
}

std::optional<uint8_t> ParsePayloadType(absl::string_view s) {
  return ParseUnsigned<uint8_t>(s, 127);
}

bool IsTokenChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
         absl::string_view("!#$%&'*+-.^_`{|}~").find(c) != absl::string_view::npos;
}

bool IsToken(absl::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), IsTokenChar);
}

// RFC 8839 section 5.4: ice-char = ALPHA / DIGIT / "+" / "/".
bool IsIceChars(absl::string_view s, size_t min, size_t max) {
  if (s.size() < min || s.size() > max) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '/';
  });
}

// RFC 8851 section 10: rid-id = 1*(alpha-numeric / "-" / "_").
bool IsRidId(absl::string_view s) {
  if (s.empty() || s.size() > kMaxRidLength) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
  });
}

// Splits "<first> <rest>" at the first space; rest may be empty.
std::pair<absl::string_view, absl::string_view> SplitFirst(absl::string_view s) {
  size_t sp = s.find(' ');
  if (sp == absl::string_view::npos) return {s, {}};
  return {s.substr(0, sp), absl::StripLeadingAsciiWhitespace(s.substr(sp + 1))};
}

class MediaError {
 public:
  MediaError(size_t index, absl::string_view mid) : index_(index), mid_(mid) {}
  absl::Status operator()(absl::string_view what, absl::string_view attr = {},
                          absl::string_view value = {}) const {
    std::string where = absl::StrCat("m-line ", index_);
    if (!mid_.empty()) absl::StrAppend(&where, " (mid ", mid_, ")");
    std::string detail;
    if (!attr.empty()) detail = absl::StrCat(" in \"a=", attr, ":", value.substr(0, 80), "\"");
    return absl::InvalidArgumentError(absl::StrCat(where, ": ", what, detail));
  }

 private:
  size_t index_;
  std::string mid_;
};

absl::StatusOr<Fingerprint> ParseFingerprint(absl::string_view value) {
  auto [alg, hex] = SplitFirst(value);
  hex = absl::StripTrailingAsciiWhitespace(hex);
  if (!IsToken(alg) || hex.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("bad a=fingerprint:", value.substr(0, 80)));
  }
  // Colon-separated pairs of hex digits (RFC 8122 section 5).
  for (absl::string_view byte : absl::StrSplit(hex, ':')) {
    if (byte.size() != 2 || !absl::ascii_isxdigit(static_cast<unsigned char>(byte[0])) ||
        !absl::ascii_isxdigit(static_cast<unsigned char>(byte[1]))) {
      return absl::InvalidArgumentError(absl::StrCat("bad a=fingerprint:", value.substr(0, 80)));
    }
  }
  return Fingerprint{absl::AsciiStrToLower(alg), absl::AsciiStrToUpper(hex)};
}

// Codecs that may appear in the m= line without an rtpmap (RFC 3551 section 6).
std::optional<rtp::RtpCodecParameters> StaticCodec(uint8_t pt) {
  const char* name = pt == 0 ? "audio/PCMU" : pt == 8 ? "audio/PCMA" : pt == 9 ? "audio/G722" : "";
  if (*name == 0) return std::nullopt;
  rtp::RtpCodecParameters c;
  c.mime_type = name;
  c.payload_type = pt;
  c.clock_rate = 8000;  // G722 too: RFC 3551 section 4.5.2 keeps 8000 for historical reasons
  c.channels = 1;
  return c;
}

struct SsrcInfo {
  std::vector<uint32_t> order;  // distinct ssrcs, in order of first appearance
  std::map<uint32_t, std::string> cname;
  std::map<uint32_t, std::pair<std::string, std::string>> msid;
  std::map<uint32_t, uint32_t> fid;  // primary -> rtx
  std::set<uint32_t> secondary;      // rtx / fec ssrcs of any group
  std::vector<uint32_t> sim;         // ssrc-group:SIM, if any
};

absl::Status ParseSsrcs(const AttributeList& attrs, const MediaError& err, SsrcInfo& info) {
  for (absl::string_view v : All(attrs, "ssrc")) {
    auto [id, rest] = SplitFirst(v);
    std::optional<uint32_t> ssrc = ParseUnsigned<uint32_t>(id, UINT32_MAX);
    if (!ssrc || rest.empty()) return err("bad ssrc line", "ssrc", v);
    std::pair<absl::string_view, absl::string_view> kv =
        absl::StrSplit(rest, absl::MaxSplits(':', 1));
    if (!IsToken(kv.first)) return err("bad ssrc attribute", "ssrc", v);
    if (std::find(info.order.begin(), info.order.end(), *ssrc) == info.order.end()) {
      info.order.push_back(*ssrc);
    }
    if (kv.first == "cname") {
      if (kv.second.empty()) return err("empty cname", "ssrc", v);
      info.cname[*ssrc] = std::string(kv.second);
    } else if (kv.first == "msid") {
      auto [stream, track] = SplitFirst(kv.second);
      info.msid[*ssrc] = {std::string(stream), std::string(track)};
    }
  }
  for (absl::string_view v : All(attrs, "ssrc-group")) {
    std::vector<absl::string_view> f = absl::StrSplit(v, ' ', absl::SkipEmpty());
    if (f.size() < 2 || !IsToken(f[0])) return err("bad ssrc-group", "ssrc-group", v);
    std::vector<uint32_t> ssrcs;
    for (size_t i = 1; i < f.size(); ++i) {
      std::optional<uint32_t> s = ParseUnsigned<uint32_t>(f[i], UINT32_MAX);
      if (!s) return err("bad ssrc in ssrc-group", "ssrc-group", v);
      ssrcs.push_back(*s);
    }
    if (f[0] == "FID") {
      if (ssrcs.size() != 2) return err("FID group needs two ssrcs", "ssrc-group", v);
      info.fid[ssrcs[0]] = ssrcs[1];
      info.secondary.insert(ssrcs[1]);
    } else if (f[0] == "FEC-FR") {
      for (size_t i = 1; i < ssrcs.size(); ++i) info.secondary.insert(ssrcs[i]);
    } else if (f[0] == "SIM") {
      info.sim = ssrcs;
    }
  }
  return absl::OkStatus();
}

absl::Status ParseCodecs(const MediaDescription& m, rtp::MediaKind kind, const MediaError& err,
                         std::vector<rtp::RtpCodecParameters>& out) {
  const std::string kind_name = kind == rtp::MediaKind::kAudio ? "audio" : "video";
  std::vector<uint8_t> order;
  for (const std::string& f : m.formats) {
    std::optional<uint8_t> pt = ParsePayloadType(f);
    if (!pt) return err(absl::StrCat("bad payload type \"", f.substr(0, 80), "\" in m= line"));
    if (std::find(order.begin(), order.end(), *pt) == order.end()) order.push_back(*pt);
  }
  std::map<uint8_t, rtp::RtpCodecParameters> codecs;
  for (absl::string_view v : All(m.attributes, "rtpmap")) {
    auto [pt_text, encoding] = SplitFirst(v);
    std::optional<uint8_t> pt = ParsePayloadType(pt_text);
    std::vector<absl::string_view> parts = absl::StrSplit(encoding, '/');
    if (!pt || parts.size() < 2 || parts.size() > 3 || !IsToken(parts[0])) {
      return err("bad rtpmap", "rtpmap", v);
    }
    std::optional<uint32_t> clock = ParseUnsigned<uint32_t>(parts[1], UINT32_MAX);
    std::optional<uint8_t> channels =
        parts.size() == 3 ? ParseUnsigned<uint8_t>(parts[2], 255) : std::optional<uint8_t>(0);
    if (!clock || *clock == 0 || !channels) return err("bad rtpmap", "rtpmap", v);
    if (std::find(order.begin(), order.end(), *pt) == order.end()) continue;  // not offered
    if (codecs.count(*pt)) return err("second rtpmap for a payload type", "rtpmap", v);
    rtp::RtpCodecParameters& c = codecs[*pt];
    c.mime_type = absl::StrCat(kind_name, "/", parts[0]);
    c.payload_type = *pt;
    c.clock_rate = *clock;
    c.channels = *channels;
  }
  for (uint8_t pt : order) {
    if (codecs.count(pt) == 0 && kind == rtp::MediaKind::kAudio) {
      if (std::optional<rtp::RtpCodecParameters> c = StaticCodec(pt)) codecs[pt] = std::move(*c);
    }
  }
  for (absl::string_view v : All(m.attributes, "fmtp")) {
    auto [pt_text, params] = SplitFirst(v);
    std::optional<uint8_t> pt = ParsePayloadType(pt_text);
    if (!pt) return err("bad fmtp", "fmtp", v);
    auto it = codecs.find(*pt);
    if (it == codecs.end()) continue;
    for (absl::string_view p : absl::StrSplit(params, ';', absl::SkipWhitespace())) {
      p = absl::StripAsciiWhitespace(p);
      std::pair<absl::string_view, absl::string_view> kv =
          absl::StrSplit(p, absl::MaxSplits('=', 1));
      if (kv.first.empty()) return err("bad fmtp parameter", "fmtp", v);
      it->second.parameters[std::string(kv.first)] = std::string(kv.second);
    }
  }
  std::vector<rtp::RtcpFeedback> wildcard;
  for (absl::string_view v : All(m.attributes, "rtcp-fb")) {
    auto [pt_text, fb] = SplitFirst(v);
    auto [type, param] = SplitFirst(fb);
    if (!IsToken(type)) return err("bad rtcp-fb", "rtcp-fb", v);
    rtp::RtcpFeedback feedback{std::string(type),
                               std::string(absl::StripTrailingAsciiWhitespace(param))};
    if (pt_text == "*") {
      wildcard.push_back(std::move(feedback));
      continue;
    }
    std::optional<uint8_t> pt = ParsePayloadType(pt_text);
    if (!pt) return err("bad rtcp-fb", "rtcp-fb", v);
    auto it = codecs.find(*pt);
    if (it == codecs.end()) continue;
    std::vector<rtp::RtcpFeedback>& list = it->second.rtcp_feedback;
    if (std::find(list.begin(), list.end(), feedback) == list.end()) list.push_back(feedback);
  }
  for (uint8_t pt : order) {
    auto it = codecs.find(pt);
    if (it == codecs.end()) continue;  // dynamic pt without rtpmap: unusable, skipped
    for (const rtp::RtcpFeedback& fb : wildcard) {
      std::vector<rtp::RtcpFeedback>& list = it->second.rtcp_feedback;
      if (std::find(list.begin(), list.end(), fb) == list.end()) list.push_back(fb);
    }
    out.push_back(std::move(it->second));
  }
  return absl::OkStatus();
}

absl::Status ParseExtmaps(const AttributeList& attrs, const MediaError& err,
                          std::vector<rtp::RtpHeaderExtensionParameters>& out) {
  for (absl::string_view v : All(attrs, "extmap")) {
    auto [id_dir, rest] = SplitFirst(v);
    auto [uri, ext_attrs] = SplitFirst(rest);
    std::pair<absl::string_view, absl::string_view> id_text =
        absl::StrSplit(id_dir, absl::MaxSplits('/', 1));
    std::optional<uint8_t> id = ParseUnsigned<uint8_t>(id_text.first, kMaxExtensionId);
    if (!id || *id == 0) return err("extmap id not in 1-255", "extmap", v);
    if (uri.empty()) return err("extmap without URI", "extmap", v);
    bool duplicate = false;
    for (const rtp::RtpHeaderExtensionParameters& e : out) {
      if (e.id == *id && e.uri != uri) return err("extmap id used twice", "extmap", v);
      duplicate |= e.id == *id;
    }
    if (!duplicate) out.push_back({std::string(uri), *id});
  }
  return absl::OkStatus();
}

// a=rid send lines and a=simulcast:send (RFC 8851, RFC 8853) -> rids in send order.
absl::Status ParseRids(const AttributeList& attrs, const MediaError& err,
                       std::vector<std::string>& out) {
  std::vector<std::string> declared;
  for (absl::string_view v : All(attrs, "rid")) {
    auto [id, rest] = SplitFirst(v);
    auto [direction, restrictions] = SplitFirst(rest);
    if (!IsRidId(id) || (direction != "send" && direction != "recv")) {
      return err("bad rid", "rid", v);
    }
    if (std::find(declared.begin(), declared.end(), id) != declared.end()) {
      return err("rid declared twice", "rid", v);
    }
    if (direction == "send") declared.emplace_back(id);
  }
  std::optional<absl::string_view> simulcast = First(attrs, "simulcast");
  if (!simulcast) {
    out = std::move(declared);
    return absl::OkStatus();
  }
  std::vector<absl::string_view> f = absl::StrSplit(*simulcast, ' ', absl::SkipEmpty());
  if (f.empty() || f.size() % 2 != 0) return err("bad simulcast", "simulcast", *simulcast);
  for (size_t i = 0; i < f.size(); i += 2) {
    if (f[i] != "send" && f[i] != "recv") return err("bad simulcast", "simulcast", *simulcast);
    if (f[i] != "send") continue;
    for (absl::string_view stream : absl::StrSplit(f[i + 1], ';')) {
      // Alternatives are separated by ','; the first one is what the sender uses.
      absl::string_view rid = absl::StripPrefix(stream.substr(0, stream.find(',')), "~");
      if (!IsRidId(rid)) return err("bad rid in simulcast", "simulcast", *simulcast);
      if (std::find(declared.begin(), declared.end(), rid) == declared.end()) {
        return err("simulcast names an undeclared rid", "simulcast", *simulcast);
      }
      if (std::find(out.begin(), out.end(), rid) == out.end()) out.emplace_back(rid);
    }
  }
  return absl::OkStatus();
}

std::string Direction(const AttributeList& attrs, absl::string_view fallback) {
  absl::string_view direction = fallback;
  for (const Attribute& a : attrs.all()) {
    if (a.name == "sendrecv" || a.name == "sendonly" || a.name == "recvonly" ||
        a.name == "inactive") {
      direction = a.name;
    }
  }
  return std::string(direction);
}

absl::StatusOr<RemoteMedia> ParseMedia(const SessionDescription& sd, size_t index,
                                       absl::string_view session_direction) {
  const MediaDescription& m = sd.media[index];
  RemoteMedia r;
  std::optional<absl::string_view> mid = First(m.attributes, "mid");
  MediaError err(index, mid ? *mid : "");
  if (!mid) return err("missing a=mid");
  if (!IsToken(*mid) || mid->size() > kMaxMidLength) return err("bad mid", "mid", *mid);
  r.mid = std::string(*mid);
  r.media = m.media;
  r.proto = m.proto;
  r.formats = m.formats;
  r.rtp.mid = r.mid;
  r.rejected = m.port == 0 && !m.attributes.Has("bundle-only");
  r.direction = Direction(m.attributes, session_direction);

  if (m.media == "application") {
    // RFC 8841 4.1 (the proto and format JSEP uses); anything else is answered rejected.
    r.data_channel = !r.rejected && m.proto == kDataChannelProto && m.formats.size() == 1 &&
                     m.formats[0] == kDataChannelFormat;
    if (!r.data_channel) {
      r.rejected = true;
      return r;
    }
    if (auto port = First(m.attributes, "sctp-port")) {
      auto v = ParseUnsigned<uint16_t>(*port, 65535);
      if (!v || *v == 0) return err("bad sctp-port", "sctp-port", *port);
      r.sctp_port = *v;
    }
    if (auto size = First(m.attributes, "max-message-size")) {
      // RFC 8841 6: an integer; 0 means no limit.
      auto v = ParseUnsigned<uint64_t>(*size, std::numeric_limits<int64_t>::max());
      if (!v) return err("bad max-message-size", "max-message-size", *size);
      r.max_message_size = *v;
    }
    return r;
  }
  if (m.media == "audio") {
    r.kind = rtp::MediaKind::kAudio;
  } else if (m.media == "video") {
    r.kind = rtp::MediaKind::kVideo;
  } else {
    return err(absl::StrCat("unsupported media \"", m.media, "\""));
  }
  if (!r.rejected && m.proto != kRtpProto) {
    return err(absl::StrCat("unsupported proto \"", m.proto, "\" (need ", kRtpProto, ")"));
  }
  absl::Status s = ParseCodecs(m, r.kind, err, r.rtp.codecs);
  if (!s.ok()) return s;
  s = ParseExtmaps(m.attributes, err, r.rtp.header_extensions);
  if (!s.ok()) return s;
  // Session-level extmaps (RFC 8285 section 5) apply to every m-line that does not redefine them.
  std::vector<rtp::RtpHeaderExtensionParameters> session_ext;
  s = ParseExtmaps(sd.attributes, MediaError(index, r.mid), session_ext);
  if (!s.ok()) return s;
  for (rtp::RtpHeaderExtensionParameters& e : session_ext) {
    bool taken = std::any_of(r.rtp.header_extensions.begin(), r.rtp.header_extensions.end(),
                             [&](const auto& x) { return x.id == e.id; });
    if (!taken) r.rtp.header_extensions.push_back(std::move(e));
  }
  r.rtp.reduced_size = m.attributes.Has("rtcp-rsize");

  SsrcInfo ssrcs;
  s = ParseSsrcs(m.attributes, err, ssrcs);
  if (!s.ok()) return s;
  s = ParseRids(m.attributes, err, r.rids);
  if (!s.ok()) return s;
  if (!r.rids.empty()) {
    // Rids in send order; an a=ssrc-group:SIM of as many ssrcs (RFC 5576 5.1, same order, as
    // some endpoints add) gives their ssrcs up front, else they are learned from the rid.
    const bool sim_ssrcs = ssrcs.sim.size() == r.rids.size();
    for (size_t i = 0; i < r.rids.size(); ++i) {
      rtp::RtpEncodingParameters e;
      e.rid = r.rids[i];
      if (sim_ssrcs) {
        e.ssrc = ssrcs.sim[i];
        e.rtx_ssrc = ssrcs.fid.count(e.ssrc) ? ssrcs.fid[e.ssrc] : 0;
      }
      r.rtp.encodings.push_back(std::move(e));
    }
  } else if (!ssrcs.sim.empty()) {
    for (uint32_t ssrc : ssrcs.sim) {
      rtp::RtpEncodingParameters e;
      e.ssrc = ssrc;
      e.rtx_ssrc = ssrcs.fid.count(ssrc) ? ssrcs.fid[ssrc] : 0;
      r.rtp.encodings.push_back(std::move(e));
    }
  } else {
    for (uint32_t ssrc : ssrcs.order) {
      if (ssrcs.secondary.count(ssrc)) continue;
      auto fid = ssrcs.fid.find(ssrc);
      rtp::RtpEncodingParameters e;
      e.ssrc = ssrc;
      e.rtx_ssrc = fid == ssrcs.fid.end() ? 0 : fid->second;
      r.rtp.encodings.push_back(std::move(e));
      break;  // one track per m-line (Unified Plan)
    }
  }
  uint32_t main_ssrc = r.rtp.encodings.empty() ? 0 : r.rtp.encodings[0].ssrc;
  if (auto it = ssrcs.cname.find(main_ssrc); it != ssrcs.cname.end()) {
    r.rtp.cname = it->second;
  } else if (!ssrcs.cname.empty()) {
    r.rtp.cname = ssrcs.cname.begin()->second;
  }
  if (std::optional<absl::string_view> msid = First(m.attributes, "msid")) {
    auto [stream, track] = SplitFirst(*msid);
    if (!IsToken(stream)) return err("bad msid", "msid", *msid);
    r.msid_stream = std::string(stream);
    r.msid_track = std::string(absl::StripTrailingAsciiWhitespace(track));
  } else if (auto it = ssrcs.msid.find(main_ssrc); it != ssrcs.msid.end()) {
    r.msid_stream = it->second.first;
    r.msid_track = it->second.second;
  }
  return r;
}

// A transport attribute from the session level, else from the first m-line that has it.
std::optional<absl::string_view> TransportAttribute(const SessionDescription& sd,
                                                    absl::string_view name) {
  if (std::optional<absl::string_view> v = First(sd.attributes, name)) return v;
  for (const MediaDescription& m : sd.media) {
    if (std::optional<absl::string_view> v = First(m.attributes, name)) return v;
  }
  return std::nullopt;
}

}  // namespace

absl::StatusOr<RemoteDescription> ParseRemoteDescription(std::string_view text) {
  absl::StatusOr<SessionDescription> sd = SessionDescription::Parse(text);
  if (!sd.ok()) return sd.status();
  RemoteDescription d;

  std::optional<absl::string_view> ufrag = TransportAttribute(*sd, "ice-ufrag");
  std::optional<absl::string_view> pwd = TransportAttribute(*sd, "ice-pwd");
  // RFC 8839 section 5.4: ufrag 4-256 and pwd 22-256 ice-chars.
  if (!ufrag) return absl::InvalidArgumentError("missing a=ice-ufrag");
  if (!IsIceChars(*ufrag, 4, 256)) return absl::InvalidArgumentError("bad a=ice-ufrag");
  if (!pwd) return absl::InvalidArgumentError("missing a=ice-pwd");
  if (!IsIceChars(*pwd, 22, 256)) return absl::InvalidArgumentError("bad a=ice-pwd");
  d.ice_ufrag = std::string(*ufrag);
  d.ice_pwd = std::string(*pwd);

  std::vector<absl::string_view> fps = All(sd->attributes, "fingerprint");
  for (size_t i = 0; fps.empty() && i < sd->media.size(); ++i) {
    fps = All(sd->media[i].attributes, "fingerprint");
  }
  for (absl::string_view v : fps) {
    absl::StatusOr<Fingerprint> fp = ParseFingerprint(v);
    if (!fp.ok()) return fp.status();
    d.fingerprints.push_back(std::move(*fp));
  }
  if (std::optional<absl::string_view> setup = TransportAttribute(*sd, "setup")) {
    if (*setup != "actpass" && *setup != "active" && *setup != "passive" && *setup != "holdconn") {
      return absl::InvalidArgumentError(absl::StrCat("bad a=setup:", setup->substr(0, 40)));
    }
    d.setup = std::string(*setup);
  }

  const std::string session_direction = Direction(sd->attributes, "sendrecv");
  std::set<std::string> mids;
  for (size_t i = 0; i < sd->media.size(); ++i) {
    absl::StatusOr<RemoteMedia> media = ParseMedia(*sd, i, session_direction);
    if (!media.ok()) return media.status();
    if (!mids.insert(media->mid).second) {
      return absl::InvalidArgumentError(absl::StrCat("m-line ", i, ": duplicate mid ", media->mid));
    }
    d.media.push_back(std::move(*media));
  }
  // RFC 8122 5: DTLS needs the fingerprint. An answer that rejects every m-line (Chromium's
  // answer to an offer whose tracks all ended) carries none, and needs none.
  const bool any_accepted =
      std::any_of(d.media.begin(), d.media.end(), [](const RemoteMedia& m) { return !m.rejected; });
  if (fps.empty() && any_accepted) return absl::InvalidArgumentError("missing a=fingerprint");
  d.extmap_allow_mixed = sd->attributes.Has("extmap-allow-mixed");
  for (absl::string_view group : All(sd->attributes, "group")) {
    std::vector<absl::string_view> f = absl::StrSplit(group, ' ', absl::SkipEmpty());
    if (f.empty() || f[0] != "BUNDLE") continue;
    for (size_t i = 1; i < f.size(); ++i) {
      if (!mids.count(std::string(f[i]))) {
        return absl::InvalidArgumentError(
            absl::StrCat("a=group:BUNDLE names unknown mid ", f[i].substr(0, 64)));
      }
      d.bundle_mids.emplace_back(f[i]);
    }
    break;  // one BUNDLE group (max-bundle)
  }
  return d;
}

}  // namespace sb::signaling::sdp
