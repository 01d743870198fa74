// An asynchronous Redis client on the caller's libuv loop: one TCP connection (IPv4), commands
// pipelined with their replies matched in order, AUTH on every (re)connection when a password is
// configured, reconnection with backoff, and a separate subscriber mode for SUBSCRIBE/PSUBSCRIBE.
// Nothing blocks; every result arrives in a callback. The link is plain TCP (no TLS).
#pragma once

#include <uv.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "base/uv_timer.h"
#include "signaling/cluster/resp.h"

namespace sb::signaling::cluster {

struct RedisAddress {
  std::string host;  // An IPv4 literal.
  uint16_t port = 0;
};
// "HOST:PORT" as --redis takes it, e.g. "127.0.0.1:6379".
absl::StatusOr<RedisAddress> ParseRedisAddress(absl::string_view text);

struct RedisClientOptions {
  RedisAddress address{"127.0.0.1", 6379};  // Redis's default port.
  // A subscriber connection takes (P)SUBSCRIBE only (RESP2 allows nothing else once subscribed);
  // a command connection takes everything else.
  bool subscriber = false;
  // With a password, every connection starts with AUTH [username] password (Redis 6 ACL users;
  // no username: the default user, as with requirepass) and nothing else is sent before the
  // server accepts it. Neither is ever logged.
  std::string username;
  std::string password;
  // A connect (and its AUTH) that has not completed by then is abandoned and retried.
  std::chrono::milliseconds connect_timeout{2000};
  // A command unanswered this long means the server or the path to it hangs: the connection is
  // dropped (and retried) so that callers hear of it. Blocking commands must wait less.
  std::chrono::milliseconds command_timeout{5000};
  // Reconnection waits min_backoff, doubling up to max_backoff, each +-20% so that many nodes
  // do not reconnect in step after Redis comes back.
  std::chrono::milliseconds min_backoff{100};
  std::chrono::milliseconds max_backoff{5000};
  // Commands written or waiting to be written, not yet answered: past it a command fails at
  // once (Redis down or slow; the directory sends a few per second).
  size_t max_pending_commands = 10000;
  std::string name = "redis";  // In log lines.
  ParserLimits limits;
};

// Counted for metrics: how often the connection to Redis broke, and why.
struct RedisClientStats {
  uint64_t connections = 0;        // Established, the first and every reconnection.
  uint64_t failed_connects = 0;    // Refused, unreachable or timed out (not AUTH: below).
  uint64_t disconnections = 0;     // Established connections that broke.
  uint64_t protocol_errors = 0;    // Malformed or unexpected replies (the connection dropped).
  uint64_t command_timeouts = 0;   // Connections dropped for an unanswered command.
  uint64_t rejected_commands = 0;  // Failed at once: not connected, or too many pending.
  // AUTH refused (WRONGPASS, no password set on the server; the connection dropped and retried),
  // or, with no password configured, a connection whose commands the server refused with
  // NOAUTH (counted once per connection).
  uint64_t auth_failures = 0;
};

class RedisClient {
 public:
  class Listener {
   public:
    virtual ~Listener() = default;
    // The connection is up (again); a subscriber has sent its subscriptions again.
    virtual void OnRedisConnected(RedisClient* client) = 0;
    // An established connection broke (not called for failed attempts or for Close()).
    virtual void OnRedisDisconnected(RedisClient* client, const absl::Status& reason) = 0;
  };
  // The reply, or: a Redis error reply as kUnknown ("redis: ERR ...", "redis: NOAUTH ..." from a
  // server that wants a password none was configured for); kUnavailable when the connection
  // broke or is being re-established (a written command may or may not have run);
  // kUnauthenticated when the server refused AUTH on the connection the command waited for;
  // kDeadlineExceeded for a connect or command timeout; kResourceExhausted when too many
  // commands are pending; kCancelled after Close(); kFailedPrecondition before Start() or on a
  // subscriber connection; kInvalidArgument for an empty command.
  using ReplyCallback = std::function<void(absl::StatusOr<Reply>)>;
  using MessageHandler =
      std::function<void(const std::string& channel, const std::string& payload)>;

  RedisClient(uv_loop_t* loop, RedisClientOptions options, Listener* listener = nullptr);
  // Drops pending callbacks without calling them; may run inside one of this client's callbacks.
  ~RedisClient();
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  // Connects, and keeps reconnecting until Close(). InvalidArgument for a bad address.
  absl::Status Start();
  // Sends a command (pipelined behind those not yet answered). The callback never runs inside
  // this call; commands issued while the connection is being (re)established fail with
  // kUnavailable, except those issued while connecting, which wait for the outcome.
  void Command(std::vector<std::string> args, ReplyCallback callback);
  // MULTI, the commands, EXEC, queued as one (never split by the pending bound): the callback
  // gets EXEC's array of replies, or the first error among them as a status.
  void Transaction(std::vector<std::vector<std::string>> commands, ReplyCallback callback);

