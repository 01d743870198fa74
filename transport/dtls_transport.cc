#include "transport/dtls_transport.h"

#include <openssl/err.h>
#include <openssl/srtp.h>

#include <algorithm>
#include <array>
#include <climits>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/log.h"

namespace sb::transport {
namespace {

// Forward-secret AEAD suites first; the CBC ones for older peers with RSA certificates.
constexpr char kCipherList[] =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:"
    "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-CHACHA20-POLY1305:"
    "ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA";
// RFC 5764 4.2 exporter label.
constexpr char kExporterLabel[] = "EXTRACTOR-dtls_srtp";
// DTLS record header: type, version, epoch, sequence number, length (RFC 6347 4.1).
constexpr size_t kRecordHeaderSize = 13;
constexpr uint8_t kContentTypeHandshake = 22;
constexpr uint8_t kHandshakeClientHello = 1;
// Largest TLS plaintext record (RFC 5246 6.2.1).
constexpr size_t kMaxRecordPlaintext = 16384;

std::string OpenSslErrors() {
  std::string out;
  char buf[256];
  while (unsigned long e = ERR_get_error()) {
    ERR_error_string_n(e, buf, sizeof(buf));
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? "unknown error" : out;
}

// True if a record of the datagram is a plaintext (epoch 0) ClientHello (RFC 6347 4.1, 4.2.2).
bool HasClientHello(const uint8_t* data, size_t len) {
  size_t pos = 0;
  while (len - pos >= kRecordHeaderSize) {
    const uint8_t* record = data + pos;
    const size_t length = (size_t{record[11]} << 8) | record[12];
    const bool epoch0 = record[3] == 0 && record[4] == 0;
    if (record[0] == kContentTypeHandshake && epoch0 && length > 0 &&
        len - pos - kRecordHeaderSize >= 1 && record[kRecordHeaderSize] == kHandshakeClientHello) {
      return true;
    }
    pos += kRecordHeaderSize + length;
    if (pos > len) break;
  }
  return false;
}

std::optional<SrtpProfile> ProfileFromId(unsigned long id) {
  switch (id) {
    case SRTP_AES128_CM_SHA1_80:
      return SrtpProfile::kAes128CmSha1_80;
    case SRTP_AEAD_AES_128_GCM:
      return SrtpProfile::kAeadAes128Gcm;
    case SRTP_AEAD_AES_256_GCM:
      return SrtpProfile::kAeadAes256Gcm;
    default:
      return std::nullopt;
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<DtlsTransport>> DtlsTransport::Create(
    uv_loop_t* loop, const DtlsCertificate* certificate, Listener* listener,
    uint64_t handshake_timeout_ms, const char* srtp_profiles) {
  std::unique_ptr<DtlsTransport> t(new DtlsTransport(listener, handshake_timeout_ms));
  if (srtp_profiles == nullptr) return absl::InvalidArgumentError("dtls: no SRTP profiles");
  t->srtp_profiles_ = srtp_profiles;
  SSL_CTX* ctx = certificate->dtls_context();
  if (ctx == nullptr) {
    auto made = NewContext(certificate);
    if (!made.ok()) return made.status();
    certificate->set_dtls_context(*made);
    ctx = *made;
  }
  SSL_CTX_up_ref(ctx);
  t->ctx_.reset(ctx);
  DtlsTransport* self = t.get();
  t->retransmit_timer_ = std::make_unique<UvTimer>(loop, [self] { self->OnRetransmitTimer(); });
  t->handshake_timer_ = std::make_unique<UvTimer>(loop, [self] {
    if (!self->handshake_done_) self->Fail("handshake timeout");
  });
  return t;
}

absl::StatusOr<SSL_CTX*> DtlsTransport::NewContext(const DtlsCertificate* certificate) {
  ERR_clear_error();
  std::unique_ptr<SSL_CTX, CtxDeleter> owned(SSL_CTX_new(DTLS_method()));
  SSL_CTX* ctx = owned.get();
  if (ctx == nullptr) return absl::InternalError("SSL_CTX_new: " + OpenSslErrors());
  if (SSL_CTX_use_certificate(ctx, certificate->certificate()) != 1 ||
      SSL_CTX_use_PrivateKey(ctx, certificate->private_key()) != 1 ||
      SSL_CTX_check_private_key(ctx) != 1) {
    return absl::InternalError("dtls: certificate: " + OpenSslErrors());
  }
  SSL_CTX_set_min_proto_version(ctx, DTLS1_2_VERSION);
  SSL_CTX_set_max_proto_version(ctx, DTLS1_2_VERSION);
  // No renegotiation: DTLS-SRTP keys come from the first handshake only (RFC 5764 4.2), and a
  // renegotiation is work a peer could make us do at will.
  SSL_CTX_set_options(ctx, SSL_OP_NO_QUERY_MTU | SSL_OP_NO_TICKET |
                               SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_RENEGOTIATION);
  // The peer is authenticated by the fingerprint of its (usually self-signed) certificate, not
  // by a chain: VerifyCallback checks it during the handshake.
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
                     &DtlsTransport::VerifyCallback);
  SSL_CTX_set_read_ahead(ctx, 1);
  // No resumption in DTLS-SRTP (every call is a full handshake with fresh keys), and a shared
  // context's server-side cache would keep every session for 5 minutes.
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  if (SSL_CTX_set_cipher_list(ctx, kCipherList) != 1) {
    return absl::InternalError("dtls: cipher list: " + OpenSslErrors());
  }
  return owned.release();
}

DtlsTransport::~DtlsTransport() { Close(); }

void DtlsTransport::SetRemoteFingerprints(std::vector<Fingerprint> fingerprints) {
  remote_fingerprints_ = std::move(fingerprints);
}

absl::Status DtlsTransport::Start(DtlsRole local_role) {
  if (state_ != DtlsState::kNew) return absl::FailedPreconditionError("dtls: already started");
  if (local_role == DtlsRole::kAuto) return absl::InvalidArgumentError("dtls: role must be set");
  ERR_clear_error();
  ssl_.reset(SSL_new(ctx_.get()));
  if (!ssl_) return absl::InternalError("SSL_new: " + OpenSslErrors());
  // Per connection, since the context is shared; returns 0 on success, unlike its neighbours.
  if (SSL_set_tlsext_use_srtp(ssl_.get(), srtp_profiles_.c_str()) != 0) {
    ssl_.reset();
    return absl::InvalidArgumentError("dtls: use_srtp: " + OpenSslErrors());
  }
  // Past the handshake a transport reads a record now and then (SCTP, alerts): its 16 KB read
  // and write buffers are freed while empty instead of held for the call's length.
  SSL_set_mode(ssl_.get(), SSL_MODE_RELEASE_BUFFERS);
  rbio_ = BIO_new(BIO_s_mem());
  wbio_ = BIO_new(BIO_s_mem());
  if (rbio_ == nullptr || wbio_ == nullptr) {
    BIO_free(rbio_);
    BIO_free(wbio_);
    return absl::InternalError("BIO_new: " + OpenSslErrors());
  }
  // An empty read BIO means "no data yet", not EOF.
  BIO_set_mem_eof_return(rbio_, -1);
  BIO_set_mem_eof_return(wbio_, -1);
  SSL_set_bio(ssl_.get(), rbio_, wbio_);
  SSL_set_app_data(ssl_.get(), this);
  SSL_set_msg_callback(ssl_.get(), &DtlsTransport::MessageCallback);
  SSL_set_msg_callback_arg(ssl_.get(), this);
  SSL_set_mtu(ssl_.get(), kDtlsMtu);
  DTLS_set_link_mtu(ssl_.get(), kDtlsMtu);

  role_ = local_role;
  SetState(DtlsState::kConnecting, "");
  if (state_ != DtlsState::kConnecting) return absl::OkStatus();  // Closed by the listener.
  handshake_timer_->Start(handshake_timeout_ms_);
  if (role_ == DtlsRole::kClient) {
    SSL_set_connect_state(ssl_.get());
    DoHandshake();
  } else {
    SSL_set_accept_state(ssl_.get());
  }
  return absl::OkStatus();
}

void DtlsTransport::ProcessPacket(const uint8_t* data, size_t len) {
  if (state_ != DtlsState::kConnecting && state_ != DtlsState::kConnected) return;
  if (len == 0 || len > INT32_MAX) return;
  // After the handshake a plaintext ClientHello can only start a new session, which this one
  // never becomes; OpenSSL would drop it too (wrong epoch), but silently.
  if (handshake_done_ && HasClientHello(data, len)) {
    ++stats_.client_hellos_after_handshake;
    SB_LOG_DEBUG("dtls", "ClientHello after the handshake dropped");
    return;
  }
  if (BIO_write(rbio_, data, static_cast<int>(len)) != static_cast<int>(len)) {
    SB_LOG_WARN("dtls", "BIO_write of {} bytes failed", len);
    return;
  }
  if (!handshake_done_) {
    DoHandshake();
    if (!handshake_done_ || state_ != DtlsState::kConnected) return;
  }
  ReadApplicationData();
}

void DtlsTransport::DoHandshake() {
  ERR_clear_error();
  const int ret = SSL_do_handshake(ssl_.get());
  Flush();
  if (ret == 1) {
    OnHandshakeDone();
    return;
  }
  const int err = SSL_get_error(ssl_.get(), ret);
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
    ArmRetransmitTimer();
    return;
  }
  if (!verify_failure_.ok()) {
    ERR_clear_error();
    if (absl::IsPermissionDenied(verify_failure_)) ++stats_.fingerprint_mismatches;
    Fail(std::string(verify_failure_.message()));
    return;
  }
  Fail("handshake: " + OpenSslErrors());
}

int DtlsTransport::VerifyCallback(int /*preverify_ok*/, X509_STORE_CTX* store) {
  // Only the certificate the peer signs the handshake with is pinned (RFC 8122 5); chain
  // errors (self-signed, unknown issuer) do not matter.
  if (X509_STORE_CTX_get_error_depth(store) != 0) return 1;
  auto* ssl =
      static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
  auto* self = ssl ? static_cast<DtlsTransport*>(SSL_get_app_data(ssl)) : nullptr;
  X509* cert = X509_STORE_CTX_get_current_cert(store);
  if (self == nullptr || cert == nullptr) return 0;
  absl::Status status = self->CheckFingerprint(cert);
  if (status.ok()) return 1;
  self->verify_failure_ = std::move(status);
  return 0;
}

void DtlsTransport::MessageCallback(int write_p, int /*version*/, int content_type, const void* buf,
                                    size_t len, SSL* /*ssl*/, void* arg) {
  if (write_p != 0 || content_type != SSL3_RT_HANDSHAKE || len == 0) return;
  auto* self = static_cast<DtlsTransport*>(arg);
  const uint8_t type = static_cast<const uint8_t*>(buf)[0];
  // With SSL_OP_NO_RENEGOTIATION OpenSSL answers these with a no_renegotiation warning.
  if (self->handshake_done_ && (type == SSL3_MT_CLIENT_HELLO || type == SSL3_MT_HELLO_REQUEST)) {
    ++self->stats_.renegotiations_refused;
    SB_LOG_DEBUG("dtls", "renegotiation refused");
  }
}

void DtlsTransport::OnHandshakeDone() {
  handshake_done_ = true;
  handshake_timer_->Stop();
  retransmit_timer_->Stop();
  // VerifyCallback checked it already; a certificate that changed would be a bug here.
  if (absl::Status status = CheckRemoteFingerprint(); !status.ok()) {
    if (absl::IsPermissionDenied(status)) ++stats_.fingerprint_mismatches;
    Fail(std::string(status.message()));
    return;
  }
  const SRTP_PROTECTION_PROFILE* selected = SSL_get_selected_srtp_profile(ssl_.get());
  const auto profile = selected ? ProfileFromId(selected->id) : std::nullopt;
  if (!profile) {
    Fail("no DTLS-SRTP profile negotiated");
    return;
  }
  // RFC 5764 4.2: client key | server key | client salt | server salt.
  const size_t key_len = SrtpKeyLength(*profile);
  const size_t salt_len = SrtpSaltLength(*profile);
  std::vector<uint8_t> material(2 * (key_len + salt_len));
  if (SSL_export_keying_material(ssl_.get(), material.data(), material.size(), kExporterLabel,
                                 sizeof(kExporterLabel) - 1, nullptr, 0, 0) != 1) {
    Fail("key export: " + OpenSslErrors());
    return;
  }
  std::vector<uint8_t> client(material.begin(), material.begin() + key_len);
  std::vector<uint8_t> server(material.begin() + key_len, material.begin() + 2 * key_len);
  const auto salts = material.begin() + 2 * key_len;
  client.insert(client.end(), salts, salts + salt_len);
  server.insert(server.end(), salts + salt_len, salts + 2 * salt_len);
  OPENSSL_cleanse(material.data(), material.size());

  profile_ = profile;
  SB_LOG_INFO("dtls", "connected as {}, {} / {}", ToString(role_), SrtpProfileName(*profile),
              SSL_get_cipher_name(ssl_.get()));
  state_ = DtlsState::kConnected;
  const bool we_are_client = role_ == DtlsRole::kClient;
  if (listener_ != nullptr) {
    listener_->OnDtlsConnected(*profile, we_are_client ? std::move(client) : std::move(server),
                               we_are_client ? std::move(server) : std::move(client));
  }
  if (state_ == DtlsState::kConnected && listener_ != nullptr) {
    listener_->OnDtlsStateChange(DtlsState::kConnected, "");
  }
}

absl::Status DtlsTransport::CheckRemoteFingerprint() {
  X509* cert = SSL_get1_peer_certificate(ssl_.get());
  if (cert == nullptr) return absl::UnauthenticatedError("peer sent no certificate");
  absl::Status status = CheckFingerprint(cert);
  X509_free(cert);
  return status;
}

absl::Status DtlsTransport::CheckFingerprint(X509* cert) const {
  if (remote_fingerprints_.empty()) return absl::FailedPreconditionError("no remote fingerprint");
  bool supported = false;
  for (const Fingerprint& fp : remote_fingerprints_) {
    auto actual = CertificateFingerprint(cert, fp.algorithm);
    if (!actual.ok()) continue;
    supported = true;
    if (absl::EqualsIgnoreCase(*actual, fp.value)) return absl::OkStatus();
  }
  if (!supported) return absl::UnauthenticatedError("no supported fingerprint algorithm");
  return absl::PermissionDeniedError("remote fingerprint mismatch");
}

void DtlsTransport::ReadApplicationData() {
  std::array<uint8_t, kMaxRecordPlaintext> buffer;
  while (state_ == DtlsState::kConnected) {
    ERR_clear_error();
    const int n = SSL_read(ssl_.get(), buffer.data(), static_cast<int>(buffer.size()));
    if (n > 0) {
      if (listener_ != nullptr)
        listener_->OnDtlsApplicationData(buffer.data(), static_cast<size_t>(n));
      continue;
    }
    const int err = SSL_get_error(ssl_.get(), n);
    Flush();  // SSL_read may answer a retransmitted flight.
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return;
    if (err == SSL_ERROR_ZERO_RETURN) {
      SB_LOG_INFO("dtls", "close_notify received");
      SetState(DtlsState::kClosed, "close_notify received");
      return;
    }
    Fail("read: " + OpenSslErrors());
    return;
  }
}

bool DtlsTransport::SendApplicationData(const uint8_t* data, size_t len) {
  if (state_ != DtlsState::kConnected || len == 0 || len > kMaxRecordPlaintext) return false;
  ERR_clear_error();
  const int n = SSL_write(ssl_.get(), data, static_cast<int>(len));
  Flush();
  return n == static_cast<int>(len);
}

// Sends what OpenSSL wrote, grouping whole records into datagrams of at most kDtlsMtu bytes.
void DtlsTransport::Flush() {
  if (wbio_ == nullptr) return;
  char* raw = nullptr;
  const long total = BIO_get_mem_data(wbio_, &raw);
  if (total <= 0) return;
  const auto* data = reinterpret_cast<const uint8_t*>(raw);
  const auto size = static_cast<size_t>(total);
  size_t start = 0;
  size_t pos = 0;
  while (pos < size) {
    size_t record = size - pos;
    if (record >= kRecordHeaderSize) {
      record =
          std::min(record, kRecordHeaderSize + ((size_t{data[pos + 11]} << 8) | data[pos + 12]));
    }
    if (pos > start && pos - start + record > kDtlsMtu) {
      if (listener_ != nullptr) listener_->SendDtlsData(data + start, pos - start);
      start = pos;
    }
    pos += record;
  }
  if (pos > start && listener_ != nullptr) listener_->SendDtlsData(data + start, pos - start);
  (void)BIO_reset(wbio_);
}

void DtlsTransport::ArmRetransmitTimer() {
  timeval tv{};
  if (DTLSv1_get_timeout(ssl_.get(), &tv) == 1) {
    const uint64_t ms =
        static_cast<uint64_t>(tv.tv_sec) * 1000 + static_cast<uint64_t>(tv.tv_usec) / 1000;
    retransmit_timer_->Start(ms);
  }
}

void DtlsTransport::OnRetransmitTimer() {
  if (state_ != DtlsState::kConnecting || handshake_done_) return;
  ERR_clear_error();
  const long ret = DTLSv1_handle_timeout(ssl_.get());
  Flush();
  if (ret < 0) {
    Fail("retransmission limit: " + OpenSslErrors());
    return;
  }
  ArmRetransmitTimer();
}

void DtlsTransport::Fail(const std::string& reason) {
  if (state_ == DtlsState::kFailed || state_ == DtlsState::kClosed) return;
  SB_LOG_WARN("dtls", "failed: {}", reason);
  retransmit_timer_->Stop();
  handshake_timer_->Stop();
  SetState(DtlsState::kFailed, reason);
}

void DtlsTransport::SetState(DtlsState state, const std::string& reason) {
  state_ = state;
  if (state == DtlsState::kClosed || state == DtlsState::kFailed) {
    if (retransmit_timer_) retransmit_timer_->Stop();
    if (handshake_timer_) handshake_timer_->Stop();
  }
  if (listener_ != nullptr) listener_->OnDtlsStateChange(state, reason);
}

void DtlsTransport::Close() {
  if (listener_ == nullptr && state_ == DtlsState::kClosed) return;
  if (state_ == DtlsState::kConnected && ssl_) {
    ERR_clear_error();
    SSL_shutdown(ssl_.get());
    Flush();
  }
  if (retransmit_timer_) retransmit_timer_->Stop();
  if (handshake_timer_) handshake_timer_->Stop();
  state_ = DtlsState::kClosed;
  listener_ = nullptr;
}

}  // namespace sb::transport
