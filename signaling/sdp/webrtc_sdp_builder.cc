// The server's SDP: answers to publishing offers and offers on subscribing connections.
// Both are ICE-lite (RFC 8445 section 2.5), BUNDLE (RFC 8843) and rtcp-mux only, as JSEP
// (RFC 8829) with max-bundle expects.
#include <algorithm>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "signaling/sdp/sdp_session.h"
#include "signaling/sdp/webrtc_sdp.h"

namespace sb::signaling::sdp {
namespace {

constexpr char kRtpProto[] = "UDP/TLS/RTP/SAVPF";
// RFC 8866 section 5.7 / JSEP section 5.2.1: the placeholder address and port ("9", discard)
// of an m-line that has no candidates of its own.
constexpr uint16_t kDiscardPort = 9;
// a=sctp-port (RFC 8841 5): ours is the one every WebRTC endpoint uses.
constexpr uint16_t kSctpPort = 5000;

const char* KindName(rtp::MediaKind kind) {
  return kind == rtp::MediaKind::kAudio ? "audio" : "video";
}

SessionDescription NewSession(uint64_t session_id, uint64_t session_version,
                              const std::vector<std::string>& bundle, bool extmap_allow_mixed) {
  SessionDescription sd;
  sd.origin.session_id = session_id;
  sd.origin.session_version = session_version;
  sd.lines.push_back({'t', "0 0"});
  sd.attributes.Add("ice-lite");
  if (!bundle.empty())
    sd.attributes.Add("group", absl::StrCat("BUNDLE ", absl::StrJoin(bundle, " ")));
  sd.attributes.Add("msid-semantic", " WMS *");
  // RFC 8285 6: one- and two-byte header extensions in one stream. A publisher may then send
  // an AV1 dependency descriptor with its structure (too long for the one-byte form), and we
  // forward it to subscribers as it came.
  if (extmap_allow_mixed) sd.attributes.Add("extmap-allow-mixed");
  return sd;
}

Connection ConnectionFor(std::string_view ip) {
  Connection c;
  c.addr_type = ip.find(':') != std::string_view::npos ? "IP6" : "IP4";
  c.address = std::string(ip);
  return c;
}

// Port and c= line from the first candidate (JSEP section 5.3.1).
void SetAddress(MediaDescription& m, const LocalTransport& t) {
  if (t.candidates.empty()) {
    m.port = kDiscardPort;
    m.connection = ConnectionFor("0.0.0.0");
    return;
  }
  m.port = t.candidates[0].port;
  m.connection = ConnectionFor(t.candidates[0].ip);
}

void AddTransport(MediaDescription& m, const LocalTransport& t, std::string_view setup) {
  m.attributes.Add("ice-ufrag", t.ice_ufrag);
  m.attributes.Add("ice-pwd", t.ice_pwd);
  for (const Fingerprint& fp : t.fingerprints) {
    m.attributes.Add("fingerprint", absl::StrCat(fp.algorithm, " ", fp.value));
  }
  m.attributes.Add("setup", std::string(setup));
}

void AddCandidates(MediaDescription& m, const LocalTransport& t) {
  for (const Candidate& c : t.candidates) {
    // RFC 8839 section 5.1; component 1 only (rtcp-mux). An ICE-lite server's TCP candidates
    // are passive (RFC 6544 section 4.5).
    std::string line = absl::StrCat(c.foundation, " 1 ", c.protocol, " ", c.priority, " ", c.ip,
                                    " ", c.port, " typ ", c.type);
    if (c.protocol == "tcp") absl::StrAppend(&line, " tcptype passive");
    absl::StrAppend(&line, " generation 0");
    m.attributes.Add("candidate", std::move(line));
  }
  m.attributes.Add("end-of-candidates");
}

std::string CodecName(const rtp::RtpCodecParameters& c) {
  size_t slash = c.mime_type.find('/');
  return slash == std::string::npos ? c.mime_type : c.mime_type.substr(slash + 1);
}

void SetFormats(MediaDescription& m, const rtp::RtpParameters& rtp) {
  for (const rtp::RtpCodecParameters& c : rtp.codecs)
    m.formats.push_back(absl::StrCat(c.payload_type));
}

void AddCodecs(MediaDescription& m, const rtp::RtpParameters& rtp) {
  for (const rtp::RtpCodecParameters& c : rtp.codecs) {
    std::string map = absl::StrCat(c.payload_type, " ", CodecName(c), "/", c.clock_rate);
    if (c.channels > 1) absl::StrAppend(&map, "/", c.channels);
    m.attributes.Add("rtpmap", std::move(map));
    for (const rtp::RtcpFeedback& fb : c.rtcp_feedback) {
      m.attributes.Add("rtcp-fb", fb.parameter.empty() ? absl::StrCat(c.payload_type, " ", fb.type)
                                                       : absl::StrCat(c.payload_type, " ", fb.type,
                                                                      " ", fb.parameter));
    }
    if (!c.parameters.empty()) {
      std::vector<std::string> params;
      for (const auto& [key, value] : c.parameters) {
        params.push_back(value.empty() ? key : absl::StrCat(key, "=", value));
      }
      m.attributes.Add("fmtp", absl::StrCat(c.payload_type, " ", absl::StrJoin(params, ";")));
    }
  }
}

void AddExtensions(MediaDescription& m, const rtp::RtpParameters& rtp) {
  for (const rtp::RtpHeaderExtensionParameters& e : rtp.header_extensions) {
    m.attributes.Add("extmap", absl::StrCat(e.id, " ", e.uri));
  }
}

// msid (RFC 8830) and the sending ssrcs with their FID groups (RFC 5576, RFC 4588).
void AddSendSources(MediaDescription& m, const LocalMedia& lm) {
  const std::string stream = lm.msid_stream.empty() ? "-" : lm.msid_stream;
  const std::string msid =
      lm.msid_track.empty() ? stream : absl::StrCat(stream, " ", lm.msid_track);
  m.attributes.Add("msid", msid);
  for (const rtp::RtpEncodingParameters& e : lm.rtp.encodings) {
    if (e.ssrc != 0 && e.rtx_ssrc != 0) {
      m.attributes.Add("ssrc-group", absl::StrCat("FID ", e.ssrc, " ", e.rtx_ssrc));
    }
  }
  for (const rtp::RtpEncodingParameters& e : lm.rtp.encodings) {
    for (uint32_t ssrc : {e.ssrc, e.rtx_ssrc}) {
      if (ssrc == 0) continue;
      if (!lm.rtp.cname.empty())
        m.attributes.Add("ssrc", absl::StrCat(ssrc, " cname:", lm.rtp.cname));
      m.attributes.Add("ssrc", absl::StrCat(ssrc, " msid:", msid));
    }
  }
}

bool Sends(std::string_view direction) {
  return direction == "sendonly" || direction == "sendrecv";
}

// RFC 3264 section 6.1 for a receive-only answerer: we receive what the peer sends.
std::string ReceiveMirror(std::string_view offered) {
  return Sends(offered) ? "recvonly" : "inactive";
}

// An m-line we do not (or no longer) take: port 0, mid kept, out of BUNDLE (RFC 8843 7.3.3).
MediaDescription RejectedSection(std::string media, std::string proto,
                                 std::vector<std::string> formats, const std::string& mid) {
  MediaDescription m;
  m.media = std::move(media);
  m.proto = std::move(proto);
  m.formats = std::move(formats);
  if (m.formats.empty()) m.formats.push_back("0");
  m.port = 0;
  m.connection = ConnectionFor("0.0.0.0");
  m.attributes.Add("mid", mid);
  if (m.media != "application") m.attributes.Add("inactive");
  return m;
}

// RFC 8841 5-6: the data channel section of an answer, on the BUNDLE transport.
MediaDescription DataChannelSection(const RemoteMedia& rm, const LocalMedia& lm,
                                    const LocalTransport& transport, std::string_view setup) {
  MediaDescription m;
  m.media = "application";
  m.proto = rm.proto;
  m.formats = rm.formats;
  SetAddress(m, transport);
  AddTransport(m, transport, setup);
  m.attributes.Add("mid", rm.mid);
  m.attributes.Add("sctp-port", absl::StrCat(kSctpPort));
  m.attributes.Add("max-message-size", absl::StrCat(lm.max_message_size));
  AddCandidates(m, transport);
  return m;
}

}  // namespace

std::string BuildAnswer(const RemoteDescription& offer, const LocalTransport& transport,
                        const std::vector<LocalMedia>& media, uint64_t session_id) {
  auto local_for = [&](const RemoteMedia& rm) -> const LocalMedia* {
    if (rm.rejected) return nullptr;
    for (const LocalMedia& lm : media) {
      if (lm.mid != rm.mid || lm.rejected || lm.data_channel != rm.data_channel) continue;
      if (lm.data_channel || (lm.kind == rm.kind && !lm.rtp.codecs.empty())) return &lm;
    }
    return nullptr;
  };
  std::vector<std::string> bundle;
  for (const std::string& mid : offer.bundle_mids) {
    for (const RemoteMedia& rm : offer.media) {
      if (rm.mid == mid && local_for(rm)) bundle.push_back(mid);
    }
  }
  // JSEP section 5.3.1: answer actpass/active with passive; we take active only when asked to.
  const std::string setup = offer.setup == "passive" ? "active" : "passive";

  SessionDescription sd = NewSession(session_id, 1, bundle, offer.extmap_allow_mixed);
  for (const RemoteMedia& rm : offer.media) {
    const LocalMedia* lm = local_for(rm);
    if (!lm) {
      MediaDescription m = RejectedSection(rm.media, rm.proto, rm.formats, rm.mid);
      AddTransport(m, transport, setup);  // for GStreamer's webrtcbin, as in offers
      sd.media.push_back(std::move(m));
      continue;
    }
    if (lm->data_channel) {
      sd.media.push_back(DataChannelSection(rm, *lm, transport, setup));
      continue;
    }
    MediaDescription m;
    m.media = KindName(lm->kind);
    m.proto = kRtpProto;
    SetAddress(m, transport);
    SetFormats(m, lm->rtp);
    AddTransport(m, transport, setup);
    m.attributes.Add("mid", rm.mid);
    AddExtensions(m, lm->rtp);
    const std::string direction =
        lm->direction.empty() ? ReceiveMirror(rm.direction) : lm->direction;
    m.attributes.Add(direction);
    if (Sends(direction)) AddSendSources(m, *lm);
    m.attributes.Add("rtcp-mux");
    if (rm.rtp.reduced_size) m.attributes.Add("rtcp-rsize");
    AddCodecs(m, lm->rtp);
    // RFC 8853 section 5.3: accept the offered simulcast streams as recv.
    if (!rm.rids.empty() && !Sends(direction)) {
      for (const std::string& rid : rm.rids) m.attributes.Add("rid", absl::StrCat(rid, " recv"));
      m.attributes.Add("simulcast", absl::StrCat("recv ", absl::StrJoin(rm.rids, ";")));
    }
    AddCandidates(m, transport);
    sd.media.push_back(std::move(m));
  }
  return sd.Serialize();
}

std::string BuildOffer(const LocalTransport& transport, const std::vector<LocalMedia>& media,
                       uint64_t session_id, uint64_t session_version) {
  std::vector<std::string> bundle;
  for (const LocalMedia& lm : media) {
    if (!lm.rejected) bundle.push_back(lm.mid);
  }
  // Chromium with bundlePolicy max-bundle refuses an offer without a BUNDLE group, even when
  // every m-line is closed (checked with Chromium 156); a group of the closed mids it accepts.
  if (bundle.empty()) {
    for (const LocalMedia& lm : media) bundle.push_back(lm.mid);
  }
  SessionDescription sd = NewSession(session_id, session_version, bundle, true);
  for (const LocalMedia& lm : media) {
    if (lm.rejected) {
      // Port 0 and out of BUNDLE, but with a codec line (werift cannot answer a format
      // without rtpmap) and the transport attributes (GStreamer's webrtcbin will not apply
      // an m-line without them, although RFC 8843 7.3.3 lets them go).
      MediaDescription m = RejectedSection(KindName(lm.kind), kRtpProto, {}, lm.mid);
      if (!lm.rtp.codecs.empty()) {
        m.formats.clear();
        SetFormats(m, lm.rtp);
      }
      AddTransport(m, transport, "actpass");
      AddCodecs(m, lm.rtp);
      sd.media.push_back(std::move(m));
      continue;
    }
    MediaDescription m;
    m.media = KindName(lm.kind);
    m.proto = kRtpProto;
    SetAddress(m, transport);
    SetFormats(m, lm.rtp);
    if (m.formats.empty()) m.formats.push_back("0");
    AddTransport(m, transport, "actpass");
    m.attributes.Add("mid", lm.mid);
    AddExtensions(m, lm.rtp);
    const std::string direction = lm.direction.empty() ? "sendonly" : lm.direction;
    m.attributes.Add(direction);
    if (Sends(direction)) AddSendSources(m, lm);
    m.attributes.Add("rtcp-mux");
    if (lm.rtp.reduced_size) m.attributes.Add("rtcp-rsize");
    AddCodecs(m, lm.rtp);
    AddCandidates(m, transport);
    sd.media.push_back(std::move(m));
  }
  return sd.Serialize();
}

}  // namespace sb::signaling::sdp
