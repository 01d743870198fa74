// RedisClient against a real redis-server on 127.0.0.1 (tests/signaling/cluster/
// redis_server_fixture.h): commands, pipelining, transactions, bounds, timeouts, the server
// killed and restarted, subscriptions, closing or destroying the client from its callbacks, and
// AUTH (requirepass and an ACL user; a fake server for what goes on the wire first).
#include "signaling/cluster/redis_client.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "tests/signaling/cluster/redis_server_fixture.h"

namespace sb::signaling::cluster {
namespace {

using ::sb::signaling::cluster::testing::FreePort;
using ::sb::signaling::cluster::testing::RedisTest;
using Result = absl::StatusOr<Reply>;

TEST(ParseRedisAddressTest, TakesIpv4AndPort) {
  absl::StatusOr<RedisAddress> address = ParseRedisAddress("127.0.0.1:6379");
  ASSERT_TRUE(address.ok()) << address.status();
  EXPECT_EQ(address->host, "127.0.0.1");
  EXPECT_EQ(address->port, 6379);
  for (const char* bad : {"", "127.0.0.1", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536",
                          "localhost:6379", ":6379", "127.0.0.1:63a9", "[::1]:6379"}) {
    EXPECT_FALSE(ParseRedisAddress(bad).ok()) << bad;
  }
}

// A TCP listener on 127.0.0.1 and a free port, with `backlog` (no server behind it: the tests
// accept, or not, themselves); `addr` gets its address. -1 on failure.
int ListenOnLoopback(int backlog, sockaddr_in* addr) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  *addr = sockaddr_in{};
  addr->sin_family = AF_INET;
  addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t size = sizeof(*addr);
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(addr), sizeof(*addr)) != 0 ||
      listen(fd, backlog) != 0 || getsockname(fd, reinterpret_cast<sockaddr*>(addr), &size) != 0) {
    if (fd >= 0) close(fd);
    return -1;
  }
  return fd;
}

class CountingListener : public RedisClient::Listener {
 public:
  void OnRedisConnected(RedisClient*) override { ++connected; }
  void OnRedisDisconnected(RedisClient*, const absl::Status& reason) override {
    ++disconnected;
    last_reason = reason;
  }
  int connected = 0;
  int disconnected = 0;
  absl::Status last_reason;
};

class RedisClientTest : public RedisTest {
 protected:
  RedisClientOptions Options(bool subscriber = false) const {
    RedisClientOptions options;
    options.address = {"127.0.0.1", server_.port()};
    options.subscriber = subscriber;
    // Short, so that reconnection after a restart takes a fraction of a second.
    options.min_backoff = std::chrono::milliseconds(20);
    options.max_backoff = std::chrono::milliseconds(200);
    return options;
  }

  std::unique_ptr<RedisClient> Connected(RedisClientOptions options,
                                         RedisClient::Listener* listener = nullptr) {
    auto client = std::make_unique<RedisClient>(&loop_, std::move(options), listener);
    EXPECT_TRUE(client->Start().ok());
    EXPECT_TRUE(RunUntil([&] { return client->connected(); }));
    return client;
  }

  std::optional<Result> Run(RedisClient& client, std::vector<std::string> args) {
    return Await<Result>(
        [&](std::function<void(Result)> done) { client.Command(std::move(args), done); });
  }
};

TEST_F(RedisClientTest, CommandsAndReplies) {
  auto client = Connected(Options());
  EXPECT_EQ(Run(*client, {"SET", "k", "v"})->value(), Reply::Simple("OK"));
  EXPECT_EQ(Run(*client, {"GET", "k"})->value(), Reply::Bulk("v"));
  EXPECT_EQ(Run(*client, {"GET", "missing"})->value(), Reply::NullBulk());
  EXPECT_EQ(Run(*client, {"INCR", "n"})->value(), Reply::Integer(1));
  EXPECT_EQ(Run(*client, {"RPUSH", "l", "a", "b"})->value(), Reply::Integer(2));
  EXPECT_EQ(Run(*client, {"LRANGE", "l", "0", "-1"})->value(),
            Reply::Array({Reply::Bulk("a"), Reply::Bulk("b")}));
  // Binary-safe values.
  const std::string binary("\r\n\0\xff", 4);
  EXPECT_EQ(Run(*client, {"SET", "b", binary})->value(), Reply::Simple("OK"));
  EXPECT_EQ(Run(*client, {"GET", "b"})->value(), Reply::Bulk(binary));
  // An error reply is a status, with Redis's text.
  std::optional<Result> wrong = Run(*client, {"INCR", "k"});
  ASSERT_TRUE(wrong.has_value());
  EXPECT_EQ(wrong->status().code(), absl::StatusCode::kUnknown);
  EXPECT_NE(wrong->status().message().find("ERR"), std::string::npos) << wrong->status();
  EXPECT_EQ(Run(*client, {"NOSUCHCOMMAND"})->status().code(), absl::StatusCode::kUnknown);
  EXPECT_EQ(Run(*client, {})->status().code(), absl::StatusCode::kInvalidArgument);
  // The connection is fine after the errors.
  EXPECT_EQ(Run(*client, {"PING"})->value(), Reply::Simple("PONG"));
}

