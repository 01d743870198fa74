// DTLS 1.2 endpoint for DTLS-SRTP (RFC 5764) over OpenSSL with memory BIOs: the owner feeds
// received records in and puts the records this class hands out on the wire.
#pragma once

#include <openssl/ssl.h>
#include <uv.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "base/uv_timer.h"
#include "transport/dtls_certificate.h"
#include "transport/srtp_session.h"
#include "transport/transport_types.h"

namespace sb::transport {

// A handshake that has not finished after this long fails (peers give up around 30 s too).
inline constexpr uint64_t kDtlsHandshakeTimeoutMs = 30000;
// Largest datagram we build: fits the IPv6 minimum MTU with room for UDP/IP and TURN headers.
inline constexpr size_t kDtlsMtu = 1200;
// RFC 5764 4.1.2 profile names (OpenSSL's spelling), our preference first: GCM costs a quarter
// of AES-CM+HMAC with Debian's NSS-backed libsrtp (DESIGN.md).
inline constexpr char kDtlsSrtpProfiles[] =
    "SRTP_AEAD_AES_256_GCM:SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80";

class DtlsTransport {
 public:
  class Listener {
   public:
    virtual ~Listener() = default;
    // One datagram of DTLS records to put on the wire.
    virtual void SendDtlsData(const uint8_t* data, size_t len) = 0;
    virtual void OnDtlsStateChange(DtlsState state, const std::string& reason) = 0;
    // Called once, just before the state becomes kConnected. Each key_salt is the master key
    // followed by the master salt; local is what we protect with, remote what the peer uses.
    // A listener that cannot use the keys calls Abort(): the state becomes kFailed instead.
    virtual void OnDtlsConnected(SrtpProfile profile, std::vector<uint8_t> local_key_salt,
                                 std::vector<uint8_t> remote_key_salt) = 0;
    virtual void OnDtlsApplicationData(const uint8_t* data, size_t len) = 0;
  };

  // Hostile or useless input the session survived, or the reason it failed.
  struct Stats {
    // A ClientHello in epoch 0 after the handshake (a stranger's or a restarted peer's new
    // session on the same tuple): dropped before OpenSSL sees it.
    uint64_t client_hellos_after_handshake = 0;
    // Renegotiation attempts (an encrypted ClientHello or HelloRequest after the handshake),
    // refused with a no_renegotiation warning (RFC 5246 7.2.2); the session goes on.
    uint64_t renegotiations_refused = 0;
    // The peer's certificate matched none of the remote fingerprints (RFC 8122 5): the
    // handshake was aborted with a bad_certificate alert and the session failed.
    uint64_t fingerprint_mismatches = 0;
  };

  // srtp_profiles: the use_srtp profiles offered or accepted, in OpenSSL's names.
  static absl::StatusOr<std::unique_ptr<DtlsTransport>> Create(
      uv_loop_t* loop, const DtlsCertificate* certificate, Listener* listener,
      uint64_t handshake_timeout_ms = kDtlsHandshakeTimeoutMs,
      const char* srtp_profiles = kDtlsSrtpProfiles);
  ~DtlsTransport();
  DtlsTransport(const DtlsTransport&) = delete;
  DtlsTransport& operator=(const DtlsTransport&) = delete;

  // The peer certificate must match one of these after the handshake (RFC 8122 section 5).
  void SetRemoteFingerprints(std::vector<Fingerprint> fingerprints);
  // local_role is kClient or kServer; a client sends its ClientHello at once.
  absl::Status Start(DtlsRole local_role);
  // One received datagram of DTLS records.
  void ProcessPacket(const uint8_t* data, size_t len);
  // Application data (SCTP later) once connected.
  bool SendApplicationData(const uint8_t* data, size_t len);
  // Sends close_notify if connected, stops timers; no listener calls after it. Idempotent.
  void Close();
  // Fails the session with `reason` (e.g. its SRTP keys could not be used): state kFailed,
  // reported to the listener; nothing is sent to the peer.
  void Abort(const std::string& reason) { Fail(reason); }

  DtlsState state() const { return state_; }
  DtlsRole role() const { return role_; }
  std::optional<SrtpProfile> srtp_profile() const { return profile_; }
  const Stats& stats() const { return stats_; }

 private:
  struct CtxDeleter {
    void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
  };
  struct SslDeleter {
    void operator()(SSL* ssl) const { SSL_free(ssl); }
  };
  DtlsTransport(Listener* listener, uint64_t handshake_timeout_ms)
      : listener_(listener), handshake_timeout_ms_(handshake_timeout_ms) {}

  void DoHandshake();
  void OnHandshakeDone();
  void ReadApplicationData();
  void Flush();
  void ArmRetransmitTimer();
  void OnRetransmitTimer();
  void Fail(const std::string& reason);
  void SetState(DtlsState state, const std::string& reason);
  absl::Status CheckRemoteFingerprint();
  absl::Status CheckFingerprint(X509* certificate) const;
  // OpenSSL callbacks; `this` is the SSL's app data.
  static int VerifyCallback(int preverify_ok, X509_STORE_CTX* store);
  // The context shared by every transport of `certificate` (DtlsCertificate::dtls_context).
  static absl::StatusOr<SSL_CTX*> NewContext(const DtlsCertificate* certificate);
  static void MessageCallback(int write_p, int version, int content_type, const void* buf,
                              size_t len, SSL* ssl, void* arg);

  // Passed by argument.
  Listener* listener_;
  // Allocated by this.
  std::unique_ptr<SSL_CTX, CtxDeleter> ctx_;  // a reference to the certificate's shared context
  std::string srtp_profiles_;
  std::unique_ptr<SSL, SslDeleter> ssl_;
  BIO* rbio_ = nullptr;  // Owned by ssl_.
  BIO* wbio_ = nullptr;  // Owned by ssl_.
  std::unique_ptr<UvTimer> retransmit_timer_;
  std::unique_ptr<UvTimer> handshake_timer_;
  uint64_t handshake_timeout_ms_;
  std::vector<Fingerprint> remote_fingerprints_;
  DtlsState state_ = DtlsState::kNew;
  DtlsRole role_ = DtlsRole::kAuto;
  bool handshake_done_ = false;
  // Set by VerifyCallback when it refused the peer's certificate: why the handshake failed.
  absl::Status verify_failure_;
  std::optional<SrtpProfile> profile_;
  Stats stats_;
};

}  // namespace sb::transport
