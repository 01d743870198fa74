// A Producer receives one track from a publisher: one encoding, or several simulcast encodings
// (RFC 8853) listed lowest quality first, each known by its ssrc or learned by its rid
// (RFC 8852). Per encoding it keeps receive statistics (RFC 3550), the publisher's last sender
// report, when media last arrived, and debounced key-frame requests; per video encoding, the
// last packets received, which every consumer retransmits from on a subscriber's NACK (one
// history per producer, not per consumer).
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "rtp/codecs/keyframe.h"
#include "rtp/codecs/video_layers.h"
#include "rtp/nack_generator.h"
#include "rtp/packet_history.h"
#include "rtp/rate_meter.h"
#include "rtp/receive_stats.h"
#include "rtp/rtcp/report_block.h"
#include "rtp/rtp_packet.h"
#include "rtp/rtp_parameters.h"

namespace sb::router {

class Producer {
 public:
  // Minimum time between two key-frame requests sent to the publisher for one encoding.
  // Subscribers joining together all ask at once; one PLI serves them all. 500 ms is about one
  // frame interval at the slowest key-frame recovery a browser does (Chromium answers a PLI
  // within a frame).
  static constexpr int64_t kKeyFrameRequestIntervalMs = 500;
  // Packets kept per video encoding for retransmission: about 1 s of a 3 Mbit/s stream of
  // ~1200-byte packets (~310 packets/s) with room for key-frame bursts; a NACK comes about
  // one RTT after the loss, far sooner. Lower simulcast layers keep several seconds.
  static constexpr size_t kHistoryPackets = 512;
  // Largest packet kept: an Ethernet MTU (browsers keep RTP under 1200 bytes). Bounds a video
  // encoding's history to kHistoryPackets * kHistoryMaxPacketSize = 768 KB, reserved on its
  // first packet.
  static constexpr size_t kHistoryMaxPacketSize = 1500;
  // Simulcast encodings a producer may have. Browsers send at most 3 (Chromium, Firefox, Safari)
  // and RFC 8853 sets no limit, but each video encoding reserves a packet history of up to
  // kHistoryPackets * kHistoryMaxPacketSize (768 KB): an offer declaring thousands of rids must
  // not reserve gigabytes.
  static constexpr size_t kMaxEncodings = 4;
  // last_packet_ms() of an encoding that never received media.
  static constexpr int64_t kNever = INT64_MIN / 2;

  struct SenderInfo {
    bool valid = false;
    uint32_t ntp_sec = 0;
    uint32_t ntp_frac = 0;
    uint32_t rtp_timestamp = 0;
    int64_t received_ms = 0;
  };

  struct StreamStats {
    uint32_t ssrc = 0;
    std::string rid;
    uint64_t packets = 0;
    uint64_t bytes = 0;
    int32_t packets_lost = 0;
    uint8_t fraction_lost = 0;
    uint32_t jitter = 0;
    uint32_t pli_sent = 0;
    // Upstream repair: sequence numbers asked for again (each time), and retransmissions
    // taken.
    uint64_t nack_requested = 0;
    uint64_t retransmissions_received = 0;
    // Key-frame requests for this encoding (subscribers' PLI/FIR, consumer starts and layer
    // switches) that did not cause a PLI of their own: merged into the one sent or deferred
    // within kKeyFrameRequestIntervalMs.
    uint64_t key_frame_requests_suppressed = 0;
  };

  static absl::StatusOr<std::unique_ptr<Producer>> Create(std::string id, rtp::MediaKind kind,
                                                          rtp::RtpParameters params, bool paused);

  const std::string& id() const { return id_; }
  rtp::MediaKind kind() const { return kind_; }
  const rtp::RtpParameters& rtp_parameters() const { return params_; }
  const rtp::RtpCodecParameters& media_codec() const { return media_codec_; }
  const std::string& mime_type() const { return media_codec_.mime_type; }
  uint32_t clock_rate() const { return media_codec_.clock_rate; }
  // The RTX payload type for the media codec, 0 when RTX was not negotiated.
  uint8_t rtx_payload_type() const { return rtx_payload_type_; }
  // Extension ids the publisher uses, to learn ssrcs it did not announce; 0 when absent.
  uint8_t mid_extension_id() const { return mid_ext_id_; }
  uint8_t rid_extension_id() const { return rid_ext_id_; }
  uint8_t repaired_rid_extension_id() const { return repaired_rid_ext_id_; }
  // The ssrc-audio-level extension (RFC 6464) of an audio producer; 0 when absent.
  uint8_t audio_level_extension_id() const { return audio_level_ext_id_; }
  // Added to its consumers' priority when bandwidth is short (1: the active speaker's video).
  int priority() const { return priority_; }
  void set_priority(int priority) { priority_ = priority; }
  // Dynacast: the highest encoding some subscriber wants, as last told to the publisher
  // (-1: not told yet).
  int layers_needed() const { return layers_needed_; }
  void set_layers_needed(int layer) { layers_needed_ = layer; }
  bool paused() const { return paused_; }
  void set_paused(bool paused) { paused_ = paused; }

