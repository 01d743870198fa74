// The receiving side of transport-wide congestion control
// (draft-holmer-rmcat-transport-wide-cc-extensions-01): records the transport-wide sequence
// number and arrival time of every packet a sender's transport delivers, and turns them into
// transport-cc feedback (RTPFB FMT 15) for the sender's own bandwidth estimator. Pure: the
// caller gives the times and sends the packets.
//
// Each feedback covers the sequence numbers from where the previous one ended to the highest
// received; the ones in between that did not arrive are reported lost. A packet that arrives
// after its number was reported lost is counted as late and not reported again (the sender has
// already acted on its loss).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "rtp/rtcp/transport_feedback.h"
#include "rtp/seq_num.h"

namespace sb::rtp {

class TransportCcReceiver {
 public:
  // Sequence numbers one feedback packet covers at most: its worst-case size (2-bit status
  // vectors and 2-byte deltas) then stays under 1000 bytes, inside any path MTU with SRTCP.
  static constexpr size_t kMaxSequenceNumbersPerFeedback = 300;
  // Received packets waiting past this many: feedback is due now, not at the next interval.
  static constexpr size_t kFeedbackDuePackets = 100;
  // A jump of the sequence number this far ahead of the last reported is a restart of the
  // sender's counter, not loss: reporting starts again from the new number.
  static constexpr int64_t kMaxGap = 0x2000;

  struct Counters {
    uint64_t packets = 0;     // recorded
    uint64_t duplicates = 0;  // a number seen before, not yet reported
    uint64_t late = 0;        // arrived after its number was reported
    uint64_t restarts = 0;    // jumps past kMaxGap
    uint64_t feedbacks = 0;   // feedback packets built
  };

  // One packet with the transport-wide sequence number `seq` arrived at `arrival_us` (any
  // monotonic clock in microseconds, the same for every call).
  void OnPacket(uint16_t seq, int64_t arrival_us);

  // Feedback for everything recorded since the last call, in sequence order: none when nothing
  // new arrived, several when the range is long or the gaps in time do not fit one packet.
  std::vector<TransportFeedback> TakeFeedback(uint32_t sender_ssrc, uint32_t media_ssrc);

  // Received packets not yet in a feedback.
  size_t pending() const { return arrivals_.size(); }
  bool FeedbackDue() const { return arrivals_.size() >= kFeedbackDuePackets; }
  const Counters& counters() const { return counters_; }

 private:
  SeqUnwrapper unwrapper_;
  // Unwrapped sequence number -> arrival time, of packets not yet reported.
  std::map<int64_t, int64_t> arrivals_;
  // The first sequence number the next feedback reports; none before the first packet.
  std::optional<int64_t> next_seq_;
  uint8_t feedback_count_ = 0;
  Counters counters_;
};

}  // namespace sb::rtp
