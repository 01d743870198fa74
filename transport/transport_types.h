// Small value types shared by the transport classes (ICE, DTLS, WebRtcTransport).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sb::transport {

enum class IceState { kNew, kConnected, kCompleted, kDisconnected, kClosed };
enum class DtlsState { kNew, kConnecting, kConnected, kFailed, kClosed };
enum class DtlsRole { kAuto, kClient, kServer };

// A certificate fingerprint as in SDP a=fingerprint (RFC 8122): "sha-256", "AB:CD:...".
struct Fingerprint {
  std::string algorithm;
  std::string value;
};

// One address a transport listens on, and the addresses its candidates announce for it (a
// public address behind NAT, a private one, ...); none: the address itself.
struct ListenAddress {
  std::string ip;
  std::vector<std::string> announced;
};

struct IceCandidate {
  std::string foundation;
  uint32_t priority = 0;
  std::string ip;
  std::string protocol;
  uint16_t port = 0;
  std::string type;
};

std::string_view ToString(IceState state);
std::string_view ToString(DtlsState state);
std::string_view ToString(DtlsRole role);

}  // namespace sb::transport
