// The WebSocket Origin check: the server's own origin by default, a list when configured, and
// clients without an Origin (not browsers) let through.
#include "signaling/origin.h"

#include <gtest/gtest.h>

namespace sb::signaling {
namespace {

TEST(Origin, NormalizesAsBrowsersSerialize) {
  EXPECT_EQ(NormalizeOrigin("http://127.0.0.1:8080"), "http://127.0.0.1:8080");
  EXPECT_EQ(NormalizeOrigin("HTTPS://Meet.Example.COM"), "https://meet.example.com");
  EXPECT_EQ(NormalizeOrigin("https://meet.example.com:443"), "https://meet.example.com");
  EXPECT_EQ(NormalizeOrigin("http://meet.example.com:80"), "http://meet.example.com");
  EXPECT_EQ(NormalizeOrigin("http://meet.example.com:443"), "http://meet.example.com:443");
  EXPECT_EQ(NormalizeOrigin("http://[::1]:8080"), "http://[::1]:8080");
  for (const char* bad :
       {"", "null", "meet.example.com", "https://", "https://meet.example.com/",
        "https://meet.example.com/path", "https://user@meet.example.com", "ftp://meet.example.com",
        "https://meet.example.com:99999", "https://meet.example.com:", "https://a b",
        "https://meet.example.com?x", "file://"}) {
    EXPECT_FALSE(NormalizeOrigin(bad).has_value()) << bad;
  }
}

TEST(Origin, NoOriginIsNotABrowserAndPasses) {
  EXPECT_TRUE(OriginAllowed(std::nullopt, "127.0.0.1:8080", {}));
  EXPECT_TRUE(OriginAllowed(std::nullopt, std::nullopt, {}));
  EXPECT_TRUE(OriginAllowed(std::nullopt, "127.0.0.1:8080", {"https://meet.example.com"}));
}

TEST(Origin, OwnOriginByDefault) {
  EXPECT_TRUE(OriginAllowed("http://127.0.0.1:8080", "127.0.0.1:8080", {}));
  EXPECT_TRUE(OriginAllowed("HTTP://LOCALHOST:8080", "localhost:8080", {}));
  // Behind a TLS proxy that passes the Host on: https, default port omitted on both sides.
  EXPECT_TRUE(OriginAllowed("https://meet.example.com", "meet.example.com", {}));
  EXPECT_TRUE(OriginAllowed("https://meet.example.com", "meet.example.com:443", {}));
  EXPECT_TRUE(OriginAllowed("http://meet.example.com", "meet.example.com", {}));
  EXPECT_TRUE(OriginAllowed("http://[::1]:8080", "[::1]:8080", {}));

  EXPECT_FALSE(OriginAllowed("http://evil.example", "127.0.0.1:8080", {}));
  EXPECT_FALSE(OriginAllowed("http://127.0.0.1:8081", "127.0.0.1:8080", {}));
  EXPECT_FALSE(OriginAllowed("http://localhost:8080", "127.0.0.1:8080", {}));
  EXPECT_FALSE(OriginAllowed("https://meet.example.com", "meet.example.com:80", {}));
  EXPECT_FALSE(OriginAllowed("http://meet.example.com.evil.example", "meet.example.com", {}));
  EXPECT_FALSE(OriginAllowed("null", "127.0.0.1:8080", {}));
  EXPECT_FALSE(OriginAllowed("", "127.0.0.1:8080", {}));
  // A browser always sends Host; without one there is no own origin to match.
  EXPECT_FALSE(OriginAllowed("http://127.0.0.1:8080", std::nullopt, {}));
  EXPECT_FALSE(OriginAllowed("http://127.0.0.1:8080", "127.0.0.1:8080/x", {}));
}

TEST(Origin, OwnOriginIsHttpsWhenTheServerSpeaksTls) {
  constexpr bool kTls = true;
  EXPECT_TRUE(OriginAllowed("https://127.0.0.1:8443", "127.0.0.1:8443", {}, kTls));
  EXPECT_TRUE(OriginAllowed("https://meet.example.com", "meet.example.com", {}, kTls));
  EXPECT_FALSE(OriginAllowed("http://127.0.0.1:8443", "127.0.0.1:8443", {}, kTls));
  EXPECT_FALSE(OriginAllowed("http://meet.example.com", "meet.example.com", {}, kTls));
  // A configured list still decides alone, and non-browsers still pass.
  EXPECT_TRUE(
      OriginAllowed("http://dev.test:3000", "127.0.0.1:8443", {"http://dev.test:3000"}, kTls));
  EXPECT_TRUE(OriginAllowed(std::nullopt, "127.0.0.1:8443", {}, kTls));
}

TEST(Origin, ConfiguredListOnly) {
  const std::vector<std::string> allowed = {"https://meet.example.com", "http://127.0.0.1:8080"};
  EXPECT_TRUE(OriginAllowed("https://meet.example.com", "127.0.0.1:8080", allowed));
  EXPECT_TRUE(OriginAllowed("https://MEET.example.com:443", "internal:8080", allowed));
  EXPECT_TRUE(OriginAllowed("http://127.0.0.1:8080", "127.0.0.1:8080", allowed));
  // The server's own origin is not implied once a list is given.
  EXPECT_FALSE(OriginAllowed("http://internal:8080", "internal:8080", allowed));
  EXPECT_FALSE(OriginAllowed("http://meet.example.com", "meet.example.com", allowed));
  EXPECT_FALSE(OriginAllowed("https://evil.example", "meet.example.com", allowed));
  EXPECT_FALSE(OriginAllowed("garbage", "meet.example.com", allowed));
  // "*": any origin.
  EXPECT_TRUE(OriginAllowed("https://evil.example", "127.0.0.1:8080", {"*"}));
}

}  // namespace
}  // namespace sb::signaling
