#include "rtp/rtcp/report_block.h"

#include <algorithm>

#include "rtp/byte_io.h"

namespace sb::rtp {

ReportBlock ReportBlock::Parse(const uint8_t* p) {
  ReportBlock b;
  b.ssrc = ReadU32(p);
  b.fraction_lost = p[4];
  b.cumulative_lost = ReadS24(p + 5);
  b.ext_highest_seq = ReadU32(p + 8);
  b.jitter = ReadU32(p + 12);
  b.lsr = ReadU32(p + 16);
  b.dlsr = ReadU32(p + 20);
  return b;
}

void ReportBlock::Write(uint8_t* p) const {
  WriteU32(p, ssrc);
  p[4] = fraction_lost;
  WriteS24(p + 5, std::clamp(cumulative_lost, kMinCumulativeLost, kMaxCumulativeLost));
  WriteU32(p + 8, ext_highest_seq);
  WriteU32(p + 12, jitter);
  WriteU32(p + 16, lsr);
  WriteU32(p + 20, dlsr);
}

}  // namespace sb::rtp
