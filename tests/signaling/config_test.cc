// The control process's settings: embedded defaults, a JSON config file, flags over both.
#include "signaling/config.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

namespace sb::signaling {
namespace {

absl::StatusOr<Config> Parse(std::vector<std::string> args) {
  args.insert(args.begin(), "switchboard");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  return ParseConfig(static_cast<int>(argv.size()), argv.data());
}

TEST(Config, EmbeddedDefaults) {
  auto c = Parse({});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->listen_ip, "127.0.0.1");
  EXPECT_EQ(c->port, 8080);
  EXPECT_EQ(c->rtc_listen_ips, std::vector<std::string>{"127.0.0.1"});
  EXPECT_TRUE(c->announced_ips.empty());
  EXPECT_EQ(c->rtc_port, 40000);  // one per worker, falling back to the range when busy
  EXPECT_FALSE(c->rtc_port_strict);
  EXPECT_EQ(c->rtc_port_min, 40000);
  EXPECT_EQ(c->rtc_port_max, 49999);
  EXPECT_EQ(c->workers, 0);  // one per core
  EXPECT_EQ(c->room_capacity, 16);
}

TEST(Config, FlagsOverrideEveryDefault) {
  auto c = Parse({"--listen=0.0.0.0", "--port", "9000", "--rtc-listen=0.0.0.0,::",
                  "--announced-ip=203.0.113.7", "--announced-ip=2001:db8::7,192.0.2.7",
                  "--rtc-port=45000", "--rtc-ports=41000-41999", "--workers=3", "--room-capacity=4",
                  "--log-level=debug", "--web-root=/srv/web", "--worker-binary=/opt/sb/worker"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->listen_ip, "0.0.0.0");
  EXPECT_EQ(c->port, 9000);
  EXPECT_EQ(c->rtc_listen_ips, (std::vector<std::string>{"0.0.0.0", "::"}));
  EXPECT_EQ(c->AnnouncedFor("0.0.0.0"), (std::vector<std::string>{"203.0.113.7", "192.0.2.7"}));
  EXPECT_EQ(c->AnnouncedFor("::"), std::vector<std::string>{"2001:db8::7"});
  EXPECT_EQ(c->rtc_port, 45000);
  EXPECT_TRUE(c->rtc_port_strict);
  EXPECT_EQ(c->rtc_port_min, 41000);
  EXPECT_EQ(c->rtc_port_max, 41999);
  EXPECT_EQ(c->workers, 3);
  EXPECT_EQ(c->room_capacity, 4);
  EXPECT_EQ(c->log_level, log::Level::kDebug);
  EXPECT_EQ(c->web_root, "/srv/web");
  EXPECT_EQ(c->worker_binary, "/opt/sb/worker");
}

TEST(Config, BadValuesNameTheFlag) {
  struct Case {
    std::string arg, expect;
  } cases[] = {
      {"--port=70000", "--port"},
      {"--port=abc", "--port"},
      {"--listen=localhost", "--listen"},
      {"--rtc-ports=5-1", "--rtc-ports"},
      {"--rtc-ports=40000", "--rtc-ports"},
      {"--workers=0", "--workers"},
      {"--room-capacity=-1", "--room-capacity"},
      {"--log-level=loud", "--log-level"},
      {"--nonsense=1", "--nonsense"},
      {"--auth-secret=short", "--auth-secret"},
      {"--allowed-origins=meet.example.com", "--allowed-origins"},
      {"--allowed-origins=https://meet.example.com/app", "--allowed-origins"},
      {"--allowed-origins=,", "--allowed-origins"},
      {"stray", "stray"},
  };
  for (const auto& c : cases) {
    auto r = Parse({c.arg});
    ASSERT_FALSE(r.ok()) << c.arg;
    EXPECT_TRUE(absl::IsInvalidArgument(r.status())) << c.arg;
    EXPECT_NE(std::string(r.status().message()).find(c.expect), std::string::npos)
        << c.arg << ": " << r.status();
  }
  EXPECT_FALSE(Parse({"--port"}).ok());  // a flag without its value
}

TEST(Config, HelpListsEveryFlag) {
  auto r = Parse({"--help"});
  ASSERT_TRUE(absl::IsNotFound(r.status()));
  const std::string help(r.status().message());
  for (const char* flag : {"--listen",
                           "--port",
                           "--rtc-listen",
                           "--announced-ip",
                           "--rtc-ports",
                           "--workers",
                           "--room-capacity",
                           "--log-level",
                           "--config",
                           "--auth-secret",
                           "--allowed-origins",
                           "--tls-cert",
                           "--tls-key",
                           "--tls-self-signed",
                           "--turn-url",
                           "--turn-secret",
                           "--turn-ttl",
                           "--redis",
                           "--redis-user",
                           "--redis-password-file",
                           "SWITCHBOARD_REDIS_PASSWORD",
                           "switchboard token"}) {
    EXPECT_NE(help.find(flag), std::string::npos) << flag;
  }
}

TEST(Config, AuthSecretAndAllowedOrigins) {
  auto open = Parse({});
  ASSERT_TRUE(open.ok());
  EXPECT_TRUE(open->auth_secret.empty());      // no secret: no tokens needed
  EXPECT_TRUE(open->allowed_origins.empty());  // the server's own origin
  const std::string secret(32, 's');
  auto c = Parse({"--auth-secret=" + secret,
                  "--allowed-origins=https://Meet.Example.com:443, http://127.0.0.1:8080"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->auth_secret, secret);
  EXPECT_EQ(c->allowed_origins,
            (std::vector<std::string>{"https://meet.example.com", "http://127.0.0.1:8080"}));
  auto any = Parse({"--allowed-origins=*"});
  ASSERT_TRUE(any.ok()) << any.status();
  EXPECT_EQ(any->allowed_origins, std::vector<std::string>{"*"});
}

TEST(Config, Tls) {
  auto plain = Parse({});
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain->tls());
  // A switch: alone it means on, and it takes no value from the next argument.
  auto self_signed = Parse({"--tls-self-signed", "--port=8443"});
  ASSERT_TRUE(self_signed.ok()) << self_signed.status();
  EXPECT_TRUE(self_signed->tls_self_signed);
  EXPECT_TRUE(self_signed->tls());
  EXPECT_EQ(self_signed->port, 8443);
  auto off = Parse({"--tls-self-signed=false"});
  ASSERT_TRUE(off.ok()) << off.status();
  EXPECT_FALSE(off->tls());

  const std::string cert = testing::TempDir() + "/sb_config_test_cert.pem";
  const std::string key = testing::TempDir() + "/sb_config_test_key.pem";
  std::ofstream(cert) << "cert";
  std::ofstream(key) << "key";
  auto files = Parse({"--tls-cert=" + cert, "--tls-key=" + key});
  ASSERT_TRUE(files.ok()) << files.status();
  EXPECT_EQ(files->tls_cert_file, cert);
  EXPECT_EQ(files->tls_key_file, key);
  EXPECT_TRUE(files->tls());
  EXPECT_FALSE(Parse({"--tls-cert=" + cert}).ok());  // needs its key
  EXPECT_FALSE(Parse({"--tls-cert=/nonexistent/cert.pem", "--tls-key=" + key}).ok());
  EXPECT_FALSE(Parse({"--tls-cert=" + cert, "--tls-key=" + key, "--tls-self-signed"}).ok());

  const std::string path = testing::TempDir() + "/sb_config_test_tls.json";
  std::ofstream(path) << R"({"tls-self-signed": true})";
  auto from_file = Parse({"--config=" + path});
  ASSERT_TRUE(from_file.ok()) << from_file.status();
  EXPECT_TRUE(from_file->tls_self_signed);
  for (const std::string& p : {cert, key, path}) std::remove(p.c_str());
}

TEST(Config, Turn) {
  auto none = Parse({});
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->turn_urls.empty());  // no relay: joined carries no iceServers
  EXPECT_EQ(none->turn_ttl_seconds, 86400);

  const std::string secret = "north-relay-secret-0123456789";
  // Comma-separated and repeated add up; each is normalized.
  auto c =
      Parse({"--turn-url=TURN:192.0.2.3:3478?transport=udp, turn:192.0.2.3:3478?transport=tcp",
             "--turn-secret", secret, "--turn-url=turns:turn.example.com:5349", "--turn-ttl=3600"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->turn_urls, (std::vector<std::string>{"turn:192.0.2.3:3478?transport=udp",
                                                    "turn:192.0.2.3:3478?transport=tcp",
                                                    "turns:turn.example.com:5349"}));
  EXPECT_EQ(c->turn_secret, secret);
  EXPECT_EQ(c->turn_ttl_seconds, 3600);

  // Each needs the other.
  EXPECT_FALSE(Parse({"--turn-url=turn:192.0.2.3"}).ok());
  EXPECT_FALSE(Parse({"--turn-secret=" + secret}).ok());
  EXPECT_FALSE(
      Parse({"--turn-url=turn:192.0.2.3", "--turn-secret=" + secret, "--turn-ttl=10"}).ok());

  // A bad URL names the flag and the URL; a bad secret is never repeated in the message.
  auto bad_url = Parse({"--turn-url=turn:192.0.2.3,turn://192.0.2.4", "--turn-secret=" + secret});
  ASSERT_FALSE(bad_url.ok());
  EXPECT_NE(bad_url.status().message().find("--turn-url"), std::string::npos);
  EXPECT_NE(bad_url.status().message().find("turn://192.0.2.4"), std::string::npos);
  auto short_secret = Parse({"--turn-url=turn:192.0.2.3", "--turn-secret=tooshort-secret"});
  ASSERT_FALSE(short_secret.ok());
  EXPECT_NE(short_secret.status().message().find("--turn-secret"), std::string::npos);
  EXPECT_EQ(short_secret.status().message().find("tooshort-secret"), std::string::npos);

  // In a config file, a list or one comma-separated string; flags replace the file's list.
  const std::string path = testing::TempDir() + "/sb_config_test_turn.json";
  {
    std::ofstream out(path);
    out << R"({"turn-url": ["turn:192.0.2.3:3478?transport=udp", "turn:192.0.2.3?transport=tcp"],
               "turn-secret": "north-relay-secret-0123456789", "turn-ttl": 7200})";
  }
  auto file = Parse({"--config=" + path});
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ(file->turn_urls, (std::vector<std::string>{"turn:192.0.2.3:3478?transport=udp",
                                                       "turn:192.0.2.3?transport=tcp"}));
  EXPECT_EQ(file->turn_secret, secret);
  EXPECT_EQ(file->turn_ttl_seconds, 7200);
  auto replaced = Parse({"--config=" + path, "--turn-url=turn:192.0.2.9"});
  ASSERT_TRUE(replaced.ok()) << replaced.status();
  EXPECT_EQ(replaced->turn_urls, std::vector<std::string>{"turn:192.0.2.9"});
  {
    std::ofstream out(path);
    out << R"({"turn-url": ["turn:192.0.2.3", 7], "turn-secret": "north-relay-secret-0123456789"})";
  }
  EXPECT_FALSE(Parse({"--config=" + path}).ok());
  std::remove(path.c_str());
}

