// switchboard-limit: the machine's limit for an SFU's forwarding, measured on one core: the cost
// of one kernel UDP send of a 1200-byte datagram to a socket on 127.0.0.1 (the best of sendto
// and sendmmsg in batches of 32) plus one SRTP protect (AEAD_AES_128_GCM, AEAD_AES_256_GCM),
// printed as JSON with out-packets/s per core = 1e6 / (send_us + protect_us).
//
// The sending thread is pinned to --cpu; a thread pinned to --drain-cpu reads the receiving
// socket by polling (as switchboard-load does), so the sending core pays what a forwarding
// worker pays on loopback: its send and the kernel's receive work, not the reader's wake-ups.
// Loopback only (TESTING.md's network rule).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "nlohmann/json.hpp"
#include "transport/srtp_session.h"

namespace {

constexpr size_t kDatagramSize = 1200;
constexpr size_t kBatch = 32;

constexpr char kUsage[] =
    "Usage: switchboard-limit [--cpu=N] [--drain-cpu=N] [--packets=N] [--repeats=N]\n"
    "                         [--profile=aes128gcm|aes256gcm] [--output=FILE.json]\n"
    "  --cpu=N        core the measuring thread is pinned to (default 1)\n"
    "  --drain-cpu=N  core of the thread reading the receiving socket (default 0; -1: none)\n"
    "  --packets=N    datagrams or protects per repeat (default 200000)\n"
    "  --repeats=N    repeats; the best is kept (default 5)\n"
    "  --profile=P    the profile of the headline out_pps_per_core (default aes256gcm, which\n"
    "                 switchboard and switchboard-load negotiate)\n";

double NowUs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) / 1e3;
}

bool Pin(int cpu) {
  if (cpu < 0) return true;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return pthread_setaffinity_np(pthread_self(), sizeof(set), &set) == 0;
}

// A receiving socket on 127.0.0.1 and a thread that polls it until told to stop.
class LoopbackSink {
 public:
  explicit LoopbackSink(int drain_cpu) {
    fd_ = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    int rcvbuf = 8 << 20;
    setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    addr_.sin_family = AF_INET;
    addr_.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd_, reinterpret_cast<const sockaddr*>(&addr_), sizeof(addr_)) != 0) return;
    socklen_t len = sizeof(addr_);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr_), &len);
    if (drain_cpu >= 0) thread_ = std::thread([this, drain_cpu] { Drain(drain_cpu); });
  }
  ~LoopbackSink() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    if (fd_ >= 0) close(fd_);
  }
  LoopbackSink(const LoopbackSink&) = delete;
  LoopbackSink& operator=(const LoopbackSink&) = delete;

  const sockaddr* address() const { return reinterpret_cast<const sockaddr*>(&addr_); }
  socklen_t address_size() const { return sizeof(addr_); }
  bool ok() const { return fd_ >= 0 && addr_.sin_port != 0; }
  uint64_t received() const { return received_; }

 private:
  void Drain(int cpu) {
    Pin(cpu);
    std::vector<uint8_t> buf(kBatch * 2048);
    std::array<iovec, kBatch> iov;
    std::array<mmsghdr, kBatch> msgs{};
    for (size_t i = 0; i < kBatch; ++i) {
      iov[i] = {buf.data() + i * 2048, 2048};
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
    while (!stop_) {
      int n = recvmmsg(fd_, msgs.data(), kBatch, MSG_DONTWAIT, nullptr);
      if (n > 0) {
        received_ += static_cast<uint64_t>(n);
      } else {
        usleep(50);
      }
    }
  }

  int fd_ = -1;
  sockaddr_in addr_{};
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> received_{0};
  std::thread thread_;
};

struct Measured {
  double us = 0;  // per datagram or per protect, best repeat
  uint64_t failures = 0;
};

