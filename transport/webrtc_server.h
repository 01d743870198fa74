// A worker's shared network entry for its WebRTC transports: one TCP port for ICE-TCP
// (RFC 6544, passive candidates only, as an ICE-lite server offers). A connection is accepted,
// its first RFC 4571 frame must be a STUN Binding request whose USERNAME names the local ufrag
// of a registered transport, and it is then handed to that transport, which owns it from then
// on (DTLS and SRTP follow on the same stream).
#pragma once

#include <sys/socket.h>
#include <uv.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "base/uv_timer.h"
#include "transport/tcp_connection.h"

namespace sb::transport {

// Connections accepted but not yet tied to a transport. A browser sends its first check as soon
// as it is connected, so only a burst of joins (or a flood) has many: beyond this, new ones are
// closed at once.
inline constexpr size_t kMaxPendingTcpConnections = 128;
// How long a connection may stay without a valid first check. Browsers send it in the same
// round trip as the handshake; seconds mean a stranger or a stuck peer.
inline constexpr uint64_t kPendingTcpTimeoutMs = 5000;

class WebRtcServer : public TcpConnection::Listener {
 public:
  // A transport reachable through this server (WebRtcTransport).
  class Endpoint {
   public:
    virtual ~Endpoint() = default;
    // A connection whose first frame (`data`, a STUN Binding request naming this endpoint's
    // ufrag) has not been processed yet: the endpoint takes it over and processes the frame.
    virtual void OnIceTcpConnection(std::unique_ptr<TcpConnection> connection, uint8_t* data,
                                    size_t len) = 0;
  };

  struct Options {
    std::string listen_ip;
    uint16_t tcp_port = 0;  // 0: a free port picked by the kernel
  };

  struct Stats {
    uint64_t tcp_accepted = 0;
    uint64_t tcp_handed_over = 0;     // Tied to a transport by a first check.
    uint64_t tcp_over_pending = 0;    // Closed at once: kMaxPendingTcpConnections reached.
    uint64_t tcp_timed_out = 0;       // No first check within kPendingTcpTimeoutMs.
    uint64_t tcp_not_stun = 0;        // First frame not a STUN Binding request with a USERNAME.
    uint64_t tcp_unknown_ufrag = 0;   // USERNAME names no registered transport.
    uint64_t tcp_closed_pending = 0;  // Closed by the peer (or bad framing) before a check.
  };

  static absl::StatusOr<std::unique_ptr<WebRtcServer>> Create(uv_loop_t* loop,
                                                              const Options& options);
  ~WebRtcServer() override;
  WebRtcServer(const WebRtcServer&) = delete;
  WebRtcServer& operator=(const WebRtcServer&) = delete;

  // The port in use (the one picked when Options asked for 0).
  uint16_t tcp_port() const { return tcp_port_; }
  const std::string& listen_ip() const { return options_.listen_ip; }

  // Checks naming `ufrag` are handed to `endpoint` until it is unregistered. A ufrag already
  // registered is taken over (ufrags are random: 96 bits).
  void Register(const std::string& ufrag, Endpoint* endpoint);
  // Only if `ufrag` is still registered to `endpoint`.
  void Unregister(const std::string& ufrag, Endpoint* endpoint);

  size_t pending_connections() const { return pending_.size(); }
  size_t registered() const { return endpoints_.size(); }
  const Stats& stats() const { return stats_; }

 private:
  WebRtcServer(uv_loop_t* loop, const Options& options);
  static void OnConnection(uv_stream_t* server, int status);
  void AcceptOne();
  void SweepPending();
  // TcpConnection::Listener, for pending connections.
  void OnTcpFrame(TcpConnection* connection, uint8_t* data, size_t len) override;
  void OnTcpClosed(TcpConnection* connection, std::string_view reason) override;

  // Passed by argument.
  uv_loop_t* loop_;
  Options options_;
  // Allocated by this; the handle is freed by its uv_close callback.
  uv_tcp_t* listener_handle_ = nullptr;
  uint16_t tcp_port_ = 0;
  std::unique_ptr<UvTimer> sweep_timer_;
  struct Pending {
    std::unique_ptr<TcpConnection> connection;
    uint64_t accepted_ms = 0;
  };
  absl::flat_hash_map<TcpConnection*, Pending> pending_;
  absl::flat_hash_map<std::string, Endpoint*> endpoints_;
  Stats stats_;
};

}  // namespace sb::transport
