#include "signaling/cluster/redis_client.h"

#include <arpa/inet.h>

#include <algorithm>
#include <random>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "base/log.h"

namespace sb::signaling::cluster {
namespace {

// One read: as much as a socket usually has ready, and what libuv suggests.
constexpr size_t kReadBufferBytes = size_t{64} << 10;

absl::Status UvError(absl::string_view what, int code) {
  return absl::UnavailableError(absl::StrCat(what, ": ", uv_strerror(code)));
}

bool IsString(const Reply& reply) { return reply.is_string(); }

bool StartsWith(const std::string& text, absl::string_view prefix) {
  return absl::string_view(text).substr(0, prefix.size()) == prefix;
}

}  // namespace

absl::StatusOr<RedisAddress> ParseRedisAddress(absl::string_view text) {
  const size_t colon = text.rfind(':');
  if (colon == absl::string_view::npos) {
    return absl::InvalidArgumentError("a Redis address is HOST:PORT (an IPv4 address and a port)");
  }
  RedisAddress address;
  address.host = std::string(text.substr(0, colon));
  in_addr ignored{};
  if (inet_pton(AF_INET, address.host.c_str(), &ignored) != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("a Redis host must be an IPv4 address: \"", address.host, "\""));
  }
  uint32_t port = 0;
  if (!absl::SimpleAtoi(text.substr(colon + 1), &port) || port == 0 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("a Redis port must be 1-65535: \"", text.substr(colon + 1), "\""));
  }
  address.port = static_cast<uint16_t>(port);
  return address;
}

struct RedisClient::WriteRequest {
  uv_write_t request;  // First: the uv_write_t* libuv hands back is this struct.
  std::string bytes;
};

RedisClient::RedisClient(uv_loop_t* loop, RedisClientOptions options, Listener* listener)
    : loop_(loop),
      options_(std::move(options)),
      listener_(listener),
      read_buffer_(kReadBufferBytes),
      backoff_(options_.min_backoff),
      connect_timer_(
          loop,
          [this] {
            ConnectFailed(absl::DeadlineExceededError(absl::StrCat(
                state_ == State::kAuthenticating ? "AUTH unanswered by " : "no connection to ",
                Describe(), " within ", options_.connect_timeout.count(), " ms")));
          }),
      reconnect_timer_(loop, [this] { Connect(); }),
      deferred_timer_(loop, [this] { RunDeferred(); }),
      command_timer_(loop, [this] { CheckCommandTimeout(); }) {}

RedisClient::~RedisClient() {
  alive_.reset();
  state_ = State::kClosed;
  CloseConnection();
}

std::string RedisClient::Describe() const {
  return absl::StrCat(options_.name, " (redis ", options_.address.host, ":", options_.address.port,
                      ")");
}

absl::Status RedisClient::Start() {
  if (state_ != State::kIdle) return absl::FailedPreconditionError("already started");
  if (uv_ip4_addr(options_.address.host.c_str(), options_.address.port, &address_) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("a Redis host must be an IPv4 address: \"", options_.address.host, "\""));
  }
  Connect();
  return absl::OkStatus();
}

void RedisClient::Connect() {
  state_ = State::kConnecting;
  auto tcp = std::make_unique<uv_tcp_t>();
  uv_tcp_init(loop_, tcp.get());
  tcp->data = this;
  tcp_ = tcp.release();
  auto request = std::make_unique<uv_connect_t>();
  const int rc = uv_tcp_connect(request.get(), tcp_, reinterpret_cast<const sockaddr*>(&address_),
                                &RedisClient::OnConnect);
  if (rc != 0) {
    ConnectFailed(UvError(absl::StrCat("connect to ", Describe()), rc));
    return;
  }
  request.release();  // Freed by OnConnect, which libuv always calls.
  connect_timer_.Start(static_cast<uint64_t>(options_.connect_timeout.count()));
}

