// `switchboard token`: the flags, and that what it prints verifies with the same secret.
#include "signaling/token_command.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "signaling/auth.h"

namespace sb::signaling {
namespace {

constexpr int64_t kNow = 1'700'000'000;
const std::string kSecret = "token-command-test-secret-32-bytes-or-more";

struct Outcome {
  int status = -1;
  std::string out, err;
};

std::string ReadAll(std::FILE* f) {
  std::rewind(f);
  std::string text;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) text.append(buf, n);
  std::fclose(f);
  return text;
}

Outcome Token(std::vector<std::string> args) {
  args.insert(args.begin(), "token");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  std::FILE* out = std::tmpfile();
  std::FILE* err = std::tmpfile();
  Outcome run;
  run.status = RunTokenCommand(static_cast<int>(argv.size()), argv.data(), out, err, kNow);
  run.out = ReadAll(out);
  run.err = ReadAll(err);
  return run;
}

TokenClaims Verified(const Outcome& run) {
  EXPECT_EQ(run.status, 0) << run.err;
  EXPECT_FALSE(run.out.empty());
  EXPECT_EQ(run.out.back(), '\n');
  auto claims = VerifyToken(run.out.substr(0, run.out.size() - 1), kSecret, kNow);
  EXPECT_TRUE(claims.ok()) << claims.status();
  return claims.ok() ? *claims : TokenClaims{};
}

TEST(TokenCommand, PrintsAJoinToken) {
  const TokenClaims claims =
      Verified(Token({"--secret=" + kSecret, "--room=demo", "--identity=ada", "--ttl=60"}));
  EXPECT_EQ(claims.room, "demo");
  EXPECT_EQ(claims.identity, "ada");
  EXPECT_EQ(claims.display_name(), "ada");
  EXPECT_TRUE(claims.can_publish);
  EXPECT_TRUE(claims.can_subscribe);
  EXPECT_FALSE(claims.admin);
  EXPECT_EQ(claims.exp, kNow + 60);
}

TEST(TokenCommand, NameGrantsAndDefaultLifetime) {
  const TokenClaims claims = Verified(Token({"--secret", kSecret, "--room", "demo", "--identity",
                                             "grace", "--name=Grace Hopper", "--no-publish"}));
  EXPECT_EQ(claims.display_name(), "Grace Hopper");
  EXPECT_FALSE(claims.can_publish);
  EXPECT_TRUE(claims.can_subscribe);
  EXPECT_EQ(claims.exp, kNow + kDefaultTokenTtlSeconds);
  EXPECT_FALSE(
      Verified(Token({"--secret=" + kSecret, "--room=demo", "--identity=x", "--no-subscribe"}))
          .can_subscribe);
}

TEST(TokenCommand, PrintsAnAdminToken) {
  const TokenClaims claims = Verified(Token({"--secret=" + kSecret, "--admin", "--ttl=3600"}));
  EXPECT_TRUE(claims.admin);
  EXPECT_TRUE(claims.room.empty());
  EXPECT_EQ(claims.exp, kNow + 3600);
}

TEST(TokenCommand, SecretFromTheServersConfigFile) {
  const std::string path = testing::TempDir() + "/sb_token_command_test.json";
  std::ofstream(path) << R"({"port": 9000, "auth-secret": ")" << kSecret << R"("})";
  const TokenClaims claims = Verified(Token({"--config=" + path, "--room=demo", "--identity=ada"}));
  EXPECT_EQ(claims.room, "demo");
  std::remove(path.c_str());
}

TEST(TokenCommand, HelpAndBadFlags) {
  Outcome help = Token({"--help"});
  EXPECT_EQ(help.status, 0);
  for (const char* flag : {"--secret", "--room", "--identity", "--name", "--ttl", "--no-publish",
                           "--no-subscribe", "--admin", "--config"}) {
    EXPECT_NE(help.out.find(flag), std::string::npos) << flag;
  }
  const std::vector<std::vector<std::string>> bad = {
      {"--room=demo", "--identity=ada"},                                    // no secret
      {"--secret=short", "--room=demo", "--identity=ada"},                  // too short
      {"--secret=" + kSecret, "--identity=ada"},                            // no room
      {"--secret=" + kSecret, "--room=demo"},                               // no identity
      {"--secret=" + kSecret, "--room=a room", "--identity=ada"},           // bad room name
      {"--secret=" + kSecret, "--room=demo", "--identity=ada", "--ttl=0"},  // bad ttl
      {"--secret=" + kSecret, "--room=demo", "--identity=ada", "--ttl=soon"},
      {"--secret=" + kSecret, "--admin", "--room=demo"},
      {"--secret=" + kSecret, "--room=demo", "--identity=ada", "--colour=red"},
      {"--secret=" + kSecret, "--room=demo", "--identity"},
      {"--config=/nonexistent/switchboard.json", "--room=demo", "--identity=ada"},
  };
  for (const auto& args : bad) {
    Outcome run = Token(args);
    EXPECT_EQ(run.status, 2) << args.back();
    EXPECT_TRUE(run.out.empty()) << args.back();
    EXPECT_NE(run.err.find("switchboard token:"), std::string::npos) << args.back();
  }
}

}  // namespace
}  // namespace sb::signaling
