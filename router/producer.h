// A Producer receives one track from a publisher: one encoding today (simulcast later), with
// receive statistics per SSRC (RFC 3550), the publisher's last sender report, and debounced
// key-frame requests.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "rtp/codecs/keyframe.h"
#include "rtp/receive_stats.h"
#include "rtp/rtcp/report_block.h"
#include "rtp/rtp_packet.h"
#include "rtp/rtp_parameters.h"

namespace sb::router {

class Producer {
 public:
  // Minimum time between two key-frame requests sent to the publisher. Subscribers joining
  // together all ask at once; one PLI serves them all. 500 ms is about one frame interval
  // at the slowest key-frame recovery a browser does (Chromium answers a PLI within a frame).
  static constexpr int64_t kKeyFrameRequestIntervalMs = 500;

  struct SenderInfo {
    bool valid = false;
    uint32_t ntp_sec = 0;
    uint32_t ntp_frac = 0;
    uint32_t rtp_timestamp = 0;
    int64_t received_ms = 0;
  };

  struct StreamStats {
    uint32_t ssrc = 0;
    uint64_t packets = 0;
    uint64_t bytes = 0;
    int32_t packets_lost = 0;
    uint8_t fraction_lost = 0;
    uint32_t jitter = 0;
    uint32_t pli_sent = 0;
  };

  static absl::StatusOr<std::unique_ptr<Producer>> Create(std::string id, rtp::MediaKind kind,
                                                          rtp::RtpParameters params, bool paused);

  const std::string& id() const { return id_; }
  rtp::MediaKind kind() const { return kind_; }
  const rtp::RtpParameters& rtp_parameters() const { return params_; }
  const rtp::RtpCodecParameters& media_codec() const { return media_codec_; }
  const std::string& mime_type() const { return media_codec_.mime_type; }
  uint32_t clock_rate() const { return media_codec_.clock_rate; }
  uint32_t media_ssrc() const { return media_ssrc_; }
  uint32_t rtx_ssrc() const { return rtx_ssrc_; }
  // The mid extension id the publisher uses, to learn an ssrc it did not announce.
  uint8_t mid_extension_id() const { return mid_ext_id_; }
  bool paused() const { return paused_; }
  void set_paused(bool paused) { paused_ = paused; }

  // Learns the media ssrc from the first packet when the publisher did not announce one
  // (mid-only signalling).
  void set_media_ssrc(uint32_t ssrc) { media_ssrc_ = ssrc; }

  // Accounts a packet from the publisher; true when it should be forwarded (known payload
  // type and not paused).
  bool ReceiveRtpPacket(const rtp::RtpPacket& packet, int64_t now_ms);
  void ReceiveSenderReport(uint32_t ntp_sec, uint32_t ntp_frac, uint32_t rtp_timestamp,
                           int64_t now_ms);
  const SenderInfo& sender_info() const { return sender_info_; }

  // A report block for our RR to the publisher; none before the first packet.
  std::optional<rtp::ReportBlock> MakeReportBlock(int64_t now_ms);

  // True when a PLI should go to the publisher now (debounced); counts it. A request inside
  // the debounce interval is not lost: it is deferred to the end of the interval, unless a
  // key frame arrives first (a subscriber that asked is then served by that key frame).
  bool ShouldRequestKeyFrame(int64_t now_ms);
  bool key_frame_request_deferred() const { return key_frame_request_deferred_; }
  // When the deferred request may go out.
  int64_t next_key_frame_request_ms() const {
    return last_key_frame_request_ms_ + kKeyFrameRequestIntervalMs;
  }
  // True (and counted) when a deferred request is due now.
  bool TakeDeferredKeyFrameRequest(int64_t now_ms);

  StreamStats stats() const;

 private:
  Producer(std::string id, rtp::MediaKind kind, rtp::RtpParameters params, bool paused);

  const std::string id_;
  const rtp::MediaKind kind_;
  const rtp::RtpParameters params_;
  rtp::RtpCodecParameters media_codec_;
  uint32_t media_ssrc_ = 0;
  uint32_t rtx_ssrc_ = 0;
  uint8_t mid_ext_id_ = 0;
  rtp::VideoCodec video_codec_ = rtp::VideoCodec::kOther;
  bool paused_ = false;

  rtp::ReceiveStats receive_stats_;
  SenderInfo sender_info_;
  int64_t last_key_frame_request_ms_ = -kKeyFrameRequestIntervalMs;
  uint32_t pli_sent_ = 0;
  bool key_frame_request_deferred_ = false;
  uint8_t last_fraction_lost_ = 0;
  int32_t last_packets_lost_ = 0;
};

}  // namespace sb::router
