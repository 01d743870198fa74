// TURN relay URLs and coturn's shared-secret credentials (signaling/turn.h).
#include "signaling/turn.h"

#include <gtest/gtest.h>

#include <string>

namespace sb::signaling {
namespace {

TEST(TurnPassword, Rfc2202HmacSha1Vector) {
  // RFC 2202 section 3, test case 1: key 0x0b * 20, data "Hi There", digest
  // b617318655057264e28bc0b6fb378c8ef146be00, here in base64.
  EXPECT_EQ(TurnPassword(std::string(20, '\x0b'), "Hi There"), "thcxhlUFcmTii8C2+zeMjvFGvgA=");
}

TEST(TurnPassword, MatchesOpensslCommandLine) {
  // printf '%s' '1700086400:p7' |
  //   openssl dgst -sha1 -hmac 'north-relay-secret-0123456789' -binary | base64
  EXPECT_EQ(TurnPassword("north-relay-secret-0123456789", "1700086400:p7"),
            "t9cLX1wBTKfEqXfJ3ekCh8r2HF8=");
}

TEST(TurnCredentials, UsernameIsExpiryColonUser) {
  // coturn (use-auth-secret) reads the time before the ':' as the expiry, and checks the
  // password as base64(HMAC-SHA1(static-auth-secret, username)).
  TurnCredentials c = MakeTurnCredentials("north-relay-secret-0123456789", "p7", 1700086400);
  EXPECT_EQ(c.username, "1700086400:p7");
  EXPECT_EQ(c.password, "t9cLX1wBTKfEqXfJ3ekCh8r2HF8=");
  // Another secret, another password.
  EXPECT_NE(MakeTurnCredentials("south-relay-secret-0123456789", "p7", 1700086400).password,
            c.password);
}

TEST(IceServersJson, OneServerWithEveryUrlAndFreshCredentials) {
  const std::vector<std::string> urls = {"turn:192.0.2.3:3478?transport=udp",
                                         "turns:turn.example.com:5349"};
  nlohmann::json servers =
      IceServersJson(urls, "north-relay-secret-0123456789", "p7", 1700000000, 86400);
  ASSERT_EQ(servers.size(), 1u);
  EXPECT_EQ(servers[0]["urls"], nlohmann::json(urls));
  EXPECT_EQ(servers[0]["username"], "1700086400:p7");
  EXPECT_EQ(servers[0]["credential"], "t9cLX1wBTKfEqXfJ3ekCh8r2HF8=");
  EXPECT_TRUE(IceServersJson({}, "north-relay-secret-0123456789", "p7", 1, 1).empty());
}

TEST(ParseTurnUrl, AcceptsRfc7065Forms) {
  struct Case {
    std::string in, out;
    bool secure;
    uint16_t port;
    TurnUrl::Transport transport;
  } cases[] = {
      {"turn:192.0.2.3", "turn:192.0.2.3", false, 0, TurnUrl::Transport::kDefault},
      {"turn:192.0.2.3:3478", "turn:192.0.2.3:3478", false, 3478, TurnUrl::Transport::kDefault},
      {"TURN:turn.example.com:3478?transport=UDP", "turn:turn.example.com:3478?transport=udp",
       false, 3478, TurnUrl::Transport::kUdp},
      {"turn:turn.example.com?transport=tcp", "turn:turn.example.com?transport=tcp", false, 0,
       TurnUrl::Transport::kTcp},
      {"turns:turn.example.com:443?transport=tcp", "turns:turn.example.com:443?transport=tcp", true,
       443, TurnUrl::Transport::kTcp},
      {"turns:turn.example.com", "turns:turn.example.com", true, 0, TurnUrl::Transport::kDefault},
      {"turn:[2001:db8::1]:3478", "turn:[2001:db8::1]:3478", false, 3478,
       TurnUrl::Transport::kDefault},
      {"turn:[2001:db8::1]", "turn:[2001:db8::1]", false, 0, TurnUrl::Transport::kDefault},
  };
  for (const auto& c : cases) {
    auto url = ParseTurnUrl(c.in);
    ASSERT_TRUE(url.ok()) << c.in << ": " << url.status();
    EXPECT_EQ(url->ToString(), c.out) << c.in;
    EXPECT_EQ(url->secure, c.secure) << c.in;
    EXPECT_EQ(url->port, c.port) << c.in;
    EXPECT_EQ(url->transport, c.transport) << c.in;
    // Normalized, it parses to itself.
    auto again = ParseTurnUrl(url->ToString());
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(again->ToString(), c.out);
  }
}

TEST(ParseTurnUrl, RefusesWithAReason) {
  struct Case {
    std::string in, reason;
  } cases[] = {
      {"", "no scheme"},
      {"192.0.2.3:3478", "not turn or turns"},
      {"stun:192.0.2.3:3478", "STUN"},
      {"http://turn.example.com", "not turn or turns"},
      {"turn://turn.example.com:3478", "no '//'"},
      {"turn:", "no host"},
      {"turn::3478", "no host"},
      {"turn:turn.example.com:", "empty port"},
      {"turn:turn.example.com:0", "not a port"},
      {"turn:turn.example.com:65536", "not a port"},
      {"turn:turn.example.com:+3478", "not a port"},
      {"turn:turn.example.com:34 78", "not a port"},
      {"turn:2001:db8::1", "an IPv6 one goes in []"},
      {"turn:[2001:db8::1", "closing ']'"},
      {"turn:[2001:db8::zz]:3478", "not an IPv6 address"},
      {"turn:[2001:db8::1]x", "only ':port'"},
      {"turn:user@turn.example.com", "not a host name"},
      {"turn:turn example.com", "not a host name"},
      {"turn:-turn.example.com", "not a host name"},
      {"turn:turn.example.com?transport=sctp", "not udp or tcp"},
      {"turn:turn.example.com?transport=tls", "not udp or tcp"},
      {"turn:turn.example.com?proto=udp", "only query"},
      {"turns:turn.example.com?transport=udp", "DTLS"},
      {"turn:" + std::string(300, 'a'), "too long"},
  };
  for (const auto& c : cases) {
    auto url = ParseTurnUrl(c.in);
    ASSERT_FALSE(url.ok()) << c.in;
    EXPECT_NE(url.status().message().find(c.reason), std::string::npos)
        << c.in << ": " << url.status();
  }
}

}  // namespace
}  // namespace sb::signaling
