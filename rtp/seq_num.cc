#include "rtp/seq_num.h"

namespace sb::rtp {

int64_t SeqUnwrapper::Peek(uint16_t seq) const {
  if (!last_) {
    return seq;
  }
  uint16_t last16 = static_cast<uint16_t>(*last_);
  return *last_ + SeqDiff(seq, last16);
}

int64_t SeqUnwrapper::Unwrap(uint16_t seq) {
  int64_t v = Peek(seq);
  // Keep state on the newest value so that reordered packets do not pull it back.
  if (!last_ || v > *last_) {
    last_ = v;
  }
  return v;
}

int64_t TimestampUnwrapper::Peek(uint32_t ts) const {
  if (!last_) {
    return ts;
  }
  uint32_t last32 = static_cast<uint32_t>(*last_);
  int64_t diff = static_cast<int32_t>(ts - last32);
  return *last_ + diff;
}

int64_t TimestampUnwrapper::Unwrap(uint32_t ts) {
  int64_t v = Peek(ts);
  if (!last_ || v > *last_) {
    last_ = v;
  }
  return v;
}

}  // namespace sb::rtp
