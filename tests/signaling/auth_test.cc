// Join and admin tokens: what VerifyToken accepts and refuses. Tokens are made by IssueToken, by
// libjwt directly (other algorithms, other claims) and by hand with OpenSSL's HMAC (the attacks
// a hand-made token tries: "alg": "none", an HMAC under an asymmetric algorithm's name, a
// payload edited after signing).
#include "signaling/auth.h"

#include <gtest/gtest.h>
#include <jwt.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/str_split.h"

namespace sb::signaling {
namespace {

constexpr int64_t kNow = 1'700'000'000;
const std::string kSecret = "a-test-secret-of-at-least-32-bytes-for-hs256";

TokenClaims Participant() {
  TokenClaims c;
  c.room = "demo";
  c.identity = "ada";
  c.name = "Ada Lovelace";
  c.can_publish = true;
  c.can_subscribe = true;
  c.exp = kNow + 3600;
  return c;
}

std::string Issue(const TokenClaims& claims, const std::string& secret = kSecret) {
  auto token = IssueToken(claims, secret, kNow);
  EXPECT_TRUE(token.ok()) << token.status();
  return token.ok() ? *token : "";
}

std::string B64(const std::string& bytes) { return absl::WebSafeBase64Escape(bytes); }

std::string Hmac(const EVP_MD* md, const std::string& secret, const std::string& data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(md, secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

// header.payload.signature with the signature an HMAC of `md` (or empty when md is null).
std::string HandMade(const nlohmann::json& header, const nlohmann::json& payload, const EVP_MD* md,
                     const std::string& secret = kSecret) {
  const std::string signing_input = B64(header.dump()) + "." + B64(payload.dump());
  return signing_input + "." + (md ? B64(Hmac(md, secret, signing_input)) : "");
}

nlohmann::json ParticipantPayload() {
  return {{"room", "demo"},       {"sub", "ada"}, {"canPublish", true},
          {"canSubscribe", true}, {"iat", kNow},  {"exp", kNow + 3600}};
}

// Signed by libjwt with `alg` and arbitrary claims.
std::string LibjwtToken(jwt_alg_t alg, const nlohmann::json& payload,
                        const std::string& secret = kSecret) {
  jwt_t* jwt = nullptr;
  EXPECT_EQ(jwt_new(&jwt), 0);
  EXPECT_EQ(jwt_add_grants_json(jwt, payload.dump().c_str()), 0);
  EXPECT_EQ(jwt_set_alg(jwt, alg, reinterpret_cast<const unsigned char*>(secret.data()),
                        static_cast<int>(secret.size())),
            0);
  char* encoded = jwt_encode_str(jwt);
  std::string out = encoded ? encoded : "";
  std::free(encoded);
  jwt_free(jwt);
  return out;
}

TEST(Auth, ParticipantTokenRoundTrips) {
  auto claims = VerifyToken(Issue(Participant()), kSecret, kNow);
  ASSERT_TRUE(claims.ok()) << claims.status();
  EXPECT_EQ(claims->room, "demo");
  EXPECT_EQ(claims->identity, "ada");
  EXPECT_EQ(claims->name, "Ada Lovelace");
  EXPECT_EQ(claims->display_name(), "Ada Lovelace");
  EXPECT_TRUE(claims->can_publish);
  EXPECT_TRUE(claims->can_subscribe);
  EXPECT_FALSE(claims->admin);
  EXPECT_EQ(claims->exp, kNow + 3600);
}

TEST(Auth, GrantsAndNameAreCarried) {
  TokenClaims viewer = Participant();
  viewer.name.clear();
  viewer.can_publish = false;
  auto claims = VerifyToken(Issue(viewer), kSecret, kNow);
  ASSERT_TRUE(claims.ok()) << claims.status();
  EXPECT_FALSE(claims->can_publish);
  EXPECT_TRUE(claims->can_subscribe);
  EXPECT_EQ(claims->display_name(), "ada");  // no name: the identity is shown

  TokenClaims deaf = Participant();
  deaf.can_subscribe = false;
  claims = VerifyToken(Issue(deaf), kSecret, kNow);
  ASSERT_TRUE(claims.ok()) << claims.status();
  EXPECT_TRUE(claims->can_publish);
  EXPECT_FALSE(claims->can_subscribe);
}

TEST(Auth, TheTokenIsAStandardHs256Jwt) {
  // Three base64url parts; the header names HS256; the payload has the documented claims.
  const std::string token = Issue(Participant());
  std::vector<std::string> parts = absl::StrSplit(token, '.');
  ASSERT_EQ(parts.size(), 3u);
  std::string header, payload;
  ASSERT_TRUE(absl::WebSafeBase64Unescape(parts[0], &header));
  ASSERT_TRUE(absl::WebSafeBase64Unescape(parts[1], &payload));
  EXPECT_EQ(nlohmann::json::parse(header)["alg"], "HS256");
  const auto claims = nlohmann::json::parse(payload);
  EXPECT_EQ(claims["room"], "demo");
  EXPECT_EQ(claims["sub"], "ada");
  EXPECT_EQ(claims["name"], "Ada Lovelace");
  EXPECT_EQ(claims["canPublish"], true);
  EXPECT_EQ(claims["canSubscribe"], true);
  EXPECT_EQ(claims["iat"], kNow);
  EXPECT_EQ(claims["exp"], kNow + 3600);
  // A hand-made HS256 token of the same claims (another issuer, say an app's backend) verifies.
  EXPECT_TRUE(
      VerifyToken(HandMade({{"alg", "HS256"}, {"typ", "JWT"}}, ParticipantPayload(), EVP_sha256()),
                  kSecret, kNow)
          .ok());
}

TEST(Auth, ExpiryHasThirtySecondsOfLeeway) {
  TokenClaims c = Participant();
  c.exp = kNow;
  const std::string token = Issue(c);
  EXPECT_TRUE(VerifyToken(token, kSecret, kNow).ok());
  EXPECT_TRUE(VerifyToken(token, kSecret, kNow + kClockSkewSeconds).ok());
  auto late = VerifyToken(token, kSecret, kNow + kClockSkewSeconds + 1);
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.status().code(), absl::StatusCode::kDeadlineExceeded) << late.status();
  EXPECT_EQ(FailureOf(late.status()), AuthFailure::kExpired);
  // Long expired.
  c.exp = kNow - 86400;
  auto old = VerifyToken(Issue(c), kSecret, kNow);
  EXPECT_EQ(old.status().code(), absl::StatusCode::kDeadlineExceeded) << old.status();
}

TEST(Auth, NotBeforeIsHonoured) {
  nlohmann::json payload = ParticipantPayload();
  payload["nbf"] = kNow + 600;
  const std::string token = LibjwtToken(JWT_ALG_HS256, payload);
  auto early = VerifyToken(token, kSecret, kNow);
  EXPECT_EQ(early.status().code(), absl::StatusCode::kDeadlineExceeded) << early.status();
  EXPECT_TRUE(VerifyToken(token, kSecret, kNow + 600 - kClockSkewSeconds).ok());
}

TEST(Auth, WrongSecretIsRefused) {
  const std::string token = Issue(Participant(), "another-secret-of-at-least-32-bytes-long!");
  auto claims = VerifyToken(token, kSecret, kNow);
  ASSERT_FALSE(claims.ok());
  EXPECT_EQ(claims.status().code(), absl::StatusCode::kUnauthenticated) << claims.status();
  EXPECT_EQ(FailureOf(claims.status()), AuthFailure::kInvalid);
  // A secret that only shares a prefix.
  EXPECT_FALSE(VerifyToken(Issue(Participant(), kSecret + "x"), kSecret, kNow).ok());
}

TEST(Auth, AlgorithmNoneIsRefused) {
  // Unsigned, as RFC 7519 section 6.1 writes one; with a signature added too; and "None".
  for (const std::string& token :
       {HandMade({{"alg", "none"}}, ParticipantPayload(), nullptr),
        HandMade({{"alg", "none"}, {"typ", "JWT"}}, ParticipantPayload(), EVP_sha256()),
        HandMade({{"alg", "None"}}, ParticipantPayload(), nullptr),
        HandMade({{"alg", "none"}}, ParticipantPayload(), nullptr)
            .substr(0, HandMade({{"alg", "none"}}, ParticipantPayload(), nullptr).size() - 1)}) {
    auto claims = VerifyToken(token, kSecret, kNow);
    ASSERT_FALSE(claims.ok()) << token;
    EXPECT_EQ(claims.status().code(), absl::StatusCode::kUnauthenticated) << claims.status();
  }
  // libjwt's own unsigned token.
  jwt_t* jwt = nullptr;
  ASSERT_EQ(jwt_new(&jwt), 0);
  ASSERT_EQ(jwt_add_grants_json(jwt, ParticipantPayload().dump().c_str()), 0);
  char* encoded = jwt_encode_str(jwt);
  ASSERT_NE(encoded, nullptr);
  const std::string unsigned_token = encoded;
  std::free(encoded);
  jwt_free(jwt);
  EXPECT_EQ(VerifyToken(unsigned_token, kSecret, kNow).status().code(),
            absl::StatusCode::kUnauthenticated);
}

TEST(Auth, OtherAlgorithmsAreRefusedEvenWithTheRightSecret) {
  // HS384 and HS512 under the same secret verify in libjwt; the server pins HS256.
  for (jwt_alg_t alg : {JWT_ALG_HS384, JWT_ALG_HS512}) {
    const std::string token = LibjwtToken(alg, ParticipantPayload());
    ASSERT_FALSE(token.empty());
    auto claims = VerifyToken(token, kSecret, kNow);
    EXPECT_EQ(claims.status().code(), absl::StatusCode::kUnauthenticated)
        << jwt_alg_str(alg) << ": " << claims.status();
  }
  // Key confusion: an HMAC under the secret, labelled RS256 or ES256.
  for (const char* alg : {"RS256", "ES256", "PS256", "hs256"}) {
    auto claims =
        VerifyToken(HandMade({{"alg", alg}}, ParticipantPayload(), EVP_sha256()), kSecret, kNow);
    EXPECT_EQ(claims.status().code(), absl::StatusCode::kUnauthenticated)
        << alg << ": " << claims.status();
  }
}

TEST(Auth, TamperedTokensAreRefused) {
  const std::string token = Issue(Participant());
  std::vector<std::string> parts = absl::StrSplit(token, '.');
  ASSERT_EQ(parts.size(), 3u);
  // Another room (and admin) in the payload, the signature kept.
  nlohmann::json payload = ParticipantPayload();
  payload["room"] = "board-meeting";
  const std::string other_room = parts[0] + "." + B64(payload.dump()) + "." + parts[2];
  payload["admin"] = true;
  const std::string made_admin = parts[0] + "." + B64(payload.dump()) + "." + parts[2];
  // A longer lifetime.
  nlohmann::json longer = ParticipantPayload();
  longer["exp"] = kNow + 10 * 365 * 86400;
  const std::string extended = parts[0] + "." + B64(longer.dump()) + "." + parts[2];
  // One character of the signature changed; the signature cut; one dropped.
  std::string flipped = token;
  flipped[flipped.size() - 5] = flipped[flipped.size() - 5] == 'A' ? 'B' : 'A';
  for (const std::string& bad :
       {other_room, made_admin, extended, flipped, parts[0] + "." + parts[1] + ".",
        parts[0] + "." + parts[1], token.substr(0, token.size() - 10)}) {
    auto claims = VerifyToken(bad, kSecret, kNow);
    ASSERT_FALSE(claims.ok()) << bad;
    EXPECT_EQ(claims.status().code(), absl::StatusCode::kUnauthenticated)
        << bad << ": " << claims.status();
  }
}

TEST(Auth, GarbageIsRefused) {
  for (const std::string& bad :
       {std::string(), std::string("x"), std::string("a.b.c"), std::string(".."),
        std::string("eyJhbGciOiJIUzI1NiJ9.e30."), std::string("not a token at all"),
        std::string(kMaxTokenBytes + 1, 'a'), std::string("a\0b", 3)}) {
    auto claims = VerifyToken(bad, kSecret, kNow);
    ASSERT_FALSE(claims.ok());
    EXPECT_EQ(claims.status().code(), absl::StatusCode::kUnauthenticated) << claims.status();
  }
}

TEST(Auth, MissingOrMistypedClaimsAreRefused) {
  for (const char* claim : {"exp", "room", "sub", "canPublish", "canSubscribe"}) {
    nlohmann::json payload = ParticipantPayload();
    payload.erase(claim);
    auto claims = VerifyToken(LibjwtToken(JWT_ALG_HS256, payload), kSecret, kNow);
    ASSERT_FALSE(claims.ok()) << "without " << claim;
    EXPECT_EQ(claims.status().code(), absl::StatusCode::kInvalidArgument)
        << "without " << claim << ": " << claims.status();
    EXPECT_EQ(FailureOf(claims.status()), AuthFailure::kClaims);
  }
  const std::vector<std::pair<const char*, nlohmann::json>> mistyped = {
      {"exp", "9999999999"}, {"exp", 1.7e9 + 3600.5},
      {"room", 42},          {"sub", ""},
      {"sub", true},         {"name", 7},
      {"name", "a\nb"},      {"canPublish", "true"},
      {"canSubscribe", 1},   {"admin", "yes"},
      {"nbf", "0"},          {"sub", std::string(65, 'x')},
      {"room", "a room"},    {"room", ""}};
  for (const auto& [claim, value] : mistyped) {
    nlohmann::json payload = ParticipantPayload();
    payload[claim] = value;
    auto claims = VerifyToken(LibjwtToken(JWT_ALG_HS256, payload), kSecret, kNow);
    ASSERT_FALSE(claims.ok()) << claim << " = " << value.dump();
    EXPECT_EQ(claims.status().code(), absl::StatusCode::kInvalidArgument)
        << claim << " = " << value.dump() << ": " << claims.status();
  }
}

TEST(Auth, AdminAndParticipantTokensDiffer) {
  TokenClaims admin;
  admin.admin = true;
  admin.exp = kNow + 60;
  auto claims = VerifyToken(Issue(admin), kSecret, kNow);
  ASSERT_TRUE(claims.ok()) << claims.status();
  EXPECT_TRUE(claims->admin);
  EXPECT_TRUE(claims->room.empty());
  EXPECT_FALSE(claims->can_publish);
  EXPECT_FALSE(claims->can_subscribe);

  auto participant = VerifyToken(Issue(Participant()), kSecret, kNow);
  ASSERT_TRUE(participant.ok());
  EXPECT_FALSE(participant->admin);
  // "admin": false is a participant token, which then needs its claims.
  nlohmann::json payload = {{"admin", false}, {"exp", kNow + 60}};
  EXPECT_EQ(VerifyToken(LibjwtToken(JWT_ALG_HS256, payload), kSecret, kNow).status().code(),
            absl::StatusCode::kInvalidArgument);
  // An admin token expires like any other.
  EXPECT_EQ(VerifyToken(Issue(admin), kSecret, kNow + 60 + kClockSkewSeconds + 1).status().code(),
            absl::StatusCode::kDeadlineExceeded);
}

TEST(Auth, IssuingNeedsALongEnoughSecretAndAnIdentity) {
  EXPECT_FALSE(IssueToken(Participant(), std::string(kMinAuthSecretBytes - 1, 's'), kNow).ok());
  EXPECT_TRUE(IssueToken(Participant(), std::string(kMinAuthSecretBytes, 's'), kNow).ok());
  TokenClaims no_identity = Participant();
  no_identity.identity.clear();
  EXPECT_FALSE(IssueToken(no_identity, kSecret, kNow).ok());
  TokenClaims no_room = Participant();
  no_room.room.clear();
  EXPECT_FALSE(IssueToken(no_room, kSecret, kNow).ok());
}

TEST(Auth, FailureLabels) {
  EXPECT_STREQ(AuthFailureLabel(AuthFailure::kMissing), "missing");
  EXPECT_STREQ(AuthFailureLabel(AuthFailure::kWrongRoom), "wrong_room");
  EXPECT_STREQ(AuthFailureLabel(AuthFailure::kOrigin), "origin");
  EXPECT_EQ(FailureOf(absl::UnauthenticatedError("x")), AuthFailure::kInvalid);
}

}  // namespace
}  // namespace sb::signaling
