// Unwraps one captured frame down to its UDP payload: the link layer (by pcap link type), IPv4
// (options, fragments) or IPv6 (extension headers), then UDP. Every length is checked.
#pragma once

#include <cstdint>
#include <string>

#include "absl/types/span.h"

namespace sb::rtpdump {

// pcap link types (LINKTYPE_* values as libpcap's pcap_datalink returns them as DLT_*).
inline constexpr int kLinkNull = 0;      // BSD loopback: 4-byte address family, host order
inline constexpr int kLinkEthernet = 1;  // DLT_EN10MB
inline constexpr int kLinkRaw = 12;      // DLT_RAW: starts with the IP header
inline constexpr int kLinkRawOpenBsd = 14;
inline constexpr int kLinkLoop = 108;  // OpenBSD loopback: family in network order
inline constexpr int kLinkLinuxSll = 113;
inline constexpr int kLinkIpv4 = 228;
inline constexpr int kLinkIpv6 = 229;
inline constexpr int kLinkLinuxSll2 = 276;

// True for the link types ParseFrame understands.
bool IsSupportedLinkType(int link_type);

struct FrameResult {
  enum class Outcome : uint8_t {
    kUdp,        // src, dst and payload are set
    kSkipped,    // a frame the tool does not decode (not IP, not UDP, an IPv4 fragment)
    kMalformed,  // a header that does not fit or contradicts itself
  };
  Outcome outcome = Outcome::kMalformed;
  std::string reason;  // for kSkipped and kMalformed
  std::string src;     // "ip:port" ("[ip6]:port" for IPv6)
  std::string dst;
  absl::Span<const uint8_t> payload;  // the UDP payload, within the frame
};

FrameResult ParseFrame(int link_type, absl::Span<const uint8_t> frame);

}  // namespace sb::rtpdump
