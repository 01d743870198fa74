#include "signaling/http/http_request.h"

#include <ostream>
#include <string>

#include "gtest/gtest.h"

namespace sb::signaling::http {
namespace {

using State = RequestParser::State;

constexpr std::string_view kGet =
    "GET /app/index.html?x=1 HTTP/1.1\r\n"
    "Host: example.test\r\n"
    "User-Agent: test\r\n"
    "X-Spaced:   padded value  \r\n"
    "\r\n";

TEST(HttpRequestParser, ParsesSimpleGet) {
  RequestParser parser;
  ASSERT_EQ(parser.Feed(kGet), State::kComplete);
  Request r = parser.TakeRequest();
  EXPECT_EQ(r.method, "GET");
  EXPECT_EQ(r.target, "/app/index.html?x=1");
  EXPECT_EQ(r.path, "/app/index.html");
  EXPECT_EQ(r.query, "x=1");
  EXPECT_EQ(r.version_minor, 1);
  EXPECT_EQ(r.Header("host").value_or(""), "example.test");
  EXPECT_EQ(r.Header("HOST").value_or(""), "example.test");
  EXPECT_EQ(r.Header("x-spaced").value_or(""), "padded value");
  EXPECT_FALSE(r.Header("Missing").has_value());
  EXPECT_TRUE(r.KeepAlive());
  EXPECT_TRUE(r.body.empty());
  EXPECT_FALSE(parser.has_partial_input());
}

TEST(HttpRequestParser, ByteByByte) {
  const std::string text =
      "POST /api/x HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\nhello world";
  RequestParser parser;
  for (size_t i = 0; i + 1 < text.size(); ++i) {
    ASSERT_EQ(parser.Feed(text.substr(i, 1)), State::kIncomplete) << "at byte " << i;
  }
  ASSERT_EQ(parser.Feed(text.substr(text.size() - 1)), State::kComplete);
  Request r = parser.TakeRequest();
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.body, "hello world");
}

TEST(HttpRequestParser, PipelinedRequestsAndRemainder) {
  RequestParser parser;
  std::string two = std::string(kGet) + "GET /second HTTP/1.1\r\nHost: h\r\n\r\nEXTRA";
  ASSERT_EQ(parser.Feed(two), State::kComplete);
  EXPECT_EQ(parser.TakeRequest().path, "/app/index.html");
  ASSERT_EQ(parser.Feed({}), State::kComplete);
  EXPECT_EQ(parser.TakeRequest().path, "/second");
  EXPECT_EQ(parser.Feed({}), State::kIncomplete);
  EXPECT_EQ(parser.TakeRemainder(), "EXTRA");
}

TEST(HttpRequestParser, KeepAliveRules) {
  RequestParser parser;
  ASSERT_EQ(parser.Feed("GET / HTTP/1.1\r\nHost: h\r\nConnection: Close\r\n\r\n"),
            State::kComplete);
  EXPECT_FALSE(parser.TakeRequest().KeepAlive());
  ASSERT_EQ(parser.Feed("GET / HTTP/1.0\r\n\r\n"), State::kComplete);
  EXPECT_FALSE(parser.TakeRequest().KeepAlive());
  ASSERT_EQ(parser.Feed("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"), State::kComplete);
  EXPECT_TRUE(parser.TakeRequest().KeepAlive());
  ASSERT_EQ(parser.Feed("GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, Upgrade\r\n\r\n"),
            State::kComplete);
  Request r = parser.TakeRequest();
  EXPECT_TRUE(r.HeaderHasToken("connection", "upgrade"));
  EXPECT_TRUE(r.KeepAlive());
}

TEST(HttpRequestParser, PercentDecodesPath) {
  RequestParser parser;
  ASSERT_EQ(parser.Feed("GET /a%20b/%2e%2E/c HTTP/1.1\r\nHost: h\r\n\r\n"), State::kComplete);
  EXPECT_EQ(parser.TakeRequest().path, "/a b/../c");
}

struct BadCase {
  const char* name;
  std::string input;
  int status;
  friend void PrintTo(const BadCase& c, std::ostream* os) { *os << c.name; }
};

class HttpRequestParserBad : public ::testing::TestWithParam<BadCase> {};

TEST_P(HttpRequestParserBad, Rejects) {
  RequestParser parser;
  EXPECT_EQ(parser.Feed(GetParam().input), State::kError);
  EXPECT_EQ(parser.error_status(), GetParam().status) << parser.error_message();
  EXPECT_FALSE(parser.error_message().empty());
  // Stays failed.
  EXPECT_EQ(parser.Feed("GET / HTTP/1.1\r\nHost: h\r\n\r\n"), State::kError);
}

INSTANTIATE_TEST_SUITE_P(
    Malformed, HttpRequestParserBad,
    ::testing::Values(
        BadCase{"NoVersion", "GET /\r\n\r\n", 400},
        BadCase{"ExtraSpace", "GET  / HTTP/1.1\r\nHost: h\r\n\r\n", 400},
        BadCase{"BadMethod", "G(T / HTTP/1.1\r\nHost: h\r\n\r\n", 400},
        BadCase{"AbsoluteForm", "GET http://x/ HTTP/1.1\r\nHost: h\r\n\r\n", 400},
        BadCase{"BadVersion", "GET / HTTX/1.1\r\nHost: h\r\n\r\n", 400},
        BadCase{"Http2", "GET / HTTP/2.0\r\nHost: h\r\n\r\n", 505},
        BadCase{"MissingHost", "GET / HTTP/1.1\r\n\r\n", 400},
        BadCase{"NoColon", "GET / HTTP/1.1\r\nHost h\r\n\r\n", 400},
        BadCase{"SpaceBeforeColon", "GET / HTTP/1.1\r\nHost : h\r\n\r\n", 400},
        BadCase{"Folding", "GET / HTTP/1.1\r\nHost: h\r\n continued\r\n\r\n", 400},
        BadCase{"BareLf", "GET / HTTP/1.1\nHost: h\r\n\r\n", 400},
        BadCase{"ControlInValue", std::string("GET / HTTP/1.1\r\nHost: h\x01\r\n\r\n"), 400},
        BadCase{"BadPercent", "GET /%zz HTTP/1.1\r\nHost: h\r\n\r\n", 400},
        BadCase{"EncodedNul", "GET /a%00 HTTP/1.1\r\nHost: h\r\n\r\n", 400},
        BadCase{"BadLength", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1x\r\n\r\n", 400},
        BadCase{"NegativeLength", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n", 400},
        BadCase{"ConflictingLength",
                "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
                400},
        BadCase{"Chunked",
                "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 411},
        BadCase{"BodyTooLarge", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1048577\r\n\r\n",
                413}),
    [](const ::testing::TestParamInfo<BadCase>& info) { return info.param.name; });

TEST(HttpRequestParser, HeaderTooLargeWithoutEnd) {
  RequestParser parser;
  ASSERT_EQ(parser.Feed("GET / HTTP/1.1\r\nHost: h\r\n"), State::kIncomplete);
  const std::string line = "X-Filler: " + std::string(1000, 'a') + "\r\n";
  State state = State::kIncomplete;
  for (int i = 0; i < 20 && state == State::kIncomplete; ++i) state = parser.Feed(line);
  EXPECT_EQ(state, State::kError);
  EXPECT_EQ(parser.error_status(), 431);
}

TEST(HttpRequestParser, HeaderTooLargeInOneRead) {
  RequestParser parser;
  const std::string text =
      "GET / HTTP/1.1\r\nHost: h\r\nX-Big: " + std::string(RequestParser::kMaxHeaderBytes, 'a') +
      "\r\n\r\n";
  EXPECT_EQ(parser.Feed(text), State::kError);
  EXPECT_EQ(parser.error_status(), 431);
}

std::string RequestWithHeaders(size_t count) {
  std::string text = "GET / HTTP/1.1\r\nHost: h\r\n";
  for (size_t i = 1; i < count; ++i) text += "X-" + std::to_string(i) + ": v\r\n";
  return text + "\r\n";
}

TEST(HttpRequestParser, HeaderCountLimit) {
  RequestParser at_limit;
  ASSERT_EQ(at_limit.Feed(RequestWithHeaders(RequestParser::kMaxHeaderCount)), State::kComplete);
  EXPECT_EQ(at_limit.TakeRequest().headers.size(), RequestParser::kMaxHeaderCount);

  // Small enough for kMaxHeaderBytes: the count alone is refused.
  const std::string over = RequestWithHeaders(RequestParser::kMaxHeaderCount + 1);
  ASSERT_LT(over.size(), RequestParser::kMaxHeaderBytes);
  RequestParser parser;
  EXPECT_EQ(parser.Feed(over), State::kError);
  EXPECT_EQ(parser.error_status(), 431);
  EXPECT_EQ(parser.error_message(), "too many header fields");
}

TEST(HttpRequestParser, MaximumBodyAccepted) {
  RequestParser parser;
  const std::string body(RequestParser::kMaxBodyBytes, 'b');
  const std::string text =
      "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
      body;
  ASSERT_EQ(parser.Feed(text), State::kComplete);
  EXPECT_EQ(parser.TakeRequest().body.size(), body.size());
}

TEST(HttpRequestParser, StatusReasons) {
  EXPECT_EQ(StatusReason(404), "Not Found");
  EXPECT_EQ(StatusReason(101), "Switching Protocols");
}

}  // namespace
}  // namespace sb::signaling::http
