// A browser for transport tests, on a loopback UDP socket of its own: ICE checks (controlling
// agent), a DTLS client with SRTP from its exported keys, and optionally an SCTP association for
// data channels once DTLS is up, as a browser with a data channel has.
#pragma once

#include <gtest/gtest.h>
#include <netinet/in.h>

#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "transport/dtls_transport.h"
#include "transport/sctp_association.h"
#include "transport/srtp_session.h"
#include "transport/stun_message.h"
#include "transport/udp_socket.h"
#include "transport/webrtc_transport.h"

namespace sb::transport::testing {

using Bytes = std::vector<uint8_t>;

// A browser: its own UDP socket (on a given port, or any), ICE checks, a DTLS client and SRTP.
struct FakeBrowser : UdpSocket::Listener, DtlsTransport::Listener, SctpAssociation::Listener {
  FakeBrowser(uv_loop_t* loop, const std::string& ip, uint16_t port = 0) : loop_(loop) {
    auto s = UdpSocket::Create(loop, ip, port, port, this);
    EXPECT_TRUE(s.ok()) << s.status();
    if (s.ok()) socket = *std::move(s);
  }
  void OnUdpPacket(uint8_t* data, size_t len, const sockaddr*) override {
    if (len == 0) return;
    if (data[0] <= 3) {
      stun.emplace_back(data, data + len);
    } else if (data[0] >= 20 && data[0] <= 63) {
      if (dtls) dtls->ProcessPacket(data, len);
    } else if (data[0] >= 128 && data[0] <= 191) {
      media.emplace_back(data, data + len);
    }
  }
  void SendDtlsData(const uint8_t* data, size_t len) override { Send(data, len); }
  void OnDtlsStateChange(DtlsState s, const std::string&) override {
    dtls_state = s;
    // As a browser with a data channel does: SCTP once DTLS is up (RFC 8261 6), as the client.
    if (s == DtlsState::kConnected && with_sctp) {
      SctpOptions options;
      options.dtls_client = true;
      auto sctp_or = SctpAssociation::Create(loop_, this, options);
      EXPECT_TRUE(sctp_or.ok()) << sctp_or.status();
      if (!sctp_or.ok()) return;
      sctp = *std::move(sctp_or);
      EXPECT_TRUE(sctp->Connect().ok());
    }
  }
  void OnDtlsConnected(SrtpProfile profile, std::vector<uint8_t> local,
                       std::vector<uint8_t> remote) override {
    srtp_out = *SrtpSession::Create(SrtpSession::Direction::kOutbound, profile, local);
    srtp_in = *SrtpSession::Create(SrtpSession::Direction::kInbound, profile, remote);
  }
  void OnDtlsApplicationData(const uint8_t* data, size_t len) override {
    if (sctp) sctp->ProcessSctpPacket(data, len);
  }
  // SctpAssociation::Listener
  void SendSctpPacket(const uint8_t* data, size_t len) override {
    dtls->SendApplicationData(data, len);
  }
  void OnSctpStateChange(SctpState s, const std::string&) override { sctp_state = s; }
  void OnDataChannelOpen(const DataChannelInfo& info) override { opened.push_back(info); }
  void OnDataChannelMessage(uint16_t stream_id, uint32_t, absl::Span<const uint8_t> data) override {
    messages.emplace_back(stream_id, std::string(data.begin(), data.end()));
  }
  void OnDataChannelClosed(uint16_t stream_id) override { closed.push_back(stream_id); }
  void OnBufferedAmountLow(uint16_t) override {}
  void OnSctpSendBufferAvailable() override {}

  void Send(const uint8_t* data, size_t len) {
    socket->Send(data, len, reinterpret_cast<const sockaddr*>(&server));
  }
  // A nominating check naming `t`'s credentials, with a fresh transaction id.
  void Check(const WebRtcTransport& t, const std::string& pwd = "") {
    uint8_t tid[12] = {};
    ++checks;
    std::memcpy(tid, &checks, sizeof(checks));
    std::memcpy(tid + 4, &socket, sizeof(void*));
    StunMessageBuilder b(kStunMethodBinding, StunClass::kRequest, tid);
    b.AddUsername(t.ice_ufrag() + ":browser").AddPriority(0x6e7f1eff);
    b.AddIceControlling(0x1122334455667788ull).AddUseCandidate();
    Bytes bytes = b.AddMessageIntegrity(pwd.empty() ? t.ice_pwd() : pwd).AddFingerprint().Take();
    Send(bytes.data(), bytes.size());
  }
  // A nominating check to `t`, then the DTLS handshake as client (`t` learns our fingerprint);
  // the caller runs the loop until both sides are connected.
  void ConnectTo(WebRtcTransport& t) {
    Check(t);
    auto c = DtlsCertificate::Generate();
    ASSERT_TRUE(c.ok());
    cert = *std::move(c);
    ASSERT_TRUE(t.Connect(DtlsRole::kClient, cert->Fingerprints()).ok());
    auto d = DtlsTransport::Create(loop_, cert.get(), this);
    ASSERT_TRUE(d.ok());
    dtls = *std::move(d);
    dtls->SetRemoteFingerprints(t.local_fingerprints());
    ASSERT_TRUE(dtls->Start(DtlsRole::kClient).ok());
  }
  // An SRTP packet of ssrc `ssrc` (RTP header + 20 bytes of payload).
  void SendRtp(uint32_t ssrc, uint16_t seq) {
    uint8_t packet[1500] = {0x80, 96};
    packet[2] = static_cast<uint8_t>(seq >> 8);
    packet[3] = static_cast<uint8_t>(seq);
    packet[8] = static_cast<uint8_t>(ssrc >> 24);
    packet[9] = static_cast<uint8_t>(ssrc >> 16);
    packet[10] = static_cast<uint8_t>(ssrc >> 8);
    packet[11] = static_cast<uint8_t>(ssrc);
    size_t len = 32;
    ASSERT_TRUE(srtp_out->ProtectRtp(packet, &len, sizeof(packet)));
    Send(packet, len);
  }
  uint16_t port() const { return socket->local_port(); }
  // Sends to 127.0.0.1:port (or [::1]:port).
  void AimAt(uint16_t port, bool v6 = false) {
    server = {};
    if (v6) {
      auto* a = reinterpret_cast<sockaddr_in6*>(&server);
      a->sin6_family = AF_INET6;
      a->sin6_port = htons(port);
      a->sin6_addr = in6addr_loopback;
    } else {
      auto* a = reinterpret_cast<sockaddr_in*>(&server);
      a->sin_family = AF_INET;
      a->sin_port = htons(port);
      a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    }
  }

  uv_loop_t* loop_;
  std::unique_ptr<UdpSocket> socket;
  sockaddr_storage server{};
  uint32_t checks = 0;
  std::unique_ptr<DtlsCertificate> cert;
  std::unique_ptr<DtlsTransport> dtls;
  DtlsState dtls_state = DtlsState::kNew;
  std::unique_ptr<SrtpSession> srtp_out, srtp_in;
  std::vector<Bytes> stun, media;
  // Data channels (with_sctp): the association, started when DTLS connects.
  bool with_sctp = false;
  std::unique_ptr<SctpAssociation> sctp;
  SctpState sctp_state = SctpState::kNew;
  std::vector<DataChannelInfo> opened;
  std::vector<std::pair<uint16_t, std::string>> messages;
  std::vector<uint16_t> closed;
};

}  // namespace sb::transport::testing
