// Incremental HTTP/1.1 request parser (RFC 9112). Pure code, no I/O: the server feeds it the
// bytes it reads and takes complete requests out. Bodies only with Content-Length; chunked
// uploads are refused (411), which RFC 9112 section 6.3 allows a server to do.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sb::signaling::http {

// A complete, validated request.
struct Request {
  std::string method;     // e.g. "GET", case-sensitive per RFC 9110 section 9.1
  std::string target;     // the raw request-target, e.g. "/a%20b?x=1"
  std::string path;       // target's path, percent-decoded, e.g. "/a b"
  std::string query;      // after '?', not decoded
  int version_minor = 1;  // HTTP/1.<version_minor>
  std::vector<std::pair<std::string, std::string>> headers;  // in arrival order
  std::string body;

  // First header with that name, compared case-insensitively (RFC 9110 section 5.1).
  std::optional<std::string_view> Header(std::string_view name) const;
  // True when a comma-separated header (e.g. Connection) holds `token`, case-insensitively.
  bool HeaderHasToken(std::string_view name, std::string_view token) const;
  // HTTP/1.1 defaults to persistent connections, HTTP/1.0 only with "Connection: keep-alive".
  bool KeepAlive() const;
};

class RequestParser {
 public:
  // Bounds on what a client may send before we answer 431 / 413.
  static constexpr size_t kMaxHeaderBytes = 16 * 1024;
  // Header fields in one request: Apache's LimitRequestFields default; browsers send ~15.
  static constexpr size_t kMaxHeaderCount = 100;
  static constexpr size_t kMaxBodyBytes = 1024 * 1024;

  enum class State { kIncomplete, kComplete, kError };

  // Appends `data` and parses as far as possible. Bytes after a complete request stay buffered
  // (pipelining): TakeRequest() then Feed({}) parses the next one.
  State Feed(std::string_view data);
  State state() const { return state_; }

  // Valid in kComplete: moves the request out and starts on the next one.
  Request TakeRequest();
  // Bytes received after the last complete request (e.g. WebSocket frames after an upgrade).
  std::string TakeRemainder();

  // Valid in kError: the status to answer with (400, 411, 413, 431, 501, 505) and why.
  int error_status() const { return error_status_; }
  const std::string& error_message() const { return error_message_; }

  // True when some bytes of a next request have arrived (used for idle timeouts).
  bool has_partial_input() const { return !buffer_.empty(); }

 private:
  State Fail(int status, std::string message);
  State ParseHead(std::string_view head);
  State ParseRequestLine(std::string_view line);
  State ParseHeaderLine(std::string_view line);

  std::string buffer_;
  size_t scanned_ = 0;  // bytes of buffer_ already searched for the end of the head
  bool head_done_ = false;
  size_t head_bytes_ = 0;  // head length including the blank line
  size_t body_length_ = 0;
  Request request_;
  State state_ = State::kIncomplete;
  int error_status_ = 0;
  std::string error_message_;
};

// Reason phrase for a status code ("Not Found"), "Unknown" if we never send it.
std::string_view StatusReason(int status);

// Percent-decodes a path (RFC 3986 section 2.1). nullopt on a bad escape or a decoded NUL.
std::optional<std::string> PercentDecodePath(std::string_view path);

}  // namespace sb::signaling::http