TEST_F(RedisClientTest, CallbacksNeverRunInsideCommand) {
  auto client = Connected(Options());
  bool inside = true;
  int calls = 0;
  auto callback = [&](Result) {
    EXPECT_FALSE(inside);
    ++calls;
  };
  client->Command({}, callback);  // Fails, but later.
  client->Command({"PING"}, callback);
  inside = false;
  EXPECT_TRUE(RunUntil([&] { return calls == 2; }));
}

TEST_F(RedisClientTest, PipelinesAndMatchesRepliesInOrder) {
  auto client = Connected(Options());
  constexpr int kCommands = 2000;
  std::vector<int64_t> values;
  for (int i = 0; i < kCommands; ++i) {
    client->Command({"INCR", "counter"}, [&](Result reply) {
      ASSERT_TRUE(reply.ok()) << reply.status();
      values.push_back(reply->integer);
    });
  }
  // All of them are on the wire (or about to be) before the first reply.
  EXPECT_EQ(client->pending_commands(), static_cast<size_t>(kCommands));
  ASSERT_TRUE(RunUntil([&] { return values.size() == kCommands; }));
  for (int i = 0; i < kCommands; ++i) EXPECT_EQ(values[i], i + 1);
  EXPECT_EQ(client->pending_commands(), 0u);
}

TEST_F(RedisClientTest, Transactions) {
  auto client = Connected(Options());
  std::optional<Result> done = Await<Result>([&](std::function<void(Result)> callback) {
    client->Transaction({{"SET", "a", "1"}, {"INCR", "a"}, {"GET", "a"}}, callback);
  });
  ASSERT_TRUE(done.has_value());
  ASSERT_TRUE(done->ok()) << done->status();
  EXPECT_EQ(**done, Reply::Array({Reply::Simple("OK"), Reply::Integer(2), Reply::Bulk("2")}));
  // A command that fails while running: EXEC's array carries its error.
  done = Await<Result>([&](std::function<void(Result)> callback) {
    client->Transaction({{"SET", "s", "x"}, {"INCR", "s"}}, callback);
  });
  EXPECT_EQ(done->status().code(), absl::StatusCode::kUnknown);
  // A command Redis refuses to queue: EXECABORT, and nothing ran.
  done = Await<Result>([&](std::function<void(Result)> callback) {
    client->Transaction({{"SET", "t", "1"}, {"NOSUCHCOMMAND"}}, callback);
  });
  EXPECT_EQ(done->status().code(), absl::StatusCode::kUnknown);
  EXPECT_EQ(Run(*client, {"EXISTS", "t"})->value(), Reply::Integer(0));
  // The connection is out of MULTI afterwards.
  EXPECT_EQ(Run(*client, {"GET", "a"})->value(), Reply::Bulk("2"));
}

