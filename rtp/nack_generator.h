// Which packets of one incoming RTP stream to ask for again (generic NACK, RFC 4585 6.2.1): the
// sequence numbers skipped between the newest packet and the next, each asked for when first
// missed and again every retry interval, until it arrives (a retransmission, RFC 4588), is too
// old to be of use, or was asked for kMaxRetries times. Pure: the caller gives the time and sends
// the NACKs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "rtp/seq_num.h"

namespace sb::rtp {

class NackGenerator {
 public:
  // Missing packets tracked at most; a larger gap is a loss a key frame repairs better (the
  // list is cleared). libwebrtc's NackRequester keeps 1000.
  static constexpr size_t kMaxMissing = 1000;
  // Asked for at most this often (libwebrtc: 10), and not once older than kMaxAgeMs: a frame
  // that late is past every jitter buffer's patience.
  static constexpr int kMaxRetries = 10;
  static constexpr int64_t kMaxAgeMs = 1000;
  // Between two requests for one packet: about one round trip; the floor keeps a fast path
  // from asking every few milliseconds.
  static constexpr int64_t kMinRetryIntervalMs = 20;

  struct Stats {
    uint64_t requested = 0;  // sequence numbers put in NACKs, each time
    uint64_t recovered = 0;  // missing packets that arrived later
    uint64_t given_up = 0;   // dropped: too old, asked too often, or the list overflowed
  };

  // A packet arrived. Returns true when it is one we were missing (a retransmission, or a
  // reordered packet): the caller forwards it; false for a duplicate or an old packet we did not
  // miss, which it may drop.
  bool OnPacket(uint16_t sequence_number, int64_t now_ms);
  // Sequence numbers to ask for now: missing ones not asked for within `retry_interval_ms`
  // (about an RTT; at least kMinRetryIntervalMs). Each is counted as asked once more.
  std::vector<uint16_t> Due(int64_t now_ms, int64_t retry_interval_ms);
  size_t missing() const { return missing_.size(); }
  const Stats& stats() const { return stats_; }

 private:
  struct Missing {
    int64_t missed_ms;
    std::optional<int64_t> asked_ms;
    int retries = 0;
  };

  SeqUnwrapper unwrapper_;
  std::optional<int64_t> newest_;
  std::map<int64_t, Missing> missing_;  // by unwrapped sequence number
  Stats stats_;
};

}  // namespace sb::rtp
