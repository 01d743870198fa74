// The browser side of the publishing SDP exchange, shaped like Chromium's: the offer (BUNDLE,
// rtcp-mux, sendonly Opus and VP8 with RTX, Chromium's header extensions and ids, optionally
// simulcast by rid) and what the server's answer lets us send. The subscribing side is in
// bench/load/subscribe_sdp.h.
#pragma once

#include <netinet/in.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "nlohmann/json.hpp"
#include "signaling/sdp/webrtc_sdp.h"

namespace sb::bench {

// Chromium's default payload types and extension ids (M110-M120 offers).
inline constexpr uint8_t kOpusPayloadType = 111;
inline constexpr uint8_t kVp8PayloadType = 96;
inline constexpr uint8_t kRtxPayloadType = 97;
inline constexpr uint8_t kExtAudioLevel = 1;
inline constexpr uint8_t kExtAbsSendTime = 2;
inline constexpr uint8_t kExtTransportCc = 3;
inline constexpr uint8_t kExtMid = 4;
inline constexpr uint8_t kExtRid = 10;
inline constexpr uint8_t kExtRepairedRid = 11;

// Our ICE credentials and DTLS fingerprints, shared by the m-lines of one connection.
struct ClientTransport {
  std::string ice_ufrag, ice_pwd;
  std::vector<signaling::sdp::Fingerprint> fingerprints;
};

// Random ICE credentials (RFC 8839 5.4: ufrag >= 4, pwd >= 22 ice-chars).
ClientTransport NewClientTransport(std::vector<signaling::sdp::Fingerprint> fingerprints);

struct PublishTracks {
  bool audio = true;
  bool video = true;
  uint32_t audio_ssrc = 0;
  uint32_t video_ssrc = 0;
  uint32_t video_rtx_ssrc = 0;
  std::string cname;
  std::string stream_id;  // msid stream
  std::string audio_track_id, video_track_id;
  // Simulcast by rid (RFC 8851, RFC 8853) when not empty, in sendEncodings order: the video
  // m-section then carries a=rid:<rid> send lines, a=simulcast:send, the rid and repaired-rid
  // extensions, and no a=ssrc lines, as Chromium writes it (the server learns each layer's
  // ssrc from the mid and rid on its packets); video_ssrc and video_rtx_ssrc are unused.
  std::vector<std::string> video_rids;
  // Data channels: an m=application UDP/DTLS/SCTP webrtc-datachannel section after the media
  // ones, as Chromium offers it once the page created a channel.
  bool data = false;
};

// Data channels' a=max-message-size in our offer: Chromium's (RFC 8841 6).
inline constexpr size_t kClientMaxMessageSize = 262144;

// Mids are "0" (audio, when present) and then the next number for video, then data.
std::string BuildPublishOffer(const ClientTransport& transport, const PublishTracks& tracks,
                              uint64_t session_id);

// The rids to send once the answer to a simulcast offer is applied, as a browser applies it
// (JSEP, RFC 8829 5.10, and webrtc-pc's "set the session description" for answers):
// - the answer's m-section (by mid) has no a=simulcast: the answerer does not take simulcast,
//   so only the first offered encoding is sent (the others are removed);
// - otherwise the rids its "recv" streams list (the first of comma-separated alternatives),
//   less the paused ones ("~", RFC 8853 5.2), in the offered order; offered rids the answer
//   left out are rejected and not sent (RFC 8853 5.3).
// `offered` empty, or an answer that does not parse: nothing.
std::vector<std::string> SendRidsFromAnswer(const std::vector<std::string>& offered,
                                            std::string_view answer_sdp, std::string_view mid);

// RTCRtpReceiver.getCapabilities() of a Chromium without H264, as the join message carries it.
nlohmann::json ChromiumRtpCapabilities();

// The first UDP IPv4 candidate of the first m-line that has one ("a=candidate:").
std::optional<sockaddr_in> FirstUdpCandidate(std::string_view sdp);

}  // namespace sb::bench
