#include "bench/load/client_sdp.h"

#include <arpa/inet.h>
#include <openssl/rand.h>

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "rtp/rtp_parameters.h"
#include "signaling/sdp/sdp_session.h"

namespace sb::bench {
namespace {

using signaling::sdp::Connection;
using signaling::sdp::MediaDescription;
using signaling::sdp::SessionDescription;

constexpr char kProto[] = "UDP/TLS/RTP/SAVPF";
constexpr char kIceChars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string RandomIceString(size_t n) {
  std::vector<uint8_t> bytes(n);
  RAND_bytes(bytes.data(), static_cast<int>(n));
  std::string out;
  for (uint8_t b : bytes) out.push_back(kIceChars[b % 64]);
  return out;
}

SessionDescription NewSession(uint64_t session_id, uint64_t version,
                              const std::vector<std::string>& bundle) {
  SessionDescription sd;
  sd.origin.session_id = session_id;
  sd.origin.session_version = version;
  sd.lines.push_back({'t', "0 0"});
  if (!bundle.empty()) {
    sd.attributes.Add("group", absl::StrCat("BUNDLE ", absl::StrJoin(bundle, " ")));
  }
  sd.attributes.Add("extmap-allow-mixed");
  sd.attributes.Add("msid-semantic", " WMS *");
  return sd;
}

// JSEP 5.2.1: port 9 and 0.0.0.0 until candidates are known (we never trickle: the server is
// ICE-lite and we are the controlling agent that checks its candidates).
MediaDescription NewSection(std::string media, const ClientTransport& t, const char* setup,
                            const std::string& mid) {
  MediaDescription m;
  m.media = std::move(media);
  m.port = 9;
  m.proto = kProto;
  m.connection = Connection{"IN", "IP4", "0.0.0.0"};
  m.attributes.Add("rtcp", "9 IN IP4 0.0.0.0");
  m.attributes.Add("ice-ufrag", t.ice_ufrag);
  m.attributes.Add("ice-pwd", t.ice_pwd);
  m.attributes.Add("ice-options", "trickle");
  for (const auto& fp : t.fingerprints) {
    m.attributes.Add("fingerprint", absl::StrCat(fp.algorithm, " ", fp.value));
  }
  m.attributes.Add("setup", setup);
  m.attributes.Add("mid", mid);
  return m;
}

void AddExtmap(MediaDescription& m, uint8_t id, const char* uri) {
  m.attributes.Add("extmap", absl::StrCat(id, " ", uri));
}

void AddSsrc(MediaDescription& m, uint32_t ssrc, const PublishTracks& t, const std::string& track) {
  m.attributes.Add("ssrc", absl::StrCat(ssrc, " cname:", t.cname));
  m.attributes.Add("ssrc", absl::StrCat(ssrc, " msid:", t.stream_id, " ", track));
}

}  // namespace

ClientTransport NewClientTransport(std::vector<signaling::sdp::Fingerprint> fingerprints) {
  return ClientTransport{RandomIceString(4), RandomIceString(24), std::move(fingerprints)};
}

std::string BuildPublishOffer(const ClientTransport& transport, const PublishTracks& tracks,
                              uint64_t session_id) {
  std::vector<std::string> mids;
  const std::string audio_mid = "0";
  const std::string video_mid = tracks.audio ? "1" : "0";
  if (tracks.audio) mids.push_back(audio_mid);
  if (tracks.video) mids.push_back(video_mid);
  const std::string data_mid = std::to_string(mids.size());
  if (tracks.data) mids.push_back(data_mid);
  SessionDescription sd = NewSession(session_id, 2, mids);
  if (tracks.audio) {
    MediaDescription m = NewSection("audio", transport, "actpass", audio_mid);
    m.formats = {absl::StrCat(kOpusPayloadType)};
    AddExtmap(m, kExtAudioLevel, rtp::kUriAudioLevel);
    AddExtmap(m, kExtAbsSendTime, rtp::kUriAbsSendTime);
    AddExtmap(m, kExtTransportCc, rtp::kUriTransportWideCc);
    AddExtmap(m, kExtMid, rtp::kUriMid);
    m.attributes.Add("sendonly");
    m.attributes.Add("msid", absl::StrCat(tracks.stream_id, " ", tracks.audio_track_id));
    m.attributes.Add("rtcp-mux");
    m.attributes.Add("rtpmap", absl::StrCat(kOpusPayloadType, " opus/48000/2"));
    m.attributes.Add("rtcp-fb", absl::StrCat(kOpusPayloadType, " transport-cc"));
    m.attributes.Add("fmtp", absl::StrCat(kOpusPayloadType, " minptime=10;useinbandfec=1"));
    AddSsrc(m, tracks.audio_ssrc, tracks, tracks.audio_track_id);
    sd.media.push_back(std::move(m));
  }
  if (tracks.video) {
    const bool simulcast = !tracks.video_rids.empty();
    MediaDescription m = NewSection("video", transport, "actpass", video_mid);
    m.formats = {absl::StrCat(kVp8PayloadType), absl::StrCat(kRtxPayloadType)};
    AddExtmap(m, kExtAbsSendTime, rtp::kUriAbsSendTime);
    AddExtmap(m, kExtTransportCc, rtp::kUriTransportWideCc);
    AddExtmap(m, kExtMid, rtp::kUriMid);
    if (simulcast) {
      // Chromium lists them right after mid, with ids 10 and 11.
      AddExtmap(m, kExtRid, rtp::kUriRid);
      AddExtmap(m, kExtRepairedRid, rtp::kUriRepairedRid);
    }
    m.attributes.Add("sendonly");
    m.attributes.Add("msid", absl::StrCat(tracks.stream_id, " ", tracks.video_track_id));
    m.attributes.Add("rtcp-mux");
    m.attributes.Add("rtcp-rsize");
    const uint8_t pt = kVp8PayloadType;
    m.attributes.Add("rtpmap", absl::StrCat(pt, " VP8/90000"));
    for (const char* fb : {"goog-remb", "transport-cc", "ccm fir", "nack", "nack pli"}) {
      m.attributes.Add("rtcp-fb", absl::StrCat(pt, " ", fb));
    }
    m.attributes.Add("rtpmap", absl::StrCat(kRtxPayloadType, " rtx/90000"));
    m.attributes.Add("fmtp", absl::StrCat(kRtxPayloadType, " apt=", pt));
    if (simulcast) {
      // Chromium with rid sendEncodings: no a=ssrc, then the rids and the simulcast line.
      for (const std::string& rid : tracks.video_rids) {
        m.attributes.Add("rid", absl::StrCat(rid, " send"));
      }
      m.attributes.Add("simulcast", absl::StrCat("send ", absl::StrJoin(tracks.video_rids, ";")));
    } else {
      m.attributes.Add("ssrc-group",
                       absl::StrCat("FID ", tracks.video_ssrc, " ", tracks.video_rtx_ssrc));
      AddSsrc(m, tracks.video_ssrc, tracks, tracks.video_track_id);
      AddSsrc(m, tracks.video_rtx_ssrc, tracks, tracks.video_track_id);
    }
    sd.media.push_back(std::move(m));
  }
  if (tracks.data) {
    // RFC 8841 4-6, shaped as Chromium writes it: no a=rtcp, no direction, port 9 until ICE.
    MediaDescription m;
    m.media = "application";
    m.port = 9;
    m.proto = "UDP/DTLS/SCTP";
    m.formats = {"webrtc-datachannel"};
    m.connection = Connection{"IN", "IP4", "0.0.0.0"};
    m.attributes.Add("ice-ufrag", transport.ice_ufrag);
    m.attributes.Add("ice-pwd", transport.ice_pwd);
    m.attributes.Add("ice-options", "trickle");
    for (const auto& fp : transport.fingerprints) {
      m.attributes.Add("fingerprint", absl::StrCat(fp.algorithm, " ", fp.value));
    }
    m.attributes.Add("setup", "actpass");
    m.attributes.Add("mid", data_mid);
    m.attributes.Add("sctp-port", "5000");
    m.attributes.Add("max-message-size", absl::StrCat(kClientMaxMessageSize));
    sd.media.push_back(std::move(m));
  }
  return sd.Serialize();
}

std::vector<std::string> SendRidsFromAnswer(const std::vector<std::string>& offered,
                                            std::string_view answer_sdp, std::string_view mid) {
  if (offered.empty()) return {};
  auto answer = SessionDescription::Parse(answer_sdp);
  if (!answer.ok()) return {};
  const MediaDescription* section = nullptr;
  for (const MediaDescription& m : answer->media) {
    if (m.attributes.Get("mid") == mid) section = &m;
  }
  // a=simulcast:<dir> <streams> [<dir> <streams>] (RFC 8853 5.1); the answerer receives.
  std::optional<std::string_view> simulcast;
  if (section && section->port != 0) simulcast = section->attributes.Get("simulcast");
  std::vector<absl::string_view> fields;
  if (simulcast) {
    fields = absl::StrSplit(absl::string_view(simulcast->data(), simulcast->size()), ' ',
                            absl::SkipEmpty());
  }
  std::vector<std::string> accepted;
  bool has_recv = false;
  for (size_t i = 0; i + 1 < fields.size(); i += 2) {
    if (fields[i] != "recv") continue;
    has_recv = true;
    for (absl::string_view stream : absl::StrSplit(fields[i + 1], ';')) {
      absl::string_view rid = stream.substr(0, stream.find(','));
      if (absl::ConsumePrefix(&rid, "~")) continue;  // paused
      accepted.emplace_back(rid);
    }
  }
  // JSEP: an answer without simulcast leaves only the first encoding.
  if (!has_recv) return {offered.front()};
  std::vector<std::string> out;
  for (const std::string& rid : offered) {
    if (std::find(accepted.begin(), accepted.end(), rid) != accepted.end()) out.push_back(rid);
  }
  return out;
}

nlohmann::json ChromiumRtpCapabilities() {
  using nlohmann::json;
  json audio = {{"codecs", json::array({{{"mimeType", "audio/opus"},
                                         {"clockRate", 48000},
                                         {"channels", 2},
                                         {"sdpFmtpLine", "minptime=10;useinbandfec=1"}}})},
                {"headerExtensions", json::array({{{"uri", rtp::kUriAudioLevel}},
                                                  {{"uri", rtp::kUriAbsSendTime}},
                                                  {{"uri", rtp::kUriTransportWideCc}},
                                                  {{"uri", rtp::kUriMid}}})}};
  json video = {{"codecs", json::array({{{"mimeType", "video/VP8"}, {"clockRate", 90000}},
                                        {{"mimeType", "video/rtx"}, {"clockRate", 90000}}})},
                {"headerExtensions", json::array({{{"uri", rtp::kUriToffset}},
                                                  {{"uri", rtp::kUriAbsSendTime}},
                                                  {{"uri", rtp::kUriVideoOrientation}},
                                                  {{"uri", rtp::kUriTransportWideCc}},
                                                  {{"uri", rtp::kUriPlayoutDelay}},
                                                  {{"uri", rtp::kUriMid}},
                                                  {{"uri", rtp::kUriRid}},
                                                  {{"uri", rtp::kUriRepairedRid}}})}};
  return {{"audio", audio}, {"video", video}};
}

std::optional<sockaddr_in> FirstUdpCandidate(std::string_view sdp) {
  auto parsed = SessionDescription::Parse(sdp);
  if (!parsed.ok()) return std::nullopt;
  for (const MediaDescription& m : parsed->media) {
    for (std::string_view value : m.attributes.GetAll("candidate")) {
      // RFC 8839 5.1: foundation component transport priority address port "typ" type ...
      std::vector<absl::string_view> f =
          absl::StrSplit(absl::string_view(value.data(), value.size()), ' ', absl::SkipEmpty());
      if (f.size() < 8 || f[1] != "1" || (f[2] != "udp" && f[2] != "UDP")) continue;
      uint32_t port = 0;
      if (!absl::SimpleAtoi(f[5], &port) || port == 0 || port > 65535) continue;
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_port = htons(static_cast<uint16_t>(port));
      if (inet_pton(AF_INET, std::string(f[4]).c_str(), &addr.sin_addr) != 1) continue;
      return addr;
    }
  }
  return std::nullopt;
}

}  // namespace sb::bench
