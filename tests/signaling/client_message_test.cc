#include "signaling/client_message.h"

#include <string>

#include "gtest/gtest.h"

namespace sb::signaling {
namespace {

std::string Nested(size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); }

std::string Ping(const std::string& request_id) {
  return R"({"type":"ping","requestId":)" + request_id + "}";
}

TEST(ClientMessage, AcceptsProtocolMessages) {
  for (const char* text : {
           R"({"type":"ping"})",
           R"({"type":"ping","requestId":"p-1"})",
           R"({"type":"join","room":"demo","name":"Ada","requestId":42})",
           R"({"type":"join","room":"demo","name":"Ada","rtpCapabilities":{"video":{"codecs":)"
           R"([{"mimeType":"video/VP8","clockRate":90000,"rtcpFeedback":[{"type":"nack"}]}]}}})",
           R"({"type":"mute","kind":"audio","muted":true,"requestId":1.5})",
       }) {
    ParsedClientMessage parsed = ParseClientMessage(text);
    EXPECT_FALSE(parsed.rejected) << text << ": " << parsed.rejected->message;
    EXPECT_TRUE(parsed.message.is_object()) << text;
  }
}

// The crash this guards against: nlohmann parses a deep array without recursion, but copying
// it into the pong (and dumping it) recursed once per level and overflowed the stack.
TEST(ClientMessage, DeeplyNestedRequestIdIsRefusedBeforeParsing) {
  ParsedClientMessage parsed = ParseClientMessage(Ping(Nested(300'000)));
  ASSERT_TRUE(parsed.rejected);
  EXPECT_EQ(parsed.rejected->reason, Rejection::kTooDeep);
  EXPECT_EQ(parsed.rejected->code, "bad-json");
  EXPECT_EQ(parsed.rejected->message, "nesting deeper than 32");
  EXPECT_EQ(parsed.rejected->context, nlohmann::json::object());  // bad-json echoes nothing
  EXPECT_TRUE(parsed.message.is_discarded());
}

TEST(ClientMessage, DepthLimitIsExact) {
  // The message object is level 1.
  const std::string at_limit = R"({"x":)" + Nested(kMaxJsonDepth - 1) + "}";
  EXPECT_FALSE(CheckJsonLimits(at_limit));
  const std::string over = R"({"x":)" + Nested(kMaxJsonDepth) + "}";
  ASSERT_TRUE(CheckJsonLimits(over));
  EXPECT_EQ(CheckJsonLimits(over)->reason, Rejection::kTooDeep);
  // Objects count like arrays; siblings do not add up.
  std::string objects;
  for (size_t i = 0; i < kMaxJsonDepth; ++i) objects += R"({"a":)";
  objects += "1" + std::string(kMaxJsonDepth, '}');
  EXPECT_FALSE(CheckJsonLimits(objects));
  EXPECT_TRUE(CheckJsonLimits("[" + objects + "]"));
  std::string siblings = "[";
  for (int i = 0; i < 100; ++i) siblings += Nested(kMaxJsonDepth - 1) + ",";
  siblings += "0]";
  EXPECT_FALSE(CheckJsonLimits(siblings));
}

TEST(ClientMessage, BracketsInStringsDoNotCount) {
  const std::string text = R"({"type":"ping","x":")" + std::string(1000, '[') + R"("})";
  EXPECT_FALSE(ParseClientMessage(text).rejected);
  // An escaped quote does not end the string; an escaped backslash does not escape the quote.
  EXPECT_FALSE(CheckJsonLimits(R"({"x":"\")" + std::string(1000, '[') + R"("})"));
  const std::string after_backslash = R"({"x":"\\","y":)" + Nested(kMaxJsonDepth) + "}";
  ASSERT_TRUE(CheckJsonLimits(after_backslash));
  EXPECT_EQ(CheckJsonLimits(after_backslash)->reason, Rejection::kTooDeep);
}

TEST(ClientMessage, MalformedInputStaysBoundedAndIsBadJson) {
  for (const std::string& text : {
           std::string(R"({"x":")") + std::string(5000, '['),  // unterminated string
           std::string(100'000, ']') + Nested(10),             // unbalanced
           std::string("\"\\"),                                // a lone escape at the end
           std::string("[1,2,3]"),
           std::string("\"join\""),
           std::string("not json"),
           std::string(),
       }) {
    ParsedClientMessage parsed = ParseClientMessage(text);
    ASSERT_TRUE(parsed.rejected) << text.substr(0, 40);
    EXPECT_EQ(parsed.rejected->reason, Rejection::kBadJson) << text.substr(0, 40);
    EXPECT_EQ(parsed.rejected->code, "bad-json");
    EXPECT_EQ(parsed.rejected->message, "a message must be one JSON object");
  }
  // Unterminated openings still count.
  ASSERT_TRUE(CheckJsonLimits(std::string(100'000, '[')));
  EXPECT_EQ(CheckJsonLimits(std::string(100'000, '['))->reason, Rejection::kTooDeep);
}

TEST(ClientMessage, SizeLimit) {
  // A publish with a 1 MiB-sized SDP fits up to the last byte.
  const std::string head = R"({"type":"publish","sdp":")";
  std::string text = head + std::string(kMaxClientMessageBytes - head.size() - 2, 'a') + "\"}";
  ASSERT_EQ(text.size(), kMaxClientMessageBytes);
  EXPECT_FALSE(ParseClientMessage(text).rejected);
  text.insert(head.size(), "a");
  ParsedClientMessage parsed = ParseClientMessage(text);
  ASSERT_TRUE(parsed.rejected);
  EXPECT_EQ(parsed.rejected->reason, Rejection::kTooLarge);
  EXPECT_EQ(parsed.rejected->code, "bad-json");
}

TEST(ClientMessage, ValueCountLimit) {
  auto array_of = [](size_t n) {
    std::string text = R"({"x":[)";
    for (size_t i = 0; i < n; ++i) text += i == 0 ? "0" : ",0";
    return text + "]}";
  };
  // The object, the array and n - 1 commas.
  EXPECT_FALSE(CheckJsonLimits(array_of(kMaxJsonValues - 1)));
  ASSERT_TRUE(CheckJsonLimits(array_of(kMaxJsonValues)));
  EXPECT_EQ(CheckJsonLimits(array_of(kMaxJsonValues))->reason, Rejection::kTooManyValues);
  // Commas inside strings are text.
  EXPECT_FALSE(CheckJsonLimits(R"({"x":")" + std::string(100'000, ',') + R"("})"));
}

TEST(ClientMessage, RequestIdMustBeAShortStringOrANumber) {
  EXPECT_FALSE(ParseClientMessage(Ping('"' + std::string(kMaxRequestIdBytes, 'r') + '"')).rejected);
  for (const std::string& id : {
           '"' + std::string(kMaxRequestIdBytes + 1, 'r') + '"',
           std::string(R"({"a":1})"),
           std::string("[1]"),
           std::string("true"),
           std::string("null"),
       }) {
    ParsedClientMessage parsed = ParseClientMessage(Ping(id));
    ASSERT_TRUE(parsed.rejected) << id;
    EXPECT_EQ(parsed.rejected->reason, Rejection::kBadRequestId) << id;
    EXPECT_EQ(parsed.rejected->code, "bad-message");
    // The reply may say what it answers, but must not echo the bad id.
    EXPECT_EQ(parsed.rejected->context, nlohmann::json({{"type", "ping"}})) << id;
  }
}

TEST(ClientMessage, LongTypeIsRefusedWithoutEcho) {
  const std::string text =
      R"({"type":")" + std::string(kMaxTypeBytes + 1, 't') + R"(","requestId":7})";
  ParsedClientMessage parsed = ParseClientMessage(text);
  ASSERT_TRUE(parsed.rejected);
  EXPECT_EQ(parsed.rejected->reason, Rejection::kBadType);
  EXPECT_EQ(parsed.rejected->code, "bad-message");
  EXPECT_EQ(parsed.rejected->context, nlohmann::json({{"requestId", 7}}));
  // A type at the limit is the Conference's to judge (unknown-type).
  EXPECT_FALSE(
      ParseClientMessage(R"({"type":")" + std::string(kMaxTypeBytes, 't') + R"("})").rejected);
  // A missing or numeric type is too: it answers bad-message itself.
  EXPECT_FALSE(ParseClientMessage(R"({"type":42})").rejected);
}

TEST(ClientMessage, MetricsText) {
  RejectionCounters counters;
  counters.Count(Rejection::kTooDeep);
  counters.Count(Rejection::kTooDeep);
  counters.Count(Rejection::kTooLarge);
  http::HttpServer::Counters http;
  http.websocket_messages_too_big = 2;
  http.websocket_protocol_errors = 5;
  http.requests_rejected = 7;
  http.connections_refused = 11;
  MetricsText metrics;
  RejectionMetrics(counters, http, metrics);
  const std::string& text = metrics.text();
  EXPECT_NE(text.find("# TYPE switchboard_messages_rejected_total counter\n"), std::string::npos);
  EXPECT_NE(text.find("switchboard_messages_rejected_total{reason=\"too_deep\"} 2\n"),
            std::string::npos);
  EXPECT_NE(text.find("switchboard_messages_rejected_total{reason=\"too_large\"} 3\n"),
            std::string::npos);
  EXPECT_NE(text.find("switchboard_messages_rejected_total{reason=\"bad_request_id\"} 0\n"),
            std::string::npos);
  EXPECT_NE(text.find("switchboard_websocket_protocol_errors_total 5\n"), std::string::npos);
  EXPECT_NE(text.find("switchboard_http_requests_rejected_total 7\n"), std::string::npos);
  EXPECT_NE(text.find("switchboard_connections_refused_total 11\n"), std::string::npos);
  EXPECT_NE(text.find("switchboard_websockets_timed_out_total 0\n"), std::string::npos);
}

}  // namespace
}  // namespace sb::signaling