void RedisClient::OnConnect(uv_connect_t* request, int status) {
  std::unique_ptr<uv_connect_t> owned(request);
  auto* self = static_cast<RedisClient*>(request->handle->data);
  if (self == nullptr) return;  // That connection was closed (timeout, Close, destruction).
  // With a password the connect timeout also covers AUTH's answer: a server that accepts and
  // then never answers is another attempt, not a hung established connection.
  if (self->options_.password.empty()) self->connect_timer_.Stop();
  if (status < 0) {
    self->ConnectFailed(UvError(absl::StrCat("connect to ", self->Describe()), status));
    return;
  }
  self->Connected();
}

void RedisClient::Connected() {
  parser_.emplace(options_.limits);
  noauth_seen_ = false;
  // Commands are small and pipelined: waiting for Nagle would only add latency.
  uv_tcp_nodelay(tcp_, 1);
  const int rc = uv_read_start(reinterpret_cast<uv_stream_t*>(tcp_), &RedisClient::OnAlloc,
                               &RedisClient::OnRead);
  if (rc != 0) {
    ConnectFailed(UvError("read", rc));
    return;
  }
  if (options_.password.empty()) {
    Ready();
    return;
  }
  // AUTH goes alone: commands issued meanwhile wait in outgoing_ (Flush writes nothing until
  // Ready), so none reaches a server that has not accepted the password.
  state_ = State::kAuthenticating;
  std::vector<std::string> auth = {"AUTH"};
  if (!options_.username.empty()) auth.push_back(options_.username);
  auth.push_back(options_.password);
  std::string bytes;
  AppendCommand(auth, &bytes);
  Write(std::move(bytes));
}

void RedisClient::HandleAuthReply(const Reply& reply) {
  if (reply.type == Reply::Type::kError) {
    // The server's reason (WRONGPASS, "AUTH <password> called without any password
    // configured"): Redis never echoes the password in it.
    ++stats_.auth_failures;
    ConnectFailed(absl::UnauthenticatedError(absl::StrCat("redis refused AUTH: ", reply.str)));
    return;
  }
  if (reply.type != Reply::Type::kSimpleString || reply.str != "OK") {
    ConnectFailed(absl::DataLossError(
        absl::StrCat("unexpected reply to AUTH: ", reply.DebugString().substr(0, 200))));
    return;
  }
  connect_timer_.Stop();
  Ready();
}

void RedisClient::Ready() {
  state_ = State::kConnected;
  ++stats_.connections;
  // The backoff starts over once the server answers a command (HandleReply, HandlePush), not at
  // connect: a server that accepts and then refuses (protected mode, a full server) would
  // otherwise be reconnected to every min_backoff forever. An accepted AUTH is such an answer.
  if (!options_.password.empty()) backoff_ = options_.min_backoff;
  logged_failure_ = false;
  logged_auth_failure_ = false;
  SB_LOG_INFO("cluster", "{}: connected{}", Describe(),
              options_.password.empty()
                  ? ""
                  : (options_.username.empty()
                         ? " (authenticated)"
                         : absl::StrCat(" (authenticated as ", options_.username, ")")));
  if (options_.subscriber) {
    for (auto& [channel, subscription] : channels_) SendSubscribe("SUBSCRIBE", channel);
    for (auto& [pattern, subscription] : patterns_) SendSubscribe("PSUBSCRIBE", pattern);
  } else {
    // Commands issued while connecting waited in outgoing_; their timeout starts now.
    const uint64_t now = uv_now(loop_);
    for (Awaiting& awaiting : awaiting_) awaiting.issued_ms = now;
    if (options_.command_timeout.count() > 0) {
      // Checked four times per timeout: a hung server is noticed within 1.25 timeouts.
      const auto period = static_cast<uint64_t>(
          std::max<int64_t>(1, static_cast<int64_t>(options_.command_timeout.count()) / 4));
      command_timer_.Start(period, period);
    }
  }
  Flush();
  if (listener_ != nullptr && state_ == State::kConnected) listener_->OnRedisConnected(this);
}

