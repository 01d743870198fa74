// WebRTC (JSEP, RFC 8829; Unified Plan, BUNDLE, rtcp-mux) meaning on top of SessionDescription:
// a client's offer or answer turned into the RTP parameter model, and the server's ICE-lite
// answers and offers built from it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "rtp/rtp_parameters.h"

namespace sb::signaling::sdp {

// a=fingerprint (RFC 8122): "sha-256" and upper-case colon-separated hex.
struct Fingerprint {
  std::string algorithm;
  std::string value;
  bool operator==(const Fingerprint&) const = default;
};

// One m-line of a remote description.
struct RemoteMedia {
  std::string mid;
  rtp::MediaKind kind = rtp::MediaKind::kAudio;  // meaningful when media is audio or video
  std::string direction;                         // sendrecv | sendonly | recvonly | inactive
  bool rejected = false;  // port 0 without bundle-only, or a kind we do not take
  rtp::RtpParameters rtp;
  // m=application UDP/DTLS/SCTP webrtc-datachannel (RFC 8841): data channels, with the peer's
  // a=sctp-port and a=max-message-size (0: no limit; 65536 when absent, RFC 8841 6.1).
  bool data_channel = false;
  uint16_t sctp_port = 5000;
  uint64_t max_message_size = 65536;
  std::vector<std::string> rids;  // simulcast send rids in the peer's order (RFC 8853)
  std::string msid_stream, msid_track;
  // The m= line as written, to mirror it when answering.
  std::string media;  // "audio", "video", "application"
  std::string proto;
  std::vector<std::string> formats;
};

struct RemoteDescription {
  std::string ice_ufrag, ice_pwd;
  std::vector<Fingerprint> fingerprints;
  std::string setup;  // actpass | active | passive ("" when absent)
  std::vector<std::string> bundle_mids;
  // a=extmap-allow-mixed (RFC 8285 6): the peer takes two-byte header extensions (needed for an
  // AV1 dependency descriptor that carries its structure, longer than 16 bytes).
  bool extmap_allow_mixed = false;
  std::vector<RemoteMedia> media;
};

// Parses a peer's offer or answer. Fails with InvalidArgument (and a reason) when the SDP is
// malformed or unusable: no ice-ufrag/ice-pwd/fingerprint, an m-line without a=mid, an
// audio/video m-line not using UDP/TLS/RTP/SAVPF, bad rtpmap/fmtp/rtcp-fb/extmap/ssrc lines.
// m=application is taken when it is UDP/DTLS/SCTP webrtc-datachannel (data_channel; other
// application sections, e.g. the pre-RFC "DTLS/SCTP 5000", are marked rejected); a bad
// a=sctp-port or a=max-message-size is an error.
absl::StatusOr<RemoteDescription> ParseRemoteDescription(std::string_view sdp);

struct Candidate {
  std::string foundation;
  uint32_t priority = 0;
  std::string ip;
  std::string protocol = "udp";  // "udp" or "tcp" (written with tcptype passive)
  uint16_t port = 0;
  std::string type = "host";
};

struct LocalTransport {
  std::string ice_ufrag, ice_pwd;
  std::vector<Fingerprint> fingerprints;
  std::vector<Candidate> candidates;
};

struct LocalMedia {
  std::string mid;
  rtp::MediaKind kind = rtp::MediaKind::kAudio;
  // sendonly | recvonly | inactive. "" means: in answers, recvonly if the offer sends, else
  // inactive; in offers, sendonly.
  std::string direction;
  bool rejected = false;
  rtp::RtpParameters rtp;  // codecs (pts as negotiated), header_extensions, encodings, cname
  std::string msid_stream, msid_track;
  // Answers an m=application data channel section (kind and rtp unused): a=sctp-port and
  // a=max-message-size (ours).
  bool data_channel = false;
  uint64_t max_message_size = 262144;
};

// The answer to a publishing offer: same m-lines and mids in the offer's order, ICE-lite,
// a=setup:passive (active if the offer said passive), BUNDLE of the accepted mids. An offer
// m-line is accepted when a non-rejected LocalMedia has its mid and the offer did not reject
// it; it then carries exactly LocalMedia's codecs and extensions, the offer's simulcast rids
// (as recv) and the transport's candidates. A data channel section is accepted by a
// LocalMedia with data_channel set. The others are answered with port 0 and inactive.
std::string BuildAnswer(const RemoteDescription& offer, const LocalTransport& transport,
                        const std::vector<LocalMedia>& media, uint64_t session_id);

// The server's offer on a subscribing connection: one m-line per LocalMedia in order
// (sendonly, with msid, ssrc and FID group), ICE-lite, a=setup:actpass, BUNDLE of the
// non-rejected mids. Rejected entries keep their mid with port 0 and a=inactive. When every
// entry is rejected the BUNDLE group lists them all (Chromium's max-bundle needs a group).
std::string BuildOffer(const LocalTransport& transport, const std::vector<LocalMedia>& media,
                       uint64_t session_id, uint64_t session_version);

}  // namespace sb::signaling::sdp
