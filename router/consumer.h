// A Consumer sends one producer's media on one transport as one stream. It rewrites SSRC,
// payload type, header-extension ids, sequence numbers and timestamps so the subscriber sees
// one continuous stream across pauses and simulcast layer switches, and for video it starts
// (and restarts) only on a key frame.
//
// Of a simulcast producer it forwards one encoding, as its LayerSelector decides: the highest
// live one under the ceiling set by the subscriber's preference and the bandwidth allocator.
// Within the encoding, its LayerFilter keeps the temporal layers (VP8, VP9, AV1) and, for SVC
// (VP9, AV1), the spatial layers the allocator allows; the packets it drops are closed up in
// the sequence numbers (and VP8 picture ids), and the marker bit is set where the highest
// forwarded spatial layer ends a picture.
// When that target changes it asks for a key frame of the target and keeps forwarding the
// current encoding until the key frame arrives, then switches there (if the current encoding
// stopped, nothing is forwarded meanwhile). A VP8 stream's picture id and TL0PICIDX are kept
// continuous across the switch too, and so is an AV1 stream's dependency-descriptor frame
// number (DdFrameNumberRewriter; a switch then waits for a key frame that carries its
// template structure). The allocator may also pause a video consumer whose
// lowest encoding does not fit (bandwidth_paused); it resumes at a key frame.
//
// On a subscriber's NACK (RFC 4585 6.2.1) it maps each requested sequence number back to the
// producer encoding and original sequence number it was sent from, takes that packet from the
// producer's history and sends it again rewritten exactly as the first time, as RTX (RFC 4588)
// when the subscriber negotiated it, else as is. It remembers the mapping of its last few runs
// (a run: from one re-basing, i.e. start, resume or layer switch, to the next), and refuses a
// number it cannot map exactly. What it resends is bounded: each packet at most once per
// kRetransmitIntervalMs (a number asked for again sooner is a duplicate), at most
// kMaxRetransmissionsPerNack per NACK, and at most RetransmitBudget::kSharePercent of the media
// bytes sent to the subscriber over the last second; what is refused is counted by reason.
//
// A relay consumer (Mode::kRelay: one on a pipe to another router) selects nothing: it sends
// every encoding of its producer, each on its own ssrc (params' encodings, in the producer's
// order), with the publisher's sequence numbers and timestamps, so the router at the other end
// receives the track as the publisher sent it and chooses layers for its own subscribers. A
// NACK or PLI names the encoding by its ssrc; retransmissions go out as they were first sent.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/types/span.h"
#include "router/dd_frame_number_rewriter.h"
#include "router/layer_filter.h"
#include "router/layer_selector.h"
#include "router/retransmit_budget.h"
#include "rtp/codecs/keyframe.h"
#include "rtp/codecs/video_layers.h"
#include "rtp/codecs/vp8_rewriter.h"
#include "rtp/header_extensions.h"
#include "rtp/rtp_packet.h"
#include "rtp/rtp_parameters.h"
#include "rtp/seq_num.h"
#include "rtp/stream_rewriter.h"

namespace sb::router {

class Producer;

class Consumer {
 public:
  static constexpr int64_t kEncodingActiveWindowMs = LayerSelector::kEncodingActiveWindowMs;
  // No encoding (a simulcast consumer before it has seen a packet; an allocation of nothing).
  static constexpr size_t kNoEncoding = LayerSelector::kNone;
  // A packet is retransmitted to a subscriber at most once in this interval: a receiver
  // repeats a NACK after about one RTT when the retransmission has not arrived (Chromium waits
  // max(rtt, 5 ms) and more), and without an RTT estimate 100 ms covers most paths while still
  // answering a NACK whose retransmission was lost.
  static constexpr int64_t kRetransmitIntervalMs = 100;
  // At most this many packets are retransmitted for one NACK message: one FCI item names up to
  // 17 packets; a longer list is a burst loss that a key frame repairs better than a burst of
  // retransmissions into an already lossy path.
  static constexpr size_t kMaxRetransmissionsPerNack = 32;
  // Runs (stretches of output with one mapping from the source) remembered for NACKs: the
  // current one and the ones before it. A dropped temporal layer starts a run at every picture
  // forwarded after a dropped one: 16 cover half a second of a 30 fps stream reduced to its
  // base layer (7.5 fps), more than a NACK's round trip.
  static constexpr size_t kMaxRuns = 16;
  // Recently retransmitted output sequence numbers remembered for kRetransmitIntervalMs.
  static constexpr size_t kRetransmitLogSize = 64;
  // Padding of a probe packet when there is nothing to copy: the most RTP padding can say
  // (its count is one octet).
  static constexpr uint8_t kProbePaddingBytes = 255;