  // Encodings, indexed as in rtp_parameters().encodings (lowest quality first).
  size_t encoding_count() const { return encodings_.size(); }
  bool simulcast() const { return encodings_.size() > 1; }
  const std::string& rid(size_t encoding) const { return encodings_[encoding].rid; }
  // 0 until announced or learned.
  uint32_t media_ssrc(size_t encoding = 0) const { return encodings_[encoding].ssrc; }
  uint32_t rtx_ssrc(size_t encoding = 0) const { return encodings_[encoding].rtx_ssrc; }
  // The encoding with that rid, if any.
  std::optional<size_t> EncodingForRid(std::string_view rid) const;
  // Records an ssrc learned from the first packets (mid/rid signalling, RFC 8843 9.2).
  void set_media_ssrc(size_t encoding, uint32_t ssrc) { encodings_[encoding].ssrc = ssrc; }
  void set_rtx_ssrc(size_t encoding, uint32_t ssrc) { encodings_[encoding].rtx_ssrc = ssrc; }
  // When media last arrived on an encoding (kNever before the first packet).
  int64_t last_packet_ms(size_t encoding) const { return encodings_[encoding].last_packet_ms; }
  // Whether media arrived on an encoding within `window_ms` of `now_ms`.
  bool live(size_t encoding, int64_t now_ms, int64_t window_ms) const {
    return now_ms - encodings_[encoding].last_packet_ms <= window_ms;
  }
  // What the publisher sends on an encoding, bits per second over the last second (whole RTP
  // packets, retransmissions not counted): the cost of forwarding it, for the allocator.
  int64_t bitrate_bps(size_t encoding, int64_t now_ms) const {
    return encodings_[encoding].rate.BitsPerSecond(now_ms);
  }

  // Layers a video track is told apart into for allocation: spatial ones (the simulcast
  // encodings, or the SVC layers of a VP9 or AV1 track with one encoding), each with its
  // temporal layers.
  static constexpr size_t kMaxTemporalLayers = rtp::VideoLayers::kMaxTemporal;
  // SVC: one encoding whose codec can carry spatial layers (VP9, AV1).
  bool svc() const { return svc_; }
  size_t spatial_layer_count() const {
    return svc_ ? rtp::VideoLayers::kMaxSpatial : encodings_.size();
  }
  // Whether media of spatial layer `spatial` and temporal layer `temporal` arrived within
  // `window_ms`.
  bool layer_live(size_t spatial, size_t temporal, int64_t now_ms, int64_t window_ms) const {
    return now_ms - layers_[LayerIndex(spatial, temporal)].last_packet_ms <= window_ms;
  }
  // What forwarding up to that layer costs, bits per second: its temporal layers up to
  // `temporal`, and for SVC the spatial layers under it too (they are forwarded with it).
  int64_t layer_bitrate_bps(size_t spatial, size_t temporal, int64_t now_ms) const;
  // Packets whose layer descriptor could not be read (forwarded as the base layer).
  uint64_t layer_descriptors_malformed() const;

  // Accounts a packet of `encoding` from the publisher; true when it should be forwarded
  // (known payload type and not paused). For video, `layers` (if not null) gets what the
  // packet's descriptor says (read once here for every consumer).
  bool ReceiveRtpPacket(const rtp::RtpPacket& packet, size_t encoding, int64_t now_ms,
                        rtp::VideoLayers* layers = nullptr);
  // The same for a retransmission (restored from RTX, RFC 4588): taken only when it is a packet
  // we asked for (NackGenerator), else dropped (a duplicate, a padding probe) and false.
  bool ReceiveRetransmission(const rtp::RtpPacket& packet, size_t encoding, int64_t now_ms,
                             rtp::VideoLayers* layers = nullptr);

