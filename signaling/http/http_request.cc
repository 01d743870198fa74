#include "signaling/http/http_request.h"

#include <algorithm>
#include <cstdint>

#include "absl/strings/ascii.h"
#include "base/hex.h"
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

std::optional<std::string> PercentDecodePath(std::string_view path) {
  std::string out;
  out.reserve(path.size());
  for (size_t i = 0; i < path.size(); ++i) {
    char c = path[i];
    if (c == '%') {
      if (i + 2 >= path.size()) return std::nullopt;
      const int hi = base::HexDigitValue(path[i + 1]);
      const int lo = base::HexDigitValue(path[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      c = static_cast<char>(hi * 16 + lo);
      i += 2;
    }
    if (c == '\0') return std::nullopt;
    out.push_back(c);
  }
  return out;
}

RequestParser::State RequestParser::Fail(int status, std::string message) {
  state_ = State::kError;
  error_status_ = status;
  error_message_ = std::move(message);
  return state_;
}

RequestParser::State RequestParser::Feed(std::string_view data) {
  if (state_ != State::kIncomplete) return state_;
  buffer_.append(data);

  if (!head_done_) {
    // Resume the search a few bytes back in case "\r\n\r\n" straddles two reads.
    const size_t from = scanned_ >= 3 ? scanned_ - 3 : 0;
    const size_t end = buffer_.find("\r\n\r\n", from);
    if (end == std::string::npos) {
      scanned_ = buffer_.size();
      if (buffer_.size() > kMaxHeaderBytes) return Fail(431, "request header too large");
      return state_;
    }
    head_bytes_ = end + 4;
    if (head_bytes_ > kMaxHeaderBytes) return Fail(431, "request header too large");
    if (ParseHead(std::string_view(buffer_).substr(0, end)) == State::kError) return state_;
    head_done_ = true;
  }

  if (buffer_.size() - head_bytes_ < body_length_) return state_;
  request_.body = buffer_.substr(head_bytes_, body_length_);
  buffer_.erase(0, head_bytes_ + body_length_);
  state_ = State::kComplete;
  return state_;
}

RequestParser::State RequestParser::ParseHead(std::string_view head) {
  // Tolerate empty lines before the request line (RFC 9112 section 2.2).
  while (head.substr(0, 2) == "\r\n") head.remove_prefix(2);
  const std::vector<std::string_view> lines = text::Split(head, "\r\n");
  if (lines.empty() || lines[0].empty()) return Fail(400, "missing request line");
  for (std::string_view line : lines) {
    if (line.find_first_of("\r\n") != std::string_view::npos) {
      return Fail(400, "bare CR or LF in request head");
    }
  }
  if (ParseRequestLine(lines[0]) == State::kError) return state_;
  if (lines.size() - 1 > kMaxHeaderCount) return Fail(431, "too many header fields");
  for (size_t i = 1; i < lines.size(); ++i) {
    if (ParseHeaderLine(lines[i]) == State::kError) return state_;
  }

  if (request_.version_minor >= 1 && !request_.Header("Host")) {
    return Fail(400, "HTTP/1.1 request without Host");  // RFC 9112 section 3.2
  }
  if (request_.Header("Transfer-Encoding")) {
    return Fail(411, "chunked request bodies are not supported; send Content-Length");
  }
  std::optional<std::string_view> length_text;
  for (const auto& [key, value] : request_.headers) {
    if (!text::EqualsIgnoreCase(key, "Content-Length")) continue;
    if (length_text && *length_text != value) return Fail(400, "conflicting Content-Length");
    length_text = value;
  }
  body_length_ = 0;
  if (length_text) {
    if (length_text->empty() || length_text->size() > 12 ||
        !std::all_of(length_text->begin(), length_text->end(),
                     [](char c) { return c >= '0' && c <= '9'; })) {
      return Fail(400, "invalid Content-Length");
    }
    uint64_t length = 0;
    for (char c : *length_text) length = length * 10 + static_cast<uint64_t>(c - '0');
    if (length > kMaxBodyBytes) return Fail(413, "request body too large");
    body_length_ = static_cast<size_t>(length);
  }
  return state_;
}

RequestParser::State RequestParser::ParseRequestLine(std::string_view line) {
  // request-line = method SP request-target SP HTTP-version (RFC 9112 section 3)
  const std::vector<std::string_view> parts = text::Split(line, " ");
  if (parts.size() != 3) return Fail(400, "malformed request line");
  if (!IsToken(parts[0])) return Fail(400, "malformed method");
  const std::string_view target = parts[1];
  const std::string_view version = parts[2];

  if (version.size() != 8 || version.substr(0, 5) != "HTTP/" || version[6] != '.' ||
      !absl::ascii_isdigit(static_cast<unsigned char>(version[5])) ||
      !absl::ascii_isdigit(static_cast<unsigned char>(version[7]))) {
    return Fail(400, "malformed HTTP version");
  }
  if (version[5] != '1') return Fail(505, "only HTTP/1.x is supported");

  // Only origin-form ("/path?query"); we are nobody's proxy.
  if (target.empty() || target[0] != '/') return Fail(400, "request target must be a path");
  for (char c : target) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) return Fail(400, "invalid character in request target");
  }
  const size_t q = target.find('?');
  const std::string_view raw_path = target.substr(0, q);
  std::optional<std::string> path = PercentDecodePath(raw_path);
  if (!path) return Fail(400, "bad percent-encoding in path");

  request_.method = std::string(parts[0]);
  request_.target = std::string(target);
  request_.path = std::move(*path);
  request_.query = q == std::string_view::npos ? "" : std::string(target.substr(q + 1));
  request_.version_minor = version[7] - '0';
  return state_;
}

RequestParser::State RequestParser::ParseHeaderLine(std::string_view line) {
  if (line.front() == ' ' || line.front() == '\t') {
    return Fail(400, "obsolete header line folding");  // RFC 9112 section 5.2
  }
  const size_t colon = line.find(':');
  if (colon == std::string_view::npos) return Fail(400, "header line without ':'");
  const std::string_view name = line.substr(0, colon);
  // No whitespace between name and colon (RFC 9112 section 5.1).
  if (!IsToken(name)) return Fail(400, "malformed header name");
  const std::string_view value = text::TrimOws(line.substr(colon + 1));
  if (!IsFieldValue(value)) return Fail(400, "invalid character in header value");
  request_.headers.emplace_back(std::string(name), std::string(value));
  return state_;
}

Request RequestParser::TakeRequest() {
  Request out = std::move(request_);
  request_ = Request();
  state_ = State::kIncomplete;
  head_done_ = false;
  scanned_ = 0;
  head_bytes_ = 0;
  body_length_ = 0;
  return out;
}

std::string RequestParser::TakeRemainder() {
  std::string out = std::move(buffer_);
  buffer_.clear();
  scanned_ = 0;
  return out;
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
