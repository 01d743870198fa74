// The request our route handlers see, and the checks we add to what libwebsockets parsed. Pure
// code, no I/O: HttpServer (http_server.cc) copies libwebsockets' header table into a
// RawRequest, and BuildRequest() turns it into a Request or the status to refuse it with.
//
// libwebsockets parses the request line and the header block itself (and closes the connection
// on what it cannot parse, or on a header block over its limit); the URI reaches us already
// percent-decoded, with "/./", "/../" and "//" folded and the query split into '&'-separated
// arguments. What stays ours: which headers must be there (Host), which bodies we take
// (Content-Length only, bounded; RFC 9112 section 6.3 lets a server refuse chunked uploads with
// 411), and the shape of every field handed on.
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
  std::string target;     // path, then '?' and the query when there is one
  std::string path;       // percent-decoded and folded by libwebsockets, e.g. "/a b"
  std::string query;      // the query's arguments as libwebsockets decoded them, joined by '&'
  int version_minor = 1;  // HTTP/1.<version_minor>
  // Every header libwebsockets knows by name (it stores no others), names lower-case, in
  // libwebsockets' table order; repeated fields joined with ", " (RFC 9110 section 5.3).
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  // First header with that name, compared case-insensitively (RFC 9110 section 5.1).
  std::optional<std::string_view> Header(std::string_view name) const;
  // True when a comma-separated header (e.g. Connection) holds `token`, case-insensitively.
  bool HeaderHasToken(std::string_view name, std::string_view token) const;
  // HTTP/1.1 defaults to persistent connections, HTTP/1.0 only with "Connection: keep-alive".
  bool KeepAlive() const;
};

// What libwebsockets parsed from one request head, before any of our checks.
struct RawRequest {
  std::string method;   // from the request line: "GET", "POST", ...
  std::string uri;      // the decoded path
  std::string args;     // the query's arguments, joined by '&'
  std::string version;  // "HTTP/1.1" as on the request line; empty when libwebsockets had none
  std::vector<std::pair<std::string, std::string>> headers;  // name (any case) and value
};

// Why a request is refused: the status to answer with (400, 411, 413, 431, 505) and a reason.
struct RequestError {
  int status = 400;
  std::string message;
};

// Bounds on what a client may send before we answer 431 / 413.
inline constexpr size_t kMaxHeaderBytes = 16 * 1024;  // libwebsockets' max_http_header_data
// Header fields in one request: Apache's LimitRequestFields default; browsers send ~15.
inline constexpr size_t kMaxHeaderCount = 100;
inline constexpr size_t kMaxBodyBytes = 1024 * 1024;

// The Request for `raw`, or nullopt with `*error` filled in. The body is not read yet: the
// returned request's Content-Length (if any) is valid and at most kMaxBodyBytes.
std::optional<Request> BuildRequest(RawRequest raw, RequestError* error);

// The declared body length: 0 when there is no Content-Length. Valid on a built Request.
size_t DeclaredBodyLength(const Request& request);

// Reason phrase for a status code ("Not Found"), "Unknown" if we never send it.
std::string_view StatusReason(int status);

}  // namespace sb::signaling::http
