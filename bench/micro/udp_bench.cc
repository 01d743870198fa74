// The kernel's cost of sending one 1200-byte UDP datagram on loopback (sendto, and sendmmsg in
// batches of 16), the yardstick the other figures are divided by. A thread on another core
// drains the receiving socket. Loopback only (TESTING.md's network rule). On loopback the
// sending core also does the kernel's receive-side work, as it does for a real server under
// test on this machine.
#include <arpa/inet.h>
#include <benchmark/benchmark.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

namespace sb::bench {
namespace {

constexpr size_t kDatagramSize = 1200;
constexpr size_t kBatch = 16;

// A receiving socket on 127.0.0.1 and a thread that reads it until told to stop.
class LoopbackSink {
 public:
  LoopbackSink() {
    fd_ = socket(AF_INET, SOCK_DGRAM, 0);
    int rcvbuf = 8 << 20;
    setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    addr_.sin_family = AF_INET;
    addr_.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr_.sin_port = 0;
    bind(fd_, reinterpret_cast<const sockaddr*>(&addr_), sizeof(addr_));
    socklen_t len = sizeof(addr_);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr_), &len);
    thread_ = std::thread([this] { Drain(); });
  }
  ~LoopbackSink() {
    stop_ = true;
    // A 1-byte datagram wakes the reader, which then sees stop_.
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    uint8_t b = 0;
    sendto(fd, &b, 1, 0, address(), sizeof(addr_));
    close(fd);
    thread_.join();
    close(fd_);
  }
  const sockaddr* address() const { return reinterpret_cast<const sockaddr*>(&addr_); }
  socklen_t address_size() const { return sizeof(addr_); }
  bool ok() const { return fd_ >= 0 && addr_.sin_port != 0; }

 private:
  void Drain() {
    // Keep off the sender's core when there is another one.
    const long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    if (cpus > 1) {
      cpu_set_t set;
      CPU_ZERO(&set);
      CPU_SET(static_cast<int>(cpus - 1), &set);
      pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
    }
    std::array<uint8_t, 2048> buf;
    while (!stop_) {
      if (recv(fd_, buf.data(), buf.size(), 0) < 0) break;
    }
  }

  int fd_ = -1;
  sockaddr_in addr_{};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

void BM_UdpSendto(benchmark::State& state) {
  LoopbackSink sink;
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
  LoopbackSink sink;
  const int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (!sink.ok() || fd < 0) {
    state.SkipWithError("no loopback socket");
    return;
  }
  std::vector<uint8_t> datagram(kDatagramSize, 0x5A);
  std::array<iovec, kBatch> iov;
  std::array<mmsghdr, kBatch> msgs{};
  for (size_t i = 0; i < kBatch; ++i) {
    iov[i] = {datagram.data(), datagram.size()};
    msgs[i].msg_hdr.msg_name = const_cast<sockaddr*>(sink.address());
    msgs[i].msg_hdr.msg_namelen = sink.address_size();
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  int64_t errors = 0;
  for (auto _ : state) {
    int n = sendmmsg(fd, msgs.data(), kBatch, 0);
    errors += n != static_cast<int>(kBatch);
  }
  close(fd);
  if (errors > 0) state.SkipWithError("sendmmsg sent fewer than the batch");
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(kBatch));
  state.counters["batch"] = kBatch;  // bench/run-micro.sh divides by it
}
BENCHMARK(BM_UdpSendmmsg16)->UseRealTime();

}  // namespace
}  // namespace sb::bench