  class Listener {
   public:
    virtual ~Listener() = default;
    // A rewritten packet ready for SRTP; buffer has `capacity` bytes for the auth tag.
    virtual void OnConsumerSendRtp(Consumer* consumer, uint8_t* data, size_t len,
                                   size_t capacity) = 0;
    // The consumer needs a key frame of its producer's `encoding` (start, resume, layer
    // switch, or subscriber PLI/FIR).
    virtual void OnConsumerKeyFrameNeeded(Consumer* consumer, size_t encoding) = 0;
    // The transport-wide sequence number of the packet about to be written (for a subscriber
    // that negotiated the extension); the packet follows in OnConsumerSendRtp.
    virtual uint16_t AllocateTransportSequenceNumber() { return 0; }
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
    uint32_t nack_received = 0;        // NACK messages
    uint64_t nack_packets = 0;         // sequence numbers they asked for
    uint64_t retransmitted = 0;        // packets sent again (RTX or plain)
    uint64_t retransmitted_bytes = 0;  // their payload bytes (as in `bytes`)
    // Sequence numbers a NACK asked for that were not sent again, by reason: asked again within
    // kRetransmitIntervalMs, over the byte budget, beyond kMaxRetransmissionsPerNack in one
    // NACK, or not mappable / no longer held.
    uint64_t nack_duplicates = 0;
    uint64_t nack_over_budget = 0;
    uint64_t nack_over_cap = 0;
    uint64_t nack_unavailable = 0;
    uint32_t layer_switches = 0;  // simulcast switches made (the first start not counted)
    uint64_t probe_packets = 0;   // RTX copies sent to probe the path for the estimate
    uint64_t probe_bytes = 0;
  };

  enum class Mode { kSubscriber, kRelay };

  // `params` are the consumer's own (from rtp::ConsumerParameters), `producer` the source. The
  // producer must outlive the consumer (the router closes consumers before their producer).
  // A relay's params have one encoding per producer encoding, without RTX.
  Consumer(std::string id, const Producer& producer, rtp::RtpParameters params, bool paused,
           Listener* listener, Mode mode = Mode::kSubscriber);

  const std::string& id() const { return id_; }
  const std::string& producer_id() const { return producer_id_; }
  rtp::MediaKind kind() const { return kind_; }
  const rtp::RtpParameters& rtp_parameters() const { return params_; }
  uint32_t ssrc() const { return ssrc_; }
  bool relay() const { return relay_; }
  // The streams it sends: one, or a relay's one per encoding (ssrc i carries encoding i).
  size_t stream_count() const { return relay_ ? encoding_count_ : 1; }
  uint32_t stream_ssrc(size_t stream) const {
    return relay_ ? params_.encodings[stream].ssrc : ssrc_;
  }
  bool paused() const { return paused_; }
  bool producer_paused() const { return producer_paused_; }
  bool active() const {
    return !paused_ && !producer_paused_ && !subscriber_paused_ && !bandwidth_paused_;
  }
  // The producer encoding being forwarded, and the one wanted (equal unless a switch is
  // waiting for a key frame); kNoEncoding before a simulcast consumer's first packet.
  size_t current_encoding() const { return simulcast_ ? selector_.current() : 0; }
  size_t target_encoding() const { return simulcast_ ? selector_.target() : 0; }
  size_t encoding_count() const { return encoding_count_; }
  // The spatial layer forwarded (the simulcast encoding, or the SVC layer; kNoEncoding before
  // the first packet) and the temporal layer (LayerFilter::kTop: all).
  size_t current_spatial_layer() const;
  uint8_t current_temporal_layer() const { return filter_.current_temporal(); }

  void SetPaused(bool paused);
  void SetProducerPaused(bool paused);
  // The highest encoding the subscriber wants (e.g. for its tile size); the top by default.
  void SetPreferredLayer(size_t layer);
  // The subscriber does not show the stream (a hidden tile): nothing is forwarded and the
  // allocator gives it nothing, until it wants it again (then from a key frame).
  void SetSubscriberPaused(bool paused);
  bool subscriber_paused() const { return subscriber_paused_; }
  size_t preferred_layer() const { return preferred_layer_; }
  // What the bandwidth allocator allows: the highest spatial layer (simulcast encoding or SVC
  // layer) and temporal layer in it, or kNoEncoding to pause the stream until it fits again.
  // Everything, until an allocator says otherwise.
  void SetAllocatedLayer(size_t spatial, uint8_t temporal = LayerFilter::kTop);
  size_t allocated_layer() const { return allocated_layer_; }
  uint8_t allocated_temporal_layer() const { return allocated_temporal_; }
  bool bandwidth_paused() const { return bandwidth_paused_; }
  // Higher is served first when bandwidth is short (e.g. 2 screen share, 1 active speaker).
  void SetPriority(int priority) { priority_ = priority; }
  int priority() const { return priority_; }
  // SendProbePacket can send: RTX negotiated, something forwarded, and not paused for any
  // reason but bandwidth.
  bool can_probe() const {
    return rtx_payload_type_ != 0 && stats_.packets > 0 && !paused_ && !producer_paused_ &&
           !subscriber_paused_;
  }
  // Sends the last packet forwarded again as RTX (a probe of the subscriber's path, RFC 4588
  // payload for the receiver to discard), or, when it is no longer held, a padding-only packet
  // of kProbePaddingBytes on the RTX stream; false when nothing was forwarded yet or no RTX
  // was negotiated.
  bool SendProbePacket(int64_t now_ms);
  void RequestKeyFrame();

