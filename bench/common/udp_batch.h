// UDP for the send benchmarks (bench/limit, bench/micro/udp_bench.cc): a receiving socket with
// a thread that drains it, and a batch of identical datagrams addressed to it for one
// sendmmsg(2) call. The socket is on 127.0.0.1, or on an address inside a network namespace the
// caller made (TESTING.md's network rule).
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

namespace sb::bench {

// What both benchmarks send: a full-size video packet (WebRTC senders keep RTP packets to about
// 1200 bytes so that they fit any path's MTU).
inline constexpr size_t kDatagramSize = 1200;

// Pins the calling thread to `cpu`; -1 leaves it unpinned (and succeeds).
bool PinThread(int cpu);

// A socket bound to an ephemeral port on `ip` (8 MiB receive buffer) and, unless kNone, a
// thread that reads it until the sink is destroyed. With `netns` (a name under /run/netns, as
// `ip netns add` makes) the socket is created inside that namespace, so that datagrams to it
// cross whatever joins the caller's namespace to it (a veth pair: bench/netns_env.sh).
class UdpSink {
 public:
  enum class Drain {
    kNone,      // nobody reads; what overflows the buffer is dropped by the kernel
    kBlocking,  // recv(2) in a loop: the sender's core pays for waking the reader
    kPolling,   // non-blocking recvmmsg(2) with 50 µs naps: the sender pays no wake-ups
  };

  // `drain_cpu`: the core the draining thread is pinned to, -1 for none.
  UdpSink(Drain drain, int drain_cpu, const std::string& ip = "127.0.0.1",
          const std::string& netns = "");
  ~UdpSink();
  UdpSink(const UdpSink&) = delete;
  UdpSink& operator=(const UdpSink&) = delete;

  const sockaddr* address() const { return reinterpret_cast<const sockaddr*>(&addr_); }
  socklen_t address_size() const { return sizeof(addr_); }
  bool ok() const { return fd_ >= 0 && addr_.sin_port != 0; }

 private:
  void DrainBlocking(int cpu);
  void DrainPolling(int cpu);

  const Drain drain_;
  int fd_ = -1;
  sockaddr_in addr_{};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// `count` copies of one kDatagramSize-byte datagram, all addressed to `sink`, ready for
// sendmmsg(2); or one datagram of each of `sizes` bytes. The sink must outlive the batch.
class SendBatch {
 public:
  SendBatch(size_t count, const UdpSink& sink)
      : SendBatch(std::vector<size_t>(count, kDatagramSize), sink) {}
  SendBatch(const std::vector<size_t>& sizes, const UdpSink& sink);
  SendBatch(const SendBatch&) = delete;
  SendBatch& operator=(const SendBatch&) = delete;

  // One sendmmsg(2) call on `fd`; true when the whole batch went out.
  bool Send(int fd) {
    return sendmmsg(fd, msgs_.data(), static_cast<unsigned int>(msgs_.size()), 0) ==
           static_cast<int>(msgs_.size());
  }
  size_t size() const { return msgs_.size(); }

 private:
  std::vector<uint8_t> datagram_;
  std::vector<iovec> iov_;
  std::vector<mmsghdr> msgs_;
};

}  // namespace sb::bench
