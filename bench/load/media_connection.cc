#include "bench/load/media_connection.h"

#include <openssl/rand.h>

#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "rtp/rtcp/rtcp_packet.h"
#include "transport/stun_message.h"

namespace sb::bench {
namespace {

// Ports for the generator's sockets, away from the server's default 40000-49999.
constexpr uint16_t kPortMin = 50000;
constexpr uint16_t kPortMax = 59999;
// Until the first response, checks go out every 50 ms (Chromium's pacing Ta, RFC 8445 14.2);
// after it, every 2 s like Chromium's consent checks (RFC 7675 5.1 asks for 4-6 s at most).
constexpr uint64_t kCheckIntervalMs = 50;
constexpr uint64_t kConsentIntervalMs = 2000;
// 10 s of unanswered initial checks means the server does not know us.
constexpr int kMaxUnansweredChecks = 200;
// Priority of a host candidate (RFC 8445 5.1.2.1: type preference 126, local preference 65535,
// component 1) sent as PRIORITY: what a peer-reflexive candidate of ours would get.
constexpr uint32_t kPriority = (110u << 24) | (65535u << 8) | 255u;

}  // namespace

absl::StatusOr<std::unique_ptr<MediaConnection>> MediaConnection::Create(
    uv_loop_t* loop, const transport::DtlsCertificate* certificate, std::string local_ufrag,
    Listener* listener) {
  std::unique_ptr<MediaConnection> c(
      new MediaConnection(loop, certificate, std::move(local_ufrag), listener));
  auto socket = transport::UdpSocket::Create(loop, BindAddress(), kPortMin, kPortMax, c.get());
  if (!socket.ok()) return socket.status();
  c->socket_ = *std::move(socket);
  RAND_bytes(reinterpret_cast<uint8_t*>(&c->tie_breaker_), sizeof(c->tie_breaker_));
  return c;
}

MediaConnection::~MediaConnection() { Close(); }

void MediaConnection::Close() {
  listener_ = nullptr;
  ice_timer_.reset();
  if (dtls_) dtls_->Close();
  dtls_.reset();
  if (socket_) socket_->Close();
}

void MediaConnection::Start(RemoteEndpoint remote) {
  remote_ = std::move(remote);
  ice_timer_ = std::make_unique<UvTimer>(loop_, [this] { SendBindingRequest(); });
  ice_timer_->Start(0, kCheckIntervalMs);
}

void MediaConnection::SendBindingRequest() {
  if (!ice_done_ && ++checks_unanswered_ > kMaxUnansweredChecks) {
    return Fail("no ICE response from the server");
  }
  RAND_bytes(transaction_id_, sizeof(transaction_id_));
  transport::StunMessageBuilder b(transport::kStunMethodBinding, transport::StunClass::kRequest,
                                  absl::Span<const uint8_t>(transaction_id_));
  // RFC 8445 7.1.1-7.1.2: USERNAME is "<server ufrag>:<our ufrag>", we control and nominate
  // (aggressive nomination as browsers do toward an ICE-lite peer).
  b.AddUsername(absl::StrCat(remote_.ice_ufrag, ":", local_ufrag_))
      .AddPriority(kPriority)
      .AddIceControlling(tie_breaker_)
      .AddUseCandidate()
      .AddMessageIntegrity(remote_.ice_pwd)
      .AddFingerprint();
  if (!socket_->Send(b.bytes().data(), b.bytes().size(), server())) ++counters_.send_failures;
}

void MediaConnection::OnStun(const uint8_t* data, size_t len, const sockaddr* from) {
  auto message = transport::StunMessage::Parse(absl::Span<const uint8_t>(data, len));
  if (message.ok() && message->message_class() == transport::StunClass::kRequest &&
      message->method() == transport::kStunMethodBinding && !local_pwd_.empty() && from &&
      message->CheckIntegrity(std::string_view(local_pwd_))) {
    // RFC 8445 7.3: a success response with the source address, signed with our password.
    transport::StunMessageBuilder b(transport::kStunMethodBinding,
                                    transport::StunClass::kSuccessResponse,
                                    message->transaction_id());
    b.AddXorMappedAddress(from).AddMessageIntegrity(local_pwd_).AddFingerprint();
    if (!socket_->Send(b.bytes().data(), b.bytes().size(), from)) ++counters_.send_failures;
    peer_checked_ = true;
    if (ice_done_) StartDtls();
    return;
  }
  if (!message.ok() || message->message_class() != transport::StunClass::kSuccessResponse ||
      !message->CheckIntegrity(std::string_view(remote_.ice_pwd))) {
    return;
  }
  checks_unanswered_ = 0;
  if (ice_done_) return;
  ice_done_ = true;
  ice_timer_->Start(kConsentIntervalMs, kConsentIntervalMs);
  if (!AwaitPeerCheck() || peer_checked_) StartDtls();
}

void MediaConnection::StartDtls() {
  if (dtls_ || failed_) return;
  auto dtls = transport::DtlsTransport::Create(loop_, certificate_, this);
  if (!dtls.ok()) return Fail(std::string(dtls.status().message()));
  dtls_ = *std::move(dtls);
  dtls_->SetRemoteFingerprints(remote_.fingerprints);
  if (auto s = dtls_->Start(transport::DtlsRole::kClient); !s.ok()) {
    return Fail(std::string(s.message()));
  }
}

bool MediaConnection::SendRtp(uint8_t* data, size_t len, size_t capacity) {
  if (!srtp_out_ || !srtp_out_->ProtectRtp(data, &len, capacity)) {
    ++counters_.send_failures;
    return false;
  }
  if (!socket_->Send(data, len, server())) {
    ++counters_.send_failures;
    return false;
  }
  ++counters_.rtp_sent;
  counters_.rtp_bytes_sent += len;
  return true;
}

bool MediaConnection::SendRtcp(uint8_t* data, size_t len, size_t capacity) {
  if (!srtp_out_ || !srtp_out_->ProtectRtcp(data, &len, capacity)) return false;
  if (!socket_->Send(data, len, server())) return false;
  ++counters_.rtcp_sent;
  return true;
}

void MediaConnection::OnUdpPacket(uint8_t* data, size_t len, const sockaddr* from) {
  if (len == 0 || !listener_) return;
  // RFC 7983 demultiplexing by the first byte.
  const uint8_t b = data[0];
  if (b <= 3) {
    OnStun(data, len, from);
  } else if (b >= 20 && b <= 63) {
    if (dtls_) dtls_->ProcessPacket(data, len);
  } else if (b >= 128 && b <= 191 && srtp_in_) {
    if (rtp::IsRtcp(absl::Span<const uint8_t>(data, len))) {
      if (!srtp_in_->UnprotectRtcp(data, &len)) {
        ++counters_.unprotect_failures;
        listener_->OnUnprotectFailure();
        return;
      }
      ++counters_.rtcp_received;
      listener_->OnRtcp(data, len);
    } else {
      ++counters_.rtp_received;
      counters_.rtp_bytes_received += len;
      if (!listener_->OnSrtpPacket(data, len)) return;
      if (BreakDecryptionOneIn() > 0 && until_broken_-- == 0) {
        until_broken_ = BreakDecryptionOneIn() - 1;
        data[len - 1] ^= 0xff;  // the last byte of the tag (GCM) or HMAC (AES-CM)
      }
      if (!srtp_in_->UnprotectRtp(data, &len)) {
        ++counters_.unprotect_failures;
        listener_->OnUnprotectFailure();
        return;
      }
      ++counters_.rtp_decrypted;
      listener_->OnRtp(data, len);
    }
  }
}

void MediaConnection::SendDtlsData(const uint8_t* data, size_t len) {
  socket_->Send(data, len, server());
}

void MediaConnection::OnDtlsStateChange(transport::DtlsState state, const std::string& reason) {
  if (state == transport::DtlsState::kFailed) Fail(absl::StrCat("DTLS failed: ", reason));
  if (state == transport::DtlsState::kConnected && listener_) listener_->OnMediaConnected();
}

void MediaConnection::OnDtlsConnected(transport::SrtpProfile profile,
                                      std::vector<uint8_t> local_key_salt,
                                      std::vector<uint8_t> remote_key_salt) {
  auto out = transport::SrtpSession::Create(transport::SrtpSession::Direction::kOutbound, profile,
                                            local_key_salt);
  auto in = transport::SrtpSession::Create(transport::SrtpSession::Direction::kInbound, profile,
                                           remote_key_salt);
  if (!out.ok() || !in.ok()) return Fail("SRTP session setup failed");
  srtp_out_ = *std::move(out);
  srtp_in_ = *std::move(in);
}

void MediaConnection::OnDtlsApplicationData(const uint8_t* data, size_t len) {
  if (listener_) listener_->OnApplicationData(data, len);
}

bool MediaConnection::SendApplicationData(const uint8_t* data, size_t len) {
  return dtls_ && dtls_->SendApplicationData(data, len);
}

void MediaConnection::Fail(const std::string& reason) {
  if (failed_) return;
  failed_ = true;
  if (ice_timer_) ice_timer_->Stop();
  if (listener_) listener_->OnMediaFailed(reason);
}

}  // namespace sb::bench
