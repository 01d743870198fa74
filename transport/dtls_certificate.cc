#include "transport/dtls_certificate.h"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/rand.h>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace sb::transport {
namespace {

// Validity of the self-signed certificate; the worker regenerates it on restart.
constexpr long kValiditySeconds = 30L * 24 * 3600;
// Starts a day early so peers with a skewed clock still accept it.
constexpr long kBackdateSeconds = 24L * 3600;

std::string OpenSslError(std::string_view what) {
  char buf[256] = {};
  ERR_error_string_n(ERR_get_error(), buf, sizeof(buf));
  ERR_clear_error();
  return absl::StrCat(std::string(what), ": ", buf);
}

const EVP_MD* DigestFor(std::string_view algorithm) {
  const std::string name = absl::AsciiStrToLower(std::string(algorithm));
  if (name == "sha-1") return EVP_sha1();
  if (name == "sha-224") return EVP_sha224();
  if (name == "sha-256") return EVP_sha256();
  if (name == "sha-384") return EVP_sha384();
  if (name == "sha-512") return EVP_sha512();
  return nullptr;
}

}  // namespace

absl::StatusOr<std::string> CertificateFingerprint(X509* cert, std::string_view algorithm) {
  const EVP_MD* md = DigestFor(algorithm);
  if (md == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("unsupported fingerprint algorithm ", std::string(algorithm)));
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (X509_digest(cert, md, digest, &len) != 1) {
    return absl::InternalError(OpenSslError("X509_digest"));
  }
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(len * 3);
  for (unsigned int i = 0; i < len; ++i) {
    if (i > 0) out.push_back(':');
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 0xF]);
  }
  return out;
}

absl::StatusOr<std::unique_ptr<DtlsCertificate>> DtlsCertificate::Generate() {
  std::unique_ptr<DtlsCertificate> result(new DtlsCertificate());
  result->key_.reset(EVP_EC_gen("P-256"));
  if (!result->key_) return absl::InternalError(OpenSslError("EVP_EC_gen"));
  result->cert_.reset(X509_new());
  X509* cert = result->cert_.get();
  if (cert == nullptr) return absl::InternalError(OpenSslError("X509_new"));

  // Random positive 63-bit serial.
  uint64_t serial = 0;
  if (RAND_bytes(reinterpret_cast<unsigned char*>(&serial), sizeof(serial)) != 1) {
    return absl::InternalError(OpenSslError("RAND_bytes"));
  }
  serial = (serial >> 1) | 1;
  bool ok = X509_set_version(cert, 2) == 1 &&
            ASN1_INTEGER_set_uint64(X509_get_serialNumber(cert), serial) == 1 &&
            X509_gmtime_adj(X509_getm_notBefore(cert), -kBackdateSeconds) != nullptr &&
            X509_gmtime_adj(X509_getm_notAfter(cert), kValiditySeconds) != nullptr &&
            X509_set_pubkey(cert, result->key_.get()) == 1;
  if (!ok) return absl::InternalError(OpenSslError("X509 fields"));
  X509_NAME* name = X509_get_subject_name(cert);
  const auto* cn = reinterpret_cast<const unsigned char*>("switchboard");
  if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, cn, -1, -1, 0) != 1 ||
      X509_set_issuer_name(cert, name) != 1) {
    return absl::InternalError(OpenSslError("X509 name"));
  }
  if (X509_sign(cert, result->key_.get(), EVP_sha256()) == 0) {
    return absl::InternalError(OpenSslError("X509_sign"));
  }
  return result;
}

absl::StatusOr<std::string> DtlsCertificate::Fingerprint(std::string_view algorithm) const {
  return CertificateFingerprint(cert_.get(), algorithm);
}

std::vector<transport::Fingerprint> DtlsCertificate::Fingerprints() const {
  std::vector<transport::Fingerprint> out;
  for (const char* algorithm : {"sha-256", "sha-384", "sha-512"}) {
    auto value = Fingerprint(algorithm);
    if (value.ok()) out.push_back({algorithm, *std::move(value)});
  }
  return out;
}

}  // namespace sb::transport
