#include "signaling/auth.h"

#include <jwt.h>

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"

namespace sb::signaling {
namespace {

struct JwtFree {
  void operator()(jwt_t* jwt) const { jwt_free(jwt); }
};
using JwtPtr = std::unique_ptr<jwt_t, JwtFree>;
// libjwt hands out strings from malloc.
struct Free {
  void operator()(char* p) const { std::free(p); }
};
using CString = std::unique_ptr<char, Free>;

absl::Status Check(int rc, const char* what) {
  if (rc == 0) return absl::OkStatus();
  return absl::InternalError(absl::StrCat("libjwt: ", what, " failed (errno ", rc, ")"));
}

// A claim of the given type, or an InvalidArgument status naming it.
absl::StatusOr<const nlohmann::json*> Claim(const nlohmann::json& claims, const char* name,
                                            nlohmann::json::value_t type) {
  auto it = claims.find(name);
  if (it == claims.end()) {
    return absl::InvalidArgumentError(absl::StrCat("the token has no \"", name, "\" claim"));
  }
  const bool matches = type == nlohmann::json::value_t::number_integer ? it->is_number_integer()
                                                                       : it->type() == type;
  if (!matches) {
    return absl::InvalidArgumentError(absl::StrCat("the token's \"", name, "\" claim is a ",
                                                   it->type_name(), " of the wrong kind"));
  }
  return &*it;
}

}  // namespace

bool ValidRoomName(std::string_view name) {
  if (name.empty() || name.size() > kMaxRoomNameBytes) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.';
  });
}

