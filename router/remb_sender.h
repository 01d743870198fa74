// router::RembSender: bandwidth feedback for a publisher that speaks only REMB (it negotiated
// goog-remb and abs-send-time but not transport-cc, so its own estimator has no per-packet
// feedback to work on). Every packet it sends with abs-send-time feeds a receive-side estimate
// (bwe::ReceiveSideBwe); when that estimate is due, a REMB (draft-alvestrand-rmcat-remb-03)
// naming the publisher's streams goes back on the transport.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "bwe/receive_side_bwe.h"
#include "rtp/rtp_packet.h"

namespace sb::router {

class RembSender {
 public:
  // The REMB packet names at most this many ssrcs (its count field is 8 bits).
  static constexpr size_t kMaxSsrcs = 255;
  // Reporting up, as the send-side estimate is reported (TRANSPORT_BANDWIDTH): on a 10 % move,
  // and every few seconds so that the figure shown is fresh.
  static constexpr double kReportChange = 0.1;
  static constexpr int64_t kReportIntervalUs = 5'000'000;

  class Listener {
   public:
    virtual ~Listener() = default;
    // The media ssrcs the REMB applies to (those of the publisher's streams).
    virtual void CollectRembSsrcs(std::vector<uint32_t>* ssrcs) = 0;
    // A serialized REMB to send to the publisher.
    virtual void OnRembSenderRtcp(uint8_t* data, size_t len, size_t capacity) = 0;
    // A REMB went out with this estimate: called for the first, then when the estimate moved
    // by kReportChange since the last call or kReportIntervalUs passed (for the control
    // process, which shows it).
    virtual void OnRembSent(int64_t /*estimate_bps*/) {}
  };

  struct Counters {
    uint64_t remb_sent = 0;
    uint64_t abs_send_time_malformed = 0;  // the extension present with a wrong length
    uint64_t packets_without_abs_send_time = 0;
  };

  RembSender(uint8_t abs_send_time_ext_id, uint32_t sender_ssrc, Listener* listener);

  // One RTP packet from the publisher (any: media, retransmission, padding), received at
  // `arrival_us`.
  void OnRtpPacket(const rtp::RtpPacket& packet, int64_t arrival_us);

  uint8_t abs_send_time_ext_id() const { return abs_send_time_ext_id_; }
  std::optional<int64_t> estimate_bps() const { return bwe_.estimate_bps(); }
  const bwe::ReceiveSideBwe& bwe() const { return bwe_; }
  const Counters& counters() const { return counters_; }

 private:
  void SendRemb(int64_t bitrate_bps, int64_t now_us);

  const uint8_t abs_send_time_ext_id_;
  const uint32_t sender_ssrc_;
  Listener* const listener_;
  bwe::ReceiveSideBwe bwe_;
  std::vector<uint32_t> ssrcs_;  // reused for each REMB
  std::optional<int64_t> last_report_us_;
  int64_t last_report_bps_ = 0;
  Counters counters_;
};

}  // namespace sb::router
