// One client-side WebRTC connection as a browser runs it toward an ICE-lite server: a UDP
// socket on 127.0.0.1, ICE connectivity checks as the controlling agent (repeated as consent
// freshness), a DTLS client handshake and SRTP/SRTCP with the exported keys.
#pragma once

#include <netinet/in.h>
#include <uv.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "base/uv_timer.h"
#include "transport/dtls_certificate.h"
#include "transport/dtls_transport.h"
#include "transport/srtp_session.h"
#include "transport/udp_socket.h"

namespace sb::bench {

// Where and how to reach the server: its candidate, ICE credentials and DTLS fingerprints.
struct RemoteEndpoint {
  sockaddr_in address{};
  std::string ice_ufrag, ice_pwd;
  std::vector<transport::Fingerprint> fingerprints;
};

struct ConnectionCounters {
  uint64_t rtp_sent = 0, rtp_bytes_sent = 0, rtcp_sent = 0;
  uint64_t rtp_received = 0, rtp_bytes_received = 0, rtcp_received = 0;
  uint64_t rtp_decrypted = 0, unprotect_failures = 0, send_failures = 0;
};

class MediaConnection : public transport::UdpSocket::Listener,
                        public transport::DtlsTransport::Listener {
 public:
  class Listener {
   public:
    virtual ~Listener() = default;
    virtual void OnMediaConnected() = 0;
    virtual void OnMediaFailed(const std::string& reason) = 0;
    // Every received SRTP packet before decryption (RTP, not RTCP): true to have it decrypted
    // and passed to OnRtp. SRTP leaves the RTP header in the clear (RFC 3711 3.1), so a
    // receiver that measures loss and jitter from headers may decrypt only a sample; libsrtp's
    // rollover-counter estimate (RFC 3711 3.3.1) holds while fewer than 2^15 packets of a
    // stream are skipped in a row.
    virtual bool OnSrtpPacket(const uint8_t* /*data*/, size_t /*len*/) { return true; }
    // Decrypted packets; mutable so that the receiver may parse in place.
    virtual void OnRtp(uint8_t* data, size_t len) = 0;
    virtual void OnRtcp(uint8_t* data, size_t len) = 0;
    // A received SRTP or SRTCP packet failed authentication or replay checks.
    virtual void OnUnprotectFailure() {}
    // DTLS application data: SCTP packets of the data channels (RFC 8261).
    virtual void OnApplicationData(const uint8_t* /*data*/, size_t /*len*/) {}
  };

  // Room a caller leaves after a packet for SRTP/SRTCP: libsrtp asks for its maximum trailer
  // (SRTP_MAX_TRAILER_LEN, 144 bytes) whatever the profile uses, plus the SRTCP index.
  static constexpr size_t kSrtpRoom = 160;

  // The address every connection's socket binds: 127.0.0.1 unless set (before any Create),
  // e.g. to a veth address inside a test namespace for a server that will not use loopback.
  static void SetBindAddress(std::string ip) { BindAddress() = std::move(ip); }
  static const std::string& bind_address() { return BindAddress(); }
  // When set (before any Create), DTLS starts only once the peer has checked us too, as a full
  // ICE agent (or Janus's libnice) drops DTLS before its own check succeeded; otherwise the
  // ClientHello waits for its 1 s retransmission.
  static void SetAwaitPeerCheck(bool await) { AwaitPeerCheck() = await; }
  // For tests of the instrument only: one in `n` received SRTP packets that would be decrypted
  // has a byte of its authentication tag flipped first, so that unprotect fails as it does for
  // a server that encrypts with the wrong key (0: never, the default).
  static void SetBreakDecryptionOneIn(uint32_t n) { BreakDecryptionOneIn() = n; }

  static absl::StatusOr<std::unique_ptr<MediaConnection>> Create(
      uv_loop_t* loop, const transport::DtlsCertificate* certificate, std::string local_ufrag,
      Listener* listener);
  ~MediaConnection() override;

  // Our ICE password: when set, the connection answers the peer's binding requests (a full
  // ICE agent, or Janus's libnice even as ICE-lite, checks back before it sends media).
  void SetLocalPassword(std::string pwd) { local_pwd_ = std::move(pwd); }
  // Starts ICE checks toward the server; DTLS starts at the first authenticated response.
  void Start(RemoteEndpoint remote);
  // Protect in place and send; `capacity` must leave kSrtpRoom after len.
  bool SendRtp(uint8_t* data, size_t len, size_t capacity);
  bool SendRtcp(uint8_t* data, size_t len, size_t capacity);
  // One SCTP packet as a DTLS record (once DTLS is connected).
  bool SendApplicationData(const uint8_t* data, size_t len);
  void Close();

  // The kernel's arrival time of each received datagram (transport::UdpSocket), read during
  // the listener's calls by packet_arrival_us(): microseconds of CLOCK_REALTIME.
  void EnableArrivalTimestamps() { socket_->EnableArrivalTimestamps(); }
  int64_t packet_arrival_us() const { return socket_->arrival_us(); }

  bool connected() const { return srtp_out_ != nullptr; }
  const ConnectionCounters& counters() const { return counters_; }
  uint16_t local_port() const { return socket_->local_port(); }

 private:
  static bool& AwaitPeerCheck() {
    static bool await = false;
    return await;
  }
  static uint32_t& BreakDecryptionOneIn() {
    static uint32_t n = 0;
    return n;
  }
  void StartDtls();
  static std::string& BindAddress() {
    static std::string address = "127.0.0.1";
    return address;
  }
  MediaConnection(uv_loop_t* loop, const transport::DtlsCertificate* certificate,
                  std::string local_ufrag, Listener* listener)
      : loop_(loop),
        certificate_(certificate),
        local_ufrag_(std::move(local_ufrag)),
        listener_(listener) {}

  void SendBindingRequest();
  void OnStun(const uint8_t* data, size_t len, const sockaddr* from);
  void Fail(const std::string& reason);
  const sockaddr* server() const { return reinterpret_cast<const sockaddr*>(&remote_.address); }

  // transport::UdpSocket::Listener
  void OnUdpPacket(uint8_t* data, size_t len, const sockaddr* from) override;
  // transport::DtlsTransport::Listener
  void SendDtlsData(const uint8_t* data, size_t len) override;
  void OnDtlsStateChange(transport::DtlsState state, const std::string& reason) override;
  void OnDtlsConnected(transport::SrtpProfile profile, std::vector<uint8_t> local_key_salt,
                       std::vector<uint8_t> remote_key_salt) override;
  void OnDtlsApplicationData(const uint8_t* data, size_t len) override;

  // Passed by argument.
  uv_loop_t* loop_;
  const transport::DtlsCertificate* certificate_;
  std::string local_ufrag_;
  Listener* listener_;
  std::string local_pwd_;
  // Allocated by this.
  std::unique_ptr<transport::UdpSocket> socket_;
  std::unique_ptr<transport::DtlsTransport> dtls_;
  std::unique_ptr<transport::SrtpSession> srtp_out_, srtp_in_;
  std::unique_ptr<UvTimer> ice_timer_;
  RemoteEndpoint remote_;
  uint64_t tie_breaker_ = 0;
  uint8_t transaction_id_[12] = {};
  bool ice_done_ = false;
  bool peer_checked_ = false;
  bool failed_ = false;
  int checks_unanswered_ = 0;
  uint32_t until_broken_ = 0;  // SetBreakDecryptionOneIn: packets before the next broken one
  ConnectionCounters counters_;
};

}  // namespace sb::bench
