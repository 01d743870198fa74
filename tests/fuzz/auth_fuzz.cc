// Who may join and connect (signaling/auth.h, signaling/origin.h), on a client's bytes:
// - the input as a join token: VerifyToken under a fixed secret (libjwt's parsing, then ours);
// - the input as a token's claims, correctly signed (HS256 under the secret): what our claim
//   checks make of any JSON a token's issuer could have written. Accepted claims are valid
//   (room and names as documented) and survive IssueToken → VerifyToken unchanged;
// - the input as "Origin\nHost": NormalizeOrigin is a fixed point, an origin is allowed when
//   listed, and its own origin by default when the Host is its host and port;
// - the input as a --turn-url (signaling/turn.h): an accepted URL's normalized form parses to
//   itself; and as a TURN secret: the password is always 28 characters of base64 (20 bytes).
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/strings/escaping.h"
#include "signaling/auth.h"
#include "signaling/origin.h"
#include "signaling/turn.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using sb::signaling::TokenClaims;

constexpr int64_t kNow = 1'700'000'000;
const std::string kSecret = "fuzz-secret-of-at-least-32-bytes-for-hs256";

void CheckAccepted(const TokenClaims& claims) {
  // An expired token is never accepted.
  SB_FUZZ_CHECK(claims.exp >= kNow - sb::signaling::kClockSkewSeconds);
  if (claims.admin) return;
  SB_FUZZ_CHECK(sb::signaling::ValidRoomName(claims.room));
  SB_FUZZ_CHECK(sb::signaling::ValidDisplayName(claims.identity));
  SB_FUZZ_CHECK(claims.name.empty() || sb::signaling::ValidDisplayName(claims.name));
  SB_FUZZ_CHECK(sb::signaling::ValidDisplayName(claims.display_name()));
  // Issued again, the same claims come back.
  auto again = sb::signaling::IssueToken(claims, kSecret, kNow);
  SB_FUZZ_CHECK(again.ok());
  auto back = sb::signaling::VerifyToken(*again, kSecret, kNow);
  SB_FUZZ_CHECK(back.ok());
  SB_FUZZ_CHECK(back->room == claims.room && back->identity == claims.identity &&
                back->name == claims.name && back->can_publish == claims.can_publish &&
                back->can_subscribe == claims.can_subscribe && back->exp == claims.exp &&
                !back->admin);
}

std::string SignedToken(std::string_view payload) {
  const std::string input =
      absl::WebSafeBase64Escape(R"({"alg":"HS256","typ":"JWT"})") + "." +
      absl::WebSafeBase64Escape(absl::string_view(payload.data(), payload.size()));
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), kSecret.data(), static_cast<int>(kSecret.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &len);
  return input + "." +
         absl::WebSafeBase64Escape(absl::string_view(reinterpret_cast<const char*>(mac), len));
}

void FuzzOrigin(std::string_view text) {
  const size_t newline = text.find('\n');
  const std::string_view origin = text.substr(0, newline);
  const std::optional<std::string_view> host =
      newline == std::string_view::npos ? std::nullopt
                                        : std::optional<std::string_view>(text.substr(newline + 1));
  const bool own = sb::signaling::OriginAllowed(origin, host, {});
  (void)own;
  SB_FUZZ_CHECK(sb::signaling::OriginAllowed(std::nullopt, host, {}));
  std::optional<std::string> normalized = sb::signaling::NormalizeOrigin(origin);
  if (!normalized) {
    SB_FUZZ_CHECK(!sb::signaling::OriginAllowed(origin, host, {"https://a.example"}));
    return;
  }
  SB_FUZZ_CHECK(sb::signaling::NormalizeOrigin(*normalized) == normalized);
  SB_FUZZ_CHECK(sb::signaling::OriginAllowed(origin, host, {*normalized}));
  // Its own origin: the Host header a browser sends for it (the authority after "://").
  const std::string authority = normalized->substr(normalized->find("://") + 3);
  SB_FUZZ_CHECK(sb::signaling::OriginAllowed(*normalized, authority, {}));
}

void FuzzTurn(std::string_view text) {
  if (auto url = sb::signaling::ParseTurnUrl(text); url.ok()) {
    SB_FUZZ_CHECK(text.size() <= sb::signaling::kMaxTurnUrlBytes);
    const std::string normalized = url->ToString();
    auto again = sb::signaling::ParseTurnUrl(normalized);
    SB_FUZZ_CHECK(again.ok());
    SB_FUZZ_CHECK(again->ToString() == normalized);
    SB_FUZZ_CHECK(again->secure == url->secure && again->host == url->host &&
                  again->port == url->port && again->transport == url->transport);
    SB_FUZZ_CHECK(!url->host.empty());
  }
  const std::string password = sb::signaling::TurnPassword(text, "1700000000:p1");
  SB_FUZZ_CHECK(password.size() == 28 && password.back() == '=');
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto claims = sb::signaling::VerifyToken(text, kSecret, kNow); claims.ok()) {
    CheckAccepted(*claims);
  }
  if (size <= sb::signaling::kMaxTokenBytes) {
    if (auto claims = sb::signaling::VerifyToken(SignedToken(text), kSecret, kNow); claims.ok()) {
      CheckAccepted(*claims);
    }
  }
  FuzzOrigin(text);
  FuzzTurn(text);
  return 0;
}
