// Hostile clients against a real switchboard process (and its worker) on 127.0.0.1: messages
// that used to crash it or that exceed its limits get a clear error or close, are counted in
// /metrics, and neither the server nor another client's session notices.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "gtest/gtest.h"
#include "signaling/auth.h"
#include "tests/signaling/http/websocket_test_codec.h"
#include "tests/signaling/server_process_fixture.h"
#include "tests/test_data.h"

namespace {

namespace fs = std::filesystem;
namespace ws = sb::signaling::http::ws;
using nlohmann::json;

using sb::signaling::testing::Connection;
using sb::signaling::testing::WsClient;

uint16_t CloseCode(const ws::Message& frame) {
  std::optional<ws::ClosePayload> payload = ws::ParseClosePayload(frame.payload);
  return payload ? payload->code : 0;
}

// The nested-array ping of the bug report: a few hundred KB of '['.
std::string NestedPing(size_t depth) {
  return R"({"type":"ping","requestId":)" + std::string(depth, '[') + std::string(depth, ']') + "}";
}

// The server of these tests, with a bystander: a client in its own room whose call must not
// notice anything the hostile client does.
class ServerProcessTest : public sb::signaling::testing::ServerProcessFixture {
 protected:
  // A client in room "calm": the bystander whose call must not notice anything.
  std::unique_ptr<WsClient> JoinBystander() {
    auto client = Connect();
    // The worker may still be starting: "server-error" until it runs.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      json join = {{"type", "join"}, {"room", "calm"}, {"name", "Grace"}, {"requestId", 1}};
      if (!bystander_token_.empty()) join["token"] = bystander_token_;
      client->Send(join);
      std::optional<json> reply = client->NextMessage();
      EXPECT_TRUE(reply);
      if (!reply) return client;
      if ((*reply)["type"] == "joined") {
        bystander_id_ = (*reply)["id"].get<std::string>();
        return client;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ADD_FAILURE() << "the bystander could not join:\n" << Log();
    return client;
  }

  void ExpectBystanderInRoom() {
    const json rooms = json::parse(Get("/api/rooms"), nullptr, false);
    EXPECT_NE(rooms.dump().find('"' + bystander_id_ + '"'), std::string::npos) << rooms.dump();
    EXPECT_EQ(Metric("switchboard_participants"), 1);
  }

  std::string bystander_id_;
  std::string bystander_token_;  // sent in the bystander's join when set
};

TEST_F(ServerProcessTest, DeeplyNestedRequestIdGetsBadJsonAndTheServerStaysUp) {
  auto bystander = JoinBystander();
  auto hostile = Connect();
  ASSERT_EQ(Rejected("too_deep"), 0);

  // 300,000 levels, 600 KB: under the 1 MiB message limit, so the JSON check must catch it.
  ASSERT_TRUE(hostile->SendText(NestedPing(300'000)));
  std::optional<json> reply = hostile->NextMessage();
  ASSERT_TRUE(reply) << "no reply to the nested ping; " << State();
  EXPECT_EQ((*reply)["type"], "error");
  EXPECT_EQ((*reply)["code"], "bad-json");
  EXPECT_EQ((*reply)["message"], "nesting deeper than 32");
  EXPECT_FALSE(reply->contains("requestId"));
  EXPECT_FALSE(reply->contains("inReplyTo"));
  EXPECT_EQ(Rejected("too_deep"), 1);

  // The same connection keeps working, and so does everyone else's.
  ExpectUnaffected(*hostile, "the sender");
  ExpectUnaffected(*bystander, "the bystander");
  ExpectBystanderInRoom();
  // Once more, in a join: rtpCapabilities is copied too.
  ASSERT_TRUE(hostile->SendText(R"({"type":"join","room":"calm","name":"Eve","rtpCapabilities":)" +
                                std::string(200'000, '[') + std::string(200'000, ']') + "}"));
  reply = hostile->NextMessage();
  ASSERT_TRUE(reply);
  EXPECT_EQ((*reply)["code"], "bad-json");
  EXPECT_EQ(Rejected("too_deep"), 2);
  ExpectUnaffected(*bystander, "the bystander after the join");
  EXPECT_EQ(Metric("switchboard_participants"), 1);
}

TEST_F(ServerProcessTest, HugeObjectRequestIdIsRefusedAndNotEchoed) {
  auto bystander = JoinBystander();
  auto hostile = Connect();
  json id = json::object();
  for (int i = 0; i < 5000; ++i) id["key" + std::to_string(i)] = std::string(100, 'x');
  const json ping = {{"type", "ping"}, {"requestId", id}};
  ASSERT_GT(ping.dump().size(), 500'000u);
  ASSERT_TRUE(hostile->Send(ping));
  std::optional<json> reply = hostile->NextMessage();
  ASSERT_TRUE(reply);
  EXPECT_EQ((*reply)["type"], "error") << reply->dump().substr(0, 200);
  EXPECT_EQ((*reply)["code"], "bad-message");
  EXPECT_EQ((*reply)["inReplyTo"], "ping");
  EXPECT_FALSE(reply->contains("requestId"));
  EXPECT_LT(hostile->last_size(), 256u);  // nothing of the object came back
  EXPECT_EQ(Rejected("bad_request_id"), 1);

  // A long string id too; an id of 64 bytes is echoed.
  ASSERT_TRUE(hostile->Send({{"type", "ping"}, {"requestId", std::string(100'000, 'r')}}));
  reply = hostile->NextMessage();
  ASSERT_TRUE(reply);
  EXPECT_EQ((*reply)["code"], "bad-message");
  EXPECT_LT(hostile->last_size(), 256u);
  EXPECT_EQ(Rejected("bad_request_id"), 2);
  const std::string longest(64, 'r');
  ASSERT_TRUE(hostile->Send({{"type", "ping"}, {"requestId", longest}}));
  reply = hostile->NextMessage();
  ASSERT_TRUE(reply);
  EXPECT_EQ(*reply, json({{"type", "pong"}, {"requestId", longest}}));

  ExpectUnaffected(*bystander, "the bystander");
  ExpectBystanderInRoom();
}

TEST_F(ServerProcessTest, TwoMiBMessageIsClosedWith1009) {
  auto bystander = JoinBystander();
  auto hostile = Connect();
  ASSERT_EQ(Rejected("too_large"), 0);
  // The whole message, from another thread: the server closes after the frame header and may
  // reset the connection while we are still sending.
  const std::string big =
      R"({"type":"publish","sdp":")" + std::string(2 * 1024 * 1024, 'a') + R"("})";
  std::thread sender([&] { hostile->SendText(big); });
  std::optional<ws::Message> close = hostile->NextFrame();
  sender.join();
  ASSERT_TRUE(close);
  EXPECT_EQ(close->opcode, ws::Opcode::kClose);
  EXPECT_EQ(CloseCode(*close), ws::kCloseMessageTooBig);
  EXPECT_TRUE(hostile->AtEof());
  EXPECT_EQ(Rejected("too_large"), 1);

  ExpectUnaffected(*bystander, "the bystander");
  ExpectBystanderInRoom();
  // New clients are served.
  auto next = Connect();
  ExpectUnaffected(*next, "a new client");
}

TEST_F(ServerProcessTest, LargestMessageIsAccepted) {
  // 1 MiB exactly: the room-of-100 SDP case. Not joined, so the publish is refused as such.
  auto client = Connect();
  const std::string head = R"({"type":"publish","sdp":")";
  const std::string text = head + std::string(ws::kMaxMessageBytes - head.size() - 2, 'a') + "\"}";
  ASSERT_EQ(text.size(), ws::kMaxMessageBytes);
  ASSERT_TRUE(client->SendText(text));
  std::optional<json> reply = client->NextMessage();
  ASSERT_TRUE(reply);
  EXPECT_EQ((*reply)["code"], "not-joined");
  EXPECT_EQ(Rejected("too_large"), 0);
  ExpectUnaffected(*client, "the sender");
}

// --- Limits on rates and counts ------------------------------------------------------------------

class ServerLimitsTest : public ServerProcessTest {
 protected:
  std::vector<std::string> ExtraFlags() const override {
    return {"--messages-per-second=5", "--joins-per-second=2", "--max-rooms=2"};
  }

  // A join's reply (joined, or an error).
  json Join(WsClient& client, const std::string& room, const std::string& name) {
    client.Send({{"type", "join"}, {"room", room}, {"name", name}});
    std::optional<json> reply = client.NextMessage();
    return reply ? *reply : json();
  }
};

TEST_F(ServerLimitsTest, AFloodingClientIsRateLimitedAndOthersAreNot) {
  auto bystander = JoinBystander();
  auto hostile = Connect();
  // 5 a second, bursts of 20: of 200 pings sent at once about 20 are answered, the rest get
  // rate-limited errors. Nothing is lost for the bystander.
  std::string burst;
  for (int i = 0; i < 200; ++i) {
    burst +=
        ws::EncodeClientFrame(ws::Opcode::kText, json({{"type", "ping"}, {"requestId", i}}).dump());
  }
  ASSERT_TRUE(hostile->connection().Send(burst));
  int pongs = 0, limited = 0;
  for (int i = 0; i < 200; ++i) {
    std::optional<json> reply = hostile->NextMessage();
    ASSERT_TRUE(reply) << i << "; " << State();
    if ((*reply)["type"] == "pong") ++pongs;
    if ((*reply)["type"] == "error" && (*reply)["code"] == "rate-limited") ++limited;
  }
  EXPECT_GE(pongs, 20);
  EXPECT_LE(pongs, 25);
  EXPECT_EQ(pongs + limited, 200);
  EXPECT_EQ(Rejected("rate_limited"), limited);
  ExpectUnaffected(*bystander, "the bystander");
  // A second later the sender may talk again.
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  ExpectUnaffected(*hostile, "the sender, a second later");
}

TEST_F(ServerLimitsTest, JoinsPerSecondAndRoomsAreLimited) {
  auto bystander = JoinBystander();  // in room "calm"
  // Bursts of 4 joins (2 a second): after a refill, four go in and the next are refused.
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  std::vector<std::unique_ptr<WsClient>> clients;
  int joined = 0, rate_limited = 0;
  for (int i = 0; i < 6; ++i) {
    clients.push_back(Connect());
    const json reply = Join(*clients.back(), "guests", "Guest" + std::to_string(i));
    if (reply["type"] == "joined") ++joined;
    if (reply["type"] == "error" && reply["code"] == "rate-limited") ++rate_limited;
  }
  EXPECT_EQ(joined, 4);
  EXPECT_EQ(rate_limited, 2);
  EXPECT_EQ(Metric("switchboard_joins_refused_total{reason=\"rate\"}"), 2);

  // Two rooms at most ("calm" and "guests"): a third is refused with server-full.
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  auto third = Connect();
  const json refused = Join(*third, "third", "Linus");
  EXPECT_EQ(refused["type"], "error");
  EXPECT_EQ(refused["code"], "server-full");
  EXPECT_EQ(Metric("switchboard_joins_refused_total{reason=\"rooms\"}"), 1);
  EXPECT_EQ(Metric("switchboard_rooms"), 2);
  ExpectUnaffected(*bystander, "the bystander");
}

// --- Reconnection ------------------------------------------------------------------------------

class ServerResumeTest : public ServerProcessTest {
 protected:
  std::vector<std::string> ExtraFlags() const override { return {"--resume-grace=1"}; }
};

TEST_F(ServerResumeTest, BrokenConnectionResumesWithinTheGraceAndLeavesAfterIt) {
  auto bystander = JoinBystander();
  std::string token, id;
  {
    auto dropper = Connect();
    dropper->Send({{"type", "join"}, {"room", "calm"}, {"name", "Ada"}});
    std::optional<json> joined = dropper->NextMessage();
    ASSERT_TRUE(joined);
    ASSERT_EQ((*joined)["type"], "joined");
    token = (*joined)["resumeToken"].get<std::string>();
    id = (*joined)["id"].get<std::string>();
    EXPECT_EQ(token.size(), 32u);
    // The connection ends without a close frame (the WsClient goes away).
  }
  std::optional<json> seen = bystander->NextMessage();  // Ada joined
  ASSERT_TRUE(seen);
  EXPECT_EQ((*seen)["type"], "participant-joined");
  // Resumed on a new connection within the grace: the same participant, nobody told it left.
  auto back = Connect();
  back->Send({{"type", "resume"}, {"resumeToken", token}, {"requestId", 7}});
  std::optional<json> resumed = back->NextMessage();
  ASSERT_TRUE(resumed) << State();
  EXPECT_EQ((*resumed)["type"], "resumed");
  EXPECT_EQ((*resumed)["id"], id);
  EXPECT_EQ((*resumed)["requestId"], 7);
  ExpectUnaffected(*bystander, "the bystander after the resume");  // no participant-left queued
  EXPECT_EQ(Metric("switchboard_resumes_total"), 1);
  // A wrong token is refused.
  auto stranger = Connect();
  stranger->Send({{"type", "resume"}, {"resumeToken", "0123456789abcdef0123456789abcdef"}});
  std::optional<json> refused = stranger->NextMessage();
  ASSERT_TRUE(refused);
  EXPECT_EQ((*refused)["code"], "resume-failed");

  // Dropped again and not back within the grace: it leaves, and the others are told.
  back.reset();
  std::optional<json> left = bystander->NextMessage();
  ASSERT_TRUE(left) << State();
  EXPECT_EQ((*left)["type"], "participant-left");
  EXPECT_EQ((*left)["id"], id);
  EXPECT_EQ(Metric("switchboard_resume_expired_total"), 1);
  auto late = Connect();
  late->Send({{"type", "resume"}, {"resumeToken", token}});
  std::optional<json> too_late = late->NextMessage();
  ASSERT_TRUE(too_late);
  EXPECT_EQ((*too_late)["code"], "resume-failed");
  ExpectUnaffected(*bystander, "the bystander at the end");
}

// --- Authentication ------------------------------------------------------------------------------

constexpr char kSecret[] = "server-process-test-secret-of-32-bytes-or-more";

// What `switchboard token ARGS` prints (without its newline): tokens as an operator makes them.
std::string TokenFromCli(const std::string& args) {
  const std::string command = std::string(SB_SWITCHBOARD_BINARY) + " token " + args;
  FILE* pipe = popen(command.c_str(), "r");
  EXPECT_NE(pipe, nullptr) << command;
  if (pipe == nullptr) return "";
  std::string out;
  char buf[1024];
  while (size_t n = std::fread(buf, 1, sizeof(buf), pipe)) out.append(buf, n);
  EXPECT_EQ(pclose(pipe), 0) << command;
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

std::string JoinToken(const std::string& room, const std::string& identity,
                      const std::string& more = "") {
  return TokenFromCli(std::string("--secret=") + kSecret + " --room=" + room +
                      " --identity=" + identity + " " + more);
}

// A join's direct reply (joined, full or error), skipping nothing: a fresh socket gets no other.
json JoinReply(WsClient& client, json join) {
  join["type"] = "join";
  join["requestId"] = "j";
  client.Send(join);
  std::optional<json> reply = client.NextMessage();
  return reply ? *reply : json();
}

class ServerAuthTest : public ServerProcessTest {
 protected:
  std::vector<std::string> ExtraFlags() const override {
    return {std::string("--auth-secret=") + kSecret};
  }
  void SetUp() override {
    ServerProcessTest::SetUp();
    admin_token_ = TokenFromCli(std::string("--secret=") + kSecret + " --admin --ttl=600");
    bystander_token_ = JoinToken("calm", "grace", "--name=Grace");
    ASSERT_FALSE(admin_token_.empty());
    ASSERT_FALSE(bystander_token_.empty());
  }
  int64_t AuthFailures(const std::string& reason) const {
    return Metric("switchboard_auth_failures_total{reason=\"" + reason + "\"}");
  }
  // The reply to an upgrade or a GET, up to the body.
  static std::string Head(const std::string& reply) {
    return reply.substr(0, reply.find("\r\n\r\n"));
  }
};

TEST_F(ServerAuthTest, JoinsWithoutAValidTokenForTheRoomAreUnauthorized) {
  auto bystander = JoinBystander();
  ASSERT_FALSE(bystander_id_.empty()) << Log();
  const int64_t now = std::time(nullptr);
  auto forged = [&](sb::signaling::TokenClaims claims, const std::string& secret, int64_t at) {
    auto token = sb::signaling::IssueToken(claims, secret, at);
    EXPECT_TRUE(token.ok()) << token.status();
    return token.ok() ? *token : "";
  };
  sb::signaling::TokenClaims calm;
  calm.room = "calm";
  calm.identity = "eve";
  calm.can_publish = calm.can_subscribe = true;
  calm.exp = now - 120;  // two minutes ago: beyond the 30 s of leeway
  const std::string expired = forged(calm, kSecret, now - 3600);
  calm.exp = now + 600;
  const std::string wrong_secret = forged(calm, "not-the-server-secret-but-32-bytes-long", now);
  const std::string valid = JoinToken("calm", "eve");
  // Unsigned ("alg": "none"), with the claims of the valid token.
  const std::string unsigned_token =
      "eyJhbGciOiJub25lIn0." +
      valid.substr(valid.find('.') + 1, valid.rfind('.') - valid.find('.'));

  struct Attempt {
    std::string what;
    json join;
    std::string reason;
  };
  const std::vector<Attempt> attempts = {
      {"no token", {{"room", "calm"}, {"name", "Eve"}}, "missing"},
      {"garbage", {{"room", "calm"}, {"name", "Eve"}, {"token", "not.a.jwt"}}, "invalid"},
      {"a number", {{"room", "calm"}, {"name", "Eve"}, {"token", 42}}, "invalid"},
      {"wrong secret", {{"room", "calm"}, {"token", wrong_secret}}, "invalid"},
      {"alg none", {{"room", "calm"}, {"token", unsigned_token}}, "invalid"},
      {"tampered",
       {{"room", "calm"}, {"token", valid.substr(0, valid.size() - 2) + "xy"}},
       "invalid"},
      {"expired", {{"room", "calm"}, {"token", expired}}, "expired"},
      {"another room", {{"room", "board"}, {"token", valid}}, "wrong_room"},
      {"admin token", {{"room", "calm"}, {"token", admin_token_}}, "claims"},
  };
  std::map<std::string, int64_t> expected;
  auto hostile = Connect();
  for (const Attempt& attempt : attempts) {
    const json reply = JoinReply(*hostile, attempt.join);
    EXPECT_EQ(reply["type"], "error") << attempt.what << ": " << reply.dump();
    EXPECT_EQ(reply["code"], "unauthorized") << attempt.what << ": " << reply.dump();
    EXPECT_EQ(reply["inReplyTo"], "join") << attempt.what;
    EXPECT_EQ(reply["requestId"], "j") << attempt.what;
    ++expected[attempt.reason];
  }
  for (const auto& [reason, count] : expected) EXPECT_EQ(AuthFailures(reason), count) << reason;
  EXPECT_EQ(Metric("switchboard_joins_total"), 1);  // the bystander's
  EXPECT_EQ(Metric("switchboard_participants"), 1);
  // The call beside lost nothing: nobody joined as far as it knows, and it still answers.
  ExpectUnaffected(*bystander, "the bystander");
  ExpectBystanderInRoom();

  // The same socket joins with a valid token; its display name is the token's, not the "name"
  // it sends.
  const json joined = JoinReply(
      *hostile,
      {{"room", "calm"}, {"name", "Mallory"}, {"token", JoinToken("calm", "eve", "--name=Eve")}});
  ASSERT_EQ(joined["type"], "joined") << joined.dump();
  EXPECT_EQ(joined["name"], "Eve");
  ASSERT_EQ(joined["participants"].size(), 1u);
  EXPECT_EQ(joined["participants"][0]["name"], "Grace");
  std::optional<json> seen = bystander->NextMessage();
  ASSERT_TRUE(seen);
  EXPECT_EQ((*seen)["type"], "participant-joined");
  EXPECT_EQ((*seen)["participant"]["name"], "Eve");
  EXPECT_EQ(Metric("switchboard_participants"), 2);
}

TEST_F(ServerAuthTest, GrantsDecidePublishingAndReceiving) {
  const std::string offer = sb::test_data::Read("chromium_publish_offer.sdp");
  ASSERT_FALSE(offer.empty());
  auto publish = [&](WsClient& client) {
    client.Send({{"type", "publish"}, {"sdp", offer}, {"requestId", "p"}});
    std::optional<json> reply = client.NextMessage();
    return reply ? *reply : json();
  };
  // Joined with --no-publish: its publish is forbidden, and nothing is produced.
  auto viewer = Connect();
  ASSERT_EQ(JoinReply(*viewer, {{"room", "calm"},
                                {"token", JoinToken("calm", "viewer", "--no-publish")}})["type"],
            "joined");
  const json refused = publish(*viewer);
  EXPECT_EQ(refused["type"], "error") << refused.dump();
  EXPECT_EQ(refused["code"], "forbidden");
  EXPECT_EQ(refused["inReplyTo"], "publish");
  EXPECT_EQ(AuthFailures("publish_denied"), 1);
  const json rooms = json::parse(Get("/api/rooms"));
  EXPECT_EQ(rooms["rooms"][0]["participants"][0]["audio"], false) << rooms.dump();
  EXPECT_EQ(rooms["rooms"][0]["participants"][0]["video"], false);

  // Joined with --no-subscribe: a publisher's tracks are offered to the viewer, not to it.
  auto deaf = Connect();
  ASSERT_EQ(JoinReply(*deaf, {{"room", "calm"},
                              {"token", JoinToken("calm", "deaf", "--no-subscribe")}})["type"],
            "joined");
  auto publisher = Connect();
  ASSERT_EQ(JoinReply(*publisher, {{"room", "calm"}, {"token", JoinToken("calm", "ada")}})["type"],
            "joined");
  const json answer = publish(*publisher);
  ASSERT_EQ(answer["type"], "publish-answer") << answer.dump();
  // The viewer: participant-joined (deaf), participant-joined (ada), participant-updated, and an
  // offer with ada's two tracks.
  std::optional<json> offer_to_viewer;
  for (int i = 0; i < 6 && !offer_to_viewer; ++i) {
    std::optional<json> m = viewer->NextMessage();
    ASSERT_TRUE(m) << "the viewer got no subscribe-offer\n" << Log();
    if ((*m)["type"] == "subscribe-offer") offer_to_viewer = m;
  }
  EXPECT_EQ((*offer_to_viewer)["streams"].size(), 2u);
  // The deaf one gets the others' news, never an offer: a ping's pong comes after all of it.
  ASSERT_TRUE(deaf->Send({{"type", "ping"}, {"requestId", "end"}}));
  std::vector<std::string> types;
  for (;;) {
    std::optional<json> m = deaf->NextMessage();
    ASSERT_TRUE(m) << Log();
    if ((*m)["type"] == "pong") break;
    types.push_back((*m)["type"].get<std::string>());
  }
  EXPECT_EQ(std::count(types.begin(), types.end(), "subscribe-offer"), 0);
  EXPECT_EQ(std::count(types.begin(), types.end(), "participant-joined"), 1);  // ada
  EXPECT_EQ(Metric("switchboard_participants"), 3);
}

TEST_F(ServerAuthTest, AdminApiAndMetricsNeedAnAdminToken) {
  auto bystander = JoinBystander();
  const std::string participant = JoinToken("calm", "ada");
  for (const std::string path : {"/api/rooms", "/metrics", "/api/health"}) {
    std::string reply = Fetch(path);
    EXPECT_EQ(reply.rfind("HTTP/1.1 401 ", 0), 0u) << path << ": " << Head(reply);
    EXPECT_NE(reply.find("\r\nWWW-Authenticate: Bearer realm=\"switchboard\"\r\n"),
              std::string::npos)
        << Head(reply);
    EXPECT_EQ(reply.find(bystander_id_), std::string::npos) << path;  // nothing of the rooms
    reply = Fetch(path, "Authorization: Bearer not-a-token\r\n");
    EXPECT_EQ(reply.rfind("HTTP/1.1 401 ", 0), 0u) << path << ": " << Head(reply);
    EXPECT_NE(reply.find("error=\"invalid_token\""), std::string::npos) << Head(reply);
    reply = Fetch(path, "Authorization: Basic YWRtaW46YWRtaW4=\r\n");
    EXPECT_EQ(reply.rfind("HTTP/1.1 401 ", 0), 0u) << path << ": " << Head(reply);
    // A participant's token is a valid one without the scope (RFC 6750 section 3.1): 403.
    reply = Fetch(path, "Authorization: Bearer " + participant + "\r\n");
    EXPECT_EQ(reply.rfind("HTTP/1.1 403 ", 0), 0u) << path << ": " << Head(reply);
    EXPECT_NE(reply.find("error=\"insufficient_scope\""), std::string::npos) << Head(reply);
    reply = Fetch(path, "Authorization: bearer " + admin_token_ + "\r\n");
    EXPECT_EQ(reply.rfind("HTTP/1.1 200 ", 0), 0u) << path << ": " << Head(reply);
  }
  EXPECT_NE(Get("/api/rooms").find(bystander_id_), std::string::npos);
  EXPECT_EQ(AuthFailures("missing"), 6);  // no Authorization, and Basic: no bearer token
  EXPECT_EQ(AuthFailures("invalid"), 3);
  EXPECT_EQ(AuthFailures("not_admin"), 3);
  // The web app itself stays open: a join needs its token, not the page.
  EXPECT_EQ(Fetch("/").rfind("HTTP/1.1 200 ", 0), 0u);
  ExpectUnaffected(*bystander, "the bystander");
}

// Origin needs no secret: it is checked on every server.
TEST_F(ServerProcessTest, WebSocketFromAForeignOriginIsRefused) {
  auto bystander = JoinBystander();
  const std::string host = "Host: 127.0.0.1:" + std::to_string(port_) + "\r\n";
  WsClient foreign(port_, host + "Origin: http://evil.example\r\n");
  EXPECT_FALSE(foreign.open());
  EXPECT_EQ(foreign.response_head().rfind("HTTP/1.1 403 ", 0), 0u) << foreign.response_head();
  EXPECT_TRUE(foreign.AtEof());
  WsClient other_port(port_, host + "Origin: http://127.0.0.1:1\r\n");
  EXPECT_FALSE(other_port.open());
  EXPECT_EQ(Metric("switchboard_auth_failures_total{reason=\"origin\"}"), 2);

  // The server's own origin (as a page it served sends it), and no Origin (not a browser).
  WsClient own(port_, host + "Origin: http://127.0.0.1:" + std::to_string(port_) + "\r\n");
  ASSERT_TRUE(own.open()) << own.response_head();
  ExpectUnaffected(own, "the own-origin client");
  WsClient none(port_, host);
  ASSERT_TRUE(none.open()) << none.response_head();
  ExpectUnaffected(none, "the client without Origin");
  EXPECT_EQ(Metric("switchboard_auth_failures_total{reason=\"origin\"}"), 2);
  ExpectUnaffected(*bystander, "the bystander");
  ExpectBystanderInRoom();
}

class ServerAllowedOriginsTest : public ServerProcessTest {
 protected:
  std::vector<std::string> ExtraFlags() const override {
    return {"--allowed-origins=https://meet.example.com"};
  }
};

TEST_F(ServerAllowedOriginsTest, OnlyTheListedOriginsMayConnect) {
  // Behind a proxy: the Host is the proxy's upstream, the Origin the public site.
  WsClient listed(port_, "Host: 127.0.0.1\r\nOrigin: https://meet.example.com\r\n");
  ASSERT_TRUE(listed.open()) << listed.response_head();
  ExpectUnaffected(listed, "the listed origin");
  const std::string own = "127.0.0.1:" + std::to_string(port_);
  WsClient same_host(port_, "Host: " + own + "\r\nOrigin: http://" + own + "\r\n");
  EXPECT_FALSE(same_host.open());
  EXPECT_EQ(same_host.response_head().rfind("HTTP/1.1 403 ", 0), 0u) << same_host.response_head();
  WsClient none(port_);
  EXPECT_TRUE(none.open());
}

}  // namespace

namespace {

// --tls-self-signed: HTTPS and WSS on the one port with a certificate made at startup, whose
// fingerprint the log shows; the default Origin check wants the https origin then.
class ServerTlsTest : public ServerProcessTest {
 protected:
  void SetUp() override {
    tls_ = true;
    ServerProcessTest::SetUp();
  }
  std::vector<std::string> ExtraFlags() const override { return {"--tls-self-signed"}; }
};

TEST_F(ServerTlsTest, WssJoinWithTheLoggedCertificate) {
  // The certificate the server presents is the one whose fingerprint it logged.
  Connection probe(port_, /*tls=*/true);
  ASSERT_TRUE(probe.connected());
  const std::string fingerprint = probe.PeerFingerprint();
  ASSERT_EQ(fingerprint.size(), 95u);
  EXPECT_NE(Log().find("fingerprint (the browser shows it when it warns) is " + fingerprint),
            std::string::npos)
      << Log();

  // The web app over HTTPS, and a join over WSS.
  EXPECT_NE(Fetch("/").find("HTTP/1.1 200 OK"), std::string::npos);
  auto bystander = JoinBystander();
  ExpectUnaffected(*bystander, "a WSS client");
  ExpectBystanderInRoom();

  // Plain HTTP on the TLS port gets no page.
  Connection plain(port_);
  ASSERT_TRUE(plain.connected());
  plain.Send("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
  std::string reply;
  while (std::optional<std::string> bytes = plain.Receive()) reply += *bytes;
  EXPECT_EQ(reply.find("200 OK"), std::string::npos) << reply;

  // The server's own origin is the https one now.
  const std::string host = "Host: 127.0.0.1:" + std::to_string(port_) + "\r\n";
  WsClient https_page(port_, host + "Origin: https://127.0.0.1:" + std::to_string(port_) + "\r\n",
                      /*tls=*/true);
  EXPECT_TRUE(https_page.open()) << https_page.response_head();
  WsClient http_page(port_, host + "Origin: http://127.0.0.1:" + std::to_string(port_) + "\r\n",
                     /*tls=*/true);
  EXPECT_FALSE(http_page.open());
  EXPECT_EQ(http_page.response_head().rfind("HTTP/1.1 403 ", 0), 0u) << http_page.response_head();
}

}  // namespace