  // Subscriber mode only. The handler gets every message on the channel (or on channels
  // matching the pattern); `on_active` runs each time the server confirms the subscription,
  // the first time and after every reconnection (messages published while disconnected are
  // lost: resynchronise there).
  absl::Status Subscribe(const std::string& channel, MessageHandler handler,
                         std::function<void()> on_active = nullptr);
  absl::Status PSubscribe(const std::string& pattern, MessageHandler handler,
                          std::function<void()> on_active = nullptr);
  void Unsubscribe(const std::string& channel);
  void PUnsubscribe(const std::string& pattern);
  // Confirmed by the server on the current connection.
  bool subscribed(const std::string& channel) const;

  // Disconnects for good; pending commands fail with kCancelled (from this call). Safe inside
  // any of this client's callbacks; idempotent.
  void Close();

  bool connected() const { return state_ == State::kConnected; }
  size_t pending_commands() const { return awaiting_.size(); }
  const RedisClientStats& stats() const { return stats_; }
  const RedisClientOptions& options() const { return options_; }

 private:
  // kAuthenticating: connected, AUTH sent, its answer awaited (commands wait as when connecting).
  enum class State {
    kIdle,
    kConnecting,
    kAuthenticating,
    kConnected,
    kWaitingToReconnect,
    kClosed
  };
  struct Awaiting {
    ReplyCallback callback;  // Empty for MULTI and the commands inside it.
    uint64_t issued_ms = 0;  // uv_now when issued, for command_timeout.
  };
  struct Subscription {
    MessageHandler handler;
    std::function<void()> on_active;
    bool active = false;
  };
  struct WriteRequest;

  static void OnConnect(uv_connect_t* request, int status);
  static void OnAlloc(uv_handle_t* handle, size_t suggested, uv_buf_t* buffer);
  static void OnRead(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buffer);
  static void OnWrite(uv_write_t* request, int status);

  void Connect();
  void Connected();
  // The connection may carry commands (after AUTH, when there is a password).
  void Ready();
  void HandleAuthReply(const Reply& reply);
  // An error reply: NOAUTH means the server wants a password and none is configured.
  void NoteError(const std::string& error);
  // A connect attempt failed, or an established connection broke.
  void ConnectFailed(const absl::Status& status);
  void Drop(const absl::Status& status);
  void CloseConnection();
  void ScheduleReconnect();
  void Flush();
  // Hands `bytes` to libuv (one write in flight; Flush sends what queued meanwhile).
  void Write(std::string bytes);
  void ProcessReplies();
  void HandleReply(Reply reply);
  void HandlePush(Reply reply);
  void CheckCommandTimeout();
  // OK when `count` more commands may be queued now.
  absl::Status CanQueue(size_t count) const;
  void Queue(const std::vector<std::string>& args, ReplyCallback callback);
  void FailAll(const absl::Status& status);
  void Defer(ReplyCallback callback, absl::Status status);
  void RunDeferred();
  void SendSubscribe(const char* command, const std::string& name);
  std::string Describe() const;

  // Passed by argument.
  uv_loop_t* const loop_;
  const RedisClientOptions options_;
  Listener* const listener_;

  // Allocated by this.
  State state_ = State::kIdle;
  sockaddr_in address_{};
  uv_tcp_t* tcp_ = nullptr;  // The current connection; freed by its close callback.
  std::optional<ReplyParser> parser_;
  std::vector<char> read_buffer_;
  std::string outgoing_;  // Encoded commands not yet handed to libuv.
  bool writing_ = false;  // One write in flight at a time; later commands are coalesced.
  std::deque<Awaiting> awaiting_;
  std::deque<std::pair<ReplyCallback, absl::Status>> deferred_;
  absl::flat_hash_map<std::string, Subscription> channels_;
  absl::flat_hash_map<std::string, Subscription> patterns_;
  std::chrono::milliseconds backoff_;
  bool logged_failure_ = false;       // One warning per outage, not one per attempt.
  bool logged_auth_failure_ = false;  // One error until AUTH succeeds, not one per attempt.
  bool noauth_seen_ = false;          // On this connection: counted and logged once.
  RedisClientStats stats_;
  UvTimer connect_timer_;
  UvTimer reconnect_timer_;
  UvTimer deferred_timer_;
  UvTimer command_timer_;
  // Expires when this client is destroyed: a loop that runs user callbacks checks it after each
  // one, since a callback may destroy the client (shared only to hand out weak references).
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace sb::signaling::cluster
