#include "tests/worker/fake_peer.h"

#include <netinet/in.h>

#include <utility>

#include "rtp/rtcp/pli.h"
#include "rtp/rtcp/rtcp_packet.h"
#include "transport/stun_message.h"

namespace sb::worker::testing {
namespace {

// Ports for the fake browsers, away from the worker's 40000-49999.
constexpr uint16_t kPeerPortMin = 50000;
constexpr uint16_t kPeerPortMax = 59999;
// Room for the SRTP/SRTCP trailer after a packet: libsrtp asks for SRTP_MAX_TRAILER_LEN (tag
// and MKI, 144 bytes) whatever the profile uses.
constexpr size_t kSrtpOverhead = 256;

}  // namespace

absl::StatusOr<std::unique_ptr<FakePeer>> FakePeer::Create(uv_loop_t* loop) {
  std::unique_ptr<FakePeer> peer(new FakePeer());
  peer->loop_ = loop;
  auto cert = transport::DtlsCertificate::Generate();
  if (!cert.ok()) return cert.status();
  peer->cert_ = *std::move(cert);
  auto socket =
      transport::UdpSocket::Create(loop, "127.0.0.1", kPeerPortMin, kPeerPortMax, peer.get());
  if (!socket.ok()) return socket.status();
  peer->socket_ = *std::move(socket);
  return peer;
}

FakePeer::~FakePeer() {
  sctp_.reset();
  dtls_.reset();
  socket_.reset();
}

void FakePeer::SendBindingRequest(uint16_t server_port, const std::string& server_ufrag,
                                  const std::string& server_pwd, const std::string& peer_ufrag) {
  server_.sin_family = AF_INET;
  server_.sin_port = htons(server_port);
  server_.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  // The transaction id ends with the request's number, to find its password in the response.
  const uint32_t number = static_cast<uint32_t>(request_passwords_.size());
  request_passwords_.push_back(server_pwd);
  uint8_t tid[12] = {'f', 'a', 'k', 'e', 'p', 'e', 'e', 'r'};
  for (int i = 0; i < 4; ++i) tid[8 + i] = static_cast<uint8_t>(number >> (24 - 8 * i));
  transport::StunMessageBuilder b(transport::kStunMethodBinding, transport::StunClass::kRequest,
                                  tid);
  // RFC 8445 7.1: USERNAME is "<server ufrag>:<our ufrag>"; we are the controlling agent.
  b.AddUsername(server_ufrag + ":" + peer_ufrag)
      .AddPriority(0x6e7f1eff)
      .AddIceControlling(0x0102030405060708ull)
      .AddUseCandidate();
  std::vector<uint8_t> request = b.AddMessageIntegrity(server_pwd).AddFingerprint().Take();
  last_binding_request_ = request;
  socket_->Send(request.data(), request.size(), reinterpret_cast<const sockaddr*>(&server_));
}

absl::Status FakePeer::MoveToNewPort() {
  auto socket = transport::UdpSocket::Create(loop_, "127.0.0.1", kPeerPortMin, kPeerPortMax, this);
  if (!socket.ok()) return socket.status();
  socket_->Close();
  socket_ = *std::move(socket);
  return absl::OkStatus();
}

absl::Status FakePeer::StartDtls(std::vector<transport::Fingerprint> remote,
                                 const char* srtp_profiles) {
  auto dtls = transport::DtlsTransport::Create(loop_, cert_.get(), this,
                                               transport::kDtlsHandshakeTimeoutMs, srtp_profiles);
  if (!dtls.ok()) return dtls.status();
  dtls_ = *std::move(dtls);
  dtls_->SetRemoteFingerprints(std::move(remote));
  return dtls_->Start(transport::DtlsRole::kClient);
}

std::vector<uint8_t> FakePeer::ProtectRtp(const uint8_t* data, size_t len) {
  if (!srtp_out_) return {};
  std::vector<uint8_t> buffer(data, data + len);
  buffer.resize(len + kSrtpOverhead);
  if (!srtp_out_->ProtectRtp(buffer.data(), &len, buffer.size())) return {};
  buffer.resize(len);
  return buffer;
}

std::vector<uint8_t> FakePeer::ProtectRtcp(const uint8_t* data, size_t len) {
  if (!srtp_out_) return {};
  std::vector<uint8_t> buffer(data, data + len);
  buffer.resize(len + kSrtpOverhead);
  if (!srtp_out_->ProtectRtcp(buffer.data(), &len, buffer.size())) return {};
  buffer.resize(len);
  return buffer;
}

bool FakePeer::SendRaw(const std::vector<uint8_t>& bytes) {
  return !bytes.empty() &&
         socket_->Send(bytes.data(), bytes.size(), reinterpret_cast<const sockaddr*>(&server_));
}

bool FakePeer::SendRtp(const uint8_t* data, size_t len) { return SendRaw(ProtectRtp(data, len)); }

bool FakePeer::SendRtcp(const uint8_t* data, size_t len) { return SendRaw(ProtectRtcp(data, len)); }

void FakePeer::OnUdpPacket(uint8_t* data, size_t len, const sockaddr* /*from*/) {
  if (len == 0 || deaf_) return;
  // RFC 7983 demultiplexing by the first byte.
  if (data[0] <= 3) {
    auto message = transport::StunMessage::Parse(absl::Span<const uint8_t>(data, len));
    if (!message.ok() || message->message_class() == transport::StunClass::kRequest ||
        message->message_class() == transport::StunClass::kIndication) {
      return;
    }
    ++stun_responses_;
    const auto tid = message->transaction_id();
    uint32_t number = 0;
    for (int i = 0; i < 4; ++i) number = (number << 8) | tid[8 + i];
    if (message->message_class() == transport::StunClass::kSuccessResponse &&
        number < request_passwords_.size() &&
        message->CheckIntegrity(std::string_view(request_passwords_[number]))) {
      ice_completed_ = true;
      ++binding_successes_;
    }
  } else if (data[0] >= 20 && data[0] <= 63) {
    if (dtls_) dtls_->ProcessPacket(data, len);
  } else if (data[0] >= 128 && data[0] <= 191) {
    if (!srtp_in_) return;
    if (rtp::IsRtcp(absl::Span<const uint8_t>(data, len))) {
      if (!srtp_in_->UnprotectRtcp(data, &len)) {
        ++unprotect_failures_;
        return;
      }
      rtcp_.emplace_back(data, data + len);
    } else {
      if (!srtp_in_->UnprotectRtp(data, &len)) {
        ++unprotect_failures_;
        return;
      }
      rtp_.emplace_back(data, data + len);
    }
  }
}

void FakePeer::SendDtlsData(const uint8_t* data, size_t len) {
  socket_->Send(data, len, reinterpret_cast<const sockaddr*>(&server_));
}

void FakePeer::OnDtlsStateChange(transport::DtlsState state, const std::string& /*reason*/) {
  dtls_state_ = state;
  if (state != transport::DtlsState::kConnected || !sctp_wanted_ || sctp_) return;
  transport::SctpOptions options;
  options.dtls_client = true;
  options.remote_max_message_size = transport::kSctpMaxMessageSize;  // the worker's SDP says so
  auto sctp = transport::SctpAssociation::Create(loop_, this, options);
  if (!sctp.ok()) return;
  sctp_ = *std::move(sctp);
  (void)sctp_->Connect();
}

void FakePeer::OnDtlsConnected(transport::SrtpProfile profile, std::vector<uint8_t> local_key_salt,
                               std::vector<uint8_t> remote_key_salt) {
  auto out = transport::SrtpSession::Create(transport::SrtpSession::Direction::kOutbound, profile,
                                            local_key_salt);
  auto in = transport::SrtpSession::Create(transport::SrtpSession::Direction::kInbound, profile,
                                           remote_key_salt);
  if (out.ok()) srtp_out_ = *std::move(out);
  if (in.ok()) srtp_in_ = *std::move(in);
}

void FakePeer::OnDtlsApplicationData(const uint8_t* data, size_t len) {
  if (sctp_) sctp_->ProcessSctpPacket(data, len);
}

void FakePeer::SendSctpPacket(const uint8_t* data, size_t len) {
  dtls_->SendApplicationData(data, len);
}

void FakePeer::OnSctpStateChange(transport::SctpState state, const std::string& /*reason*/) {
  sctp_state_ = state;
}

void FakePeer::OnDataChannelOpen(const transport::DataChannelInfo& info) {
  opened_.push_back(info);
}

void FakePeer::OnDataChannelMessage(uint16_t stream_id, uint32_t ppid,
                                    absl::Span<const uint8_t> data) {
  data_messages_.push_back({stream_id, ppid, std::vector<uint8_t>(data.begin(), data.end())});
}

void FakePeer::OnDataChannelClosed(uint16_t stream_id) { closed_.push_back(stream_id); }

int FakePeer::PliCount(uint32_t media_ssrc) const {
  int count = 0;
  for (const auto& compound : rtcp_) {
    (void)rtp::ForEachRtcpPacket(compound, [&](const rtp::RtcpHeader& h) {
      if (h.packet_type != rtp::kRtcpPsfb || h.count_or_fmt != rtp::kPsfbPli) return;
      auto pli = rtp::Pli::Parse(h.packet);
      if (pli && pli->media_ssrc == media_ssrc) ++count;
    });
  }
  return count;
}

}  // namespace sb::worker::testing
