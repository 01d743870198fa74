#include "signaling/origin.h"

#include <algorithm>
#include <cstdint>

namespace sb::signaling {
namespace {

// Longer Origin or Host values are not ones a browser sends (a DNS name is at most 253 bytes).
constexpr size_t kMaxAuthorityBytes = 300;

struct Authority {
  std::string host;  // lower-cased; an IPv6 literal keeps its brackets
  int port = -1;     // -1: none given
};

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

// RFC 3986 section 3.2: host[:port], host a reg-name of unreserved characters or "[IPv6]".
std::optional<Authority> ParseAuthority(std::string_view text) {
  if (text.empty() || text.size() > kMaxAuthorityBytes) return std::nullopt;
  Authority out;
  std::string_view rest;
  if (text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos || close < 2) return std::nullopt;
    const std::string_view inside = text.substr(1, close - 1);
    const bool ok = std::all_of(inside.begin(), inside.end(), [](char c) {
      return (c >= '0' && c <= '9') || (Lower(c) >= 'a' && Lower(c) <= 'f') || c == ':' || c == '.';
    });
    if (!ok) return std::nullopt;
    out.host = std::string(text.substr(0, close + 1));
    rest = text.substr(close + 1);
  } else {
    const size_t colon = text.find(':');
    const std::string_view host = text.substr(0, colon);
    const bool ok = !host.empty() && std::all_of(host.begin(), host.end(), [](char c) {
      return (c >= '0' && c <= '9') || (Lower(c) >= 'a' && Lower(c) <= 'z') || c == '-' ||
             c == '.' || c == '_' || c == '~';
    });
    if (!ok) return std::nullopt;
    out.host = std::string(host);
    rest = colon == std::string_view::npos ? std::string_view() : text.substr(colon);
  }
  std::transform(out.host.begin(), out.host.end(), out.host.begin(), Lower);
  if (rest.empty()) return out;
  if (rest.front() != ':' || rest.size() < 2 || rest.size() > 6) return std::nullopt;
  int port = 0;
  for (char c : rest.substr(1)) {
    if (c < '0' || c > '9') return std::nullopt;
    port = port * 10 + (c - '0');
  }
  if (port > 65535) return std::nullopt;
  out.port = port;
  return out;
}

struct Origin {
  std::string scheme;  // "http" or "https"
  Authority authority;
  int EffectivePort() const {
    return authority.port >= 0 ? authority.port : (scheme == "https" ? 443 : 80);
  }
};

std::optional<Origin> ParseOrigin(std::string_view text) {
  const size_t sep = text.find("://");
  if (sep == std::string_view::npos) return std::nullopt;
  Origin out;
  out.scheme = std::string(text.substr(0, sep));
  std::transform(out.scheme.begin(), out.scheme.end(), out.scheme.begin(), Lower);
  if (out.scheme != "http" && out.scheme != "https") return std::nullopt;
  auto authority = ParseAuthority(text.substr(sep + 3));
  if (!authority) return std::nullopt;
  out.authority = *std::move(authority);
  return out;
}

}  // namespace

std::optional<std::string> NormalizeOrigin(std::string_view text) {
  auto origin = ParseOrigin(text);
  if (!origin) return std::nullopt;
  std::string out = origin->scheme + "://" + origin->authority.host;
  const int default_port = origin->scheme == "https" ? 443 : 80;
  if (origin->authority.port >= 0 && origin->authority.port != default_port) {
    out += ":" + std::to_string(origin->authority.port);
  }
  return out;
}

bool OriginAllowed(std::optional<std::string_view> origin, std::optional<std::string_view> host,
                   const std::vector<std::string>& allowed, bool tls) {
  if (!origin) return true;
  if (std::find(allowed.begin(), allowed.end(), "*") != allowed.end()) return true;
  if (!allowed.empty()) {
    std::optional<std::string> normalized = NormalizeOrigin(*origin);
    return normalized && std::find(allowed.begin(), allowed.end(), *normalized) != allowed.end();
  }
  // The server's own origin: the host and port the browser addressed, as the Host header says.
  std::optional<Origin> parsed = ParseOrigin(*origin);
  std::optional<Authority> own = host ? ParseAuthority(*host) : std::nullopt;
  if (!parsed || !own) return false;
  // Served over TLS, our own pages are https ones: an http page on the same host and port
  // cannot exist, and one that says so is not ours.
  if (tls && parsed->scheme != "https") return false;
  const int own_port = own->port >= 0 ? own->port : (parsed->scheme == "https" ? 443 : 80);
  return parsed->authority.host == own->host && parsed->EffectivePort() == own_port;
}

}  // namespace sb::signaling
