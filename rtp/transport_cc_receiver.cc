#include "rtp/transport_cc_receiver.h"

#include <limits>

namespace sb::rtp {
namespace {

constexpr int64_t kTicksPerReference =
    TransportFeedback::kReferenceTimeUnitUs / TransportFeedback::kDeltaTickUs;  // 256

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - (a % b != 0 && (a < 0) != (b < 0)); }

// The 24-bit reference time field, two's complement: the low 24 bits of the 64 ms count.
int32_t WrapReferenceTime(int64_t units) {
  int64_t r = units & 0xFFFFFF;
  if (r > TransportFeedback::kMaxReferenceTime) r -= 0x1000000;
  return static_cast<int32_t>(r);
}

}  // namespace

void TransportCcReceiver::OnPacket(uint16_t seq, int64_t arrival_us) {
  ++counters_.packets;
  const int64_t unwrapped = unwrapper_.Unwrap(seq);
  if (!next_seq_) next_seq_ = unwrapped;
  if (unwrapped < *next_seq_) {
    ++counters_.late;
    return;
  }
  if (unwrapped - *next_seq_ > kMaxGap) {
    // The sender started counting afresh (or everything in between is long gone): what is
    // pending would be followed by thousands of losses that never happened. Start over.
    ++counters_.restarts;
    arrivals_.clear();
    next_seq_ = unwrapped;
  }
  if (!arrivals_.emplace(unwrapped, arrival_us).second) ++counters_.duplicates;
}

std::vector<TransportFeedback> TransportCcReceiver::TakeFeedback(uint32_t sender_ssrc,
                                                                 uint32_t media_ssrc) {
  std::vector<TransportFeedback> out;
  while (!arrivals_.empty()) {
    const int64_t base = *next_seq_;
    const int64_t reference =
        FloorDiv(arrivals_.begin()->second, TransportFeedback::kReferenceTimeUnitUs);
    int64_t previous_ticks = reference * kTicksPerReference;
    std::vector<TwccPacketStatus> statuses;
    if (arrivals_.begin()->first > base) {
      // The ones before the first arrival were lost: Build() fills the rest of the gaps.
      statuses.push_back({static_cast<uint16_t>(base), false, 0});
    }
    int64_t end = base;
    for (auto it = arrivals_.begin();
         it != arrivals_.end() &&
         it->first - base < static_cast<int64_t>(kMaxSequenceNumbersPerFeedback);) {
      // Ticks from a common origin, so that rounding does not accumulate along the deltas.
      const int64_t ticks = FloorDiv(it->second + TransportFeedback::kDeltaTickUs / 2,
                                     TransportFeedback::kDeltaTickUs);
      const int64_t delta = ticks - previous_ticks;
      if (delta < std::numeric_limits<int16_t>::min() ||
          delta > std::numeric_limits<int16_t>::max()) {
        break;  // too far from the previous one: the next feedback starts a new reference
      }
      statuses.push_back({static_cast<uint16_t>(it->first), true, static_cast<int32_t>(delta)});
      previous_ticks = ticks;
      end = it->first + 1;
      it = arrivals_.erase(it);
    }
    if (end == base) {
      // Nothing fitted: the first pending arrival is more than a feedback's range ahead (all
      // lost in between). Report the range as lost, the arrival comes in the next one.
      end = base + static_cast<int64_t>(kMaxSequenceNumbersPerFeedback);
      statuses.clear();
      statuses.push_back({static_cast<uint16_t>(base), false, 0});
      statuses.push_back({static_cast<uint16_t>(end - 1), false, 0});
    }
    out.push_back(TransportFeedback::Build(sender_ssrc, media_ssrc, WrapReferenceTime(reference),
                                           feedback_count_++, statuses));
    ++counters_.feedbacks;
    next_seq_ = end;
  }
  return out;
}

}  // namespace sb::rtp
