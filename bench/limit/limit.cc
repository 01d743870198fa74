// switchboard-limit: the machine's limit for an SFU's forwarding, measured on one core: the cost
// of one kernel UDP send of a 1200-byte datagram to a socket on 127.0.0.1 or --sink (the best of
// sendto and sendmmsg in batches of 32) plus one SRTP protect (AEAD_AES_128_GCM, AEAD_AES_256_GCM),
// printed as JSON with out-packets/s per core = 1e6 / (send_us + protect_us).
// --mix=BYTES:SHARE,... measures the same over datagrams of those sizes in those proportions
// instead (the packet-size mix a load sends: bench/capacity passes the one its load measured),
// so that the limit is the one of the traffic forwarded, not of 1200-byte packets only.
//
// The sending thread is pinned to --cpu; a thread pinned to --drain-cpu reads the receiving
// socket by polling (as switchboard-load does), so the sending core pays what a forwarding
// worker pays on loopback: its send and the kernel's receive work, not the reader's wake-ups.
// Loopback, or an address inside a namespace the caller made (TESTING.md's network rule).
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "bench/common/udp_batch.h"
#include "nlohmann/json.hpp"
#include "transport/srtp_session.h"

namespace {

using sb::bench::kDatagramSize;
using sb::bench::SendBatch;
using sb::bench::UdpSink;

constexpr size_t kBatch = 32;
// The AEAD-GCM authentication tag SRTP appends (RFC 7714 8.2).
constexpr size_t kSrtpTag = 16;

constexpr char kUsage[] =
    "Usage: switchboard-limit [--cpu=N] [--drain-cpu=N] [--packets=N] [--repeats=N]\n"
    "                         [--profile=aes128gcm|aes256gcm] [--output=FILE.json]\n"
    "                         [--sink=IP] [--sink-netns=NAME] [--mix=BYTES:SHARE,...]\n"
    "  --cpu=N        core the measuring thread is pinned to (default 1)\n"
    "  --drain-cpu=N  core of the thread reading the receiving socket (default 0; -1: none)\n"
    "  --packets=N    datagrams or protects per repeat (default 200000)\n"
    "  --repeats=N    repeats; the best is kept (default 5)\n"
    "  --profile=P    the profile of the headline out_pps_per_core (default aes256gcm, which\n"
    "                 switchboard and switchboard-load negotiate)\n"
    "  --sink=IP      address of the receiving socket (default 127.0.0.1)\n"
    "  --sink-netns=NAME  make the receiving socket inside network namespace NAME (as\n"
    "                 `ip netns add` names it), e.g. the generator's end of a veth pair, to\n"
    "                 measure the path a server's packets take there\n"
    "  --mix=B:S,...  datagrams of B bytes in share S (e.g. 150:0.3,1050:0.7) instead of\n"
    "                 1200 bytes only; out_pps_per_core is then the mix's\n";

// Datagram sizes in the order sent: kBatch of them in the proportions of --mix (largest
// remainder), repeated; {kDatagramSize} without a mix.
std::vector<size_t> SizeCycle(const std::vector<std::pair<size_t, double>>& mix) {
  if (mix.empty()) return std::vector<size_t>(kBatch, kDatagramSize);
  double total = 0;
  for (const auto& [bytes, share] : mix) total += share;
  std::vector<size_t> counts(mix.size());
  std::vector<std::pair<double, size_t>> remainders;
  size_t assigned = 0;
  for (size_t i = 0; i < mix.size(); ++i) {
    const double exact = kBatch * mix[i].second / total;
    counts[i] = static_cast<size_t>(exact);
    assigned += counts[i];
    remainders.push_back({exact - static_cast<double>(counts[i]), i});
  }
  std::sort(remainders.rbegin(), remainders.rend());
  for (size_t k = 0; assigned < kBatch; ++k, ++assigned) ++counts[remainders[k].second];
  // Interleaved, as a forwarding worker sends audio and video packets mixed.
  std::vector<size_t> cycle;
  while (cycle.size() < kBatch) {
    for (size_t i = 0; i < mix.size(); ++i) {
      if (counts[i] > 0) {
        cycle.push_back(mix[i].first);
        --counts[i];
      }
    }
  }
  return cycle;
}

double NowUs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) / 1e3;
}

struct Measured {
  double us = 0;  // per datagram or per protect, best repeat
  uint64_t failures = 0;
};

Measured MeasureSendto(const UdpSink& sink, const std::vector<size_t>& sizes, int packets,
                       int repeats) {
  Measured m;
  m.us = 1e30;
  const int fd = socket(AF_INET, SOCK_DGRAM, 0);
  std::vector<uint8_t> datagram(*std::max_element(sizes.begin(), sizes.end()), 0x5A);
  for (int r = 0; r < repeats; ++r) {
    const double start = NowUs();
    for (int i = 0; i < packets; ++i) {
      ssize_t n = sendto(fd, datagram.data(), sizes[static_cast<size_t>(i) % sizes.size()], 0,
                         sink.address(), sink.address_size());
      m.failures += n < 0;
    }
    m.us = std::min(m.us, (NowUs() - start) / packets);
    usleep(20000);  // let the reader catch up between repeats
  }
  close(fd);
  return m;
}

