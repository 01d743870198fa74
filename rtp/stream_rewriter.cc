#include "rtp/stream_rewriter.h"

#include "rtp/seq_num.h"

namespace sb::rtp {

std::optional<StreamRewriter::Output> StreamRewriter::Rewrite(uint16_t sequence_number,
                                                              uint32_t timestamp, int64_t now_ms) {
  if (sync_required_) {
    if (started_) {
      // Continue where the receiver's stream left off: the next sequence number, and a
      // timestamp advanced by the time since our last packet (at least one tick).
      seq_offset_ = static_cast<uint16_t>(max_out_seq_ + 1 - sequence_number);
      const int64_t elapsed_ms = now_ms - max_out_ms_;
      uint32_t elapsed_ticks =
          elapsed_ms > 0 ? static_cast<uint32_t>(elapsed_ms * clock_rate_ / 1000) : 0;
      if (elapsed_ticks == 0) elapsed_ticks = 1;
      ts_offset_ = max_out_ts_ + elapsed_ticks - timestamp;
    }
    sync_seq_ = sequence_number;
    max_in_seq_ = sequence_number;
    sync_required_ = false;
  } else if (IsSeqNewer(sync_seq_, sequence_number)) {
    return std::nullopt;
  } else if (static_cast<uint16_t>(sequence_number - sync_seq_) > kMaxSyncLag) {
    sync_seq_ = static_cast<uint16_t>(sequence_number - kMaxSyncLag);
  }
  if (IsSeqNewer(sequence_number, max_in_seq_)) max_in_seq_ = sequence_number;
  return Output{static_cast<uint16_t>(sequence_number + seq_offset_), timestamp + ts_offset_};
}

void StreamRewriter::OnSent(Output out, int64_t now_ms) {
  if (!started_ || IsSeqNewer(out.sequence_number, max_out_seq_)) {
    max_out_seq_ = out.sequence_number;
    max_out_ts_ = out.timestamp;
    max_out_ms_ = now_ms;
  }
  started_ = true;
}

bool StreamRewriter::Drop(uint16_t sequence_number) {
  if (sync_required_ || !IsSeqNewer(sequence_number, max_in_seq_)) return false;
  // The packets from max_in_seq_ + 1 up to this one are gone or in flight: the ones in flight
  // would now be numbered like ones already sent, so they count as late, like packets from
  // before a sync point.
  --seq_offset_;
  max_in_seq_ = sequence_number;
  sync_seq_ = static_cast<uint16_t>(sequence_number + 1);
  return true;
}

}  // namespace sb::rtp
