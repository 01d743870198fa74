// RTCP costs: parsing and building the compound packets senders and receivers exchange, and
// parsing transport-wide feedback (the input of send-side bandwidth estimation).
#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

#include "bench/micro/test_packets.h"
#include "rtp/rtcp/pli.h"
#include "rtp/rtcp/receiver_report.h"
#include "rtp/rtcp/rtcp_packet.h"
#include "rtp/rtcp/sdes.h"
#include "rtp/rtcp/sender_report.h"
#include "rtp/rtcp/transport_feedback.h"

namespace sb::bench {
namespace {

// Walks the compound and parses each packet of a type the transport handles.
size_t ParseCompound(const std::vector<uint8_t>& compound) {
  size_t parsed = 0;
  auto status = rtp::ForEachRtcpPacket(compound, [&](const rtp::RtcpHeader& h) {
    switch (h.packet_type) {
      case rtp::kRtcpSr:
        parsed += rtp::SenderReport::Parse(h.packet).has_value();
        break;
      case rtp::kRtcpRr:
        parsed += rtp::ReceiverReport::Parse(h.packet).has_value();
        break;
      case rtp::kRtcpSdes:
        parsed += rtp::Sdes::Parse(h.packet).has_value();
        break;
      case rtp::kRtcpPsfb:
        if (h.count_or_fmt == rtp::kPsfbPli) parsed += rtp::Pli::Parse(h.packet).has_value();
        break;
      default:
        break;
    }
  });
  benchmark::DoNotOptimize(status);
  return parsed;
}

void BM_RtcpParseSrSdes(benchmark::State& state) {
  const std::vector<uint8_t> compound = SrSdesCompound();
  for (auto _ : state) benchmark::DoNotOptimize(ParseCompound(compound));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RtcpParseSrSdes);

void BM_RtcpParseRr4Pli(benchmark::State& state) {
  const std::vector<uint8_t> compound = RrPliCompound();
  for (auto _ : state) benchmark::DoNotOptimize(ParseCompound(compound));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RtcpParseRr4Pli);

// Building from values already held (as the transport does on its RTCP timer).
void BM_RtcpBuildSrSdes(benchmark::State& state) {
  rtp::SenderReport sr;
  sr.sender_ssrc = 0x1A2B3C4D;
  sr.packet_count = 5000;
  rtp::Sdes sdes;
  sdes.chunks = {{0x1A2B3C4D, "Cq1TxYxLbTOBRPla", {}}};
  uint8_t out[1500];
  for (auto _ : state) {
    sr.rtp_timestamp += 3000;
    size_t n = sr.Serialize(out, sizeof(out));
    n += sdes.Serialize(out + n, sizeof(out) - n);
    benchmark::DoNotOptimize(n);
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RtcpBuildSrSdes);

void BM_RtcpBuildRr4Pli(benchmark::State& state) {
  rtp::ReceiverReport rr;
  rr.sender_ssrc = 1;
  for (uint32_t ssrc : {0x11u, 0x22u, 0x33u, 0x44u}) {
    rr.report_blocks.push_back({ssrc, 3, 120, 0x0001F000, 45, 0x7F001234, 0x00012000});
  }
  const rtp::Pli pli{1, 0x22};
  uint8_t out[1500];
  for (auto _ : state) {
    rr.report_blocks[0].jitter += 1;
    size_t n = rr.Serialize(out, sizeof(out));
    n += pli.Serialize(out + n, sizeof(out) - n);
    benchmark::DoNotOptimize(n);
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RtcpBuildRr4Pli);

// One feedback packet reporting Arg() sequence numbers (Chromium sends one about every 100 ms;
// at 1000 packets/s that is ~100 per feedback).
void BM_TransportFeedbackParse(benchmark::State& state) {
  const std::vector<uint8_t> packet = TransportFeedbackPacket(static_cast<size_t>(state.range(0)));
  for (auto _ : state) {
    auto fb = rtp::TransportFeedback::Parse(packet);
    benchmark::DoNotOptimize(fb);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["reported_packets"] = static_cast<double>(state.range(0));
}
BENCHMARK(BM_TransportFeedbackParse)->Arg(20)->Arg(100);

}  // namespace
}  // namespace sb::bench
