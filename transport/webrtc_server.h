// A worker's shared network entry for its WebRTC transports, on each of its listen addresses
// (at most one IPv4 and one IPv6):
// - one UDP socket shared by every transport (optional): a datagram is routed by its remote
//   address to the transport an authenticated ICE check came from, and a STUN Binding request
//   by the local ufrag in its USERNAME (RFC 8445 7.2.2), so that a new path or a new peer
//   reaches its transport before any address is known. The last transport to authenticate a
//   check from an address owns it: the previous owner is told to forget it, so that a remote
//   address that moves from one peer to another never carries one peer's media to the other.
// - one TCP port for ICE-TCP (RFC 6544, passive candidates only, as an ICE-lite server offers).
//   A connection is accepted, its first RFC 4571 frame must be a STUN Binding request whose
//   USERNAME names the local ufrag of a registered transport, and it is then handed to that
//   transport, which owns it from then on (DTLS and SRTP follow on the same stream).
#pragma once

#include <sys/socket.h>
#include <uv.h>

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "base/uv_timer.h"
#include "transport/tcp_connection.h"
#include "transport/udp_socket.h"

namespace sb::transport {

// Connections accepted but not yet tied to a transport. A browser sends its first check as soon
// as it is connected, so only a burst of joins (or a flood) has many: beyond this, new ones are
// closed at once.
inline constexpr size_t kMaxPendingTcpConnections = 128;
// How long a connection may stay without a valid first check. Browsers send it in the same
// round trip as the handshake; seconds mean a stranger or a stuck peer.
inline constexpr uint64_t kPendingTcpTimeoutMs = 5000;

class WebRtcServer : public TcpConnection::Listener, public UdpSocket::Listener {
 public:
  // A transport reachable through this server (WebRtcTransport).
  class Endpoint {
   public:
    virtual ~Endpoint() = default;
    // A connection whose first frame (`data`, a STUN Binding request naming this endpoint's
    // ufrag) has not been processed yet: the endpoint takes it over and processes the frame.
    virtual void OnIceTcpConnection(std::unique_ptr<TcpConnection> connection, uint8_t* data,
                                    size_t len) = 0;
    // A datagram on the shared UDP socket: a Binding request naming this endpoint's ufrag, or
    // anything from an address bound to this endpoint.
    virtual void OnSharedUdpPacket(uint8_t* data, size_t len, const sockaddr* from) = 0;
    // Another endpoint authenticated a check from `tuple`, which this one had: forget it.
    virtual void OnSharedTupleTaken(const sockaddr* tuple) = 0;
  };

  struct Options {
    // At most one IPv4 and one IPv6 address.
    std::vector<std::string> listen_ips;
    // One UDP socket per listen address shared by all transports; port 0: a free port.
    bool udp = false;
    uint16_t udp_port = 0;
    // ICE-TCP: one listener per listen address; port 0: a free port.
    bool tcp = false;
    uint16_t tcp_port = 0;
  };

  struct Stats {
    uint64_t tcp_accepted = 0;
    uint64_t tcp_handed_over = 0;     // Tied to a transport by a first check.
    uint64_t tcp_over_pending = 0;    // Closed at once: kMaxPendingTcpConnections reached.
    uint64_t tcp_timed_out = 0;       // No first check within kPendingTcpTimeoutMs.
    uint64_t tcp_not_stun = 0;        // First frame not a STUN Binding request with a USERNAME.
    uint64_t tcp_unknown_ufrag = 0;   // USERNAME names no registered transport.
    uint64_t tcp_closed_pending = 0;  // Closed by the peer (or bad framing) before a check.
    // Shared UDP: datagrams received; dropped because they came from an address no transport
    // authenticated (and were not a Binding request with a USERNAME), or named no registered
    // ufrag; addresses that moved from one transport to another.
    uint64_t udp_received = 0;
    uint64_t udp_unknown_source = 0;
    uint64_t udp_unknown_ufrag = 0;
    uint64_t udp_tuples_moved = 0;
  };

  // Fails if a UDP socket cannot be bound. A TCP port that cannot be bound is logged and that
  // address goes without ICE-TCP (tcp_port() is then 0 for it).
  static absl::StatusOr<std::unique_ptr<WebRtcServer>> Create(uv_loop_t* loop,
                                                              const Options& options);
  ~WebRtcServer() override;
  WebRtcServer(const WebRtcServer&) = delete;
  WebRtcServer& operator=(const WebRtcServer&) = delete;