void RedisClient::ConnectFailed(const absl::Status& status) {
  if (state_ == State::kConnected) {
    Drop(status);
    return;
  }
  const bool refused_auth = status.code() == absl::StatusCode::kUnauthenticated;
  if (!refused_auth) ++stats_.failed_connects;
  // Logged apart from the outage it may follow (Redis restarted with another password).
  bool& logged = refused_auth ? logged_auth_failure_ : logged_failure_;
  if (!logged) {
    // A refused password is a configuration error, not an outage: an error, so that it shows.
    if (refused_auth) {
      SB_LOG_ERROR("cluster", "{}: {} (check the Redis user and password; retrying)", Describe(),
                   std::string(status.message()));
    } else {
      SB_LOG_WARN("cluster", "{}: {} (retrying)", Describe(), std::string(status.message()));
    }
    logged = true;
  } else {
    SB_LOG_DEBUG("cluster", "{}: {}", Describe(), std::string(status.message()));
  }
  CloseConnection();
  state_ = State::kWaitingToReconnect;
  ScheduleReconnect();
  FailAll(status);
}

void RedisClient::Drop(const absl::Status& status) {
  if (state_ == State::kAuthenticating) {
    // Never established: a failed attempt (no OnRedisDisconnected).
    if (status.code() == absl::StatusCode::kDataLoss) ++stats_.protocol_errors;
    ConnectFailed(status);
    return;
  }
  SB_LOG_WARN("cluster", "{}: connection lost: {}", Describe(), std::string(status.message()));
  logged_failure_ = true;  // The reconnection attempts that follow are the same outage.
  ++stats_.disconnections;
  if (status.code() == absl::StatusCode::kDataLoss) ++stats_.protocol_errors;
  if (status.code() == absl::StatusCode::kDeadlineExceeded) ++stats_.command_timeouts;
  CloseConnection();
  state_ = State::kWaitingToReconnect;
  ScheduleReconnect();
  std::weak_ptr<bool> alive = alive_;
  if (listener_ != nullptr) listener_->OnRedisDisconnected(this, status);
  if (alive.expired()) return;
  // A command timeout keeps its code, so that callers can tell a hung server from a lost one.
  FailAll(absl::Status(status.code() == absl::StatusCode::kDeadlineExceeded
                           ? absl::StatusCode::kDeadlineExceeded
                           : absl::StatusCode::kUnavailable,
                       absl::StrCat("connection to redis lost (", status.message(),
                                    "); the command may or may not have run")));
}

void RedisClient::CloseConnection() {
  connect_timer_.Stop();
  command_timer_.Stop();
  for (auto& [channel, subscription] : channels_) subscription.active = false;
  for (auto& [pattern, subscription] : patterns_) subscription.active = false;
  parser_.reset();
  outgoing_.clear();
  writing_ = false;
  if (tcp_ == nullptr) return;
  tcp_->data = nullptr;  // Pending connect and write callbacks see a closed connection.
  uv_close(reinterpret_cast<uv_handle_t*>(tcp_), [](uv_handle_t* handle) {
    std::unique_ptr<uv_tcp_t> owned(reinterpret_cast<uv_tcp_t*>(handle));
  });
  tcp_ = nullptr;
}

void RedisClient::ScheduleReconnect() {
  // Jitter, so that nodes that lost Redis together do not all come back in the same instant.
  static thread_local std::minstd_rand random(std::random_device{}());
  std::uniform_real_distribution<double> jitter(0.8, 1.2);
  const auto delay = static_cast<uint64_t>(static_cast<double>(backoff_.count()) * jitter(random));
  backoff_ = std::min(backoff_ * 2, options_.max_backoff);
  reconnect_timer_.Start(std::max<uint64_t>(delay, 1));
}

absl::Status RedisClient::CanQueue(size_t count) const {
  if (options_.subscriber) {
    return absl::FailedPreconditionError("a subscriber connection takes no commands");
  }
  switch (state_) {
    case State::kIdle:
      return absl::FailedPreconditionError("the Redis client is not started");
    case State::kClosed:
      return absl::CancelledError("the Redis client is closed");
    case State::kWaitingToReconnect:
      return absl::UnavailableError(absl::StrCat("not connected to ", Describe()));
    case State::kConnecting:
    case State::kAuthenticating:
    case State::kConnected:
      break;
  }
  if (awaiting_.size() + count > options_.max_pending_commands) {
    return absl::ResourceExhaustedError(absl::StrCat(awaiting_.size(),
                                                     " Redis commands pending already (limit ",
                                                     options_.max_pending_commands, ")"));
  }
  return absl::OkStatus();
}

