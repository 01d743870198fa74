#include "transport/webrtc_server.h"

#include <netinet/in.h>

#include <cstring>

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
  if (options.listen_ips.empty()) return absl::InvalidArgumentError("server: no listen address");
  int families = 0;
  for (const std::string& ip : options.listen_ips) {
    const int bit = AddressFamilyOf(ip) == AF_INET6 ? 2 : 1;
    if (families & bit) {
      return absl::InvalidArgumentError("server: at most one IPv4 and one IPv6 listen address");
    }
    families |= bit;
  }
  std::unique_ptr<WebRtcServer> server(new WebRtcServer(loop, options));
  server->addresses_.reserve(options.listen_ips.size());
  for (const std::string& ip : options.listen_ips) {
    Address& address = server->addresses_.emplace_back();
    address.ip = ip;
    address.family = AddressFamilyOf(ip);
    if (options.udp) {
      auto socket = UdpSocket::Create(loop, ip, options.udp_port, options.udp_port, server.get());
      if (!socket.ok()) {
        return absl::UnavailableError(absl::StrCat("shared UDP port: ", socket.status().message()));
      }
      address.udp = *std::move(socket);
      SB_LOG_INFO("server", "UDP for all transports on {}:{}", ip, address.udp->local_port());
    }
    if (options.tcp) {
      if (absl::Status status = server->ListenTcp(address); !status.ok()) {
        SB_LOG_WARN("ice-tcp", "no ICE-TCP on {}: {}", ip, status.ToString());
      }
    }
  }
  return server;
}

absl::Status WebRtcServer::ListenTcp(Address& address) {
  sockaddr_storage addr{};
  const bool v6 = address.family == AF_INET6;
  const int err_addr = v6 ? uv_ip6_addr(address.ip.c_str(), options_.tcp_port,
                                        reinterpret_cast<sockaddr_in6*>(&addr))
                          : uv_ip4_addr(address.ip.c_str(), options_.tcp_port,
                                        reinterpret_cast<sockaddr_in*>(&addr));
  if (err_addr != 0) return absl::InvalidArgumentError(absl::StrCat("bad ip ", address.ip));
  auto handle = std::make_unique<uv_tcp_t>();
  if (int err = uv_tcp_init(loop_, handle.get()); err != 0) {
    return absl::InternalError(absl::StrCat("init: ", uv_strerror(err)));
  }
  uv_tcp_t* raw = handle.release();
  raw->data = this;
  address.tcp_handle = raw;  // Closed by the destructor from here on.
  int err = uv_tcp_bind(raw, reinterpret_cast<const sockaddr*>(&addr), v6 ? UV_TCP_IPV6ONLY : 0);
  if (err == 0) err = uv_listen(reinterpret_cast<uv_stream_t*>(raw), kListenBacklog, &OnConnection);
  if (err != 0) {
    return absl::UnavailableError(
        absl::StrCat("listen on ", address.ip, ":", options_.tcp_port, ": ", uv_strerror(err)));
  }
  sockaddr_storage local{};
  int len = sizeof(local);
  uv_tcp_getsockname(raw, reinterpret_cast<sockaddr*>(&local), &len);
  address.tcp_port =
      ntohs(local.ss_family == AF_INET6 ? reinterpret_cast<const sockaddr_in6*>(&local)->sin6_port
                                        : reinterpret_cast<const sockaddr_in*>(&local)->sin_port);
  SB_LOG_INFO("ice-tcp", "listening on {}:{}", address.ip, address.tcp_port);
  return absl::OkStatus();
}

WebRtcServer::~WebRtcServer() {
  pending_.clear();
  for (Address& address : addresses_) {
    if (address.udp) address.udp->Close();
    if (address.tcp_handle == nullptr) continue;
    address.tcp_handle->data = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(address.tcp_handle), [](uv_handle_t* h) {
      std::unique_ptr<uv_tcp_t> owned(reinterpret_cast<uv_tcp_t*>(h));
    });
  }
}

const WebRtcServer::Address* WebRtcServer::AddressFor(int family) const {
  for (const Address& address : addresses_) {
    if (address.family == family) return &address;
  }
  return nullptr;
}

uint16_t WebRtcServer::tcp_port(int family) const {
  const Address* address = AddressFor(family);
  return address == nullptr ? 0 : address->tcp_port;
}

uint16_t WebRtcServer::udp_port(int family) const {
  const Address* address = AddressFor(family);
  return address == nullptr || !address->udp ? 0 : address->udp->local_port();
}

uint16_t WebRtcServer::tcp_port() const { return addresses_.empty() ? 0 : addresses_[0].tcp_port; }

uint16_t WebRtcServer::udp_port() const {
  return addresses_.empty() || !addresses_[0].udp ? 0 : addresses_[0].udp->local_port();
}

void WebRtcServer::Register(const std::string& ufrag, Endpoint* endpoint) {
  endpoints_[ufrag] = endpoint;
}

void WebRtcServer::Unregister(const std::string& ufrag, Endpoint* endpoint) {
  auto it = endpoints_.find(ufrag);
  if (it != endpoints_.end() && it->second == endpoint) endpoints_.erase(it);
}

