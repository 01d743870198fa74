// rtp::TransportCcReceiver fed what a hostile or broken publisher could send: any order of
// transport-wide sequence numbers (repeats, wraps, jumps) at any arrival times (bursts, long
// silences, a clock stepping back), with feedback taken at any point. Invariants: every
// feedback serializes within the MTU bound and parses back to itself, a feedback never reports
// a number twice or goes backwards, and what waits stays bounded.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "rtp/seq_num.h"
#include "rtp/transport_cc_receiver.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using sb::rtp::TransportCcReceiver;
  using sb::rtp::TransportFeedback;
  TransportCcReceiver receiver;
  int64_t now_us = 1'000'000'000;
  uint16_t seq = 0;
  std::optional<uint16_t> next_expected;  // where the next feedback must start
  uint8_t expected_count = 0;
  bool first_feedback = true;
  auto take = [&] {
    for (const TransportFeedback& fb : receiver.TakeFeedback(1, 2)) {
      SB_FUZZ_CHECK(!fb.packets.empty());
      SB_FUZZ_CHECK(fb.packets.size() <= TransportCcReceiver::kMaxSequenceNumbersPerFeedback);
      if (!first_feedback) SB_FUZZ_CHECK(fb.feedback_packet_count == expected_count);
      first_feedback = false;
      expected_count = static_cast<uint8_t>(fb.feedback_packet_count + 1);
      // Contiguous with the previous one unless the receiver started over.
      if (next_expected && fb.base_sequence_number != *next_expected) {
        SB_FUZZ_CHECK(receiver.counters().restarts > 0);
      }
      next_expected = static_cast<uint16_t>(fb.base_sequence_number + fb.packets.size());
      uint8_t buffer[1500];
      const size_t len = fb.Serialize(buffer, sizeof(buffer));
      SB_FUZZ_CHECK(len > 0 && len <= 1000);
      auto parsed = TransportFeedback::Parse({buffer, len});
      SB_FUZZ_CHECK(parsed.has_value() && *parsed == fb);
    }
    SB_FUZZ_CHECK(receiver.pending() == 0);
  };
  // Each step is 3 bytes: an operation and a 16-bit argument.
  for (size_t i = 0; i + 3 <= size; i += 3) {
    const uint8_t op = data[i];
    const uint16_t arg = static_cast<uint16_t>(data[i + 1] << 8 | data[i + 2]);
    switch (op % 8) {
      case 0:
      case 1:
      case 2:  // the next packet, a little later
        now_us += arg % 2000;
        receiver.OnPacket(++seq, now_us);
        break;
      case 3:  // a jump of the sequence number, either way
        seq = static_cast<uint16_t>(seq + arg);
        receiver.OnPacket(seq, now_us);
        break;
      case 4:  // a long silence (up to 65 s) or a clock step back (up to 6.5 s)
        now_us += (op & 0x80) ? int64_t{arg} * 1000 : -int64_t{arg} * 100;
        break;
      case 5:  // a repeat of a recent number
        receiver.OnPacket(static_cast<uint16_t>(seq - arg % 64), now_us);
        break;
      case 6:
        take();
        break;
      case 7:  // a burst: arg % 512 packets at the same instant
        for (int k = 0; k < arg % 512; ++k) receiver.OnPacket(++seq, now_us);
        break;
    }
    SB_FUZZ_CHECK(receiver.pending() <= static_cast<size_t>(TransportCcReceiver::kMaxGap) + 1);
  }
  take();
  return 0;
}
