// The REMB path for a publisher without transport-cc, as a hostile or broken publisher drives
// it: RTP packets parsed from the input (any header, any extensions; abs-send-time under id 2
// of any length and value) arriving at any times, fed to bwe::ReceiveSideBwe as the worker's
// RembSender does, and every REMB it hands out serialized and parsed back. Invariants: the
// estimate and every REMB stay within [min, max], a REMB round-trips within the precision of
// its 18-bit mantissa, nothing crashes or overflows (UBSan).
//
// Input: steps of [length (2 bytes), arrival step in 0.1 ms (1 byte), packet (length bytes)].
#include <cstddef>
#include <cstdint>
#include <vector>

#include "bwe/receive_side_bwe.h"
#include "rtp/header_extensions.h"
#include "rtp/rtcp/remb.h"
#include "rtp/rtp_packet.h"
#include "tests/fuzz/fuzz_check.h"

namespace {
constexpr uint8_t kAbsSendTimeId = 2;  // as Chromium numbers it
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  sb::bwe::ReceiveSideBwe::Config config;
  sb::bwe::ReceiveSideBwe bwe(config);
  std::vector<uint8_t> packet;
  int64_t now_us = 1'000'000;
  uint64_t fed = 0;
  size_t i = 0;
  while (i + 3 <= size) {
    const size_t len = std::min<size_t>(size - i - 3, (size_t{data[i]} << 8) | data[i + 1]);
    now_us += int64_t{data[i + 2]} * 100;
    i += 3;
    packet.assign(data + i, data + i + len);  // RtpPacket::Parse takes a writable buffer
    i += len;
    auto rtp = sb::rtp::RtpPacket::Parse(packet.data(), packet.size());
    if (!rtp) continue;
    const auto value = rtp->GetExtension(kAbsSendTimeId);
    const auto send_time = sb::rtp::ParseAbsSendTime(value);
    SB_FUZZ_CHECK(send_time.has_value() == (value.size() == sb::rtp::kAbsSendTimeSize));
    if (!send_time) continue;
    SB_FUZZ_CHECK(*send_time <= 0xFFFFFF);
    bwe.OnPacket(*send_time, now_us, rtp->size());
    ++fed;
    if (auto estimate = bwe.estimate_bps()) {
      SB_FUZZ_CHECK(*estimate >= config.min_bps && *estimate <= config.max_bps);
    }
    if (auto bps = bwe.TakeRemb(now_us)) {
      SB_FUZZ_CHECK(*bps >= config.min_bps && *bps <= config.max_bps);
      sb::rtp::Remb remb;
      remb.sender_ssrc = 1;
      remb.bitrate_bps = static_cast<uint64_t>(*bps);
      remb.ssrcs = {rtp->ssrc()};
      uint8_t out[64];
      const size_t n = remb.Serialize(out, sizeof(out));
      SB_FUZZ_CHECK(n == remb.Size());
      auto parsed = sb::rtp::Remb::Parse({out, n});
      SB_FUZZ_CHECK(parsed.has_value() && parsed->ssrcs == remb.ssrcs);
      // An 18-bit mantissa keeps the bitrate to within 2^-17 of itself, rounded down.
      SB_FUZZ_CHECK(parsed->bitrate_bps <= remb.bitrate_bps &&
                    parsed->bitrate_bps >= remb.bitrate_bps - (remb.bitrate_bps >> 17) - 1);
    }
  }
  SB_FUZZ_CHECK(bwe.counters().packets == fed);
  return 0;
}
