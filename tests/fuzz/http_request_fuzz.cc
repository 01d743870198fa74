// The HTTP/1.1 request parser (signaling/http/http_request.h) over a client's byte stream, up
// to a maximal head plus a maximal body. The stream is fed whole, then again in pieces whose
// sizes come from the input: both must give the same requests, the same end state and the same
// unparsed rest. Every complete request keeps the parser's promises (RFC 9112 shapes, limits).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "signaling/http/http_request.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using sb::signaling::http::PercentDecodePath;
using sb::signaling::http::Request;
using sb::signaling::http::RequestParser;
using State = RequestParser::State;

// Pipelined requests in one input: enough to see several, few enough to stay fast.
constexpr size_t kMaxRequests = 64;

bool IsTokenChar(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

void CheckRequest(const Request& r) {
  SB_FUZZ_CHECK(!r.method.empty());
  for (char c : r.method) SB_FUZZ_CHECK(IsTokenChar(c));
  SB_FUZZ_CHECK(!r.target.empty() && r.target[0] == '/');
  for (char c : r.target) {
    SB_FUZZ_CHECK(static_cast<unsigned char>(c) > 0x20 && static_cast<unsigned char>(c) < 0x7f);
  }
  const size_t q = r.target.find('?');
  const std::optional<std::string> path = PercentDecodePath(r.target.substr(0, q));
  SB_FUZZ_CHECK(path && *path == r.path);
  SB_FUZZ_CHECK(r.path.find('\0') == std::string::npos);
  SB_FUZZ_CHECK(r.query == (q == std::string::npos ? "" : r.target.substr(q + 1)));
  SB_FUZZ_CHECK(r.version_minor >= 0 && r.version_minor <= 9);
  SB_FUZZ_CHECK(r.headers.size() <= RequestParser::kMaxHeaderCount);
  SB_FUZZ_CHECK(r.version_minor == 0 || r.Header("Host").has_value());
  SB_FUZZ_CHECK(!r.Header("Transfer-Encoding").has_value());
  for (const auto& [name, value] : r.headers) {
    SB_FUZZ_CHECK(!name.empty());
    for (char c : name) SB_FUZZ_CHECK(IsTokenChar(c));
    SB_FUZZ_CHECK(value.find_first_of("\r\n") == std::string::npos);
  }
  SB_FUZZ_CHECK(r.body.size() <= RequestParser::kMaxBodyBytes);
  if (auto length = r.Header("Content-Length")) {
    // 1 to 12 digits, leading zeros allowed.
    SB_FUZZ_CHECK(!length->empty() && length->size() <= 12);
    uint64_t value = 0;
    for (char c : *length) {
      SB_FUZZ_CHECK(c >= '0' && c <= '9');
      value = value * 10 + static_cast<uint64_t>(c - '0');
    }
    SB_FUZZ_CHECK(value == r.body.size());
  } else {
    SB_FUZZ_CHECK(r.body.empty());
  }
  (void)r.KeepAlive();
  (void)r.HeaderHasToken("Connection", "upgrade");
}

struct Outcome {
  std::vector<std::string> requests;  // each flattened: method, target, headers, body
  State state = State::kIncomplete;
  int error_status = 0;
  std::string rest;

  bool operator==(const Outcome& o) const {
    return requests == o.requests && state == o.state && error_status == o.error_status &&
           rest == o.rest;
  }
};

std::string Flatten(const Request& r) {
  std::string out = r.method + '\n' + r.target + '\n' + std::to_string(r.version_minor) + '\n';
  for (const auto& [name, value] : r.headers) out += name + ':' + value + '\n';
  return out + '\n' + r.body;
}

// Feeds `input` in pieces of the given sizes (cycled), or whole when `sizes` is empty.
Outcome Run(std::string_view input, const std::vector<size_t>& sizes) {
  RequestParser parser;
  Outcome out;
  size_t i = 0;
  size_t next_size = 0;
  while (out.state == State::kIncomplete && out.requests.size() < kMaxRequests) {
    if (i >= input.size() && i > 0) break;
    const size_t n = sizes.empty() ? input.size() : sizes[next_size++ % sizes.size()];
    std::string_view piece = input.substr(i, n);
    i += piece.size();
    State state = parser.Feed(piece);
    while (state == State::kComplete && out.requests.size() < kMaxRequests) {
      const Request request = parser.TakeRequest();
      CheckRequest(request);
      out.requests.push_back(Flatten(request));
      state = parser.Feed({});
    }
    out.state = state;
    if (input.empty()) break;
  }
  if (out.state == State::kError) {
    out.error_status = parser.error_status();
    const int s = out.error_status;
    SB_FUZZ_CHECK(s == 400 || s == 411 || s == 413 || s == 431 || s == 501 || s == 505);
    SB_FUZZ_CHECK(!parser.error_message().empty());
    // A failed parser stays failed.
    SB_FUZZ_CHECK(parser.Feed("GET / HTTP/1.1\r\nHost: h\r\n\r\n") == State::kError);
  } else if (out.requests.size() < kMaxRequests) {
    out.rest = parser.TakeRemainder();
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  (void)PercentDecodePath(input.substr(0, 4096));

  const Outcome whole = Run(input, {});
  // Piece sizes from the first bytes: 1..256, so heads and bodies straddle reads.
  std::vector<size_t> sizes;
  for (size_t i = 0; i < 4 && i < size; ++i) sizes.push_back(1 + data[i]);
  if (sizes.empty()) sizes.push_back(1);
  const Outcome pieces = Run(input, sizes);
  if (whole.requests.size() < kMaxRequests && pieces.requests.size() < kMaxRequests) {
    SB_FUZZ_CHECK(whole == pieces);
  }
  return 0;
}
