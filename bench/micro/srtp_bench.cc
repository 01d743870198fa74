// SRTP protect (RFC 3711, RFC 7714) of a 1200-byte RTP packet, per profile: the per-packet
// crypto cost of every packet sent to a subscriber.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

#include "bench/micro/test_packets.h"
#include "transport/srtp_session.h"

namespace sb::bench {
namespace {

constexpr size_t kPacketSize = 1200;

void BM_SrtpProtect(benchmark::State& state) {
  const auto profile = static_cast<transport::SrtpProfile>(state.range(0));
  state.SetLabel(std::string(transport::SrtpProfileName(profile)));
  std::vector<uint8_t> key_salt(transport::SrtpKeyLength(profile) +
                                transport::SrtpSaltLength(profile));
  for (size_t i = 0; i < key_salt.size(); ++i) key_salt[i] = static_cast<uint8_t>(i * 7 + 1);
  auto session = transport::SrtpSession::Create(transport::SrtpSession::Direction::kOutbound,
                                                profile, key_salt);
  if (!session.ok()) {
    state.SkipWithError(std::string(session.status().message()).c_str());
    return;
  }
  // Header + extensions as Chromium sends them, payload to make 1200 bytes.
  std::vector<uint8_t> packet = ChromiumRtpPacket(1, 0);
  packet.resize(kPacketSize, 0x5A);
  std::vector<uint8_t> buf = packet;
  buf.resize(kPacketSize + transport::SrtpMaxOverhead());
  uint16_t seq = 1;
  for (auto _ : state) {
    // In place: the header is not encrypted, so only the sequence number and length change.
    ++seq;
    buf[2] = static_cast<uint8_t>(seq >> 8);
    buf[3] = static_cast<uint8_t>(seq);
    size_t len = kPacketSize;
    bool ok = (*session)->ProtectRtp(buf.data(), &len, buf.size());
    benchmark::DoNotOptimize(ok);
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(kPacketSize));
}
BENCHMARK(BM_SrtpProtect)
    ->Arg(static_cast<int>(transport::SrtpProfile::kAeadAes128Gcm))
    ->Arg(static_cast<int>(transport::SrtpProfile::kAeadAes256Gcm))
    ->Arg(static_cast<int>(transport::SrtpProfile::kAes128CmSha1_80));

}  // namespace
}  // namespace sb::bench