  // Upstream repair (RFC 4585 6.2.1): for a video producer whose publisher takes NACK, the
  // sequence numbers of `encoding` to ask for now; and whether any encoding misses packets.
  bool nack_enabled() const { return nack_enabled_; }
  std::vector<uint16_t> DueNacks(size_t encoding, int64_t now_ms, int64_t retry_interval_ms);
  bool nack_pending() const;
  void ReceiveSenderReport(size_t encoding, uint32_t ntp_sec, uint32_t ntp_frac,
                           uint32_t rtp_timestamp, int64_t now_ms);
  const SenderInfo& sender_info(size_t encoding) const { return encodings_[encoding].sender_info; }

  // A report block about one encoding for our RR to the publisher; none before its first
  // packet.
  std::optional<rtp::ReportBlock> MakeReportBlock(size_t encoding, int64_t now_ms);

  // True when a PLI for `encoding` should go to the publisher now (debounced per encoding);
  // counts it. A request inside the debounce interval is not lost: it is deferred to the end
  // of the interval, unless a key frame of that encoding arrives first (a subscriber that
  // asked is then served by that key frame).
  bool ShouldRequestKeyFrame(size_t encoding, int64_t now_ms);
  bool key_frame_request_deferred(size_t encoding) const {
    return encodings_[encoding].key_frame_request_deferred;
  }
  // When the deferred request of an encoding may go out.
  int64_t next_key_frame_request_ms(size_t encoding) const {
    return encodings_[encoding].last_key_frame_request_ms + kKeyFrameRequestIntervalMs;
  }
  // True (and counted) when a deferred request is due now.
  bool TakeDeferredKeyFrameRequest(size_t encoding, int64_t now_ms);

  StreamStats stats(size_t encoding) const;

  // The packets of a video encoding kept for retransmission (as received, after SRTP);
  // nullptr for audio (browsers do not NACK Opus).
  const rtp::PacketHistory* history(size_t encoding) const {
    return kind_ == rtp::MediaKind::kVideo ? &encodings_[encoding].history : nullptr;
  }

 private:
  struct Encoding {
    std::string rid;
    uint32_t ssrc = 0;
    uint32_t rtx_ssrc = 0;
    rtp::ReceiveStats receive_stats;
    SenderInfo sender_info;
    int64_t last_packet_ms = kNever;
    rtp::RateMeter rate;
    int64_t last_key_frame_request_ms = -kKeyFrameRequestIntervalMs;
    bool key_frame_request_deferred = false;
    uint32_t pli_sent = 0;
    uint64_t key_frame_requests_suppressed = 0;
    uint64_t nack_requested = 0;
    uint64_t retransmissions_received = 0;
    uint8_t last_fraction_lost = 0;
    int32_t last_packets_lost = 0;
    rtp::PacketHistory history{kHistoryPackets, kHistoryMaxPacketSize};  // video only
    rtp::NackGenerator nack;                                             // with nack_enabled_
    std::optional<rtp::VideoLayerReader> layer_reader;                   // video only
  };
  struct LayerMeter {
    int64_t last_packet_ms = kNever;
    rtp::RateMeter rate;
  };
  static constexpr size_t kMaxSpatialLayers =
      std::max<size_t>(kMaxEncodings, rtp::VideoLayers::kMaxSpatial);
  static size_t LayerIndex(size_t spatial, size_t temporal) {
    return spatial * kMaxTemporalLayers + temporal;
  }

  Producer(std::string id, rtp::MediaKind kind, rtp::RtpParameters params, bool paused);
  bool Accept(const rtp::RtpPacket& packet, size_t encoding, int64_t now_ms,
              rtp::VideoLayers* layers);

  const std::string id_;
  const rtp::MediaKind kind_;
  const rtp::RtpParameters params_;
  rtp::RtpCodecParameters media_codec_;
  uint8_t rtx_payload_type_ = 0;
  uint8_t mid_ext_id_ = 0;
  uint8_t rid_ext_id_ = 0;
  uint8_t repaired_rid_ext_id_ = 0;
  uint8_t audio_level_ext_id_ = 0;
  int priority_ = 0;
  int layers_needed_ = -1;
  rtp::VideoCodec video_codec_ = rtp::VideoCodec::kOther;
  bool paused_ = false;
  bool svc_ = false;
  uint8_t dependency_descriptor_ext_id_ = 0;
  bool nack_enabled_ = false;
  std::vector<Encoding> encodings_;  // sized once, at creation
  // Per spatial and temporal layer (video), by LayerIndex.
  std::array<LayerMeter, kMaxSpatialLayers * kMaxTemporalLayers> layers_{};
};

}  // namespace sb::router