TEST(Config, ListenAndAnnouncedAddressesPerFamily) {
  // One socket per family: two IPv4 listen addresses are refused (listen on 0.0.0.0 instead).
  EXPECT_FALSE(Parse({"--rtc-listen=192.0.2.1,192.0.2.2"}).ok());
  EXPECT_FALSE(Parse({"--rtc-listen=not-an-ip"}).ok());
  // An IPv6 address to announce needs an IPv6 socket to receive what is sent to it.
  auto c = Parse({"--announced-ip=2001:db8::1"});
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("IPv6"), std::string::npos) << c.status();
  EXPECT_FALSE(Parse({"--announced-ip=192.0.2.1,192.0.2.2,192.0.2.3,192.0.2.4,192.0.2.5"}).ok());
  c = Parse({"--rtc-listen=::1"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(c->AnnouncedFor("::1").empty());
  // A config file's list is the comma-separated list.
  const std::string path = testing::TempDir() + "/sb_config_list.json";
  {
    std::ofstream out(path);
    out << R"({"rtc-listen": ["127.0.0.1", "::1"], "announced-ip": ["192.0.2.9"]})";
  }
  c = Parse({"--config=" + path});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->rtc_listen_ips, (std::vector<std::string>{"127.0.0.1", "::1"}));
  EXPECT_EQ(c->AnnouncedFor("127.0.0.1"), std::vector<std::string>{"192.0.2.9"});
  std::remove(path.c_str());
}

