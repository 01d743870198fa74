// The kernel's cost of sending one 1200-byte UDP datagram on loopback (sendto, and sendmmsg in
// batches of 16), the yardstick the other figures are divided by. A thread on another core
// drains the receiving socket. Loopback only (TESTING.md's network rule). On loopback the
// sending core also does the kernel's receive-side work, as it does for a real server under
// test on this machine.
#include <benchmark/benchmark.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <vector>

#include "bench/common/udp_batch.h"

namespace sb::bench {
namespace {

constexpr size_t kBatch = 16;

// A blocking reader, kept off the sender's core when there is another one.
UdpSink MakeSink() {
  const long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  return UdpSink(UdpSink::Drain::kBlocking, cpus > 1 ? static_cast<int>(cpus - 1) : -1);
}

void BM_UdpSendto(benchmark::State& state) {
  UdpSink sink = MakeSink();
  const int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (!sink.ok() || fd < 0) {
    state.SkipWithError("no loopback socket");
    return;
  }
  std::vector<uint8_t> datagram(kDatagramSize, 0x5A);
  int64_t errors = 0;
  for (auto _ : state) {
    ssize_t n =
        sendto(fd, datagram.data(), datagram.size(), 0, sink.address(), sink.address_size());
    errors += n < 0;
  }
  close(fd);
  if (errors > 0) state.SkipWithError("sendto failed");
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_UdpSendto)->UseRealTime();

// Time per call of 16 datagrams; per datagram, divide by the `batch` counter.
void BM_UdpSendmmsg16(benchmark::State& state) {
  UdpSink sink = MakeSink();
  const int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (!sink.ok() || fd < 0) {
    state.SkipWithError("no loopback socket");
    return;
  }
  SendBatch batch(kBatch, sink);
  int64_t errors = 0;
  for (auto _ : state) errors += !batch.Send(fd);
  close(fd);
  if (errors > 0) state.SkipWithError("sendmmsg sent fewer than the batch");
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(kBatch));
  state.counters["batch"] = kBatch;  // bench/run-micro.sh divides by it
}
BENCHMARK(BM_UdpSendmmsg16)->UseRealTime();

}  // namespace
}  // namespace sb::bench
