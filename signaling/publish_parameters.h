// What a publisher's offered m-line becomes in the worker: the producer's RTP parameters.
#pragma once

#include <optional>

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

}  // namespace sb::signaling
