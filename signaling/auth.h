// Join and admin tokens: JWTs (RFC 7519) signed with HS256 (RFC 7518 section 3.2) under the
// server's --auth-secret. Signing and verification are libjwt's (Debian's libjwt-dev); this file
// only decides which claims a token must carry and what they mean (docs/security.md).
//
// A participant token:  {"room": "demo", "sub": "ada", "name": "Ada Lovelace",
//                        "canPublish": true, "canSubscribe": true, "iat": ..., "exp": ...}
// An admin token:       {"sub": "admin", "admin": true, "iat": ..., "exp": ...}
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace sb::signaling {

// RFC 7518 section 3.2: an HS256 key must be at least as long as the hash output.
inline constexpr size_t kMinAuthSecretBytes = 32;
// A token longer than this is refused before libjwt sees it; ours are about 300 bytes.
inline constexpr size_t kMaxTokenBytes = 4096;
// Clocks of the machine that issued a token and of this server may differ by this much:
// "exp" and "nbf" are checked with this leeway (RFC 7519 section 4.1.4 allows "some small
// leeway, usually no more than a few minutes"; NTP keeps servers far closer).
inline constexpr int64_t kClockSkewSeconds = 30;
// Room names and display names (also identities): short, printable, safe to show and to log.
inline constexpr size_t kMaxRoomNameBytes = 64;
inline constexpr size_t kMaxDisplayNameBytes = 64;

// 1-64 characters of [A-Za-z0-9_.-].
bool ValidRoomName(std::string_view name);
// 1-64 bytes without control characters (UTF-8 validity is the WebSocket layer's job).
bool ValidDisplayName(std::string_view name);

struct TokenClaims {
  std::string room;            // "room": the one room the token admits to (participant tokens)
  std::string identity;        // "sub": who the participant is
  std::string name;            // "name": the display name; empty: the identity is shown
  bool can_publish = false;    // "canPublish"
  bool can_subscribe = false;  // "canSubscribe"
  bool admin = false;          // "admin": /api/* and /metrics; admits to no room
  int64_t exp = 0;             // "exp": seconds since the epoch

  // What other participants see: the name, else the identity.
  const std::string& display_name() const { return name.empty() ? identity : name; }
};

// Signs `claims` (with "iat" = now_seconds). Admin claims carry only "sub", "admin" and the
// times. Fails on a secret shorter than kMinAuthSecretBytes.
absl::StatusOr<std::string> IssueToken(const TokenClaims& claims, std::string_view secret,
                                       int64_t now_seconds);

// Verifies `token` under `secret` at `now_seconds` and returns its claims. The status code says
// what failed (FailureOf maps it to a metrics reason):
//   kUnauthenticated    not a JWT, a bad signature, or an algorithm other than HS256 ("none"
//                       included), or too long
//   kDeadlineExceeded   expired ("exp" more than kClockSkewSeconds ago) or not yet valid
//                       ("nbf" more than kClockSkewSeconds ahead)
//   kInvalidArgument    a claim missing or of the wrong type: "exp" (an integer) always;
//                       "admin": true, or else "room" (a valid room name), "sub" (a valid
//                       display name), "canPublish" and "canSubscribe" (booleans); "name"
//                       (a valid display name) when present
absl::StatusOr<TokenClaims> VerifyToken(std::string_view token, std::string_view secret,
                                        int64_t now_seconds);

// Why an authorization failed, a label of switchboard_auth_failures_total.
enum class AuthFailure : uint8_t {
  kMissing,        // no token where one is needed (a join, /api/*, /metrics)
  kInvalid,        // kUnauthenticated from VerifyToken
  kExpired,        // kDeadlineExceeded from VerifyToken
  kClaims,         // kInvalidArgument from VerifyToken, or an admin token in a join
  kWrongRoom,      // a participant token for another room
  kNotAdmin,       // a participant token on /api/* or /metrics
  kPublishDenied,  // a publish under a token without canPublish
  kOrigin,         // a WebSocket upgrade from an Origin not allowed (--allowed-origins)
};
inline constexpr size_t kAuthFailureCount = 8;
// "missing", "invalid", "expired", "claims", "wrong_room", "not_admin", "publish_denied",
// "origin".
const char* AuthFailureLabel(AuthFailure failure);
// The failure a VerifyToken status stands for.
AuthFailure FailureOf(const absl::Status& status);

class AuthCounters {
 public:
  void Count(AuthFailure failure) { ++counts_[static_cast<size_t>(failure)]; }
  uint64_t count(AuthFailure failure) const { return counts_[static_cast<size_t>(failure)]; }

 private:
  std::array<uint64_t, kAuthFailureCount> counts_{};
};

// The seconds-since-the-epoch clock tokens are checked against.
int64_t NowSeconds();

}  // namespace sb::signaling