void RedisClient::Queue(const std::vector<std::string>& args, ReplyCallback callback) {
  AppendCommand(args, &outgoing_);
  awaiting_.push_back(Awaiting{std::move(callback), uv_now(loop_)});
}

void RedisClient::Command(std::vector<std::string> args, ReplyCallback callback) {
  if (args.empty()) {
    Defer(std::move(callback), absl::InvalidArgumentError("an empty Redis command"));
    return;
  }
  if (absl::Status status = CanQueue(1); !status.ok()) {
    Defer(std::move(callback), std::move(status));
    return;
  }
  Queue(args, std::move(callback));
  Flush();
}

void RedisClient::Transaction(std::vector<std::vector<std::string>> commands,
                              ReplyCallback callback) {
  if (commands.empty() ||
      std::any_of(commands.begin(), commands.end(), [](const auto& c) { return c.empty(); })) {
    Defer(std::move(callback), absl::InvalidArgumentError("an empty Redis command"));
    return;
  }
  if (absl::Status status = CanQueue(commands.size() + 2); !status.ok()) {
    Defer(std::move(callback), std::move(status));
    return;
  }
  Queue({"MULTI"}, nullptr);
  for (const std::vector<std::string>& command : commands) Queue(command, nullptr);
  // A command Redis refused to queue makes EXEC fail with EXECABORT; one that failed while
  // running leaves an error in EXEC's array.
  Queue({"EXEC"}, [callback = std::move(callback)](absl::StatusOr<Reply> reply) {
    if (!reply.ok()) {
      callback(std::move(reply));
      return;
    }
    if (reply->type != Reply::Type::kArray) {
      callback(absl::AbortedError("the transaction was aborted"));
      return;
    }
    for (const Reply& element : reply->elements) {
      if (element.type == Reply::Type::kError) {
        callback(absl::UnknownError(absl::StrCat("redis: ", element.str)));
        return;
      }
    }
    callback(std::move(reply));
  });
  Flush();
}

void RedisClient::Flush() {
  if (state_ != State::kConnected || writing_ || outgoing_.empty()) return;
  std::string bytes = std::move(outgoing_);
  outgoing_.clear();
  Write(std::move(bytes));
}

void RedisClient::Write(std::string bytes) {
  auto write = std::make_unique<WriteRequest>();
  write->bytes = std::move(bytes);
  uv_buf_t buffer = uv_buf_init(write->bytes.data(), static_cast<unsigned>(write->bytes.size()));
  const int rc = uv_write(&write->request, reinterpret_cast<uv_stream_t*>(tcp_), &buffer, 1,
                          &RedisClient::OnWrite);
  if (rc != 0) {
    Drop(UvError("write", rc));
    return;
  }
  write.release();  // Freed by OnWrite, which libuv always calls (ECANCELED on close).
  writing_ = true;
}

void RedisClient::OnWrite(uv_write_t* request, int status) {
  std::unique_ptr<WriteRequest> owned(reinterpret_cast<WriteRequest*>(request));
  auto* self = static_cast<RedisClient*>(request->handle->data);
  if (self == nullptr) return;
  self->writing_ = false;
  if (status < 0) {
    self->Drop(UvError("write", status));
    return;
  }
  self->Flush();
}

void RedisClient::OnAlloc(uv_handle_t* handle, size_t /*suggested*/, uv_buf_t* buffer) {
  auto* self = static_cast<RedisClient*>(handle->data);
  if (self == nullptr) {
    *buffer = uv_buf_init(nullptr, 0);
    return;
  }
  *buffer =
      uv_buf_init(self->read_buffer_.data(), static_cast<unsigned>(self->read_buffer_.size()));
}

