// The subscribing side of the SDP exchange: the server's subscribe-offers, read by a parser of
// the generator's own so that offers of any size a real room produces parse (a room of 100
// publishers gives each subscriber 200 m-lines, more than signaling/sdp accepts from clients),
// and the answers to them, shaped as Chromium answers (setup:active, recvonly, the offer's
// codecs and extensions).
//
// Over a long meeting the server keeps each subscriber's m-lines bounded by reusing them: the
// m-line of a track that ended becomes `a=inactive` (port kept, still in BUNDLE) or is rejected
// (port 0, possibly still carrying its old attributes), and may later carry another track (same
// mid, sendonly again, a new ssrc and msid, perhaps another publisher). Both forms are read
// here; which stream a mid carries is decided from its direction, ssrc and msid in each offer.
#pragma once

#include <netinet/in.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "bench/load/client_sdp.h"

namespace sb::bench {

// What the generator accepts from a server. Rooms of 100+ publishers need 200+ m-lines; the
// bound leaves a factor of 20 over that. The size bound is above the WebSocket message bound
// (signaling/http/websocket_frame.h, 1 MiB), so in practice that one applies first.
inline constexpr size_t kMaxSubscribeSections = 4096;
inline constexpr size_t kMaxSubscribeSdpBytes = 4 * 1024 * 1024;

// One a=rtpmap of an offered m-line with its fmtp and rtcp-fb lines.
struct OfferedCodec {
  uint8_t payload_type = 0;
  std::string name;  // as written in rtpmap: "opus", "VP8", "rtx"
  uint32_t clock_rate = 0;
  uint32_t channels = 1;
  std::string fmtp;                   // the a=fmtp value after the payload type; "" if none
  std::vector<std::string> feedback;  // the a=rtcp-fb values after the payload type
};

// One m-section of a subscribe-offer.
struct OfferedSection {
  std::string media;  // "audio", "video", "application", ...
  uint16_t port = 0;
  std::string proto;
  std::vector<std::string> formats;
  std::string mid;
  // sendrecv (RFC 8866 6.7: the default when absent), sendonly, recvonly or inactive.
  std::string direction = "sendrecv";
  bool bundle_only = false;
  std::vector<OfferedCodec> codecs;  // those of the formats that have an rtpmap, in that order
  std::vector<std::string> extmaps;  // a=extmap values as written
  bool rtcp_rsize = false;
  // The first a=ssrc of the section and its FID partner (RFC 5576, RFC 4588); 0 when none.
  uint32_t ssrc = 0, rtx_ssrc = 0;
  // a=msid (RFC 8830), or the msid: of the first a=ssrc when there is no a=msid line.
  std::string msid_stream, msid_track;

  bool is_rtp() const { return media == "audio" || media == "video"; }
  // Port 0 without bundle-only: rejected or closed (RFC 3264 6, RFC 8843 7.3.3), whatever
  // attributes it still carries.
  bool rejected() const { return port == 0 && !bundle_only; }
  // We answer it (recvonly or inactive) and keep it in our BUNDLE group.
  bool accepted() const { return !rejected() && is_rtp() && !codecs.empty(); }
  // The server sends a stream on it now.
  bool sending() const {
    return accepted() && (direction == "sendonly" || direction == "sendrecv");
  }
};

struct SubscribeOffer {
  // The server's ICE credentials and DTLS fingerprints: those that apply to the first accepted
  // section (each from the section, else from the session level: RFC 8839 5.4, RFC 8122 5),
  // else of the session level, else of any section.
  std::string ice_ufrag, ice_pwd;
  std::vector<signaling::sdp::Fingerprint> fingerprints;
  std::vector<std::string> bundle_mids;  // the first a=group:BUNDLE, in its order
  // The first UDP IPv4 candidate of component 1 (an ICE-lite server lists its host candidates).
  std::optional<sockaddr_in> candidate;
  std::vector<OfferedSection> sections;
};

// Fails with InvalidArgument on what no server should send: too big, too many m-lines, an
// m-line without a mid, a malformed m=, rtpmap or ssrc line, an accepted m-line without ICE
// credentials or fingerprint at its level or the session's. Attributes it does not need are
// skipped.
absl::StatusOr<SubscribeOffer> ParseSubscribeOffer(std::string_view sdp);

// The answer, as Chromium answers a server's offer on a receive-only connection: every offered
// m-line mirrored in order with its mid; accepted ones (see OfferedSection::accepted) with our
// ICE credentials and fingerprints, setup:active (JSEP 5.3.1: we are the DTLS client), the
// offer's extensions, codecs, feedback and fmtp, rtcp-mux, and recvonly when the offer sends
// (inactive otherwise, RFC 3264 6.1), all in one BUNDLE group in the offer's group order; the
// others rejected (port 0, a=inactive). When no m-line is accepted the ICE credentials and
// fingerprints go at session level, so that the answer still says who we are.
std::string BuildSubscribeAnswer(const SubscribeOffer& offer, const ClientTransport& transport,
                                 uint64_t session_id, uint64_t session_version);

}  // namespace sb::bench