  // Rewrites and sends one packet of the producer's `encoding` (already accounted by the
  // producer, which read its `layers`). Packets of the encodings and layers not forwarded are
  // dropped here.
  void SendRtpPacket(const rtp::RtpPacket& packet, size_t encoding, const rtp::VideoLayers& layers,
                     int64_t now_ms);

  // RTCP from the subscriber about one of this consumer's streams (`ssrc`).
  void ReceivePli(uint32_t ssrc);
  void ReceiveFir(uint32_t ssrc);
  // Generic NACK (RFC 4585 6.2.1): the lost sequence numbers, as the subscriber saw them.
  void ReceiveNack(uint32_t ssrc, absl::Span<const uint16_t> sequence_numbers, int64_t now_ms);
  void ReceiveReportBlock(uint8_t fraction_lost, int32_t cumulative_lost, uint32_t jitter);

  // Fields of a sender report for this stream, mapped from the producer's last SR of the
  // encoding being forwarded so the subscriber can synchronise audio and video. Nothing
  // before the first packet or that encoding's first SR.
  struct SenderReportFields {
    uint32_t ntp_sec, ntp_frac, rtp_timestamp, packet_count, octet_count;
  };
  std::optional<SenderReportFields> MakeSenderReport(const Producer& producer,
                                                     size_t stream = 0) const;

  const Stats& stats() const { return stats_; }

 private:
  // Re-bases the output (sequence numbers, timestamps, VP8 picture ids) on the next packet.
  void RequestSync();
  // Asks for a key frame of the encoding a subscriber is waiting for: the pending target, or
  // the current one.
  void AskForKeyFrame();
  // Simulcast: asks the selector; true when `packet` of `encoding` is to be forwarded
  // (switching to it first if it is the target's key frame).
  bool SelectEncoding(const rtp::RtpPacket& packet, size_t encoding, const rtp::VideoLayers& layers,
                      int64_t now_ms);
  // The selector's ceiling and the filter's target from the preference and the allocation.
  void UpdateCeiling();
  // Whether a packet of the encoding the stream (re)starts on can start it: a video key frame,
  // for AV1 simulcast with the structure its later descriptors refer to.
  bool CanStartStream(const rtp::RtpPacket& packet, const rtp::VideoLayers& layers) const;
  // AV1 simulcast: the dependency descriptor in the copy `data` about to be sent (empty when
  // it has none).
  absl::Span<uint8_t> OutgoingDescriptor(uint8_t* data, size_t len) const;
  // A packet the filter dropped: closes its gap in the numbering.
  void DropPacket(const rtp::RtpPacket& packet);
  // The extensions we write ourselves on what we send: the subscriber's mid, and the next
  // transport-wide sequence number (allocated here), in `values` and `transport_seq`.
  absl::Span<const rtp::ExtensionValue> OwnExtensions(
      std::array<rtp::ExtensionValue, 2>& values,
      uint8_t (&transport_seq)[rtp::kTransportSequenceNumberSize]) const;
  // Writes `packet` as sent to the subscriber (ssrc, payload type, extensions, numbers) into
  // `out`; 0 when it does not fit.
  size_t WritePacket(const rtp::RtpPacket& packet, uint16_t sequence_number, uint32_t timestamp,
                     uint8_t* out, size_t cap, uint32_t ssrc) const;
  // Relay: the packet as it came, on the encoding's ssrc.
  void Relay(const rtp::RtpPacket& packet, size_t encoding, int64_t now_ms);
  // Relay: sends the packets of `encoding` asked for again from the producer's history.
  void RelayRetransmit(size_t encoding, absl::Span<const uint16_t> sequence_numbers,
                       int64_t now_ms);
  // A PLI or FIR for stream `ssrc`: a key frame of what it carries.
  void KeyFrameAskedFor(uint32_t ssrc);
  // The encoding a relay sends on `ssrc` (kNoEncoding if none); 0 for a subscriber's consumer.
  size_t EncodingOfSsrc(uint32_t ssrc) const;
  // Remembers how a packet of `encoding` that just went out was mapped.
  void RecordSent(const rtp::RtpPacket& packet, size_t encoding, rtp::StreamRewriter::Output out);
  // A VP9 packet that ends the frame of the highest spatial layer forwarded in `run`.
  bool EndsForwardedPicture(const rtp::RtpPacket& packet, uint8_t spatial) const;
  enum class RetransmitResult { kSent, kUnavailable, kDuplicate, kOverBudget };
  // Sends output packet `sequence_number` again, unless it cannot be mapped exactly or is no
  // longer held, went out again too recently, or would exceed the budget (a probe is neither
  // limited by those two nor counted as a retransmission).
  RetransmitResult Retransmit(uint16_t sequence_number, int64_t now_ms, bool probe = false);

