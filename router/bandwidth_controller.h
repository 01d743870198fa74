// What one subscriber transport may send, and how it is shared: the send-side estimate
// (bwe::SendSideBwe, fed with every packet sent under a transport-wide sequence number and
// the subscriber's transport-cc feedback), the allocation of that estimate among the
// transport's consumers (BandwidthAllocator, every kAllocationIntervalMs: the layer each
// consumer may forward, or a pause), and probing: while the consumers would take more than
// the estimate, short clusters of RTX copies sent above it measure whether the path carries
// more (the estimate only grows to 1.5 times what is acknowledged otherwise, so a subscriber
// held at a low layer would stay there).
//
// The transport owns it once a consumer negotiated the transport-wide sequence number
// extension; a subscriber without it gets no estimate and no limit.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "base/uv_timer.h"
#include "bwe/send_side_bwe.h"
#include "router/consumer.h"
#include "rtp/rtcp/transport_feedback.h"

namespace sb::router {

class Producer;

class BandwidthController {
 public:
  static constexpr uint64_t kAllocationIntervalMs = 500;
  // The estimate starts at 300 kbps (bwe::SendSideBwe), simulcast streams start low, and the
  // first probes take the estimate to what the path carries within about a second; for this
  // long after the first feedback a stream with a single encoding is not paused (it has no
  // lower layer to start on).
  static constexpr int64_t kStartupMs = 2000;
  // Nor while the estimate is still climbing: from when the consumers want more than it until
  // a probe fails to raise it (a path with room is found in a few probes; pausing video in the
  // meantime would blank a newcomer's room for seconds).
  // A probe's feedback is in this long after it went out (feedback every 100 ms, a round trip).
  static constexpr int64_t kProbeJudgedMs = 300;
  // A subscriber that negotiated transport-cc but sends no feedback this long after our first
  // packet (a load generator, a stack that only pretends) does no congestion control: it is
  // not limited at all.
  static constexpr int64_t kNoFeedbackMs = 5000;
  // Probe clusters last about this long (Chromium's prober: at least 15 ms and 5 packets),
  // paced by a 1 ms timer.
  static constexpr int64_t kProbeDurationMs = 30;
  // Enough for the estimate to measure the later half (bwe::SendSideBwe).
  static constexpr size_t kMinProbePackets = bwe::SendSideBwe::kMinProbePacketsForLaterHalf + 2;
  static constexpr size_t kMaxProbePackets = 40;
  // Every cluster carries at least as many bytes as kMinProbePackets full-size packets, also
  // when it is made of padding-only packets (a video paused for bandwidth for over a second no
  // longer holds a packet to resend): a cluster of ten 290-byte packets lasted a fifth as long,
  // and a worker's loop late by a few milliseconds under load then halved the rate it measured
  // (seen in a 1,000-viewer webinar: a paused viewer's probes never lifted its estimate).
  static constexpr int64_t kMinProbeBytes = kMinProbePackets * 1200;
  // A probe after one that raised the estimate comes this soon (the next allocation: the
  // estimate doubles about twice a second while the path has room, as Chromium probes further
  // at once after a probe that succeeded); after one that did not (the path is full, or the
  // subscriber's link is that narrow), this late. The first ones go at consecutive allocations.
  static constexpr int64_t kProbeIntervalMs = 500;
  static constexpr int64_t kProbeBackoffMs = 5000;
  // The first probes of a transport, as multiples of the start estimate (as Chromium starts:
  // 3x and 6x); later ones at twice the estimate. All capped at what the consumers want.
  static constexpr int kInitialProbeMultipliers[] = {3, 6};
  static constexpr int kProbeMultiplier = 2;

  using ConsumerMap = absl::flat_hash_map<std::string, std::unique_ptr<Consumer>>;

  class Listener {
   public:
    virtual ~Listener() = default;
    // The source producer of a consumer; nullptr if gone.
    virtual const Producer* ProducerOf(const Consumer* consumer) const = 0;
    // The estimate or the allocation moved noticeably (at most once per allocation).
    virtual void OnBandwidthChanged() = 0;
  };

  struct Counters {
    uint64_t allocations = 0;
    uint64_t probe_clusters = 0;
    uint64_t probe_packets = 0;
  };

  BandwidthController(uv_loop_t* loop, const ConsumerMap& consumers, Listener* listener);
  ~BandwidthController();

  // The transport-wide number of the packet about to be written; OnPacketSent follows with
  // its size.
  uint16_t AllocateSequenceNumber();
  void OnPacketSent(size_t len);
  void OnFeedback(const rtp::TransportFeedback& feedback);

  // Shares the estimate among the consumers now (also driven by the timer) and starts a
  // probe when they want more and one is due.
  void Allocate();

  const bwe::SendSideBwe& bwe() const { return bwe_; }
  int64_t estimate_bps() const { return bwe_.target_bps(); }
  int64_t allocated_bps() const { return allocated_bps_; }
  int64_t desired_bps() const { return desired_bps_; }
  const Counters& counters() const { return counters_; }
  bool probing() const { return probe_.cluster >= 0; }

 private:
  void MaybeProbe(int64_t now_ms);
  // False when no consumer can carry a probe yet (no video forwarded, or no RTX).
  bool StartProbe(int64_t rate_bps);
  // Sends the probe packets that are due (1 ms timer while a cluster runs).
  void SendProbePackets();

  uv_loop_t* const loop_;
  const ConsumerMap& consumers_;
  Listener* const listener_;
  bwe::SendSideBwe bwe_;
  std::unique_ptr<UvTimer> allocation_timer_;
  std::unique_ptr<UvTimer> probe_timer_;

  uint16_t next_seq_ = 1;
  std::optional<uint16_t> pending_seq_;  // allocated for the packet being written

  std::optional<int64_t> first_sent_ms_;
  std::optional<int64_t> first_feedback_ms_;
  int64_t allocated_bps_ = 0;
  int64_t desired_bps_ = 0;
  int64_t reported_estimate_bps_ = 0;
  int64_t reported_allocated_bps_ = 0;

  // Probing.
  size_t initial_probes_left_ = std::size(kInitialProbeMultipliers);
  int64_t last_probe_ms_ = INT64_MIN / 2;
  int64_t estimate_at_last_probe_ = 0;
  bool ramping_ = true;  // the last probe raised the estimate (or none was judged yet)
  int next_cluster_ = 0;
  struct Probe {
    int cluster = -1;  // -1: none running
    std::string consumer_id;
    int64_t bytes_left = 0;  // the cluster ends when these are sent and kMinProbePackets too
    size_t packets_sent = 0;
    int64_t rate_bps = 0;
    int64_t next_send_us = 0;
  } probe_;
  int sending_cluster_ = -1;  // the cluster of the packet being sent, for OnPacketSent
  size_t last_sent_len_ = 0;
  Counters counters_;
};

}  // namespace sb::router