Measured MeasureSendto(const LoopbackSink& sink, int packets, int repeats) {
  Measured m;
  m.us = 1e30;
  const int fd = socket(AF_INET, SOCK_DGRAM, 0);
  std::vector<uint8_t> datagram(kDatagramSize, 0x5A);
  for (int r = 0; r < repeats; ++r) {
    const double start = NowUs();
    for (int i = 0; i < packets; ++i) {
      ssize_t n =
          sendto(fd, datagram.data(), datagram.size(), 0, sink.address(), sink.address_size());
      m.failures += n < 0;
    }
    m.us = std::min(m.us, (NowUs() - start) / packets);
    usleep(20000);  // let the reader catch up between repeats
  }
  close(fd);
  return m;
}

Measured MeasureSendmmsg(const LoopbackSink& sink, int packets, int repeats) {
  Measured m;
  m.us = 1e30;
  const int fd = socket(AF_INET, SOCK_DGRAM, 0);
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
  const int calls = std::max(1, packets / static_cast<int>(kBatch));
  for (int r = 0; r < repeats; ++r) {
    const double start = NowUs();
    for (int i = 0; i < calls; ++i) {
      int n = sendmmsg(fd, msgs.data(), kBatch, 0);
      m.failures += n != static_cast<int>(kBatch);
    }
    m.us = std::min(m.us, (NowUs() - start) / (static_cast<double>(calls) * kBatch));
    usleep(20000);
  }
  close(fd);
  return m;
}

Measured MeasureProtect(sb::transport::SrtpProfile profile, int packets, int repeats) {
  using sb::transport::SrtpSession;
  Measured m;
  m.us = 1e30;
  std::vector<uint8_t> key_salt(sb::transport::SrtpKeyLength(profile) +
                                sb::transport::SrtpSaltLength(profile));
  for (size_t i = 0; i < key_salt.size(); ++i) key_salt[i] = static_cast<uint8_t>(i * 13 + 5);
  auto session = SrtpSession::Create(SrtpSession::Direction::kOutbound, profile, key_salt);
  if (!session.ok()) {
    m.failures = 1;
    return m;
  }
  // An RTP packet of 1200 bytes: 12-byte header (VP8, PT 96) and a payload.
  std::vector<uint8_t> buf(kDatagramSize + sb::transport::SrtpMaxOverhead(), 0x5A);
  const uint8_t header[12] = {0x80, 96, 0, 0, 0, 0, 0, 0, 0x12, 0x34, 0x56, 0x78};
  std::memcpy(buf.data(), header, sizeof(header));
  uint32_t index = 0;
  for (int r = 0; r < repeats; ++r) {
    const double start = NowUs();
    for (int i = 0; i < packets; ++i) {
      // The sender's replay check wants a new index each time: the sequence number (and the
      // timestamp, whose change costs nothing) move on; the header stays in the clear.
      ++index;
      buf[2] = static_cast<uint8_t>(index >> 8);
      buf[3] = static_cast<uint8_t>(index);
      buf[4] = static_cast<uint8_t>(index >> 24);
      buf[5] = static_cast<uint8_t>(index >> 16);
      size_t len = kDatagramSize;
      m.failures += !(*session)->ProtectRtp(buf.data(), &len, buf.size());
    }
    m.us = std::min(m.us, (NowUs() - start) / packets);
  }
  return m;
}

