// RTP per-packet costs: parsing a received packet and reading its extensions (every packet a
// producer receives), and rewriting it for one consumer (once per packet per subscriber).
#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

#include "bench/micro/test_packets.h"
#include "rtp/header_extensions.h"
#include "rtp/rtp_packet.h"

namespace sb::bench {
namespace {

void BM_RtpParse(benchmark::State& state) {
  std::vector<uint8_t> packet = ChromiumRtpPacket(1000, kVideoPayloadSize);
  for (auto _ : state) {
    auto p = rtp::RtpPacket::Parse(packet.data(), packet.size());
    benchmark::DoNotOptimize(p);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RtpParse);

// Parse, then the typed reads a producer does: mid, abs-send-time, transport-cc, audio level.
void BM_RtpParseAndReadExtensions(benchmark::State& state) {
  std::vector<uint8_t> packet = ChromiumRtpPacket(1000, kVideoPayloadSize);
  for (auto _ : state) {
    auto p = rtp::RtpPacket::Parse(packet.data(), packet.size());
    auto mid = rtp::ParseMid(p->GetExtension(kMidId));
    auto abs = rtp::ParseAbsSendTime(p->GetExtension(kAbsSendTimeId));
    auto seq = rtp::ParseTransportSequenceNumber(p->GetExtension(kTransportCcId));
    auto level = rtp::ParseAudioLevel(p->GetExtension(kAudioLevelId));
    benchmark::DoNotOptimize(mid);
    benchmark::DoNotOptimize(abs);
    benchmark::DoNotOptimize(seq);
    benchmark::DoNotOptimize(level);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RtpParseAndReadExtensions);

// The consumer's hot path: a rewritten copy (ssrc, payload type, sequence number, timestamp,
// extension ids remapped, audio level dropped, the consumer's mid appended) of a parsed packet,
// payload copy included. Arg: payload size.
void BM_RtpRewriteForConsumer(benchmark::State& state) {
  std::vector<uint8_t> packet = ChromiumRtpPacket(1000, static_cast<size_t>(state.range(0)));
  auto p = rtp::RtpPacket::Parse(packet.data(), packet.size());
  rtp::RtpRewrite rw;
  rw.ssrc = 0x0C0C0C0C;
  rw.payload_type = 100;
  rw.timestamp = 123;
  rw.ext_id_map[kAbsSendTimeId] = 3;
  rw.ext_id_map[kTransportCcId] = 5;
  rw.ext_id_map[kMidId] = 0;  // replaced by the consumer's own mid
  const uint8_t mid[] = {'7'};
  const rtp::ExtensionValue extra[] = {{1, mid}};
  rw.extra = extra;
  std::vector<uint8_t> out(1500);
  uint16_t seq = 0;
  for (auto _ : state) {
    rw.sequence_number = seq++;
    size_t n = rtp::WriteRewritten(*p, rw, out.data(), out.size());
    benchmark::DoNotOptimize(n);
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(packet.size()));
}
BENCHMARK(BM_RtpRewriteForConsumer)->Arg(100)->Arg(kVideoPayloadSize);

}  // namespace
}  // namespace sb::bench
