#include "transport/webrtc_transport.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "base/log.h"

namespace sb::transport {
namespace {

// DTLS records buffered until DTLS starts: a full client flight (RFC 6347 4.2.4).
constexpr size_t kMaxPendingDtlsRecords = 8;
constexpr size_t kRtpHeaderSize = 12;
// RFC 5761 4: RTCP packet types 192..223 share the second byte with RTP's M+PT.
constexpr uint8_t kRtcpPtMin = 192;
constexpr uint8_t kRtcpPtMax = 223;
// RFC 8445 5.1.2.1 host priority for component 1: 2^24*126 + 2^8*65535 + 255.
constexpr uint32_t kHostCandidatePriority = (126u << 24) | (65535u << 8) | 255u;
// RFC 6544 4.2: a TCP candidate's local preference is 2^13 * direction-pref + other-pref, with
// direction-pref 4 for a passive host candidate; other-pref at its top (8191). That is below the
// UDP candidate's 65535, so a peer that can use UDP prefers it (pair priority, RFC 8445 6.1.2.3).
constexpr uint32_t kTcpLocalPreference = (4u << 13) | 8191u;
constexpr uint32_t kTcpHostCandidatePriority = (126u << 24) | (kTcpLocalPreference << 8) | 255u;

bool IsRtcp(const uint8_t* data, size_t len) {
  return len >= 2 && data[1] >= kRtcpPtMin && data[1] <= kRtcpPtMax;
}

}  // namespace

absl::StatusOr<std::unique_ptr<WebRtcTransport>> WebRtcTransport::Create(
    uv_loop_t* loop, const Options& options, DtlsCertificate* certificate, Listener* listener) {
  if (certificate == nullptr || listener == nullptr) {
    return absl::InvalidArgumentError("webrtc transport: certificate and listener required");
  }
  if (options.listen.empty()) return absl::InvalidArgumentError("webrtc transport: no address");
  std::unique_ptr<WebRtcTransport> t(new WebRtcTransport(loop, options, certificate, listener));
  if (!t->SharedUdp()) {
    for (const ListenAddress& address : options.listen) {
      auto socket =
          UdpSocket::Create(loop, address.ip, options.port_min, options.port_max, t.get());
      if (!socket.ok()) return socket.status();
      if (t->SocketFor((*socket)->local_address().ss_family) != nullptr) {
        return absl::InvalidArgumentError(
            "webrtc transport: at most one IPv4 and one IPv6 listen address");
      }
      t->sockets_.push_back(*std::move(socket));
    }
  }
  t->ice_ = std::make_unique<IceServer>(loop, t.get(), options.consent_timeout_ms);
  auto dtls = DtlsTransport::Create(loop, certificate, t.get(), options.dtls_handshake_timeout_ms);
  if (!dtls.ok()) return dtls.status();
  t->dtls_ = *std::move(dtls);
  t->SyncRegistration();
  return t;
}

WebRtcTransport::~WebRtcTransport() { Close(); }

void WebRtcTransport::Close() {
  if (closed_) return;
  closed_ = true;
  listener_ = nullptr;
  // ABORT to the peer (RFC 9260 9.1) through DTLS, before DTLS closes.
  if (sctp_) sctp_->Close();
  // A transport whose Create() failed half-way has no ICE or DTLS yet (no free port).
  if (dtls_) dtls_->Close();  // May send close_notify through the socket.
  if (ice_) ice_->Close();
  for (auto& socket : sockets_) socket->Close();
  CloseConnections();
  LeaveServer();
  srtp_in_.reset();
  srtp_out_.reset();
  sctp_.reset();
  pending_dtls_.clear();
}

void WebRtcTransport::LeaveServer() {
  if (options_.server == nullptr) return;
  for (const std::string& ufrag : registered_ufrags_) options_.server->Unregister(ufrag, this);
  registered_ufrags_.clear();
  options_.server->UnbindAll(this);
}

UdpSocket* WebRtcTransport::SocketFor(int family) const {
  for (const auto& socket : sockets_) {
    if (socket->local_address().ss_family == family) return socket.get();
  }
  return nullptr;
}

uint16_t WebRtcTransport::local_port() const {
  if (SharedUdp()) return options_.server->udp_port();
  return sockets_.empty() ? 0 : sockets_[0]->local_port();
}

void WebRtcTransport::EnableArrivalTimestamps() {
  if (SharedUdp()) options_.server->EnableArrivalTimestamps();
  for (auto& socket : sockets_) socket->EnableArrivalTimestamps();
}

std::vector<IceCandidate> WebRtcTransport::candidates() const {
  std::vector<IceCandidate> udp;
  std::vector<IceCandidate> tcp;
  // RFC 8445 5.1.2.1: each of an agent's candidates of one type gets its own local
  // preference; the first address configured ranks highest.
  uint32_t rank = 0;
  for (const ListenAddress& address : options_.listen) {
    const int family = AddressFamilyOf(address.ip);
    const UdpSocket* socket = SocketFor(family);
    const uint16_t udp_port = SharedUdp()         ? options_.server->udp_port(family)
                              : socket != nullptr ? socket->local_port()
                                                  : 0;
    const uint16_t tcp_port = options_.server != nullptr ? options_.server->tcp_port(family) : 0;
    const std::vector<std::string> ips =
        address.announced.empty() ? std::vector<std::string>{address.ip} : address.announced;
    for (const std::string& ip : ips) {
      IceCandidate c;
      c.ip = ip;
      c.type = "host";
      const std::string suffix = rank == 0 ? "" : absl::StrCat(rank);
      if (udp_port != 0) {
        c.foundation = absl::StrCat("udpcandidate", suffix);
        c.priority = kHostCandidatePriority - (rank << 8);
        c.protocol = "udp";
        c.port = udp_port;
        udp.push_back(c);
      }
      if (tcp_port != 0) {
        c.foundation = absl::StrCat("tcpcandidate", suffix);
        c.priority = kTcpHostCandidatePriority - (rank << 8);
        c.protocol = "tcp";
        c.port = tcp_port;
        tcp.push_back(c);
      }
      ++rank;
    }
  }
  udp.insert(udp.end(), tcp.begin(), tcp.end());
  return udp;
}

std::vector<Fingerprint> WebRtcTransport::local_fingerprints() const {
  return certificate_->Fingerprints();
}

std::string WebRtcTransport::srtp_profile_name() const {
  const auto profile = dtls_->srtp_profile();
  return profile && srtp_out_ ? std::string(SrtpProfileName(*profile)) : std::string();
}

absl::Status WebRtcTransport::Connect(DtlsRole remote_role,
                                      std::vector<Fingerprint> remote_fingerprints) {
  if (closed_) return absl::FailedPreconditionError("transport closed");
  if (connect_called_) return absl::FailedPreconditionError("Connect() already called");
  if (remote_fingerprints.empty()) return absl::InvalidArgumentError("no remote fingerprint");
  connect_called_ = true;
  local_role_ = remote_role == DtlsRole::kServer ? DtlsRole::kClient : DtlsRole::kServer;
  dtls_->SetRemoteFingerprints(std::move(remote_fingerprints));
  MaybeStartDtls();
  return absl::OkStatus();
}

absl::Status WebRtcTransport::RestartIce() {
  if (closed_) return absl::FailedPreconditionError("transport closed");
  absl::Status status = ice_->RestartIce();
  SyncRegistration();
  return status;
}

void WebRtcTransport::SyncRegistration() {
  if (options_.server == nullptr || closed_) return;
  std::vector<std::string> accepted = {ice_->ufrag()};
  if (!ice_->previous_ufrag().empty()) accepted.push_back(ice_->previous_ufrag());
  for (const std::string& ufrag : registered_ufrags_) {
    if (std::find(accepted.begin(), accepted.end(), ufrag) == accepted.end()) {
      options_.server->Unregister(ufrag, this);
    }
  }
  for (const std::string& ufrag : accepted) options_.server->Register(ufrag, this);
  registered_ufrags_ = std::move(accepted);
}

// DTLS needs somewhere to send: start once Connect() was called and ICE has a tuple.
void WebRtcTransport::MaybeStartDtls() {
  if (closed_ || !connect_called_ || dtls_->state() != DtlsState::kNew) return;
  const IceState ice = ice_->state();
  if (ice != IceState::kConnected && ice != IceState::kCompleted) return;
  if (absl::Status status = dtls_->Start(local_role_); !status.ok()) {
    SB_LOG_ERROR("transport", "DTLS start failed: {}", std::string(status.message()));
    return;
  }
  auto pending = std::move(pending_dtls_);
  pending_dtls_.clear();
  for (const auto& record : pending) {
    if (closed_) return;
    dtls_->ProcessPacket(record.data(), record.size());
  }
}

void WebRtcTransport::OnUdpPacket(uint8_t* data, size_t len, const sockaddr* from) {
  const UdpSocket* socket = SocketFor(from->sa_family);
  arrival_us_ = socket != nullptr ? socket->arrival_us() : 0;
  OnPacket(data, len, from);
}

void WebRtcTransport::OnSharedUdpPacket(uint8_t* data, size_t len, const sockaddr* from) {
  arrival_us_ = options_.server->udp_arrival_us();
  OnPacket(data, len, from);
}

void WebRtcTransport::OnSharedTupleTaken(const sockaddr* tuple) {
  // Another peer proved it is at this address now: nothing of ours may go there any more.
  if (!closed_) ice_->RemoveTuple(tuple);
}

void WebRtcTransport::OnIceTupleAdded(const sockaddr* tuple) {
  // ICE-TCP connections have tuples of their own, not on the shared socket.
  if (SharedUdp() && ConnectionTo(tuple) == nullptr) options_.server->BindTuple(tuple, this);
}

void WebRtcTransport::OnIceTupleRemoved(const sockaddr* tuple) {
  if (SharedUdp()) options_.server->UnbindTuple(tuple, this);
}

void WebRtcTransport::OnPacket(uint8_t* data, size_t len, const sockaddr* from) {
  if (closed_ || len == 0) return;
  stats_.bytes_received += len;
  const uint8_t first = data[0];
  // RFC 7983 section 7.
  if (first <= 3) {
    ice_->ProcessStunPacket(data, len, from);
    return;
  }
  const bool dtls = first >= 20 && first <= 63;
  const bool media = first >= 128 && first <= 191;
  if (!dtls && !media) return Drop(&Stats::unknown_packets);
  // Only an address that passed an authenticated ICE check may speak DTLS or SRTP: anything
  // else is dropped before it costs a handshake step or a decryption.
  if (!ice_->IsValidTuple(from)) return Drop(&Stats::unknown_source);
  if (dtls) {
    const DtlsState state = dtls_->state();
    if (state == DtlsState::kNew) {
      if (pending_dtls_.size() >= kMaxPendingDtlsRecords) return Drop(&Stats::dtls_dropped);
      pending_dtls_.emplace_back(data, data + len);
      return;
    }
    if (state != DtlsState::kConnecting && state != DtlsState::kConnected) {
      return Drop(&Stats::dtls_dropped);
    }
    dtls_->ProcessPacket(data, len);
    return;
  }
  OnMediaPacket(data, len);
}

void WebRtcTransport::CountSrtpFailure(SrtpError error) {
  switch (error) {
    case SrtpError::kReplay:
      return Drop(&Stats::srtp_replayed);
    case SrtpError::kAuth:
      return Drop(&Stats::srtp_auth_failed);
    default:
      return Drop(&Stats::srtp_malformed);
  }
}

void WebRtcTransport::OnMediaPacket(uint8_t* data, size_t len) {
  if (!srtp_in_) return Drop(&Stats::srtp_no_keys);
  if (len < kRtpHeaderSize) return Drop(&Stats::srtp_malformed);
  SrtpError error = SrtpError::kNone;
  if (IsRtcp(data, len)) {
    if (!srtp_in_->UnprotectRtcp(data, &len, &error)) return CountSrtpFailure(error);
    ++stats_.rtcp_packets_received;
    listener_->OnRtcpPacket(data, len);
    return;
  }
  if (!srtp_in_->UnprotectRtp(data, &len, &error)) return CountSrtpFailure(error);
  ++stats_.rtp_packets_received;
  listener_->OnRtpPacket(data, len);
}

TcpConnection* WebRtcTransport::ConnectionTo(const sockaddr* to) const {
  for (const auto& c : tcp_connections_) {
    if (SameAddress(c->remote_address(), to)) return c.get();
  }
  return nullptr;
}

TcpConnection* WebRtcTransport::SelectedConnection() const {
  if (tcp_connections_.empty()) return nullptr;
  const sockaddr* to = ice_->selected_tuple();
  return to == nullptr ? nullptr : ConnectionTo(to);
}

// A TCP connection's remote address is a tuple of its own: the peer's ephemeral port on an
// active candidate. A UDP tuple with the very same address and port would be sent over TCP,
// to the same peer, which is harmless.
bool WebRtcTransport::SendTo(const uint8_t* data, size_t len, const sockaddr* to) {
  if (TcpConnection* c = tcp_connections_.empty() ? nullptr : ConnectionTo(to)) {
    if (!c->Send(data, len)) {
      ++stats_.tcp_send_drops;
      return false;
    }
    return true;
  }
  if (SharedUdp()) return options_.server->SendUdp(data, len, to);
  UdpSocket* socket = SocketFor(to->sa_family);
  return socket != nullptr && socket->Send(data, len, to);
}

bool WebRtcTransport::SendToSelected(const uint8_t* data, size_t len) {
  const sockaddr* to = ice_->selected_tuple();
  if (to == nullptr || !SendTo(data, len, to)) return false;
  stats_.bytes_sent += len;
  return true;
}

bool WebRtcTransport::SendRtp(uint8_t* data, size_t len, size_t capacity) {
  if (closed_ || !srtp_out_ || ice_->selected_tuple() == nullptr) return false;
  if (!srtp_out_->ProtectRtp(data, &len, capacity)) return false;
  if (!SendToSelected(data, len)) return false;
  ++stats_.rtp_packets_sent;
  return true;
}

bool WebRtcTransport::SendRtcp(uint8_t* data, size_t len, size_t capacity) {
  if (closed_ || !srtp_out_ || ice_->selected_tuple() == nullptr) return false;
  if (!srtp_out_->ProtectRtcp(data, &len, capacity)) return false;
  if (!SendToSelected(data, len)) return false;
  ++stats_.rtcp_packets_sent;
  return true;
}

void WebRtcTransport::OnIceSendStun(const uint8_t* data, size_t len, const sockaddr* to) {
  if (SendTo(data, len, to)) stats_.bytes_sent += len;
}

void WebRtcTransport::OnIceStateChange(IceState state) {
  if (closed_) return;
  SB_LOG_DEBUG("transport", "ICE {}", ToString(state));
  listener_->OnIceStateChange(state);
  MaybeStartDtls();
}

void WebRtcTransport::OnIceSelectedTuple(const sockaddr* tuple) {
  // Consent lost (RFC 7675): the peer is gone from every path; idle TCP connections go too.
  if (tuple == nullptr) CloseConnections();
}

void WebRtcTransport::OnIceTcpConnection(std::unique_ptr<TcpConnection> connection, uint8_t* data,
                                         size_t len) {
  if (closed_) return;
  ++stats_.tcp_connections;
  if (tcp_connections_.size() >= kMaxTcpConnectionsPerTransport) {
    TcpConnection* selected = SelectedConnection();
    auto victim = std::find_if(tcp_connections_.begin(), tcp_connections_.end(),
                               [selected](const auto& c) { return c.get() != selected; });
    ++stats_.tcp_evicted;
    TcpConnection* raw = victim->get();
    ice_->RemoveTuple(raw->remote_address());
    RemoveConnection(raw);
    if (closed_) return;
  }
  TcpConnection* raw = connection.get();
  tcp_connections_.push_back(std::move(connection));
  raw->Start(this);
  SB_LOG_DEBUG("transport", "ICE-TCP connection from {}", AddressToString(raw->remote_address()));
  OnPacket(data, len, raw->remote_address());
  // Only a check that authenticated makes the connection a path of this transport.
  if (!closed_ && ConnectionTo(raw->remote_address()) == raw &&
      !ice_->IsValidTuple(raw->remote_address())) {
    ++stats_.tcp_auth_failed;
    RemoveConnection(raw);
  }
}

void WebRtcTransport::OnTcpFrame(TcpConnection* connection, uint8_t* data, size_t len) {
  OnPacket(data, len, connection->remote_address());
}

void WebRtcTransport::OnTcpClosed(TcpConnection* connection, std::string_view reason) {
  SB_LOG_DEBUG("transport", "ICE-TCP connection from {} closed: {}",
               AddressToString(connection->remote_address()), std::string(reason));
  // Keep the address: ICE may call back, and the connection is destroyed below.
  sockaddr_storage address{};
  std::memcpy(&address, connection->remote_address(), sizeof(address));
  RemoveConnection(connection);
  if (!closed_) ice_->RemoveTuple(reinterpret_cast<const sockaddr*>(&address));
}

void WebRtcTransport::RemoveConnection(TcpConnection* connection) {
  auto it = std::find_if(tcp_connections_.begin(), tcp_connections_.end(),
                         [connection](const auto& c) { return c.get() == connection; });
  if (it == tcp_connections_.end()) return;
  std::unique_ptr<TcpConnection> gone = std::move(*it);
  tcp_connections_.erase(it);
  gone->Close();
}

void WebRtcTransport::CloseConnections() {
  auto connections = std::move(tcp_connections_);
  tcp_connections_.clear();
  for (auto& c : connections) c->Close();
}

void WebRtcTransport::SendDtlsData(const uint8_t* data, size_t len) { SendToSelected(data, len); }

void WebRtcTransport::OnDtlsStateChange(DtlsState state, const std::string& reason) {
  if (closed_) return;
  if (state == DtlsState::kFailed || state == DtlsState::kClosed) {
    srtp_in_.reset();
    srtp_out_.reset();
    sctp_.reset();  // Its peer is gone with the DTLS session: no ABORT to send.
  }
  listener_->OnDtlsStateChange(state, reason);
  if (state == DtlsState::kConnected && !closed_) StartSctp();
  // A failed session cannot be started again on this transport: stop answering ICE and free
  // the port, so that the peer notices too (consent expires) and strangers find nothing.
  if (state == DtlsState::kFailed && !closed_) CloseNetwork();
}

void WebRtcTransport::CloseNetwork() {
  SB_LOG_INFO("transport", "DTLS failed: closing port {}", local_port());
  srtp_in_.reset();
  srtp_out_.reset();
  pending_dtls_.clear();
  ice_->Close();
  for (auto& socket : sockets_) socket->Close();
  CloseConnections();
  LeaveServer();
}

void WebRtcTransport::OnDtlsConnected(SrtpProfile profile, std::vector<uint8_t> local_key_salt,
                                      std::vector<uint8_t> remote_key_salt) {
  auto out = SrtpSession::Create(SrtpSession::Direction::kOutbound, profile, local_key_salt);
  auto in = SrtpSession::Create(SrtpSession::Direction::kInbound, profile, remote_key_salt);
  OPENSSL_cleanse(local_key_salt.data(), local_key_salt.size());
  OPENSSL_cleanse(remote_key_salt.data(), remote_key_salt.size());
  if (!out.ok() || !in.ok()) {
    const std::string reason =
        absl::StrCat("SRTP setup failed: ", (!out.ok() ? out.status() : in.status()).message());
    SB_LOG_ERROR("transport", "{}", reason);
    // The session fails instead of connecting: the listener hears kFailed with the reason.
    dtls_->Abort(reason);
    return;
  }
  srtp_out_ = *std::move(out);
  srtp_in_ = *std::move(in);
}

void WebRtcTransport::OnDtlsApplicationData(const uint8_t* data, size_t len) {
  // RFC 8261: DTLS application data is SCTP; without data channels there is nothing to give it.
  if (!sctp_) {
    SB_LOG_DEBUG("transport", "dropping {} bytes of DTLS application data (no SCTP)", len);
    return;
  }
  sctp_->ProcessSctpPacket(data, len);
}

void WebRtcTransport::EnableSctp(size_t remote_max_message_size) {
  options_.sctp = true;
  options_.sctp_remote_max_message_size = remote_max_message_size;
  if (sctp_) {
    sctp_->SetRemoteMaxMessageSize(remote_max_message_size);
  } else if (!closed_ && dtls_->state() == DtlsState::kConnected) {
    StartSctp();
  }
}

void WebRtcTransport::StartSctp() {
  if (!options_.sctp || sctp_) return;
  SctpOptions options;
  options.dtls_client = local_role_ == DtlsRole::kClient;
  options.remote_max_message_size = options_.sctp_remote_max_message_size;
  auto sctp = SctpAssociation::Create(loop_, this, options);
  if (!sctp.ok()) {
    SB_LOG_ERROR("transport", "no data channels: {}", sctp.status().ToString());
    return;
  }
  sctp_ = *std::move(sctp);
  if (absl::Status status = sctp_->Connect(); !status.ok()) {
    SB_LOG_ERROR("transport", "SCTP connect: {}", status.ToString());
    sctp_.reset();
  }
}

void WebRtcTransport::SendSctpPacket(const uint8_t* data, size_t len) {
  // Also while closing: the ABORT of Close() goes out before DTLS's close_notify.
  if (dtls_ && dtls_->state() == DtlsState::kConnected) dtls_->SendApplicationData(data, len);
}

void WebRtcTransport::OnSctpStateChange(SctpState state, const std::string& reason) {
  if (listener_ != nullptr) listener_->OnSctpStateChange(state, reason);
}

void WebRtcTransport::OnDataChannelOpen(const DataChannelInfo& info) {
  if (listener_ != nullptr) listener_->OnDataChannelOpen(info);
}

void WebRtcTransport::OnDataChannelMessage(uint16_t stream_id, uint32_t ppid,
                                           absl::Span<const uint8_t> data) {
  if (listener_ != nullptr) listener_->OnDataChannelMessage(stream_id, ppid, data);
}

void WebRtcTransport::OnDataChannelClosed(uint16_t stream_id) {
  if (listener_ != nullptr) listener_->OnDataChannelClosed(stream_id);
}

void WebRtcTransport::OnBufferedAmountLow(uint16_t stream_id) {
  if (listener_ != nullptr) listener_->OnDataChannelBufferedAmountLow(stream_id);
}

void WebRtcTransport::OnSctpSendBufferAvailable() {
  if (listener_ != nullptr) listener_->OnSctpSendBufferAvailable();
}

}  // namespace sb::transport
