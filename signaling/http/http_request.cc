#include "signaling/http/http_request.h"

#include <algorithm>
#include <cstdint>

#include "absl/strings/ascii.h"
#include "signaling/http/text.h"

namespace sb::signaling::http {
namespace {

// tchar from RFC 9110 section 5.6.2.
bool IsTokenChar(char c) {
  if (absl::ascii_isalnum(static_cast<unsigned char>(c))) return true;
  switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~':
      return true;
    default:
      return false;
  }
}

bool IsToken(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!IsTokenChar(c)) return false;
  }
  return true;
}

// field-value characters (RFC 9110 section 5.5): visible, SP, HTAB and obs-text.
bool IsFieldValue(std::string_view s) {
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u == '\t') continue;
    if (u < 0x20 || u == 0x7f) return false;
  }
  return true;
}

}  // namespace

std::optional<std::string_view> Request::Header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (text::EqualsIgnoreCase(key, name)) return std::string_view(value);
  }
  return std::nullopt;
}

bool Request::HeaderHasToken(std::string_view name, std::string_view token) const {
  for (const auto& [key, value] : headers) {
    if (!text::EqualsIgnoreCase(key, name)) continue;
    for (std::string_view part : text::Split(value, ",")) {
      if (text::EqualsIgnoreCase(text::TrimOws(part), token)) return true;
    }
  }
  return false;
}

bool Request::KeepAlive() const {
  if (HeaderHasToken("Connection", "close")) return false;
  if (version_minor >= 1) return true;
  return HeaderHasToken("Connection", "keep-alive");
}

namespace {

std::nullopt_t Refuse(RequestError* error, int status, std::string message) {
  error->status = status;
  error->message = std::move(message);
  return std::nullopt;
}

bool HasControl(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

}  // namespace

std::optional<Request> BuildRequest(RawRequest raw, RequestError* error) {
  // libwebsockets only hands over methods it knows, but the check costs nothing.
  if (!IsToken(raw.method)) return Refuse(error, 400, "malformed method");
  // Only origin-form ("/path?query"); we are nobody's proxy. A decoded control character
  // (%00, %0a...) has no business in a file name or a route.
  if (raw.uri.empty() || raw.uri[0] != '/') {
    return Refuse(error, 400, "request target must be a path");
  }
  if (HasControl(raw.uri) || HasControl(raw.args)) {
    return Refuse(error, 400, "control character in request target");
  }
  const std::string_view version = raw.version;
  if (version.size() != 8 || version.substr(0, 5) != "HTTP/" || version[6] != '.' ||
      !absl::ascii_isdigit(static_cast<unsigned char>(version[5])) ||
      !absl::ascii_isdigit(static_cast<unsigned char>(version[7]))) {
    return Refuse(error, 400, "malformed HTTP version");
  }
  if (version[5] != '1') return Refuse(error, 505, "only HTTP/1.x is supported");
  if (raw.headers.size() > kMaxHeaderCount) {
    return Refuse(error, 431, "too many header fields");
  }
  size_t header_bytes = 0;
  for (auto& [name, value] : raw.headers) {
    if (!IsToken(name)) return Refuse(error, 400, "malformed header name");
    value = std::string(text::TrimOws(value));
    if (!IsFieldValue(value)) {
      return Refuse(error, 400, "invalid character in header value");
    }
    header_bytes += name.size() + value.size() + 4;
    name = absl::AsciiStrToLower(name);
  }
  if (header_bytes > kMaxHeaderBytes) {
    return Refuse(error, 431, "request header too large");
  }

  Request request;
  request.method = std::move(raw.method);
  request.path = std::move(raw.uri);
  request.query = std::move(raw.args);
  request.target = request.query.empty() ? request.path : request.path + "?" + request.query;
  request.version_minor = version[7] - '0';
  request.headers = std::move(raw.headers);

  if (request.version_minor >= 1 && !request.Header("Host")) {
    return Refuse(error, 400, "HTTP/1.1 request without Host");  // RFC 9112 3.2
  }
  if (request.Header("Transfer-Encoding")) {
    return Refuse(error, 411, "chunked request bodies are not supported; send Content-Length");
  }
  if (std::optional<std::string_view> length = request.Header("Content-Length")) {
    // Repeated fields arrive joined by commas, which this refuses too (RFC 9112 section 6.3).
    if (length->empty() || length->size() > 12 ||
        !std::all_of(length->begin(), length->end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return Refuse(error, 400, "invalid Content-Length");
    }
    uint64_t value = 0;
    for (char c : *length) value = value * 10 + static_cast<uint64_t>(c - '0');
    if (value > kMaxBodyBytes) return Refuse(error, 413, "request body too large");
  }
  return request;
}

size_t DeclaredBodyLength(const Request& request) {
  std::optional<std::string_view> length = request.Header("Content-Length");
  if (!length) return 0;
  size_t value = 0;
  for (char c : *length) value = value * 10 + static_cast<size_t>(c - '0');
  return value;
}

std::string_view StatusReason(int status) {
  switch (status) {
    case 101:
      return "Switching Protocols";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 204:
      return "No Content";
    case 400:
      return "Bad Request";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 409:
      return "Conflict";
    case 411:
      return "Length Required";
    case 413:
      return "Content Too Large";
    case 426:
      return "Upgrade Required";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 503:
      return "Service Unavailable";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Unknown";
  }
}

}  // namespace sb::signaling::http