  const std::vector<std::string>& listen_ips() const { return options_.listen_ips; }
  // The ports in use on the listen address of `family` (AF_INET, AF_INET6); 0: none. Without a
  // family: the first listen address's.
  uint16_t tcp_port(int family) const;
  uint16_t udp_port(int family) const;
  uint16_t tcp_port() const;
  uint16_t udp_port() const;
  bool shares_udp() const { return options_.udp; }

  // Checks naming `ufrag` are handed to `endpoint` until it is unregistered. A ufrag already
  // registered is taken over (ufrags are random: 96 bits).
  void Register(const std::string& ufrag, Endpoint* endpoint);
  // Only if `ufrag` is still registered to `endpoint`.
  void Unregister(const std::string& ufrag, Endpoint* endpoint);

  // Shared UDP. An endpoint binds a remote address once a check from it authenticated; the
  // previous owner, if another, hears OnSharedTupleTaken. Unbind only if still `endpoint`'s.
  void BindTuple(const sockaddr* tuple, Endpoint* endpoint);
  void UnbindTuple(const sockaddr* tuple, Endpoint* endpoint);
  // Every address bound to `endpoint` (it is closing).
  void UnbindAll(Endpoint* endpoint);
  // Sends from the socket of `to`'s family; false if there is none or the kernel refused.
  bool SendUdp(const uint8_t* data, size_t len, const sockaddr* to);
  void EnableArrivalTimestamps();
  // During OnSharedUdpPacket: the datagram's arrival time (UdpSocket::arrival_us).
  int64_t udp_arrival_us() const { return arrival_us_; }

  size_t pending_connections() const { return pending_.size(); }
  size_t registered() const { return endpoints_.size(); }
  size_t bound_tuples() const { return tuples_.size(); }
  const Stats& stats() const { return stats_; }

 private:
  // One listen address: its shared UDP socket and its ICE-TCP listener, each optional.
  struct Address {
    std::string ip;
    int family = AF_INET;
    std::unique_ptr<UdpSocket> udp;
    uv_tcp_t* tcp_handle = nullptr;  // Freed by its uv_close callback.
    uint16_t tcp_port = 0;
  };
  // A remote address as a hash key: family, port and the address bytes.
  struct TupleKey {
    uint16_t family = 0;
    uint16_t port = 0;
    std::array<uint8_t, 16> ip{};
    bool operator==(const TupleKey&) const = default;
    template <typename H>
    friend H AbslHashValue(H h, const TupleKey& k) {
      return H::combine(std::move(h), k.family, k.port, k.ip);
    }
  };
  static TupleKey KeyOf(const sockaddr* address);

  WebRtcServer(uv_loop_t* loop, const Options& options);
  absl::Status ListenTcp(Address& address);
  const Address* AddressFor(int family) const;
  static void OnConnection(uv_stream_t* server, int status);
  void AcceptOne(uv_stream_t* listener);
  void SweepPending();
  // TcpConnection::Listener, for pending connections.
  void OnTcpFrame(TcpConnection* connection, uint8_t* data, size_t len) override;
  void OnTcpClosed(TcpConnection* connection, std::string_view reason) override;
  // UdpSocket::Listener
  void OnUdpPacket(uint8_t* data, size_t len, const sockaddr* from) override;
  // The endpoint a Binding request names (RFC 8445 7.2.2: USERNAME is "receiver's
  // ufrag:sender's ufrag", the receiver is us); nullptr if not a Binding request with a USERNAME
  // (*stun_request false) or if the ufrag is unknown.
  Endpoint* EndpointForCheck(const uint8_t* data, size_t len, bool* stun_request) const;

  // Passed by argument.
  uv_loop_t* loop_;
  Options options_;
  // Allocated by this.
  std::vector<Address> addresses_;
  std::unique_ptr<UvTimer> sweep_timer_;
  struct Pending {
    std::unique_ptr<TcpConnection> connection;
    uint64_t accepted_ms = 0;
  };
  absl::flat_hash_map<TcpConnection*, Pending> pending_;
  absl::flat_hash_map<std::string, Endpoint*> endpoints_;
  absl::flat_hash_map<TupleKey, Endpoint*> tuples_;
  int64_t arrival_us_ = 0;
  Stats stats_;
};

}  // namespace sb::transport