  const std::string id_;
  const std::string producer_id_;
  const rtp::MediaKind kind_;
  const rtp::VideoCodec video_codec_;
  const uint32_t clock_rate_;
  const rtp::RtpParameters params_;
  const Producer& producer_;
  Listener* const listener_;
  const bool relay_;
  const bool simulcast_;  // selects one encoding of several (never a relay)
  // Simulcast encodings number VP8 pictures independently, and a dropped temporal layer leaves
  // gaps: keep them continuous.
  const bool rewrite_vp8_;
  // One encoding with spatial layers (VP9, AV1): the filter drops the ones above the target.
  const bool svc_;
  // AV1 simulcast whose dependency descriptor is forwarded: the producer's extension id and
  // ours (0 otherwise); its frame numbers are rewritten (dd_rewriter_).
  uint8_t dd_ext_id_ = 0;
  uint8_t dd_out_ext_id_ = 0;

  uint32_t ssrc_ = 0;
  uint8_t payload_type_ = 0;
  uint8_t mid_ext_id_ = 0;
  uint8_t transport_cc_ext_id_ = 0;        // the subscriber's transport-wide sequence number id
  std::array<uint8_t, 256> ext_id_map_{};  // producer's extension id -> ours (0 = drop)

  const size_t encoding_count_;
  const size_t spatial_count_;  // simulcast encodings, or SVC spatial layers (1 for audio)
  bool paused_ = false;
  bool producer_paused_ = false;
  bool subscriber_paused_ = false;
  bool bandwidth_paused_ = false;
  int priority_ = 0;
  size_t preferred_layer_;
  size_t allocated_layer_;
  uint8_t allocated_temporal_ = LayerFilter::kTop;
  LayerSelector selector_;        // simulcast only
  LayerFilter filter_;            // video: temporal (and SVC spatial) layers
  rtp::StreamRewriter rewriter_;  // continuous seq/ts across pauses, resyncs and switches
  rtp::Vp8Rewriter vp8_rewriter_;
  DdFrameNumberRewriter dd_rewriter_;
  int64_t last_key_frame_request_ms_ = INT64_MIN / 2;  // long ago: the first ask goes out
  Stats stats_;

  // How a run of output maps back to its source: output = source + offsets, for the output
  // sequence numbers first..last (extended) sent from `encoding` (ssrc `source_ssrc`).
  struct Run {
    bool valid = false;
    size_t encoding = 0;
    uint32_t source_ssrc = 0;
    int64_t first = 0;
    int64_t last = 0;
    uint16_t seq_offset = 0;
    uint32_t ts_offset = 0;
    rtp::Vp8Rewriter::Offsets vp8;
    uint16_t dd_frame_offset = 0;
    uint8_t marker_spatial = LayerFilter::kTop;  // where the marker was set (SVC)
  };
  struct Retransmission {
    int64_t seq = -1;  // extended output sequence number
    int64_t sent_ms = 0;
  };
  uint8_t rtx_payload_type_ = 0;  // 0: the subscriber has no RTX, retransmit as is
  uint32_t rtx_ssrc_ = 0;
  uint16_t rtx_seq_ = 0;
  uint32_t last_timestamp_ = 0;  // of the last packet forwarded, for padding probes
  bool new_run_ = true;          // the rewriters re-based: the next packet sent starts a run
  rtp::SeqUnwrapper out_seq_unwrapper_;
  std::array<Run, kMaxRuns> runs_{};
  size_t run_head_ = 0;  // runs_[run_head_] is the current run
  std::array<Retransmission, kRetransmitLogSize> retransmissions_{};
  RetransmitBudget budget_;
};

}  // namespace sb::router
