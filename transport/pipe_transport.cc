#include "transport/pipe_transport.h"

#include <netinet/in.h>
#include <openssl/rand.h>

#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/log.h"
#include "transport/ice_server.h"
#include "transport/sctp_app_packet.h"

namespace sb::transport {
namespace {

// RFC 3550 5.1 / 6.4.1: the fixed RTP header and the smallest RTCP packet (an empty RR).
constexpr size_t kMinRtpSize = 12;
constexpr size_t kMinRtcpSize = 8;

// RFC 5761 4: with RTP and RTCP on one port, RTCP packet types 192-223 sit where RTP's marker
// bit and payload type are.
bool IsRtcp(const uint8_t* data) { return data[1] >= 192 && data[1] <= 223; }

// The largest datagram a pipe sends for SCTP: kSctpMtu (sized for a DTLS record, and what
// usrsctp emits at most) in an APP packet (header, up to 3 bytes of padding) with SRTCP's
// AEAD-AES-256-GCM overhead (RFC 7714 9: 4-byte E flag and index, 16-byte tag). It must fit
// the 1200 bytes every datagram of ours keeps to (as kDtlsMtu), so the association's MTU needs
// no option of its own.
constexpr size_t kPipeMtu = 1200;
constexpr size_t kSrtcpAeadOverhead = 4 + 16;
static_assert(SctpAppPacketSize(kSctpMtu) + kSrtcpAeadOverhead <= kPipeMtu);

}  // namespace

absl::StatusOr<std::unique_ptr<PipeTransport>> PipeTransport::Create(uv_loop_t* loop,
                                                                     const Options& options,
                                                                     Listener* listener) {
  std::unique_ptr<PipeTransport> self(new PipeTransport(loop, options, listener));
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
  if (options.sctp) {
    if (RAND_bytes(reinterpret_cast<uint8_t*>(&self->sctp_ssrc_), sizeof(self->sctp_ssrc_)) != 1) {
      return absl::InternalError("pipe: no random bytes for the SCTP SSRC");
    }
    self->sctp_buffer_.resize(SctpAppPacketSize(kSctpMtu) + SrtpMaxOverhead() + 4);
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
  std::unique_ptr<SctpAssociation> sctp;
  if (options_.sctp) {
    SctpOptions sctp_options;
    sctp_options.dtls_client = options_.sctp_client;
    // Both ends are ours: the peer takes what we take.
    sctp_options.remote_max_message_size = sctp_options.max_message_size;
    auto created = SctpAssociation::Create(loop_, this, sctp_options);
    if (!created.ok()) return created.status();
    sctp = *std::move(created);
  }
  remote_ = remote;
  connected_ = true;
  if (sctp) {
    sctp_ = std::move(sctp);
    // Sends INIT at once; the other end, if not connected yet, drops it and SCTP retransmits.
    if (absl::Status status = sctp_->Connect(); !status.ok()) {
      sctp_.reset();
      return status;
    }
  }
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
    if (IsSctpAppPacket({data, len})) return OnSctpAppPacket(data, len);
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

void PipeTransport::OnSctpAppPacket(const uint8_t* data, size_t len) {
  if (!sctp_) {
    ++stats_.sctp_unexpected;
    return;
  }
  auto sctp_packet = ParseSctpAppPacket({data, len});
  if (!sctp_packet.ok()) {
    ++stats_.sctp_malformed;
    SB_LOG_DEBUG("transport", "pipe: dropping APP SCTP: {}", sctp_packet.status().ToString());
    return;
  }
  ++stats_.sctp_received;
  // May call the data listener, which may Close() this pipe (and so destroy the association:
  // SctpAssociation allows it from its listener calls).
  sctp_->ProcessSctpPacket(sctp_packet->data(), sctp_packet->size());
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

void PipeTransport::SendSctpPacket(const uint8_t* data, size_t len) {
  // Also while closing: Close() aborts the association before it stops sending.
  // usrsctp keeps to kSctpMtu (the buffer's size); were it ever to exceed it, the packet still
  // goes, in a larger datagram.
  const size_t needed = SctpAppPacketSize(len) + SrtpMaxOverhead() + 4;
  if (sctp_buffer_.size() < needed) sctp_buffer_.resize(needed);
  size_t size = WriteSctpAppPacket(sctp_ssrc_, {data, len}, absl::MakeSpan(sctp_buffer_));
  if (size == 0) {  // past RTCP's 256 KiB length field: never from usrsctp
    ++stats_.send_failures;
    return;
  }
  if (!connected_ ||
      (srtp_out_ && !srtp_out_->ProtectRtcp(sctp_buffer_.data(), &size, sctp_buffer_.size()))) {
    ++stats_.send_failures;
    return;
  }
  if (Send(sctp_buffer_.data(), size)) ++stats_.sctp_sent;
}

void PipeTransport::OnSctpStateChange(SctpState state, const std::string& reason) {
  if (data_listener_ != nullptr) data_listener_->OnSctpStateChange(state, reason);
}

void PipeTransport::OnDataChannelOpen(const DataChannelInfo& info) {
  if (data_listener_ != nullptr) data_listener_->OnDataChannelOpen(info);
}

void PipeTransport::OnDataChannelMessage(uint16_t stream_id, uint32_t ppid,
                                         absl::Span<const uint8_t> data) {
  if (data_listener_ != nullptr) data_listener_->OnDataChannelMessage(stream_id, ppid, data);
}

void PipeTransport::OnDataChannelClosed(uint16_t stream_id) {
  if (data_listener_ != nullptr) data_listener_->OnDataChannelClosed(stream_id);
}

void PipeTransport::OnBufferedAmountLow(uint16_t stream_id) {
  if (data_listener_ != nullptr) data_listener_->OnDataChannelBufferedAmountLow(stream_id);
}

void PipeTransport::OnSctpSendBufferAvailable() {
  if (data_listener_ != nullptr) data_listener_->OnSctpSendBufferAvailable();
}

void PipeTransport::Close() {
  if (closed_) return;
  closed_ = true;
  data_listener_ = nullptr;
  // ABORT to the peer (RFC 9260 9.1) while we can still send it.
  if (sctp_) sctp_->Close();
  connected_ = false;
  if (socket_) socket_->Close();
  sctp_.reset();
}

}  // namespace sb::transport
