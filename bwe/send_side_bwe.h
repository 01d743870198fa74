// Send-side bandwidth estimation for one transport (GCC, draft-ietf-rmcat-gcc-02, as browsers
// run it on the send side): every packet we send carries a transport-wide sequence number and
// is remembered here with its send time and size; the receiver's transport-cc feedback says
// which arrived and when. From that: the delay-based detector and AIMD rate, the loss-based
// rate, the acknowledged bitrate and probe results. The target is the smaller of the two rates.
//
// Pure: the caller gives times (microseconds of one monotonic clock for sends and `now`) and
// applies the target. A probe cluster is a burst the caller sends at a rate above the target
// (padding or retransmissions) tagged with a cluster id; its feedback measures the path.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "bwe/delay_based.h"
#include "bwe/rate_control.h"
#include "rtp/rtcp/transport_feedback.h"
#include "rtp/seq_num.h"

namespace sb::bwe {

class SendSideBwe {
 public:
  struct Config {
    int64_t start_bps = 300'000;
    int64_t min_bps = 50'000;
    int64_t max_bps = 20'000'000;
  };
  // Packets remembered for feedback: the ring starts small and doubles, up to the most, while
  // it would overwrite a packet sent less than kHistoryKeepUs ago (feedback comes every 100 ms
  // and may be late). A webinar viewer (about 150 packets/s) settles at 512 entries, 12 KB,
  // where a fixed 16,384 took 512 KB (bench/capacity webinar measured 0.5 MB per viewer) and a
  // start at 1,024 24 KB (heaptrack on a worker with 100 viewers).
  static constexpr size_t kMinHistorySize = 256;
  static constexpr size_t kMaxHistorySize = 16384;  // two seconds at 8,000 packets/s
  static constexpr int64_t kHistoryKeepUs = 2'000'000;
  static constexpr int64_t kAckedWindowUs = 500'000;
  // A probe cluster is judged once 80 % of its packets, and at least this many, were
  // acknowledged; one that lost more than a fifth of its packets fails.
  static constexpr size_t kMinProbePackets = 5;
  // A cluster of at least this many acknowledged packets is measured on the later half of its
  // arrivals: a token bucket lets its depth through at line rate, and only what follows shows
  // the rate. Smaller ones are measured whole.
  static constexpr size_t kMinProbePacketsForLaterHalf = 8;
  static constexpr size_t kMaxProbeArrivals = 64;

  struct Counters {
    uint64_t feedbacks = 0;
    uint64_t packets_acked = 0;
    uint64_t packets_lost = 0;
    uint64_t unknown = 0;  // feedback about a number not (or no longer) in the history
    uint64_t probes_succeeded = 0;
    uint64_t probes_failed = 0;
  };

  explicit SendSideBwe(Config config);
  SendSideBwe() : SendSideBwe(Config{}) {}

  // One packet went out with transport-wide sequence number `seq`. probe_cluster >= 0 tags a
  // probe's packets.
  void OnPacketSent(uint16_t seq, int64_t send_us, size_t size, int probe_cluster = -1);
  // One transport-cc feedback packet from the receiver.
  void OnFeedback(const rtp::TransportFeedback& feedback, int64_t now_us);
  void OnRtt(int64_t rtt_us);

  int64_t target_bps() const;
  int64_t delay_based_bps() const { return aimd_.estimate_bps(); }
  int64_t loss_based_bps() const { return loss_.estimate_bps(); }
  std::optional<int64_t> acked_bps() const { return acked_bps_; }
  double loss_fraction() const { return loss_.loss_fraction(); }
  BandwidthUsage usage() const { return detector_.usage(); }
  const Counters& counters() const { return counters_; }

 private:
  struct Sent {
    int64_t seq = -1;  // unwrapped; -1: empty slot
    int64_t send_us = 0;
    uint32_t size = 0;
    int32_t probe_cluster = -1;
  };
  // What the feedback said of one probe cluster's packets so far.
  struct ProbeCluster {
    size_t sent = 0;
    int64_t first_send_us = INT64_MAX, last_send_us = INT64_MIN;
    int64_t first_arrival_us = INT64_MAX, last_arrival_us = INT64_MIN;
    size_t acked = 0, lost = 0, bytes = 0, first_arrival_size = 0, last_send_size = 0;
    // (arrival, size) of the first kMaxProbeArrivals packets acknowledged.
    std::vector<std::pair<int64_t, uint32_t>> arrivals;
    bool judged = false;
  };
  void OnAcked(const Sent& sent, int64_t arrival_us);
  // Doubles the ring, each packet moving to its slot in the bigger one.
  void GrowHistory();
  void OnProbeAcked(const Sent& sent, int64_t arrival_us);
  // Judges the clusters whose packets (most of them) have been acknowledged.
  void JudgeProbes(int64_t now_us);

  rtp::SeqUnwrapper unwrapper_;
  std::vector<Sent> history_ = std::vector<Sent>(kMinHistorySize);  // a ring by sequence number
  DelayBasedDetector detector_;
  AimdRateControl aimd_;
  LossBasedControl loss_;
  // Acknowledged packets of the last kAckedWindowUs of arrival time: (arrival, bytes).
  std::deque<std::pair<int64_t, size_t>> acked_window_;
  size_t acked_window_bytes_ = 0;
  std::optional<int64_t> acked_bps_;
  std::map<int, ProbeCluster> probes_;
  Counters counters_;
};

}  // namespace sb::bwe
