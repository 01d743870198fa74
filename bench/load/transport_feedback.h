// The receiving side of transport-wide congestion control for a synthetic subscriber
// (draft-holmer-rmcat-transport-wide-cc-extensions-01), as Chromium runs it on a receive-only
// connection: every packet that arrives with the transport-wide sequence number the answer
// negotiated is recorded with its arrival time (rtp::TransportCcReceiver), and the feedback is
// handed out for the subscriber to send over SRTCP, every kIntervalMs or sooner when
// rtp::TransportCcReceiver::kFeedbackDuePackets wait. The server's send-side estimator and
// allocator run on it; without it they treat the subscriber as doing no congestion control.
//
// Pure: the caller gives arrival times, owns the timer and sends the packets. The number is
// read from the SRTP packet's header, which SRTP leaves in the clear (RFC 3711 3.1), so that it
// is recorded for every packet whether or not the subscriber decrypts it
// (Subscriber::SetDecryptOneIn); a forged packet could only add an arrival, as on the server.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "absl/types/span.h"
#include "bench/load/subscribe_sdp.h"
#include "rtp/transport_cc_receiver.h"

namespace sb::bench {

// The transport-wide sequence number of a received RTP or SRTP packet, from extension element
// `id` of its header (one-byte or two-byte form, RFC 8285); nullopt when absent or malformed.
// Reads only the header: an SRTP packet's payload, padding count included, is encrypted.
std::optional<uint16_t> ReadTransportSequenceNumber(absl::Span<const uint8_t> packet, uint8_t id);

// The id of `uri` among an m-section's a=extmap values ("5 uri" or "5/recvonly uri"); 0 when
// it is not there.
uint8_t ExtensionIdOf(const OfferedSection& section, std::string_view uri);

class TransportFeedbackSender {
 public:
  // Chromium's default feedback interval (RemoteEstimatorProxy); sooner when
  // rtp::TransportCcReceiver::kFeedbackDuePackets wait, as the server does for publishers.
  static constexpr uint64_t kIntervalMs = 100;
  // Room for one serialized feedback packet (rtp::TransportCcReceiver keeps its worst case
  // under 1000 bytes) and, without rtcp-rsize, the empty receiver report before it.
  static constexpr size_t kMaxPacketBytes = 1200;

  // Takes the extension id and rtcp-rsize from the offer's m-lines that the subscriber
  // accepts (bundled m-lines share one mapping); an offer without the extension
  // keeps the id known before.
  void OnOffer(const SubscribeOffer& offer);
  // One received RTP packet (as it came off the wire) at `arrival_us` (one monotonic clock);
  // true when it carried the transport-wide sequence number and was recorded.
  bool OnPacket(absl::Span<const uint8_t> packet, int64_t arrival_us);
  // Enough packets wait that the feedback should go now rather than at the next interval.
  bool due() const { return receiver_.FeedbackDue(); }
  // Writes each feedback packet due into `buffer` (kMaxPacketBytes at least, plus whatever the
  // sender needs after it) and calls send(len) with it: one RTPFB packet alone (RFC 5506
  // reduced size) when the offer has rtcp-rsize, else a compound of an empty RR and it.
  template <typename Send>
  void Flush(uint32_t sender_ssrc, uint8_t* buffer, Send&& send);

  bool enabled() const { return extension_id_ != 0; }
  uint8_t extension_id() const { return extension_id_; }
  const rtp::TransportCcReceiver& receiver() const { return receiver_; }

 private:
  // Serializes `feedback` (with an RR first unless reduced size); 0 when it does not fit.
  size_t Write(uint32_t sender_ssrc, const rtp::TransportFeedback& feedback, uint8_t* out) const;

  uint8_t extension_id_ = 0;
  bool reduced_size_ = false;
  uint32_t media_ssrc_ = 0;  // the last packet's ssrc: the feedback names it, as libwebrtc's does
  rtp::TransportCcReceiver receiver_;
};

template <typename Send>
void TransportFeedbackSender::Flush(uint32_t sender_ssrc, uint8_t* buffer, Send&& send) {
  if (receiver_.pending() == 0) return;
  for (const rtp::TransportFeedback& feedback : receiver_.TakeFeedback(sender_ssrc, media_ssrc_)) {
    const size_t len = Write(sender_ssrc, feedback, buffer);
    if (len > 0) send(len);
  }
}

}  // namespace sb::bench
