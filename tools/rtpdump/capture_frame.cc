#include "tools/rtpdump/capture_frame.h"

#include <arpa/inet.h>

#include "rtp/byte_io.h"

namespace sb::rtpdump {
namespace {

using Outcome = FrameResult::Outcome;
using rtp::ReadU16;

constexpr uint16_t kEtherTypeIpv4 = 0x0800;
constexpr uint16_t kEtherTypeIpv6 = 0x86DD;
constexpr uint16_t kEtherTypeVlan = 0x8100;  // IEEE 802.1Q
constexpr uint16_t kEtherTypeQinQ = 0x88A8;  // IEEE 802.1ad
constexpr size_t kEthernetHeaderSize = 14;
constexpr size_t kVlanTagSize = 4;
constexpr size_t kSllHeaderSize = 16;   // protocol at offset 14
constexpr size_t kSll2HeaderSize = 20;  // protocol at offset 0
constexpr size_t kNullHeaderSize = 4;
constexpr size_t kIpv4MinHeaderSize = 20;
constexpr size_t kIpv6HeaderSize = 40;
constexpr size_t kUdpHeaderSize = 8;
constexpr uint8_t kProtoUdp = 17;
// IPv6 extension headers (RFC 8200 4): hop-by-hop, routing, fragment, AH (RFC 4302),
// destination options, no next header.
constexpr uint8_t kIpv6HopByHop = 0;
constexpr uint8_t kIpv6Routing = 43;
constexpr uint8_t kIpv6Fragment = 44;
constexpr uint8_t kIpv6Ah = 51;
constexpr uint8_t kIpv6NoNext = 59;
constexpr uint8_t kIpv6DestOptions = 60;

FrameResult Fail(Outcome outcome, std::string reason) {
  FrameResult r;
  r.outcome = outcome;
  r.reason = std::move(reason);
  return r;
}

std::string Endpoint(int family, const uint8_t* addr, uint16_t port) {
  char text[INET6_ADDRSTRLEN] = {};
  inet_ntop(family, addr, text, sizeof(text));
  if (family == AF_INET6) return "[" + std::string(text) + "]:" + std::to_string(port);
  return std::string(text) + ":" + std::to_string(port);
}

FrameResult ParseUdp(int family, const uint8_t* src_addr, const uint8_t* dst_addr,
                     absl::Span<const uint8_t> segment) {
  if (segment.size() < kUdpHeaderSize) return Fail(Outcome::kMalformed, "truncated UDP header");
  size_t udp_length = ReadU16(segment.data() + 4);
  // Zero is legal only in IPv6 jumbograms (RFC 2675); take the IP payload then.
  if (udp_length == 0) udp_length = segment.size();
  if (udp_length < kUdpHeaderSize) return Fail(Outcome::kMalformed, "UDP length below 8");
  if (udp_length > segment.size()) {
    return Fail(Outcome::kMalformed, "UDP length past the captured bytes");
  }
  FrameResult r;
  r.outcome = Outcome::kUdp;
  r.src = Endpoint(family, src_addr, ReadU16(segment.data()));
  r.dst = Endpoint(family, dst_addr, ReadU16(segment.data() + 2));
  r.payload = segment.subspan(kUdpHeaderSize, udp_length - kUdpHeaderSize);
  return r;
}

// RFC 791 3.1.
FrameResult ParseIpv4(absl::Span<const uint8_t> p) {
  if (p.size() < kIpv4MinHeaderSize) return Fail(Outcome::kMalformed, "truncated IPv4 header");
  size_t header_size = size_t{p[0] & 0x0Fu} * 4;
  size_t total_length = ReadU16(p.data() + 2);
  if (header_size < kIpv4MinHeaderSize || header_size > p.size()) {
    return Fail(Outcome::kMalformed, "bad IPv4 header length");
  }
  // Total length 0 happens with TCP segmentation offload captures; trust the frame then.
  if (total_length == 0) total_length = p.size();
  if (total_length < header_size || total_length > p.size()) {
    return Fail(Outcome::kMalformed, "IPv4 total length past the captured bytes");
  }
  uint16_t flags_offset = ReadU16(p.data() + 6);
  bool more_fragments = (flags_offset & 0x2000) != 0;
  if (more_fragments || (flags_offset & 0x1FFF) != 0) {
    return Fail(Outcome::kSkipped, "IPv4 fragment");
  }
  if (p[9] != kProtoUdp) return Fail(Outcome::kSkipped, "not UDP");
  // Ethernet pads short frames: only total_length bytes are the datagram.
  return ParseUdp(AF_INET, p.data() + 12, p.data() + 16,
                  p.subspan(header_size, total_length - header_size));
}

// RFC 8200 3 and 4.
FrameResult ParseIpv6(absl::Span<const uint8_t> p) {
  if (p.size() < kIpv6HeaderSize) return Fail(Outcome::kMalformed, "truncated IPv6 header");
  size_t payload_length = ReadU16(p.data() + 4);
  if (payload_length == 0) payload_length = p.size() - kIpv6HeaderSize;  // jumbogram
  if (kIpv6HeaderSize + payload_length > p.size()) {
    return Fail(Outcome::kMalformed, "IPv6 payload length past the captured bytes");
  }
  absl::Span<const uint8_t> rest = p.subspan(kIpv6HeaderSize, payload_length);
  uint8_t next = p[6];
  // Each extension header names the next; a bounded walk (a chain longer than this is hostile).
  for (int hops = 0; hops < 16 && next != kProtoUdp; ++hops) {
    size_t ext_size = 0;
    switch (next) {
      case kIpv6HopByHop:
      case kIpv6Routing:
      case kIpv6DestOptions:
        if (rest.size() < 2) return Fail(Outcome::kMalformed, "truncated IPv6 extension header");
        ext_size = (size_t{rest[1]} + 1) * 8;
        break;
      case kIpv6Fragment:
        if (rest.size() < 8) return Fail(Outcome::kMalformed, "truncated IPv6 fragment header");
        // Offset 0 and M = 0 is an atomic fragment (RFC 6946): the whole datagram is here.
        if ((ReadU16(rest.data() + 2) & 0xFFF9) != 0) {
          return Fail(Outcome::kSkipped, "IPv6 fragment");
        }
        ext_size = 8;
        break;
      case kIpv6Ah:
        if (rest.size() < 2) return Fail(Outcome::kMalformed, "truncated IPv6 AH header");
        ext_size = (size_t{rest[1]} + 2) * 4;
        break;
      case kIpv6NoNext:
        return Fail(Outcome::kSkipped, "not UDP");
      default:
        return Fail(Outcome::kSkipped, "not UDP");
    }
    if (ext_size > rest.size()) {
      return Fail(Outcome::kMalformed, "IPv6 extension header past the captured bytes");
    }
    next = rest[0];
    rest = rest.subspan(ext_size);
  }
  if (next != kProtoUdp) return Fail(Outcome::kSkipped, "not UDP");
  return ParseUdp(AF_INET6, p.data() + 8, p.data() + 24, rest);
}

// Dispatches on the version nibble of an IP header.
FrameResult ParseIp(absl::Span<const uint8_t> p) {
  if (p.empty()) return Fail(Outcome::kMalformed, "empty IP packet");
  switch (p[0] >> 4) {
    case 4:
      return ParseIpv4(p);
    case 6:
      return ParseIpv6(p);
    default:
      return Fail(Outcome::kSkipped, "not IP");
  }
}

FrameResult ParseByEtherType(uint16_t ether_type, absl::Span<const uint8_t> p) {
  if (ether_type == kEtherTypeIpv4) return ParseIpv4(p);
  if (ether_type == kEtherTypeIpv6) return ParseIpv6(p);
  return Fail(Outcome::kSkipped, "not IP");
}

}  // namespace

bool IsSupportedLinkType(int link_type) {
  switch (link_type) {
    case kLinkNull:
    case kLinkEthernet:
    case kLinkRaw:
    case kLinkRawOpenBsd:
    case kLinkLoop:
    case kLinkLinuxSll:
    case kLinkIpv4:
    case kLinkIpv6:
    case kLinkLinuxSll2:
      return true;
    default:
      return false;
  }
}

FrameResult ParseFrame(int link_type, absl::Span<const uint8_t> frame) {
  switch (link_type) {
    case kLinkEthernet: {
      if (frame.size() < kEthernetHeaderSize) {
        return Fail(Outcome::kMalformed, "truncated Ethernet header");
      }
      size_t offset = 12;
      uint16_t ether_type = ReadU16(frame.data() + offset);
      while (ether_type == kEtherTypeVlan || ether_type == kEtherTypeQinQ) {
        offset += kVlanTagSize;
        if (offset + 2 > frame.size()) return Fail(Outcome::kMalformed, "truncated VLAN tag");
        ether_type = ReadU16(frame.data() + offset);
      }
      return ParseByEtherType(ether_type, frame.subspan(offset + 2));
    }
    case kLinkLinuxSll:
      if (frame.size() < kSllHeaderSize) {
        return Fail(Outcome::kMalformed, "truncated Linux cooked header");
      }
      return ParseByEtherType(ReadU16(frame.data() + 14), frame.subspan(kSllHeaderSize));
    case kLinkLinuxSll2:
      if (frame.size() < kSll2HeaderSize) {
        return Fail(Outcome::kMalformed, "truncated Linux cooked v2 header");
      }
      return ParseByEtherType(ReadU16(frame.data()), frame.subspan(kSll2HeaderSize));
    case kLinkNull:
    case kLinkLoop:
      // The address family's value differs between systems and byte orders (AF_INET6 is 10,
      // 24, 28 or 30); the IP version nibble says the same thing reliably.
      if (frame.size() < kNullHeaderSize) {
        return Fail(Outcome::kMalformed, "truncated loopback header");
      }
      return ParseIp(frame.subspan(kNullHeaderSize));
    case kLinkRaw:
    case kLinkRawOpenBsd:
    case kLinkIpv4:
    case kLinkIpv6:
      return ParseIp(frame);
    default:
      return Fail(Outcome::kSkipped, "unsupported link type " + std::to_string(link_type));
  }
}

}  // namespace sb::rtpdump
