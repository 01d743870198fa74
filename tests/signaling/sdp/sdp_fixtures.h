// Server-side inputs shared by the SDP tests and sdp_tool: a loopback ICE-lite transport,
// the media a publisher's offer is answered with, and two subscribed tracks.
#pragma once

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "rtp/rtp_parameters.h"
#include "signaling/sdp/webrtc_sdp.h"

namespace sb::signaling::sdp::testing {

inline LocalTransport ServerTransport() {
  LocalTransport t;
  t.ice_ufrag = "sbUfrag1";
  t.ice_pwd = "sbIcePassword0123456789";
  t.fingerprints.push_back(
      {"sha-256",
       "3B:8A:41:0C:55:EE:17:92:6D:A0:2F:C4:71:9E:B3:08:E5:5C:12:77:AF:40:D9:63:2E:81:CC:1A:5B:"
       "F0:94:36"});
  t.candidates.push_back({"1", 2130706431, "127.0.0.1", "udp", 40000, "host"});
  return t;
}

inline bool Offered(const rtp::RtpParameters& p, const std::string& uri, uint8_t* id) {
  for (const auto& e : p.header_extensions) {
    if (e.uri == uri) {
      *id = e.id;
      return true;
    }
  }
  return false;
}

// What the server would accept from a publisher: Opus, or VP8 with its RTX, and the header
// extensions it understands, with the offer's payload types and ids.
inline std::vector<LocalMedia> AnswerMediaFor(const RemoteDescription& offer) {
  std::vector<LocalMedia> out;
  for (const RemoteMedia& rm : offer.media) {
    if (rm.rejected) continue;
    LocalMedia lm;
    lm.mid = rm.mid;
    lm.kind = rm.kind;
    lm.direction = "recvonly";
    const std::string want = rm.kind == rtp::MediaKind::kAudio ? "audio/opus" : "video/VP8";
    for (const auto& c : rm.rtp.codecs) {
      if (c.mime_type == want) {
        lm.rtp.codecs.push_back(c);
        break;
      }
    }
    if (lm.rtp.codecs.empty()) continue;
    const std::string apt = std::to_string(lm.rtp.codecs[0].payload_type);
    for (const auto& c : rm.rtp.codecs) {
      auto it = c.parameters.find("apt");
      if (c.mime_type == "video/rtx" && it != c.parameters.end() && it->second == apt) {
        lm.rtp.codecs.push_back(c);
      }
    }
    for (const char* uri : {rtp::kUriMid, rtp::kUriAbsSendTime, rtp::kUriTransportWideCc,
                            rtp::kUriAudioLevel, rtp::kUriRid, rtp::kUriRepairedRid}) {
      uint8_t id = 0;
      if (Offered(rm.rtp, uri, &id)) lm.rtp.header_extensions.push_back({uri, id});
    }
    out.push_back(lm);
  }
  return out;
}

inline rtp::RtpCodecParameters Codec(const std::string& mime, uint8_t pt, uint32_t clock,
                                     uint8_t channels, rtp::CodecParameterMap params,
                                     std::vector<rtp::RtcpFeedback> feedback) {
  rtp::RtpCodecParameters c;
  c.mime_type = mime;
  c.payload_type = pt;
  c.clock_rate = clock;
  c.channels = channels;
  c.parameters = std::move(params);
  c.rtcp_feedback = std::move(feedback);
  return c;
}

inline rtp::RtpEncodingParameters Encoding(uint32_t ssrc, uint32_t rtx_ssrc) {
  rtp::RtpEncodingParameters e;
  e.ssrc = ssrc;
  e.rtx_ssrc = rtx_ssrc;
  return e;
}

// One participant's audio and video as the server forwards them to a subscriber.
inline std::vector<LocalMedia> SubscribeMedia() {
  LocalMedia audio;
  audio.mid = "0";
  audio.kind = rtp::MediaKind::kAudio;
  audio.direction = "sendonly";
  audio.msid_stream = "p1";
  audio.msid_track = "p1-audio";
  audio.rtp.mid = "0";
  audio.rtp.cname = "sb-p1";
  audio.rtp.codecs.push_back(Codec("audio/opus", 100, 48000, 2,
                                   {{"minptime", "10"}, {"useinbandfec", "1"}},
                                   {{"transport-cc", ""}}));
  audio.rtp.header_extensions = {{rtp::kUriMid, 1},
                                 {rtp::kUriAbsSendTime, 4},
                                 {rtp::kUriTransportWideCc, 5},
                                 {rtp::kUriAudioLevel, 10}};
  audio.rtp.encodings.push_back(Encoding(1111, 0));

  LocalMedia video;
  video.mid = "1";
  video.kind = rtp::MediaKind::kVideo;
  video.direction = "sendonly";
  video.msid_stream = "p1";
  video.msid_track = "p1-video";
  video.rtp.mid = "1";
  video.rtp.cname = "sb-p1";
  video.rtp.codecs.push_back(Codec(
      "video/VP8", 101, 90000, 0, {},
      {{"goog-remb", ""}, {"transport-cc", ""}, {"ccm", "fir"}, {"nack", ""}, {"nack", "pli"}}));
  video.rtp.codecs.push_back(Codec("video/rtx", 102, 90000, 0, {{"apt", "101"}}, {}));
  video.rtp.header_extensions = {
      {rtp::kUriMid, 1}, {rtp::kUriAbsSendTime, 4}, {rtp::kUriTransportWideCc, 5}};
  video.rtp.encodings.push_back(Encoding(2222, 3333));
  return {audio, video};
}

}  // namespace sb::signaling::sdp::testing