WebRtcServer::TupleKey WebRtcServer::KeyOf(const sockaddr* address) {
  TupleKey key;
  key.family = address->sa_family;
  if (address->sa_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(address);
    key.port = a->sin6_port;
    std::memcpy(key.ip.data(), &a->sin6_addr, sizeof(a->sin6_addr));
  } else {
    const auto* a = reinterpret_cast<const sockaddr_in*>(address);
    key.port = a->sin_port;
    std::memcpy(key.ip.data(), &a->sin_addr, sizeof(a->sin_addr));
  }
  return key;
}

void WebRtcServer::BindTuple(const sockaddr* tuple, Endpoint* endpoint) {
  Endpoint*& owner = tuples_[KeyOf(tuple)];
  if (owner == endpoint) return;
  Endpoint* previous = owner;
  owner = endpoint;
  if (previous == nullptr) return;
  ++stats_.udp_tuples_moved;
  SB_LOG_INFO("server", "{} moved to another transport", AddressToString(tuple));
  // May call UnbindTuple back, which finds the new owner and leaves it.
  previous->OnSharedTupleTaken(tuple);
}

void WebRtcServer::UnbindTuple(const sockaddr* tuple, Endpoint* endpoint) {
  auto it = tuples_.find(KeyOf(tuple));
  if (it != tuples_.end() && it->second == endpoint) tuples_.erase(it);
}

void WebRtcServer::UnbindAll(Endpoint* endpoint) {
  absl::erase_if(tuples_, [endpoint](const auto& entry) { return entry.second == endpoint; });
}

bool WebRtcServer::SendUdp(const uint8_t* data, size_t len, const sockaddr* to) {
  const Address* address = AddressFor(to->sa_family);
  return address != nullptr && address->udp && address->udp->Send(data, len, to);
}

void WebRtcServer::EnableArrivalTimestamps() {
  for (Address& address : addresses_) {
    if (address.udp) address.udp->EnableArrivalTimestamps();
  }
}

WebRtcServer::Endpoint* WebRtcServer::EndpointForCheck(const uint8_t* data, size_t len,
                                                       bool* stun_request) const {
  *stun_request = false;
  if (!IsStunMessage(data, len)) return nullptr;
  auto msg = StunMessage::Parse({data, len});
  if (!msg.ok() || msg->method() != kStunMethodBinding ||
      msg->message_class() != StunClass::kRequest) {
    return nullptr;
  }
  const std::optional<std::string_view> username = msg->username();
  if (!username) return nullptr;
  *stun_request = true;
  const std::string_view local = username->substr(0, username->find(':'));
  auto it = endpoints_.find(absl::string_view(local.data(), local.size()));
  return it == endpoints_.end() ? nullptr : it->second;
}

void WebRtcServer::OnUdpPacket(uint8_t* data, size_t len, const sockaddr* from) {
  ++stats_.udp_received;
  const Address* address = AddressFor(from->sa_family);
  arrival_us_ = address != nullptr && address->udp ? address->udp->arrival_us() : 0;
  // RFC 7983 7: STUN's first byte is 0-3. A Binding request goes to the ufrag it names, which
  // is how a new peer or a new path of a known one is found; anything else to the address's
  // owner.
  if (len > 0 && data[0] <= 3) {
    bool request = false;
    if (Endpoint* endpoint = EndpointForCheck(data, len, &request)) {
      return endpoint->OnSharedUdpPacket(data, len, from);
    }
    if (request) {
      ++stats_.udp_unknown_ufrag;
      return;
    }
  }
  auto it = tuples_.find(KeyOf(from));
  if (it == tuples_.end()) {
    ++stats_.udp_unknown_source;
    return;
  }
  it->second->OnSharedUdpPacket(data, len, from);
}

void WebRtcServer::OnConnection(uv_stream_t* server, int status) {
  auto* self = static_cast<WebRtcServer*>(server->data);
  if (self == nullptr) return;
  if (status < 0) {
    SB_LOG_DEBUG("ice-tcp", "connection error: {}", uv_strerror(status));
    return;
  }
  self->AcceptOne(server);
}

void WebRtcServer::AcceptOne(uv_stream_t* listener) {
  // Accepted even when over the bound, so that the kernel's queue does not fill with it.
  auto connection = TcpConnection::Accept(loop_, listener);
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
  bool request = false;
  Endpoint* endpoint = EndpointForCheck(data, len, &request);
  if (endpoint == nullptr) {
    if (request) {
      ++stats_.tcp_unknown_ufrag;
    } else {
      ++stats_.tcp_not_stun;
    }
    SB_LOG_DEBUG("ice-tcp", "first frame from {} {}: closed",
                 AddressToString(connection->remote_address()),
                 request ? "names no transport" : "is not a Binding request");
    pending_.erase(it);
    return;
  }
  std::unique_ptr<TcpConnection> owned = std::move(it->second.connection);
  pending_.erase(it);
  ++stats_.tcp_handed_over;
  owned->set_listener(nullptr);
  endpoint->OnIceTcpConnection(std::move(owned), data, len);
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
