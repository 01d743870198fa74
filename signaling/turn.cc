#include "signaling/turn.h"

#include <arpa/inet.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace sb::signaling {
namespace {

// RFC 1035 section 2.3.4: a name has at most 255 bytes on the wire, 253 as text.
constexpr size_t kMaxHostBytes = 253;

bool ValidDnsName(absl::string_view host) {
  if (host.empty() || host.size() > kMaxHostBytes) return false;
  for (char c : host) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.') return false;
  }
  return host.front() != '.' && host.front() != '-';
}

absl::Status CheckHost(absl::string_view host) {
  if (host.empty()) return absl::InvalidArgumentError("no host");
  if (host.front() == '[') {
    // RFC 3986 section 3.2.2: an IPv6 literal goes in brackets.
    if (host.back() != ']' || host.size() < 3) {
      return absl::InvalidArgumentError("an IPv6 address needs its closing ']'");
    }
    std::string inner(host.substr(1, host.size() - 2));
    unsigned char buf[16];
    if (inet_pton(AF_INET6, inner.c_str(), buf) != 1) {
      return absl::InvalidArgumentError(absl::StrCat("'", inner, "' is not an IPv6 address"));
    }
    return absl::OkStatus();
  }
  if (!ValidDnsName(host)) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", host, "' is not a host name or IPv4 address (an IPv6 one goes in [])"));
  }
  return absl::OkStatus();
}

}  // namespace

std::string TurnUrl::ToString() const {
  std::string out = absl::StrCat(secure ? "turns:" : "turn:", host);
  if (port != 0) absl::StrAppend(&out, ":", port);
  if (transport == Transport::kUdp) absl::StrAppend(&out, "?transport=udp");
  if (transport == Transport::kTcp) absl::StrAppend(&out, "?transport=tcp");
  return out;
}

absl::StatusOr<TurnUrl> ParseTurnUrl(std::string_view std_text) {
  const absl::string_view text(std_text.data(), std_text.size());
  auto error = [text](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("'", text.substr(0, kMaxTurnUrlBytes),
                                                   "' is not a TURN URL like turn:host:3478 or "
                                                   "turns:host:5349?transport=tcp: ",
                                                   why));
  };
  if (text.size() > kMaxTurnUrlBytes) return error("too long");
  TurnUrl url;
  const size_t colon = text.find(':');
  if (colon == absl::string_view::npos) return error("no scheme (turn: or turns:)");
  const std::string scheme = absl::AsciiStrToLower(text.substr(0, colon));
  if (scheme == "turn") {
    url.secure = false;
  } else if (scheme == "turns") {
    url.secure = true;
  } else if (scheme == "stun" || scheme == "stuns") {
    // A STUN server adds nothing: the server's candidates are its own addresses (ICE-lite).
    return error("a STUN server is of no use here, only a TURN relay");
  } else {
    return error(absl::StrCat("the scheme is '", scheme, "', not turn or turns"));
  }
  absl::string_view rest = text.substr(colon + 1);
  if (rest.substr(0, 2) == "//") return error("RFC 7065 URLs have no '//' after the scheme");

  absl::string_view query;
  if (size_t q = rest.find('?'); q != absl::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  // host[:port]; an IPv6 host is bracketed, so its colons are inside the brackets.
  absl::string_view host = rest, port;
  if (!rest.empty() && rest.front() == '[') {
    const size_t close = rest.find(']');
    if (close == absl::string_view::npos) return error("an IPv6 address needs its closing ']'");
    host = rest.substr(0, close + 1);
    absl::string_view after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return error("only ':port' may follow the address");
      port = after.substr(1);
      if (port.empty()) return error("an empty port");
    }
  } else if (size_t c = rest.rfind(':'); c != absl::string_view::npos) {
    host = rest.substr(0, c);
    port = rest.substr(c + 1);
    if (port.empty()) return error("an empty port");
  }
  if (auto s = CheckHost(host); !s.ok()) return error(s.message());
  url.host = std::string(host);
  if (!port.empty()) {
    uint32_t value = 0;
    const bool digits = std::all_of(port.begin(), port.end(), [](char c) {
      return absl::ascii_isdigit(static_cast<unsigned char>(c));
    });
    if (!digits || port.size() > 5 || !absl::SimpleAtoi(port, &value) || value == 0 ||
        value > 65535) {
      return error(absl::StrCat("'", port, "' is not a port number"));
    }
    url.port = static_cast<uint16_t>(value);
  }
  if (!query.empty()) {
    // RFC 7065 section 3.1: the only query is "transport=", udp or tcp.
    constexpr absl::string_view kTransport = "transport=";
    if (query.substr(0, kTransport.size()) != kTransport) {
      return error("the only query a TURN URL has is ?transport=udp or ?transport=tcp");
    }
    const std::string transport = absl::AsciiStrToLower(query.substr(kTransport.size()));
    if (transport == "udp") {
      url.transport = TurnUrl::Transport::kUdp;
    } else if (transport == "tcp") {
      url.transport = TurnUrl::Transport::kTcp;
    } else {
      return error(absl::StrCat("transport '", transport, "' is not udp or tcp (TLS is turns:)"));
    }
    if (url.secure && url.transport == TurnUrl::Transport::kUdp) {
      return error(
          "turns: over udp would be DTLS, which browsers do not use: turns: is TLS over tcp");
    }
  }
  return url;
}

std::string TurnPassword(std::string_view secret, std::string_view username) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha1(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(username.data()), username.size(), mac, &length);
  return absl::Base64Escape(absl::string_view(reinterpret_cast<const char*>(mac), length));
}

TurnCredentials MakeTurnCredentials(std::string_view secret, std::string_view user,
                                    int64_t expiry_unix_seconds) {
  TurnCredentials credentials;
  credentials.username =
      absl::StrCat(expiry_unix_seconds, ":", absl::string_view(user.data(), user.size()));
  credentials.password = TurnPassword(secret, credentials.username);
  return credentials;
}

nlohmann::json IceServersJson(const std::vector<std::string>& urls, std::string_view secret,
                              std::string_view user, int64_t now_unix_seconds,
                              int64_t ttl_seconds) {
  nlohmann::json servers = nlohmann::json::array();
  if (urls.empty()) return servers;
  TurnCredentials credentials = MakeTurnCredentials(secret, user, now_unix_seconds + ttl_seconds);
  servers.push_back({{"urls", urls},
                     {"username", std::move(credentials.username)},
                     {"credential", std::move(credentials.password)}});
  return servers;
}

}  // namespace sb::signaling