TEST_F(RedisClientTest, BoundsPendingCommands) {
  RedisClientOptions options = Options();
  options.max_pending_commands = 10;
  RedisClient client(&loop_, options);
  ASSERT_TRUE(client.Start().ok());
  // Issued while connecting: the first 10 wait for the connection, the rest fail.
  int ok = 0;
  int exhausted = 0;
  for (int i = 0; i < 20; ++i) {
    client.Command({"PING"}, [&](Result reply) {
      if (reply.ok()) ++ok;
      if (reply.status().code() == absl::StatusCode::kResourceExhausted) ++exhausted;
    });
  }
  // A transaction is never split: 3 commands do not fit in what is left.
  std::optional<absl::Status> transaction;
  client.Transaction({{"PING"}}, [&](Result reply) { transaction = reply.status(); });
  EXPECT_TRUE(RunUntil([&] { return ok + exhausted == 20 && transaction.has_value(); }));
  EXPECT_EQ(ok, 10);
  EXPECT_EQ(exhausted, 10);
  EXPECT_EQ(transaction->code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(Run(client, {"PING"})->value(), Reply::Simple("PONG"));
}

TEST_F(RedisClientTest, ConnectsOnceTheServerIsThere) {
  server_.Kill();
  CountingListener listener;
  RedisClient client(&loop_, Options(), &listener);
  ASSERT_TRUE(client.Start().ok());
  // Refused while nothing listens: the command issued while connecting fails, and so do those
  // issued while waiting to reconnect.
  std::optional<Result> refused = Run(client, {"PING"});
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->status().code(), absl::StatusCode::kUnavailable) << refused->status();
  EXPECT_FALSE(client.connected());
  RestartServer();
  EXPECT_TRUE(RunUntil([&] { return client.connected(); }));
  EXPECT_EQ(listener.connected, 1);
  EXPECT_EQ(listener.disconnected, 0);  // Failed attempts are not disconnections.
  EXPECT_EQ(Run(client, {"PING"})->value(), Reply::Simple("PONG"));
}

TEST_F(RedisClientTest, ConnectTimeout) {
  // A listener whose accept queue is full: the kernel drops further SYNs, so a connect neither
  // succeeds nor fails. Backlog 0 holds one connection; two more fill it for sure.
  sockaddr_in addr;
  const int listener_fd = ListenOnLoopback(0, &addr);
  ASSERT_GE(listener_fd, 0);
  std::vector<int> fillers;
  for (int i = 0; i < 3; ++i) {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    fillers.push_back(fd);
  }
  RunFor(std::chrono::milliseconds(50));  // Let the handshakes that can complete complete.

  RedisClientOptions options = Options();
  options.address.port = ntohs(addr.sin_port);
  options.connect_timeout = std::chrono::milliseconds(200);
  RedisClient client(&loop_, options);
  ASSERT_TRUE(client.Start().ok());
  std::optional<Result> reply = Run(client, {"PING"});
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->status().code(), absl::StatusCode::kDeadlineExceeded) << reply->status();
  client.Close();
  for (int fd : fillers) close(fd);
  close(listener_fd);
}

TEST_F(RedisClientTest, CommandTimeoutDropsAHungConnection) {
  // A server that accepts (the kernel does, into the backlog) and never answers.
  sockaddr_in addr;
  const int listener_fd = ListenOnLoopback(16, &addr);
  ASSERT_GE(listener_fd, 0);

  RedisClientOptions options = Options();
  options.address.port = ntohs(addr.sin_port);
  options.command_timeout = std::chrono::milliseconds(200);
  CountingListener listener;
  RedisClient client(&loop_, options, &listener);
  ASSERT_TRUE(client.Start().ok());
  ASSERT_TRUE(RunUntil([&] { return client.connected(); }));
  std::optional<Result> reply = Run(client, {"PING"});
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->status().code(), absl::StatusCode::kDeadlineExceeded) << reply->status();
  EXPECT_EQ(listener.disconnected, 1);
  EXPECT_EQ(client.stats().command_timeouts, 1u);
  client.Close();
  close(listener_fd);
}

