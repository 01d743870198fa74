// Sequence-number and timestamp rewriting for a forwarded stream that pauses, resumes or
// switches sources: the receiver sees one continuous stream. After RequestSync(), the next
// packet is numbered right after the last one sent, with its timestamp advanced by the
// wall-clock time that passed (RFC 3550 5.1: timestamps advance with real time).
#pragma once

#include <cstdint>
#include <optional>

namespace sb::rtp {

class StreamRewriter {
 public:
  struct Output {
    uint16_t sequence_number;
    uint32_t timestamp;
  };

  explicit StreamRewriter(uint32_t clock_rate) : clock_rate_(clock_rate) {}

  // The next packet starts a new run (first packet, resume, source switch).
  void RequestSync() { sync_required_ = true; }
  bool sync_required() const { return sync_required_; }
  // True once a packet has been sent.
  bool started() const { return started_; }
  uint32_t timestamp_offset() const { return ts_offset_; }

  // Maps an incoming packet, re-basing first if a sync is pending. nullopt for a late packet
  // from before the last sync point: its output number would collide with one already sent.
  std::optional<Output> Rewrite(uint16_t sequence_number, uint32_t timestamp, int64_t now_ms);
  // Records that a mapped packet went out (the continuation point for the next sync).
  void OnSent(Output out, int64_t now_ms);
  // A packet deliberately not forwarded (a layer above the one the receiver gets): the packets
  // after it are numbered one lower, so the receiver sees no gap to NACK. Only a packet newer
  // than every one mapped shifts the numbering (true then); packets older than it that arrive
  // later are late (Rewrite refuses them: their number may be taken). An older one leaves its
  // number unused. Nothing happens before the run's first packet (the sync re-bases anyway).
  bool Drop(uint16_t sequence_number);

 private:
  // How far behind the newest packet the sync point may trail: within half the sequence space,
  // so the modulo-2^16 "is older" test stays meaningful on long streams.
  static constexpr uint16_t kMaxSyncLag = 0x4000;

  const uint32_t clock_rate_;
  bool sync_required_ = true;
  bool started_ = false;
  uint16_t sync_seq_ = 0;
  uint16_t max_in_seq_ = 0;  // the newest input mapped or dropped since the sync
  uint16_t seq_offset_ = 0;
  uint32_t ts_offset_ = 0;
  uint16_t max_out_seq_ = 0;
  uint32_t max_out_ts_ = 0;
  int64_t max_out_ms_ = 0;
};

}  // namespace sb::rtp
