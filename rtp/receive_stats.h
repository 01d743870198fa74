// Per-SSRC stream statistics: what a receiver reports (RFC 3550 A.1, A.3, A.8) and what a
// sender puts in its SR (RFC 3550 6.4.1).
#pragma once

#include <cstddef>
#include <cstdint>

#include "rtp/rtcp/report_block.h"

namespace sb::rtp {

class ReceiveStats {
 public:
  // RFC 3550 A.1 defaults.
  static constexpr uint32_t kMaxDropout = 3000;
  static constexpr uint32_t kMaxMisorder = 100;

  // Records one received packet. `bytes` is what the caller counts (usually the packet size).
  // Simplification of A.1: there is no probation; the first packet starts the stream (SRTP
  // authentication has already vouched for it). A jump larger than kMaxDropout ahead (or
  // kMaxMisorder behind) is not counted unless the next packet confirms it, which restarts
  // the sequence state as A.1 does. Jitter (A.8) uses packets that advance the highest sequence.
  void OnPacket(uint16_t seq, uint32_t rtp_ts, int64_t arrival_ms, uint32_t clock_rate,
                size_t bytes);
  // Remembers the last SR from this source for LSR/DLSR.
  void OnSenderReport(uint32_t ntp_sec, uint32_t ntp_frac, int64_t arrival_ms);

  // Fills a report block and starts a new interval for fraction lost (A.3).
  ReportBlock MakeReportBlock(uint32_t ssrc, int64_t now_ms);

  bool started() const { return started_; }
  uint64_t packets() const { return packets_; }
  uint64_t bytes() const { return bytes_; }
  uint32_t ext_highest_seq() const { return cycles_ + max_seq_; }
  uint64_t expected() const;
  // expected - received, clamped to 24-bit signed as on the wire.
  int32_t cumulative_lost() const;
  uint32_t jitter() const { return static_cast<uint32_t>(jitter_q4_ >> 4); }  // RTP ts units

 private:
  void InitSequence(uint16_t seq);

  bool started_ = false;
  uint16_t max_seq_ = 0;
  uint32_t cycles_ = 0;  // shifted count of wraps (multiple of 65536)
  uint32_t base_seq_ = 0;
  uint32_t bad_seq_ = 0x10001;  // RTP_SEQ_MOD + 1: no candidate
  uint64_t received_ = 0;       // packets counted for loss
  uint64_t expected_prior_ = 0;
  uint64_t received_prior_ = 0;

  bool have_transit_ = false;
  int64_t transit_ = 0;
  uint64_t jitter_q4_ = 0;  // jitter * 16 (A.8 integer form)

  uint32_t last_sr_compact_ = 0;
  int64_t last_sr_arrival_ms_ = -1;

  uint64_t packets_ = 0;  // everything, duplicates and jumps included
  uint64_t bytes_ = 0;
};

// What a sender keeps for its Sender Reports.
class SendStats {
 public:
  void OnPacket(uint32_t rtp_ts, size_t payload_bytes, int64_t now_ms);

  uint32_t packets() const { return packets_; }  // SR sender's packet count (wraps)
  uint32_t octets() const { return octets_; }    // SR sender's payload octet count (wraps)
  uint32_t last_rtp_timestamp() const { return last_rtp_ts_; }
  int64_t last_send_ms() const { return last_send_ms_; }
  bool started() const { return last_send_ms_ >= 0; }
  // The RTP timestamp corresponding to now, extrapolated from the last packet (for SR).
  uint32_t RtpTimestampAt(int64_t now_ms, uint32_t clock_rate) const;

 private:
  uint32_t packets_ = 0;
  uint32_t octets_ = 0;
  uint32_t last_rtp_ts_ = 0;
  int64_t last_send_ms_ = -1;
};

}  // namespace sb::rtp