TEST_F(RedisClientTest, MalformedRepliesDropTheConnection) {
  // A fake server: the kernel completes the handshake, the test accepts and writes bytes.
  sockaddr_in addr;
  const int listener_fd = ListenOnLoopback(16, &addr);
  ASSERT_GE(listener_fd, 0);
  RedisClientOptions options = Options();
  options.address.port = ntohs(addr.sin_port);
  CountingListener listener;
  RedisClient client(&loop_, options, &listener);
  ASSERT_TRUE(client.Start().ok());
  ASSERT_TRUE(RunUntil([&] { return client.connected(); }));

  // A bulk string longer than announced.
  int fd = accept(listener_fd, nullptr, nullptr);
  ASSERT_GE(fd, 0);
  std::optional<Result> reply;
  client.Command({"GET", "k"}, [&](Result r) { reply = std::move(r); });
  const std::string bad = "$3\r\nabcd\r\n";
  ASSERT_EQ(send(fd, bad.data(), bad.size(), MSG_NOSIGNAL), static_cast<ssize_t>(bad.size()));
  ASSERT_TRUE(RunUntil([&] { return reply.has_value(); }));
  EXPECT_EQ(reply->status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(reply->status().message().find("malformed reply"), std::string::npos)
      << reply->status();
  EXPECT_EQ(listener.last_reason.code(), absl::StatusCode::kDataLoss);
  close(fd);

  // After reconnecting: a reply to no command.
  ASSERT_TRUE(RunUntil([&] { return client.connected(); }));
  fd = accept(listener_fd, nullptr, nullptr);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(send(fd, "+OK\r\n", 5, MSG_NOSIGNAL), 5);
  ASSERT_TRUE(RunUntil([&] { return listener.disconnected == 2; }));
  EXPECT_EQ(client.stats().protocol_errors, 2u);
  EXPECT_EQ(client.stats().connections, 2u);
  close(fd);
  client.Close();
  close(listener_fd);
}

TEST_F(RedisClientTest, ServerKilledAndRestarted) {
  CountingListener listener;
  auto client = Connected(Options(), &listener);
  auto subscriber = Connected(Options(/*subscriber=*/true));
  std::vector<std::string> messages;
  int activations = 0;
  ASSERT_TRUE(subscriber
                  ->Subscribe(
                      "news",
                      [&](const std::string&, const std::string& m) { messages.push_back(m); },
                      [&] { ++activations; })
                  .ok());
  ASSERT_TRUE(RunUntil([&] { return activations == 1; }));

  // A command the server holds (BLPOP on an empty list) is pending when the server dies.
  std::optional<Result> blocked;
  client->Command({"BLPOP", "empty", "0"}, [&](Result reply) { blocked = std::move(reply); });
  ASSERT_TRUE(RunUntil([&] { return client->pending_commands() == 1; }));
  RunFor(std::chrono::milliseconds(20));  // On the wire.
  server_.Kill();
  ASSERT_TRUE(RunUntil([&] { return blocked.has_value(); }));
  EXPECT_EQ(blocked->status().code(), absl::StatusCode::kUnavailable) << blocked->status();
  EXPECT_NE(blocked->status().message().find("may or may not have run"), std::string::npos);
  EXPECT_EQ(listener.disconnected, 1);
  EXPECT_FALSE(client->connected());
  EXPECT_FALSE(subscriber->subscribed("news"));
  // Meanwhile commands fail at once instead of piling up.
  EXPECT_EQ(Run(*client, {"PING"})->status().code(), absl::StatusCode::kUnavailable);

  RestartServer();
  ASSERT_TRUE(RunUntil([&] { return client->connected() && activations == 2; }));
  EXPECT_EQ(listener.connected, 2);
  EXPECT_EQ(client->stats().connections, 2u);
  EXPECT_EQ(client->stats().disconnections, 1u);
  EXPECT_GE(client->stats().rejected_commands, 1u);
  EXPECT_TRUE(subscriber->subscribed("news"));
  EXPECT_EQ(Run(*client, {"SET", "k", "again"})->value(), Reply::Simple("OK"));
  EXPECT_EQ(Run(*client, {"PUBLISH", "news", "back"})->value(), Reply::Integer(1));
  ASSERT_TRUE(RunUntil([&] { return messages.size() == 1; }));
  EXPECT_EQ(messages[0], "back");
}

TEST_F(RedisClientTest, SubscriberMode) {
  auto client = Connected(Options());
  auto subscriber = Connected(Options(/*subscriber=*/true));
  // Each connection takes only its own kind of command.
  EXPECT_EQ(Run(*subscriber, {"PING"})->status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(client->Subscribe("x", nullptr).code(), absl::StatusCode::kFailedPrecondition);

  std::vector<std::pair<std::string, std::string>> got;
  auto record = [&](const std::string& channel, const std::string& payload) {
    got.emplace_back(channel, payload);
  };
  bool a_active = false;
  bool pattern_active = false;
  ASSERT_TRUE(subscriber->Subscribe("a", record, [&] { a_active = true; }).ok());
  ASSERT_TRUE(subscriber->PSubscribe("room:*", record, [&] { pattern_active = true; }).ok());
  ASSERT_TRUE(RunUntil([&] { return a_active && pattern_active; }));
  EXPECT_TRUE(subscriber->subscribed("a"));

  EXPECT_EQ(Run(*client, {"PUBLISH", "a", "one"})->value(), Reply::Integer(1));
  EXPECT_EQ(Run(*client, {"PUBLISH", "room:7", std::string("two\0\r\n", 6)})->value(),
            Reply::Integer(1));
  ASSERT_TRUE(RunUntil([&] { return got.size() == 2; }));
  EXPECT_EQ(got[0], std::make_pair(std::string("a"), std::string("one")));
  EXPECT_EQ(got[1], std::make_pair(std::string("room:7"), std::string("two\0\r\n", 6)));

  // After Unsubscribe nothing more arrives on "a": "b", subscribed behind it on the same
  // connection, is active only once the server has processed the UNSUBSCRIBE, and a message
  // published to "a" before one to "b" would arrive first.
  subscriber->Unsubscribe("a");
  bool b_active = false;
  ASSERT_TRUE(subscriber->Subscribe("b", record, [&] { b_active = true; }).ok());
  ASSERT_TRUE(RunUntil([&] { return b_active; }));
  EXPECT_EQ(Run(*client, {"PUBLISH", "a", "lost"})->value(), Reply::Integer(0));
  EXPECT_EQ(Run(*client, {"PUBLISH", "b", "three"})->value(), Reply::Integer(1));
  ASSERT_TRUE(RunUntil([&] { return got.size() == 3; }));
  EXPECT_EQ(got[2], std::make_pair(std::string("b"), std::string("three")));
}

TEST_F(RedisClientTest, CloseFromACallback) {
  auto client = Connected(Options());
  std::vector<absl::StatusCode> codes;
  for (int i = 0; i < 5; ++i) {
    client->Command({"PING"}, [&](Result reply) {
      codes.push_back(reply.status().code());
      if (codes.size() == 1) {
        client->Close();
        client->Close();  // Idempotent.
      }
    });
  }
  ASSERT_TRUE(RunUntil([&] { return codes.size() == 5; }));
  EXPECT_EQ(codes[0], absl::StatusCode::kOk);
  for (int i = 1; i < 5; ++i) EXPECT_EQ(codes[i], absl::StatusCode::kCancelled);
  EXPECT_FALSE(client->connected());
  EXPECT_EQ(Run(*client, {"PING"})->status().code(), absl::StatusCode::kCancelled);
}

TEST_F(RedisClientTest, DestroyedFromACallback) {
  auto client = Connected(Options());
  int calls = 0;
  for (int i = 0; i < 5; ++i) {
    client->Command({"PING"}, [&](Result) {
      ++calls;
      client.reset();  // The others are dropped without a call.
    });
  }
  ASSERT_TRUE(RunUntil([&] { return client == nullptr; }));
  RunFor(std::chrono::milliseconds(50));
  EXPECT_EQ(calls, 1);
  // And from a subscriber's handler.
  auto publisher = Connected(Options());
  auto subscriber = Connected(Options(/*subscriber=*/true));
  bool active = false;
  ASSERT_TRUE(subscriber
                  ->Subscribe(
                      "c", [&](const std::string&, const std::string&) { subscriber.reset(); },
                      [&] { active = true; })
                  .ok());
  ASSERT_TRUE(RunUntil([&] { return active; }));
  publisher->Command({"PUBLISH", "c", "1"}, [](Result) {});
  publisher->Command({"PUBLISH", "c", "2"}, [](Result) {});
  EXPECT_TRUE(RunUntil([&] { return subscriber == nullptr; }));
}

// A server with a password for the default user (requirepass) and an ACL user (Redis 6+).
constexpr char kPassword[] = "s3cret pass";  // A space: AUTH's arguments are bulk strings.
constexpr char kAclUser[] = "alice";
constexpr char kAclPassword[] = "pw-of-alice";

class RedisAuthTest : public RedisClientTest {
 protected:
  std::vector<std::string> ServerArgs() const override {
    return {"--requirepass",
            kPassword,
            "--user",
            kAclUser,
            "on",
            std::string(">") + kAclPassword,
            "~*",
            "&*",
            "+@all"};
  }
  RedisClientOptions WithPassword(std::string password, std::string username = "",
                                  bool subscriber = false) const {
    RedisClientOptions options = Options(subscriber);
    options.username = std::move(username);
    options.password = std::move(password);
    return options;
  }
};

TEST_F(RedisAuthTest, RightPasswordCommandsAndSubscriptions) {
  CountingListener listener;
  RedisClient client(&loop_, WithPassword(kPassword), &listener);
  ASSERT_TRUE(client.Start().ok());
  // Issued while connecting: they wait for AUTH's answer and then run.
  std::optional<Result> set;
  client.Command({"SET", "k", "v"}, [&](Result reply) { set = std::move(reply); });
  ASSERT_TRUE(RunUntil([&] { return set.has_value(); }));
  EXPECT_EQ(set->value(), Reply::Simple("OK"));
  EXPECT_TRUE(client.connected());
  EXPECT_EQ(Run(client, {"GET", "k"})->value(), Reply::Bulk("v"));
  EXPECT_EQ(Run(client, {"ACL", "WHOAMI"})->value(), Reply::Bulk("default"));
  EXPECT_EQ(listener.connected, 1);
  EXPECT_EQ(client.stats().connections, 1u);
  EXPECT_EQ(client.stats().auth_failures, 0u);

  auto subscriber = Connected(WithPassword(kPassword, "", /*subscriber=*/true));
  std::vector<std::string> messages;
  bool active = false;
  ASSERT_TRUE(subscriber
                  ->Subscribe(
                      "news",
                      [&](const std::string&, const std::string& m) { messages.push_back(m); },
                      [&] { active = true; })
                  .ok());
  ASSERT_TRUE(RunUntil([&] { return active; }));
  EXPECT_EQ(Run(client, {"PUBLISH", "news", "hello"})->value(), Reply::Integer(1));
  ASSERT_TRUE(RunUntil([&] { return messages.size() == 1; }));
  EXPECT_EQ(messages[0], "hello");
}

TEST_F(RedisAuthTest, AclUser) {
  auto client = Connected(WithPassword(kAclPassword, kAclUser));
  EXPECT_EQ(Run(*client, {"ACL", "WHOAMI"})->value(), Reply::Bulk(kAclUser));
  EXPECT_EQ(Run(*client, {"SET", "k", "alice's"})->value(), Reply::Simple("OK"));
  auto subscriber = Connected(WithPassword(kAclPassword, kAclUser, /*subscriber=*/true));
  bool active = false;
  ASSERT_TRUE(subscriber
                  ->PSubscribe(
                      "room:*", [](auto&, auto&) {}, [&] { active = true; })
                  .ok());
  EXPECT_TRUE(RunUntil([&] { return active; }));
  // The user's password is not the default user's, nor the other way round.
  RedisClient wrong(&loop_, WithPassword(kPassword, kAclUser));
  ASSERT_TRUE(wrong.Start().ok());
  EXPECT_TRUE(RunUntil([&] { return wrong.stats().auth_failures >= 1; }));
  EXPECT_FALSE(wrong.connected());
}

TEST_F(RedisAuthTest, WrongPasswordIsRefusedCountedAndRetried) {
  CountingListener listener;
  RedisClient client(&loop_, WithPassword("not the password"), &listener);
  ASSERT_TRUE(client.Start().ok());
  // Issued while connecting: it fails with the server's reason, and it never ran.
  std::optional<Result> set = Run(client, {"SET", "k", "should not be there"});
  ASSERT_TRUE(set.has_value());
  EXPECT_EQ(set->status().code(), absl::StatusCode::kUnauthenticated) << set->status();
  EXPECT_NE(set->status().message().find("WRONGPASS"), std::string::npos) << set->status();
  EXPECT_EQ(set->status().message().find("not the password"), std::string::npos);
  // Retried with the usual backoff, refused each time, never "connected".
  ASSERT_TRUE(RunUntil([&] { return client.stats().auth_failures >= 3; }));
  EXPECT_FALSE(client.connected());
  EXPECT_EQ(listener.connected, 0);
  EXPECT_EQ(listener.disconnected, 0);
  EXPECT_EQ(client.stats().connections, 0u);
  EXPECT_EQ(client.stats().failed_connects, 0u);  // Auth failures are counted apart.

  // The server's configuration is fixed (here: the password changed to the one the client has):
  // a later attempt gets through, without restarting the client.
  auto admin = Connected(WithPassword(kPassword));
  EXPECT_EQ(Run(*admin, {"EXISTS", "k"})->value(), Reply::Integer(0));
  EXPECT_EQ(Run(*admin, {"CONFIG", "SET", "requirepass", "not the password"})->value(),
            Reply::Simple("OK"));
  ASSERT_TRUE(RunUntil([&] { return client.connected(); }));
  EXPECT_EQ(listener.connected, 1);
  EXPECT_EQ(Run(client, {"PING"})->value(), Reply::Simple("PONG"));
}

TEST_F(RedisAuthTest, NoPasswordGetsNoauth) {
  // The default user without a password: the connection comes up, commands fail with the
  // server's NOAUTH, counted once for the connection.
  auto client = Connected(Options());
  std::optional<Result> get = Run(*client, {"GET", "k"});
  ASSERT_TRUE(get.has_value());
  EXPECT_EQ(get->status().code(), absl::StatusCode::kUnknown);
  EXPECT_NE(get->status().message().find("NOAUTH"), std::string::npos) << get->status();
  EXPECT_NE(Run(*client, {"PING"})->status().message().find("NOAUTH"), std::string::npos);
  EXPECT_EQ(client->stats().auth_failures, 1u);
  // A subscriber's SUBSCRIBE is refused the same way: never active, counted.
  auto subscriber = Connected(Options(/*subscriber=*/true));
  bool active = false;
  ASSERT_TRUE(subscriber
                  ->Subscribe(
                      "news", [](auto&, auto&) {}, [&] { active = true; })
                  .ok());
  EXPECT_TRUE(RunUntil([&] { return subscriber->stats().auth_failures == 1; }));
  RunFor(std::chrono::milliseconds(50));
  EXPECT_FALSE(active);
  EXPECT_FALSE(subscriber->subscribed("news"));
}

TEST_F(RedisAuthTest, ServerRestartedReauthenticates) {
  CountingListener listener;
  auto client = Connected(WithPassword(kAclPassword, kAclUser), &listener);
  auto subscriber = Connected(WithPassword(kPassword, "", /*subscriber=*/true));
  int activations = 0;
  std::vector<std::string> messages;
  ASSERT_TRUE(subscriber
                  ->Subscribe(
                      "news",
                      [&](const std::string&, const std::string& m) { messages.push_back(m); },
                      [&] { ++activations; })
                  .ok());
  ASSERT_TRUE(RunUntil([&] { return activations == 1; }));
  server_.Kill();
  ASSERT_TRUE(RunUntil([&] { return listener.disconnected == 1; }));
  RestartServer();  // The same password and ACL user.
  ASSERT_TRUE(RunUntil([&] { return client->connected() && activations == 2; }));
  EXPECT_EQ(client->stats().connections, 2u);
  EXPECT_EQ(client->stats().auth_failures, 0u);
  EXPECT_EQ(subscriber->stats().auth_failures, 0u);
  EXPECT_EQ(Run(*client, {"ACL", "WHOAMI"})->value(), Reply::Bulk(kAclUser));
  EXPECT_EQ(Run(*client, {"PUBLISH", "news", "back"})->value(), Reply::Integer(1));
  ASSERT_TRUE(RunUntil([&] { return messages.size() == 1; }));
}

// Redis restarted with another password (rotated on the server first): the reconnection is
// refused and counted, and goes through once the server has the client's password again.
TEST_F(RedisAuthTest, RestartedWithAnotherPassword) {
  CountingListener listener;
  auto client = Connected(WithPassword(kPassword), &listener);
  server_.Kill();
  ASSERT_TRUE(RunUntil([&] { return listener.disconnected == 1; }));
  std::string error;
  ASSERT_TRUE(server_.Start(server_.port(), &error, {"--requirepass", "rotated"})) << error;
  ASSERT_TRUE(RunUntil([&] { return client->stats().auth_failures >= 2; }));
  EXPECT_FALSE(client->connected());
  EXPECT_EQ(listener.connected, 1);
  server_.Kill();
  ASSERT_TRUE(server_.Start(server_.port(), &error, ServerArgs())) << error;
  ASSERT_TRUE(RunUntil([&] { return client->connected(); }));
  EXPECT_EQ(listener.connected, 2);
  EXPECT_EQ(Run(*client, {"PING"})->value(), Reply::Simple("PONG"));
}

// A password for a server that has none: Redis refuses the AUTH ("called without any password
// configured"), which is as much a configuration error as a wrong password.
TEST_F(RedisClientTest, PasswordForAServerWithoutOne) {
  RedisClientOptions options = Options();
  options.password = "unneeded";
  RedisClient client(&loop_, options);
  ASSERT_TRUE(client.Start().ok());
  std::optional<Result> ping = Run(client, {"PING"});
  ASSERT_TRUE(ping.has_value());
  EXPECT_EQ(ping->status().code(), absl::StatusCode::kUnauthenticated) << ping->status();
  EXPECT_NE(ping->status().message().find("without any password configured"), std::string::npos)
      << ping->status();
  EXPECT_EQ(ping->status().message().find("unneeded"), std::string::npos);
  EXPECT_GE(client.stats().auth_failures, 1u);
  EXPECT_FALSE(client.connected());
}

// What goes on the wire, seen by a fake server: AUTH alone first, the commands issued while
// connecting only once the server accepted it.
TEST_F(RedisClientTest, AuthGoesFirstAndAlone) {
  sockaddr_in addr;
  const int listener_fd = ListenOnLoopback(16, &addr);
  ASSERT_GE(listener_fd, 0);
  RedisClientOptions options = Options();
  options.address.port = ntohs(addr.sin_port);
  options.username = "u";
  options.password = "p";
  CountingListener listener;
  RedisClient client(&loop_, options, &listener);
  ASSERT_TRUE(client.Start().ok());
  std::optional<Result> reply;
  client.Command({"GET", "k"}, [&](Result r) { reply = std::move(r); });

  int fd = -1;
  ASSERT_TRUE(RunUntil([&] {
    if (fd < 0) fd = accept4(listener_fd, nullptr, nullptr, SOCK_NONBLOCK);
    return fd >= 0;
  }));
  std::string received;
  auto read_some = [&] {
    char buffer[256];
    const ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
    if (n > 0) received.append(buffer, static_cast<size_t>(n));
  };
  const std::string auth = "*3\r\n$4\r\nAUTH\r\n$1\r\nu\r\n$1\r\np\r\n";
  ASSERT_TRUE(RunUntil([&] {
    read_some();
    return received.size() >= auth.size();
  }));
  RunFor(std::chrono::milliseconds(50));
  read_some();
  EXPECT_EQ(received, auth);  // Nothing behind it yet.
  EXPECT_FALSE(client.connected());
  EXPECT_EQ(listener.connected, 0);

  received.clear();
  ASSERT_EQ(send(fd, "+OK\r\n", 5, MSG_NOSIGNAL), 5);
  const std::string get = "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n";
  ASSERT_TRUE(RunUntil([&] {
    read_some();
    return received.size() >= get.size();
  }));
  EXPECT_EQ(received, get);
  EXPECT_TRUE(client.connected());
  EXPECT_EQ(listener.connected, 1);
  ASSERT_EQ(send(fd, "$1\r\nv\r\n", 7, MSG_NOSIGNAL), 7);
  ASSERT_TRUE(RunUntil([&] { return reply.has_value(); }));
  EXPECT_EQ(reply->value(), Reply::Bulk("v"));
  close(fd);
  client.Close();
  close(listener_fd);
}

// A server that accepts the connection and leaves AUTH unanswered: the connect timeout covers
// it, and the attempt is retried like any failed connect.
TEST_F(RedisClientTest, UnansweredAuthTimesOut) {
  sockaddr_in addr;
  const int listener_fd = ListenOnLoopback(16, &addr);
  ASSERT_GE(listener_fd, 0);
  RedisClientOptions options = Options();
  options.address.port = ntohs(addr.sin_port);
  options.password = "p";
  options.connect_timeout = std::chrono::milliseconds(200);
  CountingListener listener;
  RedisClient client(&loop_, options, &listener);
  ASSERT_TRUE(client.Start().ok());
  std::optional<Result> reply = Run(client, {"PING"});
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->status().code(), absl::StatusCode::kDeadlineExceeded) << reply->status();
  EXPECT_NE(reply->status().message().find("AUTH unanswered"), std::string::npos)
      << reply->status();
  EXPECT_EQ(listener.connected, 0);
  EXPECT_EQ(listener.disconnected, 0);
  EXPECT_GE(client.stats().failed_connects, 1u);
  client.Close();
  close(listener_fd);
}

}  // namespace
}  // namespace sb::signaling::cluster