bool ParseInt(const char* arg, const char* name, int* out) {
  const size_t n = std::strlen(name);
  if (std::strncmp(arg, name, n) != 0 || arg[n] != '=') return false;
  char* end = nullptr;
  long v = std::strtol(arg + n + 1, &end, 10);
  if (end == arg + n + 1 || *end != '\0') return false;
  *out = static_cast<int>(v);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  int cpu = 1, drain_cpu = 0, packets = 200000, repeats = 5;
  std::string profile_name = "aes256gcm", output;
  for (int i = 1; i < argc; ++i) {
    const char* a = argv[i];
    if (ParseInt(a, "--cpu", &cpu) || ParseInt(a, "--drain-cpu", &drain_cpu) ||
        ParseInt(a, "--packets", &packets) || ParseInt(a, "--repeats", &repeats)) {
      continue;
    }
    if (std::strncmp(a, "--profile=", 10) == 0) {
      profile_name = a + 10;
      continue;
    }
    if (std::strncmp(a, "--output=", 9) == 0) {
      output = a + 9;
      continue;
    }
    std::fputs(kUsage, std::strcmp(a, "--help") == 0 ? stdout : stderr);
    return std::strcmp(a, "--help") == 0 ? 0 : 2;
  }
  if (packets < static_cast<int>(kBatch) || repeats < 1 ||
      (profile_name != "aes128gcm" && profile_name != "aes256gcm")) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  const long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  if (cpu >= cpus) cpu = static_cast<int>(cpus - 1);
  if (drain_cpu >= cpus || drain_cpu == cpu) drain_cpu = -1;
  if (!Pin(cpu)) {
    std::fprintf(stderr, "switchboard-limit: cannot pin to CPU %d\n", cpu);
    return 1;
  }
  LoopbackSink sink(drain_cpu);
  if (!sink.ok()) {
    std::fprintf(stderr, "switchboard-limit: no socket on 127.0.0.1\n");
    return 1;
  }
  using sb::transport::SrtpProfile;
  // Warm up caches and the socket path once, then measure.
  MeasureSendto(sink, packets / 10, 1);
  const Measured sendto_m = MeasureSendto(sink, packets, repeats);
  const Measured sendmmsg_m = MeasureSendmmsg(sink, packets, repeats);
  const Measured gcm128 = MeasureProtect(SrtpProfile::kAeadAes128Gcm, packets, repeats);
  const Measured gcm256 = MeasureProtect(SrtpProfile::kAeadAes256Gcm, packets, repeats);
  if (sendto_m.failures + sendmmsg_m.failures + gcm128.failures + gcm256.failures > 0) {
    std::fprintf(stderr, "switchboard-limit: some sends or protects failed\n");
    return 1;
  }
  const double send_us = std::min(sendto_m.us, sendmmsg_m.us);
  const double pps128 = 1e6 / (send_us + gcm128.us);
  const double pps256 = 1e6 / (send_us + gcm256.us);
  const bool headline256 = profile_name == "aes256gcm";

  auto round = [](double v, double scale) { return std::round(v * scale) / scale; };
  nlohmann::json j;
  j["cpu"] = cpu;
  j["drain_cpu"] = drain_cpu;
  j["datagram_bytes"] = kDatagramSize;
  j["packets_per_repeat"] = packets;
  j["repeats"] = repeats;
  j["send_us"] = {{"sendto", round(sendto_m.us, 1000)},
                  {"sendmmsg_32", round(sendmmsg_m.us, 1000)},
                  {"best", round(send_us, 1000)},
                  {"best_of", sendmmsg_m.us < sendto_m.us ? "sendmmsg_32" : "sendto"}};
  j["protect_us"] = {{"AEAD_AES_128_GCM", round(gcm128.us, 1000)},
                     {"AEAD_AES_256_GCM", round(gcm256.us, 1000)}};
  j["out_pps_per_core_by_profile"] = {{"AEAD_AES_128_GCM", std::round(pps128)},
                                      {"AEAD_AES_256_GCM", std::round(pps256)}};
  j["profile"] = headline256 ? "AEAD_AES_256_GCM" : "AEAD_AES_128_GCM";
  j["out_pps_per_core"] = std::round(headline256 ? pps256 : pps128);
  const std::string text = j.dump(2) + "\n";
  std::fputs(text.c_str(), stdout);
  if (!output.empty()) {
    FILE* f = std::fopen(output.c_str(), "w");
    if (f == nullptr || std::fputs(text.c_str(), f) < 0 || std::fclose(f) != 0) {
      std::fprintf(stderr, "switchboard-limit: cannot write %s\n", output.c_str());
      return 1;
    }
  }
  return 0;
}
