// What stays ours of the HTTP request path (signaling/http/http_request.h): BuildRequest() over
// the fields libwebsockets hands over for one request head. The input is read as a request
// head ("METHOD /path?args HTTP/1.x", then "Name: value" lines) the way the server copies
// libwebsockets' header table, without any of libwebsockets' own rejections, so the checks see
// fields no real parser would let through too. Every built request keeps BuildRequest's
// promises; every refusal is one of its statuses.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "signaling/http/http_request.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using sb::signaling::http::BuildRequest;
using sb::signaling::http::DeclaredBodyLength;
using sb::signaling::http::kMaxBodyBytes;
using sb::signaling::http::kMaxHeaderCount;
using sb::signaling::http::RawRequest;
using sb::signaling::http::Request;
using sb::signaling::http::RequestError;

bool IsTokenChar(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool HasControl(std::string_view s) {
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return true;
  }
  return false;
}

// The head's lines (split on "\n", a trailing "\r" dropped) into libwebsockets' fields.
RawRequest ReadHead(std::string_view input) {
  RawRequest raw;
  bool first = true;
  while (!input.empty()) {
    const size_t end = input.find('\n');
    std::string_view line = input.substr(0, end);
    input = end == std::string_view::npos ? std::string_view() : input.substr(end + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (first) {
      first = false;
      const size_t sp1 = line.find(' ');
      raw.method = std::string(line.substr(0, sp1));
      if (sp1 == std::string_view::npos) continue;
      std::string_view rest = line.substr(sp1 + 1);
      const size_t sp2 = rest.rfind(' ');
      std::string_view target = rest.substr(0, sp2);
      if (sp2 != std::string_view::npos) raw.version = std::string(rest.substr(sp2 + 1));
      const size_t q = target.find('?');
      raw.uri = std::string(target.substr(0, q));
      if (q != std::string_view::npos) raw.args = std::string(target.substr(q + 1));
      continue;
    }
    const size_t colon = line.find(':');
    raw.headers.emplace_back(
        std::string(line.substr(0, colon)),
        colon == std::string_view::npos ? std::string() : std::string(line.substr(colon + 1)));
  }
  return raw;
}

void CheckRequest(const Request& r) {
  SB_FUZZ_CHECK(!r.method.empty());
  for (char c : r.method) SB_FUZZ_CHECK(IsTokenChar(c));
  SB_FUZZ_CHECK(!r.path.empty() && r.path[0] == '/');
  SB_FUZZ_CHECK(!HasControl(r.path) && !HasControl(r.query));
  SB_FUZZ_CHECK(r.target == (r.query.empty() ? r.path : r.path + "?" + r.query));
  SB_FUZZ_CHECK(r.version_minor >= 0 && r.version_minor <= 9);
  SB_FUZZ_CHECK(r.headers.size() <= kMaxHeaderCount);
  SB_FUZZ_CHECK(r.version_minor == 0 || r.Header("Host").has_value());
  SB_FUZZ_CHECK(!r.Header("Transfer-Encoding").has_value());
  SB_FUZZ_CHECK(DeclaredBodyLength(r) <= kMaxBodyBytes);
  SB_FUZZ_CHECK(r.body.empty());
  for (const auto& [name, value] : r.headers) {
    SB_FUZZ_CHECK(!name.empty());
    for (char c : name) SB_FUZZ_CHECK(IsTokenChar(c) && !(c >= 'A' && c <= 'Z'));
    for (char c : value) SB_FUZZ_CHECK(c != '\r' && c != '\n' && c != '\0');
    SB_FUZZ_CHECK(value.empty() || (value.front() != ' ' && value.back() != ' '));
    SB_FUZZ_CHECK(r.Header(name).has_value());
  }
  (void)r.KeepAlive();
  (void)r.HeaderHasToken("Connection", "upgrade");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  RequestError error;
  std::optional<Request> request = BuildRequest(ReadHead(input), &error);
  if (request) {
    CheckRequest(*request);
  } else {
    SB_FUZZ_CHECK(error.status == 400 || error.status == 411 || error.status == 413 ||
                  error.status == 431 || error.status == 505);
    SB_FUZZ_CHECK(!error.message.empty());
  }
  return 0;
}
