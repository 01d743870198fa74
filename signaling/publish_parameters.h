// What a publisher's offered m-line becomes in the worker: the producer's RTP parameters.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "rtp/rtp_parameters.h"
#include "signaling/sdp/webrtc_sdp.h"

namespace sb::signaling {

// The producer's parameters for one offered m-line: the first offered codec the router can
// forward (offer order is the browser's preference), its RTX, the header extensions we use
// (with rid and repaired-rid, so that simulcast streams can be told apart), and the
// encodings. A simulcast offer (a=simulcast:send with rids, RFC 8853) gives one encoding per
// rid in offer order, which by convention (browsers' sendEncodings, mediasoup) is lowest
// quality first; each has ssrc 0 (learned from the rid extension) unless a=ssrc-group:SIM
// gave it. nullopt when no offered codec can be forwarded.
std::optional<rtp::RtpParameters> ProducerParametersFor(const sdp::RemoteMedia& m);

// The answer's m-lines for a publish offer, in its order. An m-line with a producer (`produced`
// gives its parameters, or null) is answered recvonly with them. One the client keeps but sends
// nothing on (a=inactive: a screen share it stopped) is answered inactive with the codecs it
// would get, not rejected: a browser stops the transceiver of an m-line rejected in the answer,
// for good (W3C webrtc-pc, "set an RTCSessionDescription"), and the client sends its next share
// on the same m-line. Any other is rejected.
std::vector<sdp::LocalMedia> PublishAnswerMedia(
    const sdp::RemoteDescription& offer,
    absl::FunctionRef<const rtp::RtpParameters*(const std::string& mid)> produced);

}  // namespace sb::signaling
