// TURN relays for clients that cannot reach the media ports (docs/deploy.md): the relay URLs
// the operator configured (--turn-url) and time-limited credentials for them in the
// shared-secret scheme coturn checks with `use-auth-secret` / `static-auth-secret`
// (draft-uberti-behave-turn-rest-00 section 2.2): username "<expiry unix time>:<user>",
// password base64(HMAC-SHA1(secret, username)). The relay verifies them as RFC 8489 section 9.2
// long-term credentials and refuses a username whose time has passed. Pure code, no I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace sb::signaling {

// A URL longer than this is refused: host names have at most 253 bytes (RFC 1035 section 2.3.4).
inline constexpr size_t kMaxTurnUrlBytes = 300;
// RFC 2104 section 3: an HMAC key shorter than the hash output (SHA-1: 20 bytes) is "strongly
// discouraged"; the secret is what keeps strangers from relaying through the TURN server.
inline constexpr size_t kMinTurnSecretBytes = 20;
// How long credentials stay valid: one day, the lifetime draft-uberti-behave-turn-rest-00
// section 2.2 recommends. The relay checks the time on every refresh of an allocation (every
// few minutes, RFC 8656 section 7), so this must outlast a meeting; a `resumed` brings fresh ones.
inline constexpr int64_t kDefaultTurnTtlSeconds = 24 * 3600;

// A "turn:" or "turns:" URI (RFC 7065 section 3.1):
//   turn[s]:host[:port][?transport=udp|tcp]
// host: a DNS name, an IPv4 address or a bracketed IPv6 address.
struct TurnUrl {
  enum class Transport { kDefault, kUdp, kTcp };
  bool secure = false;  // turns: TLS to the relay
  std::string host;     // as written, brackets included for IPv6
  uint16_t port = 0;    // 0: the scheme's default (3478, or 5349 for turns; RFC 7065 3.1)
  Transport transport = Transport::kDefault;

  // The URL as a browser's RTCIceServer takes it, normalized (lower-case scheme).
  std::string ToString() const;
};

// Parses and checks one URL; the error says what is wrong with it. "turns:...?transport=udp"
// (TURN over DTLS) is refused: browsers do not speak it.
absl::StatusOr<TurnUrl> ParseTurnUrl(std::string_view text);

struct TurnCredentials {
  std::string username;  // "<expiry>:<user>"
  std::string password;  // base64(HMAC-SHA1(secret, username)), with padding
};

// Credentials for `user` (a participant id: no ':') that expire at `expiry_unix_seconds`.
TurnCredentials MakeTurnCredentials(std::string_view secret, std::string_view user,
                                    int64_t expiry_unix_seconds);

// base64(HMAC-SHA1(secret, username)): the password coturn expects for `username`.
std::string TurnPassword(std::string_view secret, std::string_view username);

// The `iceServers` of `joined` and `resumed` (docs/protocol.md), in the shape of the W3C
// RTCIceServer dictionary: [{"urls": [...], "username": ..., "credential": ...}], credentials
// for `user` valid from `now_unix_seconds` for `ttl_seconds`. No URLs: an empty array.
nlohmann::json IceServersJson(const std::vector<std::string>& urls, std::string_view secret,
                              std::string_view user, int64_t now_unix_seconds, int64_t ttl_seconds);

}  // namespace sb::signaling
