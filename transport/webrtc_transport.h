// One WebRTC endpoint's transport: a UDP socket per listen address (or the worker's shared one,
// through its WebRtcServer), and ICE-TCP connections handed over by that server, carrying
// ICE-lite, DTLS and SRTP, demultiplexed by first byte (RFC 7983). It knows RTP only as far as
// telling RTP from RTCP (RFC 5761 4).
#pragma once

#include <sys/socket.h>
#include <uv.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "transport/dtls_certificate.h"
#include "transport/dtls_transport.h"
#include "transport/ice_server.h"
#include "transport/rtp_endpoint.h"
#include "transport/sctp_association.h"
#include "transport/srtp_session.h"
#include "transport/tcp_connection.h"
#include "transport/transport_types.h"
#include "transport/udp_socket.h"
#include "transport/webrtc_server.h"

namespace sb::transport {

// ICE-TCP connections one transport keeps: a browser opens one per local address it has (and
// one more across an ICE restart). Beyond it the oldest unselected one is closed.
inline constexpr size_t kMaxTcpConnectionsPerTransport = 4;

class WebRtcTransport : public RtpEndpoint,
                        public UdpSocket::Listener,
                        public IceServer::Listener,
                        public DtlsTransport::Listener,
                        public SctpAssociation::Listener,
                        public WebRtcServer::Endpoint,
                        public TcpConnection::Listener {
 public:
  // RTP and RTCP as RtpEndpoint::Listener has them.
  class Listener : public RtpEndpoint::Listener {
   public:
    ~Listener() override = default;
    virtual void OnIceStateChange(IceState state) = 0;
    virtual void OnDtlsStateChange(DtlsState state, const std::string& reason) = 0;
    // Data channels (Options::sctp): the association's events, as SctpAssociation::Listener
    // has them. Each may close the transport.
    virtual void OnSctpStateChange(SctpState /*state*/, const std::string& /*reason*/) {}
    virtual void OnDataChannelOpen(const DataChannelInfo& /*info*/) {}
    virtual void OnDataChannelMessage(uint16_t /*stream_id*/, uint32_t /*ppid*/,
                                      absl::Span<const uint8_t> /*data*/) {}
    virtual void OnDataChannelClosed(uint16_t /*stream_id*/) {}
    virtual void OnDataChannelBufferedAmountLow(uint16_t /*stream_id*/) {}
    virtual void OnSctpSendBufferAvailable() {}
  };

  struct Options {
    // At most one IPv4 and one IPv6 address, each with the addresses to announce.
    std::vector<ListenAddress> listen;
    // This transport's own UDP ports, unless the server shares one.
    uint16_t port_min = 40000;
    uint16_t port_max = 49999;
    uint64_t consent_timeout_ms = kConsentTimeoutMs;
    uint64_t dtls_handshake_timeout_ms = kDtlsHandshakeTimeoutMs;
    // The worker's shared entry (ICE-TCP, and UDP when it shares a port); nullptr: own UDP
    // ports only. Not owned; outlives the transport.
    WebRtcServer* server = nullptr;
    // Data channels: an SCTP association over the DTLS session (RFC 8261), started once DTLS
    // is connected; the peer's a=max-message-size (RFC 8841 6; 0: no limit).
    bool sctp = false;
    size_t sctp_remote_max_message_size = kSctpDefaultRemoteMaxMessageSize;
  };

  // Every datagram that is not STUN and is dropped is counted once in packets_dropped and once
  // in exactly one of the counters after it (STUN drops are in ice_stats()).
  struct Stats {
    uint64_t bytes_received = 0;
    uint64_t bytes_sent = 0;
    uint64_t rtp_packets_received = 0;
    uint64_t rtp_packets_sent = 0;
    uint64_t rtcp_packets_received = 0;
    uint64_t rtcp_packets_sent = 0;
    uint64_t packets_dropped = 0;
    // The first byte names no protocol we speak (RFC 7983 7): not STUN, DTLS or RTP/RTCP.
    uint64_t unknown_packets = 0;
    // DTLS or RTP/RTCP from an address no authenticated ICE check came from.
    uint64_t unknown_source = 0;
    // DTLS records that cannot be used: before Connect() beyond the buffer, or after the
    // session failed or closed.
    uint64_t dtls_dropped = 0;
    // RTP/RTCP before the SRTP keys exist (or after DTLS failed or closed).
    uint64_t srtp_no_keys = 0;
    // libsrtp's verdicts: a replayed or too old index (RFC 3711 3.3.2), a tag that does not
    // verify, anything else (too short, unparsable).
    uint64_t srtp_replayed = 0;
    uint64_t srtp_auth_failed = 0;
    uint64_t srtp_malformed = 0;
    // ICE-TCP: connections taken over, closed because their first check did not authenticate,
    // closed to stay within kMaxTcpConnectionsPerTransport, and frames not sent because the
    // connection's send queue was full (TcpConnection).
    uint64_t tcp_connections = 0;
    uint64_t tcp_auth_failed = 0;
    uint64_t tcp_evicted = 0;
    uint64_t tcp_send_drops = 0;
  };

  static absl::StatusOr<std::unique_ptr<WebRtcTransport>> Create(uv_loop_t* loop,
                                                                 const Options& options,
                                                                 DtlsCertificate* certificate,
                                                                 Listener* listener);
  ~WebRtcTransport() override;
  WebRtcTransport(const WebRtcTransport&) = delete;
  WebRtcTransport& operator=(const WebRtcTransport&) = delete;

  const std::string& ice_ufrag() const { return ice_->ufrag(); }
  const std::string& ice_pwd() const { return ice_->pwd(); }
  // Per listen address and announced address, one host UDP candidate and a passive TCP one
  // (lower priority) when the server listens for ICE-TCP; earlier addresses rank higher.
  std::vector<IceCandidate> candidates() const;
  std::vector<Fingerprint> local_fingerprints() const;

  // remote_role is the peer's DTLS role: a client peer makes us server, a server peer makes
  // us client, kAuto makes us server (RFC 8842: the answerer picks). DTLS starts once ICE is
  // connected; the remote fingerprints are checked after the handshake.
  absl::Status Connect(DtlsRole remote_role, std::vector<Fingerprint> remote_fingerprints);

  // ICE restart (RFC 8445 section 9): new local ufrag/pwd on the same socket; DTLS, SRTP and the
  // selected tuple are kept, and the previous credentials work until the peer uses the new
  // ones (IceServer::RestartIce).
  absl::Status RestartIce();

  // Protect in place (capacity >= len + SrtpMaxOverhead(), RTCP + 4) and send to the selected
  // tuple. False if not connected or on failure.
  bool SendRtp(uint8_t* data, size_t len, size_t capacity) override;
  bool SendRtcp(uint8_t* data, size_t len, size_t capacity) override;
  // DTLS is connected: the SRTP keys are there.
  bool media_ready() const override { return dtls_state() == DtlsState::kConnected; }

  // Turns data channels on after creation (the peer's SDP brought an m=application): the
  // association starts now if DTLS is connected, else when it connects. Called again, it
  // updates the peer's a=max-message-size (0: no limit).
  void EnableSctp(size_t remote_max_message_size);

  // The data channel association (Options::sctp) once DTLS is connected; nullptr before, and
  // after it failed or the transport closed.
  SctpAssociation* sctp() const { return sctp_.get(); }

  IceState ice_state() const { return ice_->state(); }
  DtlsState dtls_state() const { return dtls_->state(); }
  // Empty until DTLS is connected.
  std::string srtp_profile_name() const;
  const Stats& stats() const { return stats_; }
  const IceServer::Stats& ice_stats() const { return ice_->stats(); }
  const DtlsTransport::Stats& dtls_stats() const { return dtls_->stats(); }
  // The first listen address's UDP port (its own, or the server's shared one).
  uint16_t local_port() const;
  size_t tcp_connection_count() const { return tcp_connections_.size(); }
  // True while the selected tuple is an ICE-TCP connection.
  bool selected_tcp() const { return SelectedConnection() != nullptr; }
  // Kernel arrival timestamps for the packets this transport receives (UdpSocket), and the
  // current packet's, during OnRtpPacket: microseconds of CLOCK_REALTIME, 0 when not enabled.
  void EnableArrivalTimestamps() override;
  int64_t packet_arrival_us() const override { return arrival_us_; }

  // Stops everything; idempotent; no listener calls after it.
  void Close() override;

 private:
  WebRtcTransport(uv_loop_t* loop, const Options& options, DtlsCertificate* certificate,
                  Listener* listener)
      : loop_(loop), options_(options), certificate_(certificate), listener_(listener) {}

  // UdpSocket::Listener
  void OnUdpPacket(uint8_t* data, size_t len, const sockaddr* from) override;
  // IceServer::Listener
  void OnIceSendStun(const uint8_t* data, size_t len, const sockaddr* to) override;
  void OnIceStateChange(IceState state) override;
  void OnIceSelectedTuple(const sockaddr* tuple) override;
  void OnIceTupleAdded(const sockaddr* tuple) override;
  void OnIceTupleRemoved(const sockaddr* tuple) override;
  // DtlsTransport::Listener
  void SendDtlsData(const uint8_t* data, size_t len) override;
  void OnDtlsStateChange(DtlsState state, const std::string& reason) override;
  void OnDtlsConnected(SrtpProfile profile, std::vector<uint8_t> local_key_salt,
                       std::vector<uint8_t> remote_key_salt) override;
  void OnDtlsApplicationData(const uint8_t* data, size_t len) override;
  // SctpAssociation::Listener
  void SendSctpPacket(const uint8_t* data, size_t len) override;
  void OnSctpStateChange(SctpState state, const std::string& reason) override;
  void OnDataChannelOpen(const DataChannelInfo& info) override;
  void OnDataChannelMessage(uint16_t stream_id, uint32_t ppid,
                            absl::Span<const uint8_t> data) override;
  void OnDataChannelClosed(uint16_t stream_id) override;
  void OnBufferedAmountLow(uint16_t stream_id) override;
  void OnSctpSendBufferAvailable() override;
  // Creates and connects the association once DTLS is (Options::sctp).
  void StartSctp();
  // WebRtcServer::Endpoint
  void OnIceTcpConnection(std::unique_ptr<TcpConnection> connection, uint8_t* data,
                          size_t len) override;
  void OnSharedUdpPacket(uint8_t* data, size_t len, const sockaddr* from) override;
  void OnSharedTupleTaken(const sockaddr* tuple) override;
  // TcpConnection::Listener
  void OnTcpFrame(TcpConnection* connection, uint8_t* data, size_t len) override;
  void OnTcpClosed(TcpConnection* connection, std::string_view reason) override;

  // Every packet, from the UDP socket or a TCP connection (`from` is then its remote address).
  void OnPacket(uint8_t* data, size_t len, const sockaddr* from);
  // Sends on the TCP connection whose remote address is `to`, else on the UDP socket.
  bool SendTo(const uint8_t* data, size_t len, const sockaddr* to);
  TcpConnection* ConnectionTo(const sockaddr* to) const;
  TcpConnection* SelectedConnection() const;
  void RemoveConnection(TcpConnection* connection);
  void CloseConnections();
  // Keeps the server's ufrag map to the credentials ICE accepts now.
  void SyncRegistration();
  // Leaves the server: ufrags and bound addresses.
  void LeaveServer();
  bool SharedUdp() const { return options_.server != nullptr && options_.server->shares_udp(); }
  UdpSocket* SocketFor(int family) const;

  void MaybeStartDtls();
  void OnMediaPacket(uint8_t* data, size_t len);
  // Counts a dropped datagram in packets_dropped and in `reason`.
  void Drop(uint64_t Stats::*reason) {
    ++stats_.packets_dropped;
    ++(stats_.*reason);
  }
  void CountSrtpFailure(SrtpError error);
  // After DTLS failed: stops ICE and closes the socket; the transport takes no more packets.
  void CloseNetwork();
  bool SendToSelected(const uint8_t* data, size_t len);

  // Passed by argument.
  uv_loop_t* loop_;
  Options options_;
  DtlsCertificate* certificate_;
  Listener* listener_;
  // Allocated by this.
  std::vector<std::unique_ptr<UdpSocket>> sockets_;  // One per listen address; none if shared.
  std::unique_ptr<IceServer> ice_;
  std::unique_ptr<DtlsTransport> dtls_;
  std::unique_ptr<SrtpSession> srtp_in_;
  std::unique_ptr<SrtpSession> srtp_out_;
  std::unique_ptr<SctpAssociation> sctp_;
  std::vector<std::unique_ptr<TcpConnection>> tcp_connections_;  // Oldest first.
  std::vector<std::string> registered_ufrags_;                   // In options_.server.
  std::vector<std::vector<uint8_t>> pending_dtls_;  // Records seen before DTLS started.
  bool connect_called_ = false;
  DtlsRole local_role_ = DtlsRole::kServer;
  bool closed_ = false;
  int64_t arrival_us_ = 0;
  Stats stats_;
};

}  // namespace sb::transport