void RedisClient::OnRead(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buffer) {
  auto* self = static_cast<RedisClient*>(stream->data);
  if (self == nullptr || nread == 0) return;
  if (nread < 0) {
    self->Drop(nread == UV_EOF ? absl::UnavailableError("the server closed the connection")
                               : UvError("read", static_cast<int>(nread)));
    return;
  }
  self->parser_->Feed(std::string_view(buffer->base, static_cast<size_t>(nread)));
  self->ProcessReplies();
}

void RedisClient::ProcessReplies() {
  std::weak_ptr<bool> alive = alive_;
  const uv_tcp_t* connection = tcp_;
  while (true) {
    absl::StatusOr<std::optional<Reply>> next = parser_->Next();
    if (!next.ok()) {
      Drop(absl::DataLossError(absl::StrCat("malformed reply: ", next.status().message())));
      return;
    }
    if (!next->has_value()) return;
    if (state_ == State::kAuthenticating) {
      HandleAuthReply(**next);
    } else if (options_.subscriber) {
      HandlePush(std::move(**next));
    } else {
      HandleReply(std::move(**next));
    }
    // A callback may have closed or destroyed this client, or the connection dropped.
    if (alive.expired() || tcp_ != connection ||
        (state_ != State::kConnected && state_ != State::kAuthenticating)) {
      return;
    }
  }
}

void RedisClient::HandleReply(Reply reply) {
  if (awaiting_.empty()) {
    Drop(absl::DataLossError("a reply to no command"));
    return;
  }
  if (reply.type != Reply::Type::kError) backoff_ = options_.min_backoff;
  if (reply.type == Reply::Type::kError) NoteError(reply.str);
  ReplyCallback callback = std::move(awaiting_.front().callback);
  awaiting_.pop_front();
  if (!callback) return;  // MULTI or a command inside it: EXEC answers for them.
  if (reply.type == Reply::Type::kError) {
    callback(absl::UnknownError(absl::StrCat("redis: ", reply.str)));
  } else {
    callback(std::move(reply));
  }
}

void RedisClient::HandlePush(Reply reply) {
  // RESP2 pushes: ["message", channel, payload], ["pmessage", pattern, channel, payload],
  // ["subscribe" | "psubscribe" | "unsubscribe" | "punsubscribe", name, count].
  if (reply.type == Reply::Type::kError) {
    NoteError(reply.str);
    if (!StartsWith(reply.str, "NOAUTH")) SB_LOG_WARN("cluster", "{}: {}", Describe(), reply.str);
    return;
  }
  backoff_ = options_.min_backoff;
  const std::vector<Reply>& e = reply.elements;
  if (reply.type != Reply::Type::kArray || e.size() < 3 ||
      !std::all_of(e.begin(), e.end() - 1, IsString)) {
    Drop(absl::DataLossError(absl::StrCat("unexpected push ", reply.DebugString().substr(0, 200))));
    return;
  }
  const std::string& kind = e[0].str;
  if (kind == "message" && e[2].is_string()) {
    auto it = channels_.find(e[1].str);
    if (it == channels_.end()) return;            // Unsubscribed meanwhile.
    MessageHandler handler = it->second.handler;  // A copy: the handler may unsubscribe.
    handler(e[1].str, e[2].str);
  } else if (kind == "pmessage" && e.size() == 4 && e[3].is_string()) {
    auto it = patterns_.find(e[1].str);
    if (it == patterns_.end()) return;
    MessageHandler handler = it->second.handler;
    handler(e[2].str, e[3].str);
  } else if (kind == "subscribe" || kind == "psubscribe") {
    auto& map = kind == "subscribe" ? channels_ : patterns_;
    auto it = map.find(e[1].str);
    if (it == map.end() || it->second.active) return;
    it->second.active = true;
    std::function<void()> on_active = it->second.on_active;
    if (on_active) on_active();
  }
  // "unsubscribe", "punsubscribe": nothing to do; the handler is gone already.
}

