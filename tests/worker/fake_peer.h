// A fake browser for tests against a real worker: a UDP socket on 127.0.0.1 that does what a
// WebRTC endpoint does toward an ICE-lite server (one nominating STUN binding request), then a
// client-role DTLS handshake and SRTP with the exported keys. What it receives is decrypted and
// kept for the test to look at.
#pragma once

#include <uv.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "transport/dtls_certificate.h"
#include "transport/dtls_transport.h"
#include "transport/sctp_association.h"
#include "transport/srtp_session.h"
#include "transport/udp_socket.h"

namespace sb::worker::testing {

class FakePeer : public transport::UdpSocket::Listener,
                 public transport::DtlsTransport::Listener,
                 public transport::SctpAssociation::Listener {
 public:
  // A data channel message received: its stream, PPID and bytes.
  struct DataMessage {
    uint16_t stream_id;
    uint32_t ppid;
    std::vector<uint8_t> data;
  };
  static absl::StatusOr<std::unique_ptr<FakePeer>> Create(uv_loop_t* loop);
  ~FakePeer() override;

  // Our certificate's fingerprints, for the server's TRANSPORT_CONNECT.
  std::vector<transport::Fingerprint> fingerprints() const { return cert_->Fingerprints(); }

  // Sends a binding request with USE-CANDIDATE to the server's 127.0.0.1:port candidate,
  // authenticated with the server's ICE credentials; `peer_ufrag` is our own (the remote part of
  // USERNAME), new after an ICE restart. Media and DTLS go to that port from then on.
  void SendBindingRequest(uint16_t server_port, const std::string& server_ufrag,
                          const std::string& server_pwd,
                          const std::string& peer_ufrag = "fakepeer");
  // A success response with valid integrity came back.
  bool ice_completed() const { return ice_completed_; }
  // STUN responses received, whatever they are; and the success responses among them whose
  // MESSAGE-INTEGRITY checks with the password of the request they answer.
  int stun_responses() const { return stun_responses_; }
  int binding_successes() const { return binding_successes_; }

  // Continues from a new local port (a new socket; the old one is closed), as a browser whose
  // network changed: the same DTLS and SRTP sessions, a new tuple for the server.
  absl::Status MoveToNewPort();
  uint16_t local_port() const { return socket_->local_port(); }

  // The last binding request sent, byte for byte.
  const std::vector<uint8_t>& last_binding_request() const { return last_binding_request_; }

  // Starts the DTLS client toward the server, checking its certificate against `remote`;
  // `srtp_profiles` are the use_srtp profiles offered (OpenSSL names).
  absl::Status StartDtls(std::vector<transport::Fingerprint> remote,
                         const char* srtp_profiles = transport::kDtlsSrtpProfiles);
  bool dtls_connected() const { return dtls_state_ == transport::DtlsState::kConnected; }
  bool dtls_failed() const { return dtls_state_ == transport::DtlsState::kFailed; }

  // Protects and sends a plain RTP / RTCP packet. False before DTLS or on failure.
  bool SendRtp(const uint8_t* data, size_t len);
  bool SendRtcp(const uint8_t* data, size_t len);
  // Protects without sending (empty before DTLS or on failure), and sends bytes as they are
  // from this peer's socket: to replay or forge packets from the peer's own address.
  std::vector<uint8_t> ProtectRtp(const uint8_t* data, size_t len);
  std::vector<uint8_t> ProtectRtcp(const uint8_t* data, size_t len);
  bool SendRaw(const std::vector<uint8_t>& bytes);

  // Data channels, as a browser whose SDP has an m=application: an SCTP association (DTLS
  // client: even stream ids) started once DTLS connects. Call before StartDtls.
  void EnableSctp() { sctp_wanted_ = true; }
  transport::SctpAssociation* sctp() { return sctp_.get(); }
  bool sctp_connected() const { return sctp_state_ == transport::SctpState::kConnected; }
  const std::vector<transport::DataChannelInfo>& channels_opened() const { return opened_; }
  const std::vector<DataMessage>& data_messages() const { return data_messages_; }
  const std::vector<uint16_t>& channels_closed() const { return closed_; }
  // While deaf, every datagram from the server is dropped (a receiver that stopped reading).
  void set_deaf(bool deaf) { deaf_ = deaf; }

  // Decrypted packets received from the server.
  const std::vector<std::vector<uint8_t>>& rtp() const { return rtp_; }
  const std::vector<std::vector<uint8_t>>& rtcp() const { return rtcp_; }
  uint64_t unprotect_failures() const { return unprotect_failures_; }
  // PLIs (RFC 4585 6.3.1) received so far that name `media_ssrc`.
  int PliCount(uint32_t media_ssrc) const;

 private:
  FakePeer() = default;

  // transport::UdpSocket::Listener
  void OnUdpPacket(uint8_t* data, size_t len, const sockaddr* from) override;
  // transport::DtlsTransport::Listener
  void SendDtlsData(const uint8_t* data, size_t len) override;
  void OnDtlsStateChange(transport::DtlsState state, const std::string& reason) override;
  void OnDtlsConnected(transport::SrtpProfile profile, std::vector<uint8_t> local_key_salt,
                       std::vector<uint8_t> remote_key_salt) override;
  void OnDtlsApplicationData(const uint8_t* data, size_t len) override;
  // transport::SctpAssociation::Listener
  void SendSctpPacket(const uint8_t* data, size_t len) override;
  void OnSctpStateChange(transport::SctpState state, const std::string& reason) override;
  void OnDataChannelOpen(const transport::DataChannelInfo& info) override;
  void OnDataChannelMessage(uint16_t stream_id, uint32_t ppid,
                            absl::Span<const uint8_t> data) override;
  void OnDataChannelClosed(uint16_t stream_id) override;
  void OnBufferedAmountLow(uint16_t /*stream_id*/) override {}
  void OnSctpSendBufferAvailable() override {}

  uv_loop_t* loop_ = nullptr;
  std::unique_ptr<transport::DtlsCertificate> cert_;
  std::unique_ptr<transport::UdpSocket> socket_;
  std::unique_ptr<transport::DtlsTransport> dtls_;
  std::unique_ptr<transport::SrtpSession> srtp_out_, srtp_in_;
  sockaddr_in server_{};
  // The password of each binding request sent, by its transaction number.
  std::vector<std::string> request_passwords_;
  std::vector<uint8_t> last_binding_request_;
  bool ice_completed_ = false;
  int stun_responses_ = 0;
  int binding_successes_ = 0;
  transport::DtlsState dtls_state_ = transport::DtlsState::kNew;
  std::vector<std::vector<uint8_t>> rtp_, rtcp_;
  uint64_t unprotect_failures_ = 0;
  bool sctp_wanted_ = false;
  bool deaf_ = false;
  std::unique_ptr<transport::SctpAssociation> sctp_;
  transport::SctpState sctp_state_ = transport::SctpState::kNew;
  std::vector<transport::DataChannelInfo> opened_;
  std::vector<DataMessage> data_messages_;
  std::vector<uint16_t> closed_;
};

}  // namespace sb::worker::testing
