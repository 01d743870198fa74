// TURN credentials as a client gets them from a real switchboard process: `joined` and
// `resumed` carry iceServers with the configured URLs and coturn-style credentials (username
// "<expiry>:<participant id>", password base64(HMAC-SHA1(secret, username))) that are fresh at
// each; without --turn-url there are none; a bad URL stops the server at startup; the secret
// is never logged.
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "gtest/gtest.h"
#include "tests/signaling/server_process_fixture.h"

namespace {

using nlohmann::json;

constexpr char kTurnSecret[] = "server-turn-test-secret-0123456789";
constexpr char kUdpUrl[] = "turn:192.0.2.3:3478?transport=udp";
constexpr char kTcpUrl[] = "turns:turn.example.com:5349?transport=tcp";

// The password coturn expects, computed here with OpenSSL's HMAC and base64 encoder (not the
// server's code path, which uses Abseil's base64).
std::string ExpectedPassword(const std::string& username) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha1(), kTurnSecret, static_cast<int>(sizeof(kTurnSecret) - 1),
       reinterpret_cast<const unsigned char*>(username.data()), username.size(), mac, &length);
  unsigned char out[64] = {};
  const int n = EVP_EncodeBlock(out, mac, static_cast<int>(length));
  return std::string(reinterpret_cast<char*>(out), n);
}

// Checks `message`'s iceServers for participant `id`, valid `ttl` from about now; returns the
// username.
std::string ExpectIceServers(const json& message, const std::string& id, int64_t ttl) {
  const json& servers = message.value("iceServers", json());
  EXPECT_TRUE(servers.is_array() && servers.size() == 1) << message.dump();
  if (!servers.is_array() || servers.empty()) return "";
  const json& server = servers[0];
  EXPECT_EQ(server["urls"], json({kUdpUrl, kTcpUrl}));
  const std::string username = server.value("username", "");
  const size_t colon = username.find(':');
  EXPECT_NE(colon, std::string::npos) << username;
  EXPECT_EQ(username.substr(colon + 1), id);
  int64_t expiry = 0;
  EXPECT_TRUE(absl::SimpleAtoi(username.substr(0, colon), &expiry)) << username;
  const int64_t now = std::time(nullptr);
  EXPECT_GE(expiry, now + ttl - 5);
  EXPECT_LE(expiry, now + ttl);
  EXPECT_EQ(server.value("credential", ""), ExpectedPassword(username));
  return username;
}

class ServerTurnTest : public sb::signaling::testing::ServerProcessFixture {
 protected:
  std::vector<std::string> ExtraFlags() const override {
    return {std::string("--turn-url=") + kUdpUrl, std::string("--turn-url=") + kTcpUrl,
            std::string("--turn-secret=") + kTurnSecret, "--turn-ttl=600", "--resume-grace=5"};
  }
};

TEST_F(ServerTurnTest, JoinedAndResumedCarryFreshCredentials) {
  std::string token, id, first_username;
  {
    auto client = Connect();
    const json joined = Join(*client, "relayed", "Ada");
    ASSERT_TRUE(joined.is_object());
    id = joined["id"].get<std::string>();
    token = joined["resumeToken"].get<std::string>();
    first_username = ExpectIceServers(joined, id, 600);
    // Another participant gets credentials of its own.
    auto other = Connect();
    const json other_joined = Join(*other, "relayed", "Grace");
    ASSERT_TRUE(other_joined.is_object());
    ExpectIceServers(other_joined, other_joined["id"].get<std::string>(), 600);
  }  // both connections break without a close frame
  // The expiry is in whole seconds: a second later, the resumed credentials are new ones.
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  auto back = Connect();
  back->Send({{"type", "resume"}, {"resumeToken", token}});
  std::optional<json> resumed = back->Next("resumed");
  ASSERT_TRUE(resumed) << Log();
  const std::string username = ExpectIceServers(*resumed, id, 600);
  EXPECT_NE(username, first_username);
  // The secret appears nowhere in what the server wrote; the URLs do.
  const std::string log = Log();
  EXPECT_EQ(log.find(kTurnSecret), std::string::npos) << log;
  EXPECT_NE(log.find(kUdpUrl), std::string::npos) << log;
}

class ServerWithoutTurnTest : public sb::signaling::testing::ServerProcessFixture {};

TEST_F(ServerWithoutTurnTest, JoinedHasNoIceServers) {
  auto client = Connect();
  const json joined = Join(*client, "direct", "Ada");
  ASSERT_TRUE(joined.is_object());
  EXPECT_FALSE(joined.contains("iceServers")) << joined.dump();
}

// Runs switchboard with `flags` and returns its exit status and what it printed.
std::pair<int, std::string> RunSwitchboard(const std::string& flags) {
  const std::string command = std::string(SB_SWITCHBOARD_BINARY) + " " + flags + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  EXPECT_NE(pipe, nullptr);
  if (pipe == nullptr) return {-1, ""};
  std::string out;
  char buf[1024];
  while (size_t n = std::fread(buf, 1, sizeof(buf), pipe)) out.append(buf, n);
  const int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

TEST(ServerTurnStartup, ABadUrlOrAMissingSecretStopsItWithAClearError) {
  auto [status, out] = RunSwitchboard(std::string("--port=0 --turn-secret=") + kTurnSecret +
                                      " --turn-url=turn://192.0.2.3:3478");
  EXPECT_EQ(status, 2) << out;
  EXPECT_NE(out.find("--turn-url"), std::string::npos) << out;
  EXPECT_NE(out.find("no '//'"), std::string::npos) << out;
  EXPECT_EQ(out.find(kTurnSecret), std::string::npos) << out;

  std::tie(status, out) = RunSwitchboard("--port=0 --turn-url=turn:192.0.2.3:3478");
  EXPECT_EQ(status, 2) << out;
  EXPECT_NE(out.find("--turn-secret"), std::string::npos) << out;
}

}  // namespace