void RedisClient::NoteError(const std::string& error) {
  // Sent only when no password is configured (AUTH comes first otherwise): the server wants one.
  if (noauth_seen_ || !StartsWith(error, "NOAUTH")) return;
  noauth_seen_ = true;
  ++stats_.auth_failures;
  SB_LOG_ERROR("cluster", "{}: {} (the server wants a password and none is configured)", Describe(),
               error);
}

void RedisClient::SendSubscribe(const char* command, const std::string& name) {
  AppendCommand({std::string(command), name}, &outgoing_);
}

absl::Status RedisClient::Subscribe(const std::string& channel, MessageHandler handler,
                                    std::function<void()> on_active) {
  if (!options_.subscriber) {
    return absl::FailedPreconditionError("SUBSCRIBE needs a subscriber connection");
  }
  if (state_ == State::kClosed) return absl::CancelledError("the Redis client is closed");
  const bool is_new = !channels_.contains(channel);
  Subscription& subscription = channels_[channel];
  subscription.handler = std::move(handler);
  subscription.on_active = std::move(on_active);
  if (is_new && state_ == State::kConnected) {
    SendSubscribe("SUBSCRIBE", channel);
    Flush();
  }
  return absl::OkStatus();
}

absl::Status RedisClient::PSubscribe(const std::string& pattern, MessageHandler handler,
                                     std::function<void()> on_active) {
  if (!options_.subscriber) {
    return absl::FailedPreconditionError("PSUBSCRIBE needs a subscriber connection");
  }
  if (state_ == State::kClosed) return absl::CancelledError("the Redis client is closed");
  const bool is_new = !patterns_.contains(pattern);
  Subscription& subscription = patterns_[pattern];
  subscription.handler = std::move(handler);
  subscription.on_active = std::move(on_active);
  if (is_new && state_ == State::kConnected) {
    SendSubscribe("PSUBSCRIBE", pattern);
    Flush();
  }
  return absl::OkStatus();
}

void RedisClient::Unsubscribe(const std::string& channel) {
  if (channels_.erase(channel) == 0 || state_ != State::kConnected) return;
  SendSubscribe("UNSUBSCRIBE", channel);
  Flush();
}

void RedisClient::PUnsubscribe(const std::string& pattern) {
  if (patterns_.erase(pattern) == 0 || state_ != State::kConnected) return;
  SendSubscribe("PUNSUBSCRIBE", pattern);
  Flush();
}

bool RedisClient::subscribed(const std::string& channel) const {
  auto it = channels_.find(channel);
  return it != channels_.end() && it->second.active;
}

void RedisClient::CheckCommandTimeout() {
  if (state_ != State::kConnected || awaiting_.empty()) return;
  const uint64_t waited = uv_now(loop_) - awaiting_.front().issued_ms;
  if (waited < static_cast<uint64_t>(options_.command_timeout.count())) return;
  Drop(absl::DeadlineExceededError(absl::StrCat("a command unanswered for ", waited, " ms")));
}

void RedisClient::Close() {
  if (state_ == State::kClosed) return;
  state_ = State::kClosed;
  reconnect_timer_.Stop();
  CloseConnection();
  FailAll(absl::CancelledError("the Redis client is closed"));
}

void RedisClient::FailAll(const absl::Status& status) {
  std::deque<Awaiting> failed = std::move(awaiting_);
  awaiting_.clear();
  std::weak_ptr<bool> alive = alive_;
  for (Awaiting& awaiting : failed) {
    if (!awaiting.callback) continue;
    awaiting.callback(status);
    if (alive.expired()) return;
  }
}

void RedisClient::Defer(ReplyCallback callback, absl::Status status) {
  ++stats_.rejected_commands;
  deferred_.emplace_back(std::move(callback), std::move(status));
  deferred_timer_.Start(0);
}

void RedisClient::RunDeferred() {
  auto deferred = std::move(deferred_);
  deferred_.clear();
  std::weak_ptr<bool> alive = alive_;
  for (auto& [callback, status] : deferred) {
    callback(std::move(status));
    if (alive.expired()) return;
  }
}

}  // namespace sb::signaling::cluster
