// A Consumer sends one producer's media on one transport. It rewrites SSRC, payload type,
// header-extension ids, sequence numbers and timestamps so the subscriber sees one continuous
// stream across pauses, and for video it starts (and restarts) only on a key frame.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "rtp/rtp_packet.h"
#include "rtp/rtp_parameters.h"
#include "rtp/stream_rewriter.h"

namespace sb::router {

class Producer;

class Consumer {
 public:
  class Listener {
   public:
    virtual ~Listener() = default;
    // A rewritten packet ready for SRTP; buffer has `capacity` bytes for the auth tag.
    virtual void OnConsumerSendRtp(Consumer* consumer, uint8_t* data, size_t len,
                                   size_t capacity) = 0;
    // The consumer needs a key frame from its producer (start, resume, or subscriber PLI/FIR).
    virtual void OnConsumerKeyFrameNeeded(Consumer* consumer) = 0;
  };

  struct Stats {
    uint32_t ssrc = 0;
    uint64_t packets = 0;
    uint64_t bytes = 0;
    int32_t packets_lost = 0;  // as the subscriber reports it
    uint8_t fraction_lost = 0;
    uint32_t jitter = 0;
    uint32_t pli_received = 0;
    uint32_t fir_received = 0;
    uint32_t nack_received = 0;
  };

  // `params` are the consumer's own (from rtp::ConsumerParameters), `producer` the source.
  Consumer(std::string id, const Producer& producer, rtp::RtpParameters params, bool paused,
           Listener* listener);

  const std::string& id() const { return id_; }
  const std::string& producer_id() const { return producer_id_; }
  rtp::MediaKind kind() const { return kind_; }
  const rtp::RtpParameters& rtp_parameters() const { return params_; }
  uint32_t ssrc() const { return ssrc_; }
  bool paused() const { return paused_; }
  bool producer_paused() const { return producer_paused_; }
  bool active() const { return !paused_ && !producer_paused_; }

  void SetPaused(bool paused);
  void SetProducerPaused(bool paused);
  void RequestKeyFrame();

  // Rewrites and sends one packet of the producer (already accounted by the producer).
  void SendRtpPacket(const rtp::RtpPacket& packet, int64_t now_ms);

  // RTCP from the subscriber about this consumer's ssrc.
  void ReceivePli();
  void ReceiveFir();
  void ReceiveNack();
  void ReceiveReportBlock(uint8_t fraction_lost, int32_t cumulative_lost, uint32_t jitter);

  // Fields of a sender report for this stream, mapped from the producer's last SR so the
  // subscriber can synchronise audio and video. Nothing before the first packet or the
  // publisher's first SR.
  struct SenderReportFields {
    uint32_t ntp_sec, ntp_frac, rtp_timestamp, packet_count, octet_count;
  };
  std::optional<SenderReportFields> MakeSenderReport(const Producer& producer) const;

  const Stats& stats() const { return stats_; }

 private:
  const std::string id_;
  const std::string producer_id_;
  const rtp::MediaKind kind_;
  const std::string mime_type_;
  const uint32_t clock_rate_;
  const rtp::RtpParameters params_;
  Listener* const listener_;

  uint32_t ssrc_ = 0;
  uint8_t payload_type_ = 0;
  uint8_t mid_ext_id_ = 0;
  std::array<uint8_t, 256> ext_id_map_{};  // producer's extension id -> ours (0 = drop)

  bool paused_ = false;
  bool producer_paused_ = false;
  rtp::StreamRewriter rewriter_;  // continuous seq/ts across pauses and resyncs
  int64_t last_key_frame_request_ms_ = INT64_MIN / 2;  // long ago: the first ask goes out
  Stats stats_;
};

}  // namespace sb::router
