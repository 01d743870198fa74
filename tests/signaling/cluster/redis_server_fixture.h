// A real redis-server (Debian's /usr/bin/redis-server) on 127.0.0.1 and a free port, started
// by the test as a child process (with the test's extra arguments, e.g. --requirepass) and killed
// when it ends, plus a libuv loop to drive clients.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "tests/signaling/workers/loop_fixture.h"

namespace sb::signaling::cluster::testing {

inline constexpr char kRedisServer[] = "/usr/bin/redis-server";

// A port nothing listens on right now (the kernel's pick for an ephemeral bind).
inline uint16_t FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t size = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &size);
  close(fd);
  return ntohs(addr.sin_port);
}

class RedisServer {
 public:
  RedisServer() {
    char tmpl[] = "/tmp/sb_redis_XXXXXX";
    if (mkdtemp(tmpl) != nullptr) dir_ = tmpl;
  }
  ~RedisServer() {
    Kill();
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  // Starts redis-server on `port` with `extra_args` after the fixture's own (e.g. {"--requirepass",
  // "secret"}, or {"--user", "alice", "on", ">pw", "~*", "&*", "+@all"} for an ACL user) and waits
  // until it answers PING; false (with the log in `error`) if it does not within 10 s.
  bool Start(uint16_t port, std::string* error, std::vector<std::string> extra_args = {}) {
    port_ = port;
    extra_args_ = std::move(extra_args);
    pid_ = fork();
    if (pid_ < 0) return false;
    if (pid_ == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);  // No server left behind by a crashed test.
      FILE* log = std::fopen((dir_ + "/redis.log").c_str(), "a");
      if (log != nullptr) {
        dup2(fileno(log), STDOUT_FILENO);
        dup2(fileno(log), STDERR_FILENO);
      }
      std::vector<std::string> args = {kRedisServer, "--port",       std::to_string(port),
                                       "--bind",     "127.0.0.1",    "--save",
                                       "",           "--appendonly", "no",
                                       "--dir",      dir_,           "--loglevel",
                                       "warning"};
      args.insert(args.end(), extra_args_.begin(), extra_args_.end());
      std::vector<char*> argv;
      for (std::string& arg : args) argv.push_back(arg.data());
      argv.push_back(nullptr);
      execv(kRedisServer, argv.data());
      _exit(127);
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      if (Ping()) return true;
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    *error = "redis-server did not start on port " + std::to_string(port) + ":\n" + Log();
    Kill();
    return false;
  }

  // SIGKILL, as a crash or a lost host would look to its clients.
  void Kill() {
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

  uint16_t port() const { return port_; }
  // Those of the last Start: a restart keeps the server's configuration.
  const std::vector<std::string>& extra_args() const { return extra_args_; }

  std::string Log() const {
    std::ifstream in(dir_ + "/redis.log");
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

 private:
  // A blocking PING on a fresh connection: PONG, or NOAUTH from a server that wants a password
  // (it is up all the same).
  bool Ping() const {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{1, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port_);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = false;
    if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
      const std::string ping = "*1\r\n$4\r\nPING\r\n";
      char reply[64] = {};
      ok = send(fd, ping.data(), ping.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(ping.size()) &&
           recv(fd, reply, sizeof(reply) - 1, 0) > 0 &&
           (std::string(reply) == "+PONG\r\n" || std::string(reply).rfind("-NOAUTH", 0) == 0);
    }
    close(fd);
    return ok;
  }

  std::string dir_;
  std::vector<std::string> extra_args_;
  uint16_t port_ = 0;
  pid_t pid_ = -1;
};

// A loop test with a redis-server started for each test (skipped when Redis is not installed).
class RedisTest : public sb::signaling::testing::LoopTest {
 protected:
  void SetUp() override {
    if (access(kRedisServer, X_OK) != 0) GTEST_SKIP() << kRedisServer << " is not installed";
    std::string error;
    // Another process may take the free port between the pick and the bind: try a few.
    for (int attempt = 0; attempt < 3; ++attempt) {
      if (server_.Start(FreePort(), &error, ServerArgs())) return;
    }
    FAIL() << error;
  }
  void TearDown() override { server_.Kill(); }

  // Arguments for every server the fixture starts (e.g. a password); none by default.
  virtual std::vector<std::string> ServerArgs() const { return {}; }

  // The same port and arguments.
  void RestartServer() {
    std::string error;
    ASSERT_TRUE(server_.Start(server_.port(), &error, server_.extra_args())) << error;
  }

  // Runs the loop until `start(callback)` has called its callback; the value it got.
  template <typename T>
  std::optional<T> Await(const std::function<void(std::function<void(T)>)>& start,
                         std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    // Shared: a callback that comes after the timeout must not write into a finished frame.
    auto result = std::make_shared<std::optional<T>>();
    start([result](T value) { result->emplace(std::move(value)); });
    RunUntil([&] { return result->has_value(); }, timeout);
    return *result;
  }

  RedisServer server_;
};

}  // namespace sb::signaling::cluster::testing
