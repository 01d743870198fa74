#include "transport/webrtc_server.h"

#include <netinet/in.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "base/log.h"
#include "transport/ice_server.h"
#include "transport/stun_message.h"

namespace sb::transport {
namespace {

// Connections the kernel queues before accept (listen(2) backlog).
constexpr int kListenBacklog = 128;
// Pending connections are checked for their deadline this often.
constexpr uint64_t kSweepIntervalMs = 1000;

}  // namespace

WebRtcServer::WebRtcServer(uv_loop_t* loop, const Options& options)
    : loop_(loop),
      options_(options),
      sweep_timer_(std::make_unique<UvTimer>(loop, [this] { SweepPending(); })) {}

absl::StatusOr<std::unique_ptr<WebRtcServer>> WebRtcServer::Create(uv_loop_t* loop,
                                                                   const Options& options) {
  sockaddr_storage addr{};
  const bool v6 = options.listen_ip.find(':') != std::string::npos;
  const int err_addr = v6 ? uv_ip6_addr(options.listen_ip.c_str(), options.tcp_port,
                                        reinterpret_cast<sockaddr_in6*>(&addr))
                          : uv_ip4_addr(options.listen_ip.c_str(), options.tcp_port,
                                        reinterpret_cast<sockaddr_in*>(&addr));
  if (err_addr != 0) {
    return absl::InvalidArgumentError(absl::StrCat("ice-tcp: bad ip ", options.listen_ip));
  }
  std::unique_ptr<WebRtcServer> server(new WebRtcServer(loop, options));
  auto handle = std::make_unique<uv_tcp_t>();
  if (int err = uv_tcp_init(loop, handle.get()); err != 0) {
    return absl::InternalError(absl::StrCat("ice-tcp: init: ", uv_strerror(err)));
  }
  uv_tcp_t* raw = handle.release();
  raw->data = server.get();
  server->listener_handle_ = raw;  // Closed by the destructor from here on.
  int err = uv_tcp_bind(raw, reinterpret_cast<const sockaddr*>(&addr), v6 ? UV_TCP_IPV6ONLY : 0);
  if (err == 0) err = uv_listen(reinterpret_cast<uv_stream_t*>(raw), kListenBacklog, &OnConnection);
  if (err != 0) {
    return absl::UnavailableError(absl::StrCat("ice-tcp: listen on ", options.listen_ip, ":",
                                               options.tcp_port, ": ", uv_strerror(err)));
  }
  sockaddr_storage local{};
  int len = sizeof(local);
  uv_tcp_getsockname(raw, reinterpret_cast<sockaddr*>(&local), &len);
  server->tcp_port_ =
      ntohs(local.ss_family == AF_INET6 ? reinterpret_cast<const sockaddr_in6*>(&local)->sin6_port
                                        : reinterpret_cast<const sockaddr_in*>(&local)->sin_port);
  SB_LOG_INFO("ice-tcp", "listening on {}:{}", options.listen_ip, server->tcp_port_);
  return server;
}

WebRtcServer::~WebRtcServer() {
  pending_.clear();
  if (listener_handle_ != nullptr) {
    listener_handle_->data = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(listener_handle_), [](uv_handle_t* h) {
      std::unique_ptr<uv_tcp_t> owned(reinterpret_cast<uv_tcp_t*>(h));
    });
  }
}

void WebRtcServer::Register(const std::string& ufrag, Endpoint* endpoint) {
  endpoints_[ufrag] = endpoint;
}

void WebRtcServer::Unregister(const std::string& ufrag, Endpoint* endpoint) {
  auto it = endpoints_.find(ufrag);
  if (it != endpoints_.end() && it->second == endpoint) endpoints_.erase(it);
}

void WebRtcServer::OnConnection(uv_stream_t* server, int status) {
  auto* self = static_cast<WebRtcServer*>(server->data);
  if (self == nullptr) return;
  if (status < 0) {
    SB_LOG_DEBUG("ice-tcp", "connection error: {}", uv_strerror(status));
    return;
  }
  self->AcceptOne();
}

void WebRtcServer::AcceptOne() {
  // Accepted even when over the bound, so that the kernel's queue does not fill with it.
  auto connection = TcpConnection::Accept(loop_, reinterpret_cast<uv_stream_t*>(listener_handle_));
  if (!connection.ok()) {
    SB_LOG_DEBUG("ice-tcp", "{}", connection.status().ToString());
    return;
  }
  ++stats_.tcp_accepted;
  if (pending_.size() >= kMaxPendingTcpConnections) {
    ++stats_.tcp_over_pending;
    SB_LOG_DEBUG("ice-tcp", "too many pending connections: {} closed",
                 AddressToString((*connection)->remote_address()));
    return;  // Destroyed: closed.
  }
  TcpConnection* raw = connection->get();
  pending_[raw] = Pending{*std::move(connection), uv_now(loop_)};
  raw->Start(this);
  if (!sweep_timer_->active()) sweep_timer_->Start(kSweepIntervalMs, kSweepIntervalMs);
}

void WebRtcServer::SweepPending() {
  const uint64_t now = uv_now(loop_);
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (now - it->second.accepted_ms >= kPendingTcpTimeoutMs) {
      ++stats_.tcp_timed_out;
      SB_LOG_DEBUG("ice-tcp", "no check from {} in time: closed",
                   AddressToString(it->first->remote_address()));
      pending_.erase(it++);
    } else {
      ++it;
    }
  }
  if (pending_.empty()) sweep_timer_->Stop();
}

void WebRtcServer::OnTcpFrame(TcpConnection* connection, uint8_t* data, size_t len) {
  auto it = pending_.find(connection);
  if (it == pending_.end()) return;
  // RFC 6544 and RFC 8445 7.3: the first thing on a passive candidate's connection is the
  // peer's connectivity check; anything else is not ICE.
  std::optional<std::string_view> username;
  if (IsStunMessage(data, len)) {
    if (auto msg = StunMessage::Parse({data, len}); msg.ok() &&
                                                    msg->method() == kStunMethodBinding &&
                                                    msg->message_class() == StunClass::kRequest) {
      username = msg->username();
    }
  }
  if (!username) {
    ++stats_.tcp_not_stun;
    SB_LOG_DEBUG("ice-tcp", "first frame from {} is not a Binding request: closed",
                 AddressToString(connection->remote_address()));
    pending_.erase(it);
    return;
  }
  // RFC 8445 7.2.2: USERNAME is "receiver's ufrag:sender's ufrag"; the receiver is us.
  const std::string_view local = username->substr(0, username->find(':'));
  auto endpoint = endpoints_.find(std::string(local));
  if (endpoint == endpoints_.end()) {
    ++stats_.tcp_unknown_ufrag;
    SB_LOG_DEBUG("ice-tcp", "check from {} names no transport: closed",
                 AddressToString(connection->remote_address()));
    pending_.erase(it);
    return;
  }
  std::unique_ptr<TcpConnection> owned = std::move(it->second.connection);
  pending_.erase(it);
  ++stats_.tcp_handed_over;
  owned->set_listener(nullptr);
  endpoint->second->OnIceTcpConnection(std::move(owned), data, len);
}

void WebRtcServer::OnTcpClosed(TcpConnection* connection, std::string_view reason) {
  auto it = pending_.find(connection);
  if (it == pending_.end()) return;
  ++stats_.tcp_closed_pending;
  SB_LOG_DEBUG("ice-tcp", "{} before a check: {}", AddressToString(connection->remote_address()),
               std::string(reason));
  pending_.erase(it);
}

}  // namespace sb::transport