bool ValidDisplayName(std::string_view name) {
  if (name.empty() || name.size() > kMaxDisplayNameBytes) return false;
  return std::none_of(name.begin(), name.end(),
                      [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

absl::StatusOr<std::string> IssueToken(const TokenClaims& claims, std::string_view secret,
                                       int64_t now_seconds) {
  if (secret.size() < kMinAuthSecretBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("the secret must be at least ", kMinAuthSecretBytes, " bytes"));
  }
  if (!claims.admin) {
    if (!ValidRoomName(claims.room)) {
      return absl::InvalidArgumentError("the room must be 1-64 characters of [A-Za-z0-9_.-]");
    }
    if (!ValidDisplayName(claims.identity)) {
      return absl::InvalidArgumentError("the identity must be 1-64 printable bytes");
    }
    if (!claims.name.empty() && !ValidDisplayName(claims.name)) {
      return absl::InvalidArgumentError("the name must be 1-64 printable bytes");
    }
  }
  jwt_t* raw = nullptr;
  if (auto s = Check(jwt_new(&raw), "jwt_new"); !s.ok()) return s;
  JwtPtr jwt(raw);
  if (auto s = Check(jwt_set_alg(jwt.get(), JWT_ALG_HS256,
                                 reinterpret_cast<const unsigned char*>(secret.data()),
                                 static_cast<int>(secret.size())),
                     "jwt_set_alg");
      !s.ok()) {
    return s;
  }
  int rc = 0;
  if (claims.admin) {
    rc |= jwt_add_grant(jwt.get(), "sub",
                        claims.identity.empty() ? "admin" : claims.identity.c_str());
    rc |= jwt_add_grant_bool(jwt.get(), "admin", 1);
  } else {
    rc |= jwt_add_grant(jwt.get(), "room", claims.room.c_str());
    rc |= jwt_add_grant(jwt.get(), "sub", claims.identity.c_str());
    if (!claims.name.empty()) rc |= jwt_add_grant(jwt.get(), "name", claims.name.c_str());
    rc |= jwt_add_grant_bool(jwt.get(), "canPublish", claims.can_publish);
    rc |= jwt_add_grant_bool(jwt.get(), "canSubscribe", claims.can_subscribe);
  }
  rc |= jwt_add_grant_int(jwt.get(), "iat", static_cast<long>(now_seconds));
  rc |= jwt_add_grant_int(jwt.get(), "exp", static_cast<long>(claims.exp));
  if (auto s = Check(rc, "jwt_add_grant"); !s.ok()) return s;
  CString encoded(jwt_encode_str(jwt.get()));
  if (!encoded) return absl::InternalError("libjwt: jwt_encode_str failed");
  return std::string(encoded.get());
}

absl::StatusOr<TokenClaims> VerifyToken(std::string_view token, std::string_view secret,
                                        int64_t now_seconds) {
  if (token.empty() || token.size() > kMaxTokenBytes) {
    return absl::UnauthenticatedError(absl::StrCat("a token is 1 to ", kMaxTokenBytes, " bytes"));
  }
  if (token.find('\0') != std::string_view::npos) {
    return absl::UnauthenticatedError("the token is not a JWT");
  }
  const std::string text(token);
  jwt_t* raw = nullptr;
  // With a key, libjwt checks the signature of the algorithm the token names and refuses
  // "none"; the algorithm is then pinned to HS256 below so that no other one is accepted.
  const int rc =
      jwt_decode(&raw, text.c_str(), reinterpret_cast<const unsigned char*>(secret.data()),
                 static_cast<int>(secret.size()));
  JwtPtr jwt(raw);
  if (rc != 0 || !jwt) {
    return absl::UnauthenticatedError("the token is malformed or its signature is wrong");
  }
  // libjwt 1.10 reads the algorithm name case-insensitively; RFC 7515 section 4.1.1 does not.
  const char* alg = jwt_get_header(jwt.get(), "alg");
  if (jwt_get_alg(jwt.get()) != JWT_ALG_HS256 || alg == nullptr ||
      std::string_view(alg) != "HS256") {
    return absl::UnauthenticatedError("the token is not signed with HS256");
  }
  // libjwt 1.10's typed getters answer 0 for a claim of another type without saying so: the
  // verified claims are read as JSON instead, where a type is a type.
  CString grants(jwt_get_grants_json(jwt.get(), nullptr));
  if (!grants) return absl::UnauthenticatedError("the token has no claims");
  const nlohmann::json claims = nlohmann::json::parse(grants.get(), nullptr, false);
  if (!claims.is_object()) return absl::UnauthenticatedError("the token's claims are not JSON");

  using T = nlohmann::json::value_t;
  TokenClaims out;
  auto exp = Claim(claims, "exp", T::number_integer);
  if (!exp.ok()) return exp.status();
  out.exp = (*exp)->get<int64_t>();
  if (out.exp < now_seconds - kClockSkewSeconds) {
    return absl::DeadlineExceededError(
        absl::StrCat("the token expired ", now_seconds - out.exp, " s ago"));
  }
  if (claims.contains("nbf")) {
    auto nbf = Claim(claims, "nbf", T::number_integer);
    if (!nbf.ok()) return nbf.status();
    if ((*nbf)->get<int64_t>() > now_seconds + kClockSkewSeconds) {
      return absl::DeadlineExceededError("the token is not valid yet");
    }
  }
  if (claims.contains("admin")) {
    auto admin = Claim(claims, "admin", T::boolean);
    if (!admin.ok()) return admin.status();
    out.admin = (*admin)->get<bool>();
  }
  if (claims.contains("sub")) {
    auto sub = Claim(claims, "sub", T::string);
    if (!sub.ok()) return sub.status();
    out.identity = (*sub)->get<std::string>();
  }
  if (out.admin) return out;

  auto room = Claim(claims, "room", T::string);
  if (!room.ok()) return room.status();
  out.room = (*room)->get<std::string>();
  if (!ValidRoomName(out.room)) {
    return absl::InvalidArgumentError("the token's \"room\" claim is not a valid room name");
  }
  if (!ValidDisplayName(out.identity)) {
    return absl::InvalidArgumentError("the token's \"sub\" claim must be 1-64 printable bytes");
  }
  if (claims.contains("name")) {
    auto name = Claim(claims, "name", T::string);
    if (!name.ok()) return name.status();
    out.name = (*name)->get<std::string>();
    if (!ValidDisplayName(out.name)) {
      return absl::InvalidArgumentError("the token's \"name\" claim must be 1-64 printable bytes");
    }
  }
  auto publish = Claim(claims, "canPublish", T::boolean);
  if (!publish.ok()) return publish.status();
  out.can_publish = (*publish)->get<bool>();
  auto subscribe = Claim(claims, "canSubscribe", T::boolean);
  if (!subscribe.ok()) return subscribe.status();
  out.can_subscribe = (*subscribe)->get<bool>();
  return out;
}

const char* AuthFailureLabel(AuthFailure failure) {
  switch (failure) {
    case AuthFailure::kMissing:
      return "missing";
    case AuthFailure::kInvalid:
      return "invalid";
    case AuthFailure::kExpired:
      return "expired";
    case AuthFailure::kClaims:
      return "claims";
    case AuthFailure::kWrongRoom:
      return "wrong_room";
    case AuthFailure::kNotAdmin:
      return "not_admin";
    case AuthFailure::kPublishDenied:
      return "publish_denied";
    case AuthFailure::kOrigin:
      return "origin";
  }
  return "unknown";
}

AuthFailure FailureOf(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kDeadlineExceeded:
      return AuthFailure::kExpired;
    case absl::StatusCode::kInvalidArgument:
      return AuthFailure::kClaims;
    default:
      return AuthFailure::kInvalid;
  }
}

int64_t NowSeconds() { return static_cast<int64_t>(std::time(nullptr)); }

}  // namespace sb::signaling
