// BuildRequest(): what stays ours of the request path once libwebsockets has parsed the head.
#include "signaling/http/http_request.h"

#include <string>

#include "gtest/gtest.h"

namespace sb::signaling::http {
namespace {

RawRequest Get(std::string uri = "/app/index.html") {
  RawRequest raw;
  raw.method = "GET";
  raw.uri = std::move(uri);
  raw.version = "HTTP/1.1";
  raw.headers = {{"host", "example.test"}, {"user-agent", "test"}, {"X-Spaced", "  padded  "}};
  return raw;
}

TEST(BuildRequest, FillsTheRequest) {
  RawRequest raw = Get();
  raw.args = "x=1&y=two words";
  RequestError error;
  std::optional<Request> r = BuildRequest(raw, &error);
  ASSERT_TRUE(r) << error.message;
  EXPECT_EQ(r->method, "GET");
  EXPECT_EQ(r->path, "/app/index.html");
  EXPECT_EQ(r->query, "x=1&y=two words");
  EXPECT_EQ(r->target, "/app/index.html?x=1&y=two words");
  EXPECT_EQ(r->version_minor, 1);
  EXPECT_EQ(r->Header("Host").value_or(""), "example.test");
  EXPECT_EQ(r->Header("HOST").value_or(""), "example.test");
  EXPECT_EQ(r->Header("x-spaced").value_or(""), "padded");
  EXPECT_FALSE(r->Header("Missing").has_value());
  EXPECT_TRUE(r->KeepAlive());
  EXPECT_EQ(DeclaredBodyLength(*r), 0u);
}

TEST(BuildRequest, KeepAliveByVersionAndConnection) {
  RawRequest raw = Get();
  raw.headers.emplace_back("connection", "Upgrade, close");
  RequestError error;
  std::optional<Request> upgrade = BuildRequest(raw, &error);
  ASSERT_TRUE(upgrade) << error.message;
  EXPECT_FALSE(upgrade->KeepAlive());
  RawRequest old = Get();
  old.version = "HTTP/1.0";
  old.headers.clear();  // HTTP/1.0 needs no Host
  std::optional<Request> r = BuildRequest(old, &error);
  ASSERT_TRUE(r) << error.message;
  EXPECT_FALSE(r->KeepAlive());
  old.headers.emplace_back("Connection", "keep-alive");
  EXPECT_TRUE(BuildRequest(old, &error)->KeepAlive());
  EXPECT_TRUE(BuildRequest(old, &error)->HeaderHasToken("connection", "KEEP-ALIVE"));
}

struct Refusal {
  const char* name;
  RawRequest raw;
  int status;
};

TEST(BuildRequest, Refusals) {
  auto with = [](auto change) {
    RawRequest raw = Get();
    change(raw);
    return raw;
  };
  const Refusal refusals[] = {
      {"no host", with([](RawRequest& r) { r.headers.erase(r.headers.begin()); }), 400},
      {"http/2", with([](RawRequest& r) { r.version = "HTTP/2.0"; }), 505},
      {"no version", with([](RawRequest& r) { r.version.clear(); }), 400},
      {"bad method", with([](RawRequest& r) { r.method = "G T"; }), 400},
      {"relative", with([](RawRequest& r) { r.uri = "app"; }), 400},
      {"empty", with([](RawRequest& r) { r.uri.clear(); }), 400},
      {"decoded nul", with([](RawRequest& r) { r.uri = std::string("/a\0b", 4); }), 400},
      {"decoded newline", with([](RawRequest& r) { r.uri = "/a\nb"; }), 400},
      {"chunked",
       with([](RawRequest& r) { r.headers.emplace_back("transfer-encoding", "chunked"); }), 411},
      {"big body", with([](RawRequest& r) { r.headers.emplace_back("content-length", "1048577"); }),
       413},
      {"bad length", with([](RawRequest& r) { r.headers.emplace_back("content-length", "1x"); }),
       400},
      {"two lengths", with([](RawRequest& r) { r.headers.emplace_back("content-length", "5,6"); }),
       400},
      {"bad value", with([](RawRequest& r) { r.headers.emplace_back("x", "a\rb"); }), 400},
      {"bad name", with([](RawRequest& r) { r.headers.emplace_back("a b", "c"); }), 400},
      {"too many", with([](RawRequest& r) {
         for (size_t i = 0; i < kMaxHeaderCount; ++i) r.headers.emplace_back("x", "y");
       }),
       431},
      {"too big",
       with([](RawRequest& r) { r.headers.emplace_back("x", std::string(kMaxHeaderBytes, 'a')); }),
       431},
  };
  for (const Refusal& refusal : refusals) {
    RequestError error;
    EXPECT_FALSE(BuildRequest(refusal.raw, &error)) << refusal.name;
    EXPECT_EQ(error.status, refusal.status) << refusal.name;
    EXPECT_FALSE(error.message.empty()) << refusal.name;
  }
}

TEST(BuildRequest, BodyLength) {
  RawRequest raw = Get();
  raw.method = "POST";
  raw.headers.emplace_back("Content-Length", "1048576");
  RequestError error;
  std::optional<Request> r = BuildRequest(raw, &error);
  ASSERT_TRUE(r) << error.message;
  EXPECT_EQ(DeclaredBodyLength(*r), kMaxBodyBytes);
}

TEST(StatusReason, KnownAndUnknown) {
  EXPECT_EQ(StatusReason(404), "Not Found");
  EXPECT_EQ(StatusReason(431), "Request Header Fields Too Large");
  EXPECT_EQ(StatusReason(299), "Unknown");
}

}  // namespace
}  // namespace sb::signaling::http
