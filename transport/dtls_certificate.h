// The worker's DTLS identity: an ECDSA P-256 key and a self-signed certificate, generated once
// per process and shared by every transport; peers pin it by fingerprint (RFC 8122).
#pragma once

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "transport/transport_types.h"

namespace sb::transport {

class DtlsCertificate {
 public:
  // Random serial, valid from a day ago for 30 days, CN "switchboard".
  static absl::StatusOr<std::unique_ptr<DtlsCertificate>> Generate();

  X509* certificate() const { return cert_.get(); }
  EVP_PKEY* private_key() const { return key_.get(); }

  // "sha-1", "sha-224", "sha-256", "sha-384", "sha-512" -> "AB:CD:..." upper case.
  absl::StatusOr<std::string> Fingerprint(std::string_view algorithm) const;
  // sha-256 first, then sha-384 and sha-512.
  std::vector<transport::Fingerprint> Fingerprints() const;

  // The DTLS context of every transport with this identity (dtls_transport.cc makes it at first
  // use): OpenSSL 3's SSL_CTX_new with its configuration costs about 200 us and 12 KB, once per
  // transport before (measured: 213 against 5 us, 22.1 against 9.8 KB per SSL). Each SSL holds
  // a reference, so the context outlives this object as long as a transport needs it.
  SSL_CTX* dtls_context() const { return dtls_context_.get(); }
  void set_dtls_context(SSL_CTX* context) const { dtls_context_.reset(context); }

 private:
  struct X509Deleter {
    void operator()(X509* x) const { X509_free(x); }
  };
  struct KeyDeleter {
    void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
  };
  DtlsCertificate() = default;

  struct CtxDeleter {
    void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
  };

  std::unique_ptr<EVP_PKEY, KeyDeleter> key_;
  std::unique_ptr<X509, X509Deleter> cert_;
  // A cache of what the certificate determines: transports get the identity as a const pointer.
  mutable std::unique_ptr<SSL_CTX, CtxDeleter> dtls_context_;
};

// Digest of a certificate's DER encoding as "AB:CD:..."; unknown algorithm -> InvalidArgument.
absl::StatusOr<std::string> CertificateFingerprint(X509* cert, std::string_view algorithm);

}  // namespace sb::transport
