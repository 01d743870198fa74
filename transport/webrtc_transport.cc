#include "transport/webrtc_transport.h"

#include <openssl/crypto.h>

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

bool IsRtcp(const uint8_t* data, size_t len) {
  return len >= 2 && data[1] >= kRtcpPtMin && data[1] <= kRtcpPtMax;
}

}  // namespace

absl::StatusOr<std::unique_ptr<WebRtcTransport>> WebRtcTransport::Create(
    uv_loop_t* loop, const Options& options, DtlsCertificate* certificate, Listener* listener) {
  if (certificate == nullptr || listener == nullptr) {
    return absl::InvalidArgumentError("webrtc transport: certificate and listener required");
  }
  std::unique_ptr<WebRtcTransport> t(new WebRtcTransport(options, certificate, listener));
  auto socket =
      UdpSocket::Create(loop, options.listen_ip, options.port_min, options.port_max, t.get());
  if (!socket.ok()) return socket.status();
  t->socket_ = *std::move(socket);
  t->ice_ = std::make_unique<IceServer>(loop, t.get(), options.consent_timeout_ms);
  auto dtls = DtlsTransport::Create(loop, certificate, t.get(), options.dtls_handshake_timeout_ms);
  if (!dtls.ok()) return dtls.status();
  t->dtls_ = *std::move(dtls);
  return t;
}

WebRtcTransport::~WebRtcTransport() { Close(); }

void WebRtcTransport::Close() {
  if (closed_) return;
  closed_ = true;
  listener_ = nullptr;
  dtls_->Close();  // May send close_notify through the socket.
  ice_->Close();
  socket_->Close();
  srtp_in_.reset();
  srtp_out_.reset();
  pending_dtls_.clear();
}

std::vector<IceCandidate> WebRtcTransport::candidates() const {
  IceCandidate c;
  c.foundation = "udpcandidate";
  c.priority = kHostCandidatePriority;
  c.ip = options_.announced_ip.empty() ? options_.listen_ip : options_.announced_ip;
  c.protocol = "udp";
  c.port = socket_->local_port();
  c.type = "host";
  return {c};
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
  return ice_->RestartIce();
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

bool WebRtcTransport::SendToSelected(const uint8_t* data, size_t len) {
  const sockaddr* to = ice_->selected_tuple();
  if (to == nullptr || !socket_->Send(data, len, to)) return false;
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
  if (socket_->Send(data, len, to)) stats_.bytes_sent += len;
}

void WebRtcTransport::OnIceStateChange(IceState state) {
  if (closed_) return;
  SB_LOG_DEBUG("transport", "ICE {}", ToString(state));
  listener_->OnIceStateChange(state);
  MaybeStartDtls();
}

void WebRtcTransport::OnIceSelectedTuple(const sockaddr*) {}

void WebRtcTransport::SendDtlsData(const uint8_t* data, size_t len) { SendToSelected(data, len); }

void WebRtcTransport::OnDtlsStateChange(DtlsState state, const std::string& reason) {
  if (closed_) return;
  if (state == DtlsState::kFailed || state == DtlsState::kClosed) {
    srtp_in_.reset();
    srtp_out_.reset();
  }
  listener_->OnDtlsStateChange(state, reason);
  // A failed session cannot be started again on this transport: stop answering ICE and free
  // the port, so that the peer notices too (consent expires) and strangers find nothing.
  if (state == DtlsState::kFailed && !closed_) CloseNetwork();
}

void WebRtcTransport::CloseNetwork() {
  SB_LOG_INFO("transport", "DTLS failed: closing port {}", socket_->local_port());
  srtp_in_.reset();
  srtp_out_.reset();
  pending_dtls_.clear();
  ice_->Close();
  socket_->Close();
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

void WebRtcTransport::OnDtlsApplicationData(const uint8_t*, size_t len) {
  // SCTP is not wired yet.
  SB_LOG_DEBUG("transport", "dropping {} bytes of DTLS application data", len);
}

}  // namespace sb::transport