TEST(Config, ConfigFileThenFlags) {
  const std::string path = testing::TempDir() + "/sb_config_test.json";
  {
    std::ofstream out(path);
    out << R"({"port": 9100, "room-capacity": 5, "announced-ip": "198.51.100.2"})";
  }
  auto c = Parse({"--config=" + path, "--port=9200"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->port, 9200);  // the later flag wins
  EXPECT_EQ(c->room_capacity, 5);
  EXPECT_EQ(c->announced_ips, std::vector<std::string>{"198.51.100.2"});

  {
    std::ofstream out(path);
    out << R"({"room-size": 5})";
  }
  auto bad_key = Parse({"--config=" + path});
  ASSERT_FALSE(bad_key.ok());
  EXPECT_NE(std::string(bad_key.status().message()).find("room-size"), std::string::npos);
  {
    std::ofstream out(path);
    out << "[1, 2";
  }
  EXPECT_FALSE(Parse({"--config=" + path}).ok());
  EXPECT_FALSE(Parse({"--config=/nonexistent/sb.json"}).ok());
  std::remove(path.c_str());
}

// The environment variable for one test, restored (unset) when it ends.
class ScopedRedisPasswordEnv {
 public:
  explicit ScopedRedisPasswordEnv(const char* value) { setenv(kRedisPasswordEnv, value, 1); }
  ~ScopedRedisPasswordEnv() { unsetenv(kRedisPasswordEnv); }
};

TEST(Config, Redis) {
  unsetenv(kRedisPasswordEnv);
  auto alone = Parse({});
  ASSERT_TRUE(alone.ok());
  EXPECT_TRUE(alone->redis.empty());
  EXPECT_TRUE(alone->redis_user.empty());
  EXPECT_TRUE(alone->redis_password.empty());  // no AUTH

  auto plain = Parse({"--redis=192.0.2.10:6379", "--node-id=sfu-1", "--node-address=192.0.2.1"});
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_EQ(plain->redis, "192.0.2.10:6379");
  EXPECT_EQ(plain->node_id, "sfu-1");
  EXPECT_EQ(plain->node_address, "192.0.2.1");
  EXPECT_TRUE(plain->redis_password.empty());

  // The password file's first line, its line end stripped (\n or \r\n); the rest is ignored.
  const std::string file = testing::TempDir() + "/sb_config_test_redis_password";
  std::ofstream(file) << "pass word\r\nsecond line\n";
  auto with_file =
      Parse({"--redis=127.0.0.1:6379", "--redis-user=sfu", "--redis-password-file=" + file});
  ASSERT_TRUE(with_file.ok()) << with_file.status();
  EXPECT_EQ(with_file->redis_user, "sfu");
  EXPECT_EQ(with_file->redis_password, "pass word");
  std::ofstream(file) << "no-newline";
  auto no_newline = Parse({"--redis=127.0.0.1:6379", "--redis-password-file", file});
  ASSERT_TRUE(no_newline.ok()) << no_newline.status();
  EXPECT_EQ(no_newline->redis_password, "no-newline");
  EXPECT_TRUE(no_newline->redis_user.empty());  // the default user (requirepass)

  // The same keys in a config file.
  const std::string json = testing::TempDir() + "/sb_config_test_redis.json";
  std::ofstream(json) << R"({"redis": "127.0.0.1:6380", "redis-user": "alice", )"
                      << R"("redis-password-file": ")" << file << R"("})";
  auto from_json = Parse({"--config=" + json});
  ASSERT_TRUE(from_json.ok()) << from_json.status();
  EXPECT_EQ(from_json->redis, "127.0.0.1:6380");
  EXPECT_EQ(from_json->redis_user, "alice");
  EXPECT_EQ(from_json->redis_password, "no-newline");

  // Unreadable, empty, or an empty first line: clear errors naming the flag, never the content.
  struct Bad {
    std::vector<std::string> args;
    std::string content;  // written to `file` first
    std::string expect;
  } bad[] = {
      {{"--redis=127.0.0.1:6379", "--redis-password-file=/nonexistent/pw"}, "", "cannot read"},
      {{"--redis=127.0.0.1:6379", "--redis-password-file=" + file}, "", "no password"},
      {{"--redis=127.0.0.1:6379", "--redis-password-file=" + file}, "\nhidden", "no password"},
      {{"--redis=127.0.0.1:6379", "--redis-password-file=" + file},
       std::string(5000, 'x'),
       "longer than"},
      {{"--redis=127.0.0.1:6379", "--redis-user=a b", "--redis-password-file=" + file},
       "pw",
       "--redis-user"},
      {{"--redis=127.0.0.1:6379", "--redis-user=sfu"}, "", "--redis-user needs a password"},
      {{"--redis-password-file=" + file}, "pw", "need --redis"},
      {{"--redis-user=sfu", "--redis-password-file=" + file}, "pw", "need --redis"},
  };
  for (const Bad& b : bad) {
    std::ofstream(file) << b.content;
    auto r = Parse(b.args);
    ASSERT_FALSE(r.ok()) << b.args.back();
    EXPECT_TRUE(absl::IsInvalidArgument(r.status())) << r.status();
    EXPECT_NE(r.status().message().find(b.expect), std::string::npos) << r.status();
    EXPECT_EQ(r.status().message().find("hidden"), std::string::npos) << r.status();
  }
  std::remove(file.c_str());
  std::remove(json.c_str());
}

TEST(Config, RedisPasswordFromTheEnvironment) {
  {
    ScopedRedisPasswordEnv env("from-env");
    auto c = Parse({"--redis=127.0.0.1:6379", "--redis-user=alice"});
    ASSERT_TRUE(c.ok()) << c.status();
    EXPECT_EQ(c->redis_password, "from-env");
    EXPECT_EQ(c->redis_user, "alice");
    // A node alone ignores it.
    auto alone = Parse({});
    ASSERT_TRUE(alone.ok()) << alone.status();
    EXPECT_TRUE(alone->redis_password.empty());
    // With a file as well: which one was meant is not clear.
    const std::string file = testing::TempDir() + "/sb_config_test_redis_password_env";
    std::ofstream(file) << "from-file\n";
    auto both = Parse({"--redis=127.0.0.1:6379", "--redis-password-file=" + file});
    ASSERT_FALSE(both.ok());
    EXPECT_NE(both.status().message().find(kRedisPasswordEnv), std::string::npos);
    EXPECT_EQ(both.status().message().find("from-"), std::string::npos) << both.status();
    std::remove(file.c_str());
  }
  {
    ScopedRedisPasswordEnv env("");
    auto empty = Parse({"--redis=127.0.0.1:6379"});
    ASSERT_FALSE(empty.ok());
    EXPECT_NE(empty.status().message().find("empty"), std::string::npos) << empty.status();
  }
}

}  // namespace
}  // namespace sb::signaling