Measured MeasureSendmmsg(const UdpSink& sink, const std::vector<size_t>& sizes, int packets,
                         int repeats) {
  Measured m;
  m.us = 1e30;
  const int fd = socket(AF_INET, SOCK_DGRAM, 0);
  SendBatch batch(sizes, sink);
  const int calls = std::max(1, packets / static_cast<int>(kBatch));
  for (int r = 0; r < repeats; ++r) {
    const double start = NowUs();
    for (int i = 0; i < calls; ++i) m.failures += !batch.Send(fd);
    m.us = std::min(m.us, (NowUs() - start) / (static_cast<double>(calls) * batch.size()));
    usleep(20000);
  }
  close(fd);
  return m;
}

Measured MeasureProtect(sb::transport::SrtpProfile profile, const std::vector<size_t>& sizes,
                        bool mixed, int packets, int repeats) {
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
  // RTP packets of the datagram sizes (less the SRTP tag they gain: the datagram is what goes
  // out): 12-byte header (VP8, PT 96) and a payload.
  const size_t largest = *std::max_element(sizes.begin(), sizes.end());
  std::vector<uint8_t> buf(largest + sb::transport::SrtpMaxOverhead(), 0x5A);
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
      const size_t datagram = sizes[static_cast<size_t>(i) % sizes.size()];
      // A mix gives datagram sizes, the tag included; the 1200-byte default protects 1200 bytes
      // of RTP, as it always has.
      size_t len = mixed && datagram > kSrtpTag + 12 ? datagram - kSrtpTag : datagram;
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
  std::string profile_name = "aes256gcm", output, sink_ip = "127.0.0.1", sink_netns;
  std::vector<std::pair<size_t, double>> mix;
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
    if (std::strncmp(a, "--sink=", 7) == 0) {
      sink_ip = a + 7;
      continue;
    }
    if (std::strncmp(a, "--sink-netns=", 13) == 0) {
      sink_netns = a + 13;
      continue;
    }
    if (std::strncmp(a, "--mix=", 6) == 0) {
      bool ok = true;
      for (const char* p = a + 6; *p != '\0' && ok;) {
        char* end = nullptr;
        const long bytes = std::strtol(p, &end, 10);
        ok = end != p && *end == ':' && bytes >= 28 && bytes <= 1500;
        if (!ok) break;
        p = end + 1;
        const double share = std::strtod(p, &end);
        ok = end != p && share > 0 && (*end == ',' || *end == '\0');
        if (!ok) break;
        mix.push_back({static_cast<size_t>(bytes), share});
        p = *end == ',' ? end + 1 : end;
      }
      if (ok && !mix.empty()) continue;
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
  if (!sb::bench::PinThread(cpu)) {
    std::fprintf(stderr, "switchboard-limit: cannot pin to CPU %d\n", cpu);
    return 1;
  }
  UdpSink sink(drain_cpu >= 0 ? UdpSink::Drain::kPolling : UdpSink::Drain::kNone, drain_cpu,
               sink_ip, sink_netns);
  if (!sink.ok()) {
    std::fprintf(stderr, "switchboard-limit: no socket on %s%s%s\n", sink_ip.c_str(),
                 sink_netns.empty() ? "" : " in namespace ", sink_netns.c_str());
    return 1;
  }
  using sb::transport::SrtpProfile;
  const std::vector<size_t> sizes = SizeCycle(mix);
  // Warm up caches and the socket path once, then measure.
  MeasureSendto(sink, sizes, packets / 10, 1);
  const Measured sendto_m = MeasureSendto(sink, sizes, packets, repeats);
  const Measured sendmmsg_m = MeasureSendmmsg(sink, sizes, packets, repeats);
  const Measured gcm128 =
      MeasureProtect(SrtpProfile::kAeadAes128Gcm, sizes, !mix.empty(), packets, repeats);
  const Measured gcm256 =
      MeasureProtect(SrtpProfile::kAeadAes256Gcm, sizes, !mix.empty(), packets, repeats);
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
  j["sink"] = {{"ip", sink_ip}, {"netns", sink_netns}};
  double mean = 0;
  for (size_t b : sizes) mean += static_cast<double>(b);
  j["datagram_bytes"] = round(mean / static_cast<double>(sizes.size()), 10);
  j["mix"] = nlohmann::json::array();
  for (const auto& [bytes, share] : mix) j["mix"].push_back({{"bytes", bytes}, {"share", share}});
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
