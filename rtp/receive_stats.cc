#include "rtp/receive_stats.h"

#include <algorithm>
#include <cstdlib>

#include "rtp/ntp.h"

namespace sb::rtp {
namespace {
constexpr uint32_t kSeqMod = 1u << 16;
}  // namespace

void ReceiveStats::InitSequence(uint16_t seq) {
  base_seq_ = seq;
  max_seq_ = seq;
  bad_seq_ = kSeqMod + 1;
  cycles_ = 0;
  received_ = 0;
  received_prior_ = 0;
  expected_prior_ = 0;
  have_transit_ = false;
}

void ReceiveStats::OnPacket(uint16_t seq, uint32_t rtp_ts, int64_t arrival_ms, uint32_t clock_rate,
                            size_t bytes) {
  ++packets_;
  bytes_ += bytes;
  bool advanced = false;
  if (!started_) {
    started_ = true;
    InitSequence(seq);
    advanced = true;
  } else {
    const uint16_t udelta = static_cast<uint16_t>(seq - max_seq_);
    if (udelta < kMaxDropout) {
      if (seq < max_seq_) {
        cycles_ += kSeqMod;  // wrapped
      }
      if (udelta != 0) {
        advanced = true;
      }
      max_seq_ = seq;
    } else if (udelta <= kSeqMod - kMaxMisorder) {
      // A very large jump: accept it only if the next packet follows it (source restarted).
      if (seq == bad_seq_) {
        InitSequence(seq);
        advanced = true;
      } else {
        bad_seq_ = (uint32_t{seq} + 1) & (kSeqMod - 1);
        return;
      }
    }
    // else: duplicate or reordered packet, counted but does not move max_seq.
  }
  ++received_;

  if (advanced && clock_rate != 0) {
    // A.8: transit time in RTP units; jitter += (|D| - jitter) / 16, kept scaled by 16.
    const int64_t arrival_ts = arrival_ms * static_cast<int64_t>(clock_rate) / 1000;
    const int64_t transit = arrival_ts - static_cast<int64_t>(rtp_ts);
    if (have_transit_) {
      // RTP timestamps wrap: take the difference modulo 2^32 as signed.
      const int64_t d = static_cast<int32_t>(static_cast<uint32_t>(transit - transit_));
      const uint64_t abs_d = static_cast<uint64_t>(d < 0 ? -d : d);
      jitter_q4_ = jitter_q4_ + abs_d - ((jitter_q4_ + 8) >> 4);
    }
    transit_ = transit;
    have_transit_ = true;
  }
}

void ReceiveStats::OnSenderReport(uint32_t ntp_sec, uint32_t ntp_frac, int64_t arrival_ms) {
  last_sr_compact_ = CompactNtp(ntp_sec, ntp_frac);
  last_sr_arrival_ms_ = arrival_ms;
}

uint64_t ReceiveStats::expected() const {
  if (!started_) {
    return 0;
  }
  return uint64_t{ext_highest_seq()} - base_seq_ + 1;
}

int32_t ReceiveStats::cumulative_lost() const {
  const int64_t lost = static_cast<int64_t>(expected()) - static_cast<int64_t>(received_);
  return static_cast<int32_t>(
      std::clamp<int64_t>(lost, ReportBlock::kMinCumulativeLost, ReportBlock::kMaxCumulativeLost));
}

ReportBlock ReceiveStats::MakeReportBlock(uint32_t ssrc, int64_t now_ms) {
  ReportBlock b;
  b.ssrc = ssrc;
  const uint64_t exp = expected();
  const int64_t expected_interval = static_cast<int64_t>(exp - expected_prior_);
  const int64_t received_interval = static_cast<int64_t>(received_ - received_prior_);
  const int64_t lost_interval = expected_interval - received_interval;
  expected_prior_ = exp;
  received_prior_ = received_;
  // A.3: fraction = lost_interval / expected_interval in 1/256 units; 0 if none or negative.
  if (expected_interval > 0 && lost_interval > 0) {
    b.fraction_lost =
        static_cast<uint8_t>(std::min<int64_t>(255, (lost_interval << 8) / expected_interval));
  }
  b.cumulative_lost = cumulative_lost();
  b.ext_highest_seq = started_ ? ext_highest_seq() : 0;
  b.jitter = jitter();
  if (last_sr_arrival_ms_ >= 0) {
    b.lsr = last_sr_compact_;
    b.dlsr = MsToCompactNtp(now_ms - last_sr_arrival_ms_);
  }
  return b;
}

void SendStats::OnPacket(uint32_t rtp_ts, size_t payload_bytes, int64_t now_ms) {
  ++packets_;
  octets_ += static_cast<uint32_t>(payload_bytes);
  last_rtp_ts_ = rtp_ts;
  last_send_ms_ = now_ms;
}

uint32_t SendStats::RtpTimestampAt(int64_t now_ms, uint32_t clock_rate) const {
  if (!started()) {
    return 0;
  }
  const int64_t elapsed = std::max<int64_t>(0, now_ms - last_send_ms_);
  return last_rtp_ts_ + static_cast<uint32_t>(elapsed * clock_rate / 1000);
}

}  // namespace sb::rtp
