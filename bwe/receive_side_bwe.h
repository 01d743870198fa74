// Receive-side bandwidth estimation (draft-ietf-rmcat-gcc-02 section 3, the variant for
// senders that only speak REMB): the delay-based detector and AIMD rate control run where the
// media arrives, on each packet's abs-send-time (the sender's clock) and arrival time (ours);
// the estimate goes back to the sender in a REMB (draft-alvestrand-rmcat-remb-03).
//
// Start: the estimate is not valid (no REMB) until either a paced run of packets (a sender's
// probe) measured the path, or the incoming rate has been measured for a window. Probes are
// looked for only at the start of the stream, when the sender probes to find its start rate
// (a media frame's paced packets would read as one too, and later on the delay signal decides).
// Loss is left to the sender (it has the receiver reports): the estimate follows delay only.
//
// Pure: the caller gives arrival times (microseconds, all from one clock) and sends the REMB.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "bwe/delay_based.h"
#include "bwe/rate_control.h"
#include "rtp/rate_meter.h"

namespace sb::bwe {

// abs-send-time (24-bit 6.18 fixed-point seconds, wrapping every 64 s) into microseconds on a
// line that does not wrap: each value is taken as the nearest to the previous one (within
// +-32 s).
class AbsSendTimeUnwrapper {
 public:
  static constexpr uint32_t kMask = 0xFFFFFF;
  static constexpr int kFractionBits = 18;
  int64_t Unwrap(uint32_t abs_send_time);

 private:
  std::optional<uint32_t> last_;
  int64_t ticks_ = 0;  // unwrapped, in 2^-18 s
};

class ReceiveSideBwe {
 public:
  struct Config {
    int64_t min_bps = 50'000;
    int64_t max_bps = 20'000'000;
  };
  // draft-ietf-rmcat-gcc-02 section 3: a REMB goes out at least once a second, and at once
  // when the estimate falls; "falls" as libwebrtc's receiver has it (below 97 % of the last
  // one sent), so that the small steps of one decrease do not each send one.
  static constexpr int64_t kRembIntervalUs = 1'000'000;
  static constexpr double kRembDropRatio = 0.97;
  // Packets smaller than this are not taken for paced ones (audio, padding-only fill): a
  // sender's probes and paced media are full packets (libwebrtc's receiver uses 200 bytes).
  static constexpr size_t kMinProbePacketSize = 200;
  // A probe: a run of at least kMinProbePackets such packets (Chromium's prober sends clusters
  // of at least 5), consecutive among the full packets, each sent at most kMaxProbeGapUs after
  // the one before (a 1200-byte packet every 20 ms is 480 kbit/s, below any probe worth
  // taking). Every run of 5 to kMaxProbePackets packets ending at each new one is measured, so
  // that a pacer's jitter (Chromium's probe gaps vary between 3 and 6 ms on a loaded machine)
  // does not split a probe into pieces too short to count.
  static constexpr size_t kMinProbePackets = 5;
  static constexpr size_t kMaxProbePackets = 16;
  static constexpr int64_t kMaxProbeGapUs = 20'000;
  // A probe is paced: its packets were sent, and arrived, at least 1 ms apart on average (the
  // spacing libwebrtc's receiver requires of most of a probe's gaps). Packets sent back to back
  // (a burst from a queue in the sender, several at one pacer tick) say only that the first
  // link was fast, not what the path carries: on loopback such runs read as hundreds of
  // Mbit/s.
  static constexpr int64_t kMinProbeSpacingUs = 1'000;
  // Probes are looked for during this long after the first packet. Chromium probes when its
  // transport starts and again, higher, each time the estimate it gets reaches most of the
  // last probe, during its 2-second start phase (which begins at our first receiver report,
  // 0.5-1.5 s in): 4 s covers that.
  static constexpr int64_t kProbingPeriodUs = 4'000'000;
  // Without a probe, the estimate starts at the incoming rate once it has been measured over
  // the rate meter's window (1 s).
  static constexpr int64_t kInitialWindowUs = rtp::RateMeter::kWindowMs * 1000;
  // Before the first window is full the incoming rate is what arrived over the time passed,
  // once that is at least one of the meter's buckets.
  static constexpr int64_t kMinIncomingSpanUs = rtp::RateMeter::kBucketMs * 1000;
  // The rate control is run at most this often (and at once on overuse): its increase is per
  // elapsed time, its decrease once per round trip.
  static constexpr int64_t kUpdateIntervalUs = 25'000;
  // A send time this far from where the arrival times put it is not a path's delay but a
  // sender that restarted its clock (or garbage): the delay history starts afresh.
  static constexpr int64_t kMaxSendTimeJumpUs = 3'000'000;

  struct Counters {
    uint64_t packets = 0;
    uint64_t probes_taken = 0;     // probes that raised the estimate
    uint64_t send_time_jumps = 0;  // see kMaxSendTimeJumpUs
    uint64_t rembs = 0;            // REMB values handed out by TakeRemb
  };

  explicit ReceiveSideBwe(Config config);
  ReceiveSideBwe() : ReceiveSideBwe(Config{}) {}

  // One received packet: its abs-send-time value (24 bits), arrival time and size in bytes.
  void OnPacket(uint32_t abs_send_time, int64_t arrival_us, size_t size);
  void OnRtt(int64_t rtt_us);

  // The estimate, once valid.
  std::optional<int64_t> estimate_bps() const;
  // The bitrate to put in a REMB now, if one is due (see kRembIntervalUs); it is then taken
  // as sent.
  std::optional<int64_t> TakeRemb(int64_t now_us);
  // What the packets arrive at (over the last second, or since the first packet).
  int64_t incoming_bps(int64_t now_us) const;
  BandwidthUsage usage() const { return detector_.usage(); }
  const Counters& counters() const { return counters_; }

 private:
  struct Full {  // a packet of at least kMinProbePacketSize
    int64_t send_us = 0;
    int64_t arrival_us = 0;
    uint64_t bytes_through = 0;  // bytes of every packet received up to and with this one
  };
  void OnProbeCandidate(int64_t send_us, int64_t arrival_us);
  // The highest rate a paced run ending at the newest full packet shows (0: none).
  int64_t ProbeRate() const;
  void UpdateRate(int64_t now_us);

  const Config config_;
  AbsSendTimeUnwrapper unwrapper_;
  DelayBasedDetector detector_;
  rtp::RateMeter incoming_;
  std::optional<AimdRateControl> aimd_;  // from the first valid estimate on
  int64_t rtt_us_ = 100'000;
  std::optional<int64_t> first_arrival_us_;
  uint64_t first_window_bytes_ = 0;
  // Every packet's bytes count in a probe's rate, small ones (audio) too: they took their part
  // of the sending and of the path.
  uint64_t bytes_received_ = 0;
  std::optional<int64_t> last_send_us_, last_arrival_us_;
  std::optional<int64_t> last_update_us_;
  std::array<Full, kMaxProbePackets> recent_{};  // ring of the last full packets
  size_t recent_count_ = 0;                      // in it, up to kMaxProbePackets
  size_t recent_next_ = 0;                       // where the next one goes
  std::optional<int64_t> last_remb_us_;
  int64_t last_remb_bps_ = 0;
  Counters counters_;
};

}  // namespace sb::bwe
