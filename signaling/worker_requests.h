// Builders for the request bodies the control process sends to workers, and readers for
// their responses, in terms of signaling's own types.
#pragma once

#include <string>
#include <vector>

#include "fbs/message_generated.h"
#include "rtp/rtp_parameters.h"
#include "signaling/config.h"
#include "signaling/sdp/webrtc_sdp.h"
#include "signaling/workers/worker_process.h"

namespace sb::signaling {

WorkerProcess::BuildBodyFn CreateRouterBody(const std::string& router_id);
// `worker_id` picks the worker's ICE-TCP port (config.ice_tcp_port + worker_id).
WorkerProcess::BuildBodyFn CreateTransportBody(const std::string& transport_id,
                                               const Config& config, int worker_id);
// `remote_setup` is the peer's a=setup value (actpass, active, passive).
WorkerProcess::BuildBodyFn ConnectBody(const std::vector<sdp::Fingerprint>& fingerprints,
                                       const std::string& remote_setup);
WorkerProcess::BuildBodyFn ProduceBody(const std::string& producer_id, rtp::MediaKind kind,
                                       const rtp::RtpParameters& params);
WorkerProcess::BuildBodyFn ConsumeBody(const std::string& consumer_id,
                                       const std::string& producer_id,
                                       const rtp::RtpCapabilities& caps, const std::string& mid,
                                       bool paused);

// Data channels: the peer's a=max-message-size (0: no limit); a channel on `transport` carrying
// a data producer's messages, with this protocol (the sender's participant id).
WorkerProcess::BuildBodyFn EnableSctpBody(uint64_t max_message_size);
WorkerProcess::BuildBodyFn ConsumeDataBody(const std::string& data_consumer_id,
                                           const std::string& data_producer_id,
                                           const std::string& protocol);

// Pipes between routers: one end on `listen_ip` (SRTP between hosts), connected to the other
// end's address and key (its PipeTransportInfo). With `sctp` it carries data channels too, one
// end being the SCTP client (`sctp_client`) and the other not.
WorkerProcess::BuildBodyFn CreatePipeBody(const std::string& transport_id,
                                          const std::string& listen_ip, bool srtp,
                                          bool sctp = false, bool sctp_client = false);
WorkerProcess::BuildBodyFn ConnectPipeBody(const std::string& ip, uint16_t port,
                                           const std::vector<uint8_t>& srtp_key);

// `max_layer` -1: no ceiling.
WorkerProcess::BuildBodyFn ConsumerPreferencesBody(int max_layer, bool paused, int priority);

// "error: reason" of a failed response.
std::string ResponseReason(const fbs::Response* response);
sdp::LocalTransport LocalTransportFrom(const fbs::WebRtcTransportInfo* info);

}  // namespace sb::signaling
