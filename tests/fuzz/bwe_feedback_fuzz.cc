// bwe::SendSideBwe's feedback path, as a hostile or broken subscriber drives it: transport-cc
// feedback parsed from the input (any base, count, reference time, deltas; about numbers sent,
// never sent, or long gone) interleaved with sends at any times. Invariants: the target stays
// within [min, max], counters only grow, nothing crashes or overflows (UBSan).
#include <cstddef>
#include <cstdint>

#include "bwe/send_side_bwe.h"
#include "rtp/rtcp/transport_feedback.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  sb::bwe::SendSideBwe::Config config;
  sb::bwe::SendSideBwe bwe(config);
  int64_t now_us = 5'000'000;
  uint16_t seq = 0;
  size_t i = 0;
  while (i + 2 <= size) {
    const uint8_t op = data[i];
    const uint8_t arg = data[i + 1];
    i += 2;
    if (op < 128) {
      // A few packets sent, some of them a probe cluster; time moves on (or stands still).
      for (int k = 0; k <= arg % 16; ++k) {
        bwe.OnPacketSent(seq++, now_us, 100 + (op * 7 + k) % 1200, (op & 1) ? op % 4 : -1);
        now_us += (op % 8) * 250;
      }
    } else if (op < 192) {
      now_us += int64_t{arg} * 1000;
      bwe.OnRtt(int64_t{arg} * 2000);
    } else {
      // The next `len` bytes as one RTCP packet.
      const size_t len = std::min<size_t>(size - i, size_t{arg} * 4 + 20);
      auto feedback = sb::rtp::TransportFeedback::Parse({data + i, len});
      i += len;
      if (feedback) bwe.OnFeedback(*feedback, now_us);
    }
    const int64_t target = bwe.target_bps();
    SB_FUZZ_CHECK(target >= config.min_bps && target <= config.max_bps);
  }
  return 0;
}
