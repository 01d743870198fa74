#include "bench/common/udp_batch.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdlib>

namespace sb::bench {
namespace {

// Datagrams one recvmmsg(2) call of the polling drain takes, and the room for each (more than
// any datagram the benchmarks send).
constexpr size_t kDrainBatch = 32;
constexpr size_t kDrainSlot = 2048;

}  // namespace

bool PinThread(int cpu) {
  if (cpu < 0) return true;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return pthread_setaffinity_np(pthread_self(), sizeof(set), &set) == 0;
}

UdpSink::UdpSink(Drain drain, int drain_cpu, const std::string& ip, const std::string& netns)
    : drain_(drain) {
  addr_.sin_family = AF_INET;
  if (inet_pton(AF_INET, ip.c_str(), &addr_.sin_addr) != 1) return;
  const int type = SOCK_DGRAM | (drain == Drain::kBlocking ? 0 : SOCK_NONBLOCK);
  if (netns.empty()) {
    fd_ = socket(AF_INET, type, 0);
  } else {
    // setns(2) moves only this thread; a socket stays in the namespace it was made in.
    const int here = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    const int there = open(("/run/netns/" + netns).c_str(), O_RDONLY | O_CLOEXEC);
    if (here >= 0 && there >= 0 && setns(there, CLONE_NEWNET) == 0) {
      fd_ = socket(AF_INET, type, 0);
      if (setns(here, CLONE_NEWNET) != 0) std::abort();  // never measure from the wrong place
    }
    if (here >= 0) close(here);
    if (there >= 0) close(there);
  }
  if (fd_ < 0) return;
  int rcvbuf = 8 << 20;
  setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
  if (bind(fd_, reinterpret_cast<const sockaddr*>(&addr_), sizeof(addr_)) != 0) {
    addr_.sin_port = 0;
    return;
  }
  socklen_t len = sizeof(addr_);
  getsockname(fd_, reinterpret_cast<sockaddr*>(&addr_), &len);
  if (drain == Drain::kBlocking) {
    thread_ = std::thread([this, drain_cpu] { DrainBlocking(drain_cpu); });
  } else if (drain == Drain::kPolling) {
    thread_ = std::thread([this, drain_cpu] { DrainPolling(drain_cpu); });
  }
}

UdpSink::~UdpSink() {
  stop_ = true;
  if (thread_.joinable()) {
    if (drain_ == Drain::kBlocking) {
      // A 1-byte datagram wakes the reader, which then sees stop_.
      int fd = socket(AF_INET, SOCK_DGRAM, 0);
      uint8_t b = 0;
      sendto(fd, &b, 1, 0, address(), address_size());
      close(fd);
    }
    thread_.join();
  }
  if (fd_ >= 0) close(fd_);
}

void UdpSink::DrainBlocking(int cpu) {
  PinThread(cpu);
  std::array<uint8_t, kDrainSlot> buf;
  while (!stop_) {
    if (recv(fd_, buf.data(), buf.size(), 0) < 0) break;
  }
}

void UdpSink::DrainPolling(int cpu) {
  PinThread(cpu);
  std::vector<uint8_t> buf(kDrainBatch * kDrainSlot);
  std::array<iovec, kDrainBatch> iov;
  std::array<mmsghdr, kDrainBatch> msgs{};
  for (size_t i = 0; i < kDrainBatch; ++i) {
    iov[i] = {buf.data() + i * kDrainSlot, kDrainSlot};
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  while (!stop_) {
    if (recvmmsg(fd_, msgs.data(), kDrainBatch, MSG_DONTWAIT, nullptr) <= 0) usleep(50);
  }
}

SendBatch::SendBatch(const std::vector<size_t>& sizes, const UdpSink& sink)
    : datagram_(sizes.empty() ? 0 : *std::max_element(sizes.begin(), sizes.end()), 0x5A),
      iov_(sizes.size()),
      msgs_(sizes.size()) {
  for (size_t i = 0; i < sizes.size(); ++i) {
    iov_[i] = {datagram_.data(), sizes[i]};
    msgs_[i].msg_hdr.msg_name = const_cast<sockaddr*>(sink.address());
    msgs_[i].msg_hdr.msg_namelen = sink.address_size();
    msgs_[i].msg_hdr.msg_iov = &iov_[i];
    msgs_[i].msg_hdr.msg_iovlen = 1;
  }
}

}  // namespace sb::bench
