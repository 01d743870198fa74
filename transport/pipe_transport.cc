#include "transport/pipe_transport.h"

#include <netinet/in.h>
#include <openssl/rand.h>

#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "transport/ice_server.h"

namespace sb::transport {
namespace {

// RFC 3550 5.1 / 6.4.1: the fixed RTP header and the smallest RTCP packet (an empty RR).
constexpr size_t kMinRtpSize = 12;
constexpr size_t kMinRtcpSize = 8;

// RFC 5761 4: with RTP and RTCP on one port, RTCP packet types 192-223 sit where RTP's marker
// bit and payload type are.
bool IsRtcp(const uint8_t* data) { return data[1] >= 192 && data[1] <= 223; }

}  // namespace

absl::StatusOr<std::unique_ptr<PipeTransport>> PipeTransport::Create(uv_loop_t* loop,
                                                                     const Options& options,
                                                                     Listener* listener) {
  std::unique_ptr<PipeTransport> self(new PipeTransport(options, listener));
  auto socket =
      UdpSocket::Create(loop, options.listen_ip, options.port_min, options.port_max, self.get());
  if (!socket.ok()) return socket.status();
  self->socket_ = *std::move(socket);
  if (options.srtp) {
    self->local_key_.resize(SrtpKeyLength(kSrtpProfile) + SrtpSaltLength(kSrtpProfile));
    if (RAND_bytes(self->local_key_.data(), static_cast<int>(self->local_key_.size())) != 1) {
      return absl::InternalError("pipe: no random bytes for the SRTP key");
    }
    auto out =
        SrtpSession::Create(SrtpSession::Direction::kOutbound, kSrtpProfile, self->local_key_);
    if (!out.ok()) return out.status();
    self->srtp_out_ = *std::move(out);
  }
  return self;
}

PipeTransport::~PipeTransport() { Close(); }

absl::Status PipeTransport::Connect(const std::string& ip, uint16_t port,
                                    absl::Span<const uint8_t> remote_srtp_key) {
  if (closed_) return absl::FailedPreconditionError("pipe: closed");
  if (connected_) return absl::FailedPreconditionError("pipe: connected already");
  if (port == 0) return absl::InvalidArgumentError("pipe: remote port 0");
  sockaddr_storage remote{};
  const bool v6 = AddressFamilyOf(ip) == AF_INET6;
  const int err = v6 ? uv_ip6_addr(ip.c_str(), port, reinterpret_cast<sockaddr_in6*>(&remote))
                     : uv_ip4_addr(ip.c_str(), port, reinterpret_cast<sockaddr_in*>(&remote));
  if (err != 0) return absl::InvalidArgumentError(absl::StrCat("pipe: bad remote ip ", ip));
  if (v6 != (AddressFamilyOf(options_.listen_ip) == AF_INET6)) {
    return absl::InvalidArgumentError("pipe: remote and local addresses of different families");
  }
  if (options_.srtp) {
    if (remote_srtp_key.size() != local_key_.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat("pipe: the remote SRTP key must be ", local_key_.size(), " bytes"));
    }
    auto in = SrtpSession::Create(SrtpSession::Direction::kInbound, kSrtpProfile, remote_srtp_key);
    if (!in.ok()) return in.status();
    srtp_in_ = *std::move(in);
  } else if (!remote_srtp_key.empty()) {
    return absl::InvalidArgumentError("pipe: an SRTP key for a pipe without SRTP");
  }
  remote_ = remote;
  connected_ = true;
  return absl::OkStatus();
}

void PipeTransport::OnUdpPacket(uint8_t* data, size_t len, const sockaddr* from) {
  if (closed_) return;
  ++stats_.packets_received;
  stats_.bytes_received += len;
  if (!connected_) {
    ++stats_.not_connected;
    return;
  }
  if (!SameAddress(from, reinterpret_cast<const sockaddr*>(&remote_))) {
    ++stats_.unknown_source;
    return;
  }
  // RFC 7983: RTP and RTCP start with version 2 (128-191).
  if (len < kMinRtcpSize || data[0] < 128 || data[0] > 191) {
    ++stats_.not_rtp;
    return;
  }
  if (IsRtcp(data)) {
    SrtpError error = SrtpError::kNone;
    if (srtp_in_ && !srtp_in_->UnprotectRtcp(data, &len, &error))
      return CountUnprotectFailure(error);
    ++stats_.rtcp_received;
    listener_->OnRtcpPacket(data, len);
    return;
  }
  if (len < kMinRtpSize) {
    ++stats_.not_rtp;
    return;
  }
  SrtpError error = SrtpError::kNone;
  if (srtp_in_ && !srtp_in_->UnprotectRtp(data, &len, &error)) return CountUnprotectFailure(error);
  ++stats_.rtp_received;
  listener_->OnRtpPacket(data, len);
}

void PipeTransport::CountUnprotectFailure(SrtpError error) {
  switch (error) {
    case SrtpError::kReplay:
      ++stats_.srtp_replayed;
      break;
    case SrtpError::kAuth:
      ++stats_.srtp_auth_failed;
      break;
    default:
      ++stats_.srtp_malformed;
      break;
  }
}

bool PipeTransport::SendRtp(uint8_t* data, size_t len, size_t capacity) {
  if (!connected_ || closed_ || (srtp_out_ && !srtp_out_->ProtectRtp(data, &len, capacity))) {
    ++stats_.send_failures;
    return false;
  }
  if (!Send(data, len)) return false;
  ++stats_.rtp_sent;
  return true;
}

bool PipeTransport::SendRtcp(uint8_t* data, size_t len, size_t capacity) {
  if (!connected_ || closed_ || (srtp_out_ && !srtp_out_->ProtectRtcp(data, &len, capacity))) {
    ++stats_.send_failures;
    return false;
  }
  if (!Send(data, len)) return false;
  ++stats_.rtcp_sent;
  return true;
}

bool PipeTransport::Send(const uint8_t* data, size_t len) {
  if (!socket_->Send(data, len, reinterpret_cast<const sockaddr*>(&remote_))) {
    ++stats_.send_failures;
    return false;
  }
  stats_.bytes_sent += len;
  return true;
}

void PipeTransport::Close() {
  if (closed_) return;
  closed_ = true;
  connected_ = false;
  if (socket_) socket_->Close();
}

}  // namespace sb::transport
