#include "signaling/http/self_signed_cert.h"

#include <arpa/inet.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <memory>

#include "absl/strings/str_cat.h"

namespace sb::signaling::http {
namespace {

template <typename T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;
using NamesPtr = std::unique_ptr<GENERAL_NAMES, Deleter<GENERAL_NAMES, GENERAL_NAMES_free>>;

absl::Status OpenSslError(std::string_view what) {
  return absl::InternalError(absl::StrCat("OpenSSL: cannot ", std::string(what)));
}

std::string BioText(BIO* bio) {
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  return size > 0 ? std::string(data, static_cast<size_t>(size)) : std::string();
}

std::string Fingerprint(X509* cert) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  X509_digest(cert, EVP_sha256(), digest, &size);
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned int i = 0; i < size; ++i) {
    if (i > 0) out += ':';
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 0xf];
  }
  return out;
}

// One subjectAltName entry: an IP address when `host` is an IPv4/IPv6 literal, else a DNS name.
bool AddName(GENERAL_NAMES* names, const std::string& host) {
  unsigned char ip[16];
  GENERAL_NAME* name = GENERAL_NAME_new();
  if (name == nullptr) return false;
  ASN1_OCTET_STRING* octets = nullptr;
  int family = 0;
  if (inet_pton(AF_INET, host.c_str(), ip) == 1) family = 4;
  if (inet_pton(AF_INET6, host.c_str(), ip) == 1) family = 16;
  if (family != 0) {
    octets = ASN1_OCTET_STRING_new();
    if (octets == nullptr || !ASN1_OCTET_STRING_set(octets, ip, family)) {
      ASN1_OCTET_STRING_free(octets);
      GENERAL_NAME_free(name);
      return false;
    }
    GENERAL_NAME_set0_value(name, GEN_IPADD, octets);
  } else {
    ASN1_IA5STRING* dns = ASN1_IA5STRING_new();
    if (dns == nullptr || !ASN1_STRING_set(dns, host.data(), static_cast<int>(host.size()))) {
      ASN1_IA5STRING_free(dns);
      GENERAL_NAME_free(name);
      return false;
    }
    GENERAL_NAME_set0_value(name, GEN_DNS, dns);
  }
  return sk_GENERAL_NAME_push(names, name) > 0;
}

}  // namespace

absl::StatusOr<SelfSignedCertificate> GenerateSelfSignedCertificate(
    const std::vector<std::string>& hosts, int days) {
  std::vector<std::string> unique;
  for (const std::string& host : hosts) {
    if (!host.empty() && std::find(unique.begin(), unique.end(), host) == unique.end()) {
      unique.push_back(host);
    }
  }
  if (unique.empty()) return absl::InvalidArgumentError("a certificate needs a host name");

  PkeyPtr key(EVP_EC_gen("P-256"));
  if (!key) return OpenSslError("generate an EC P-256 key");
  X509Ptr cert(X509_new());
  if (!cert) return OpenSslError("allocate a certificate");
  X509_set_version(cert.get(), 2);  // v3, for the extensions
  // A random positive 64-bit serial (RFC 5280 section 4.1.2.2).
  unsigned char serial_bytes[8];
  RAND_bytes(serial_bytes, sizeof(serial_bytes));
  serial_bytes[0] &= 0x7f;
  BIGNUM* serial = BN_bin2bn(serial_bytes, sizeof(serial_bytes), nullptr);
  BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(cert.get()));
  BN_free(serial);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -60 * 60);  // an hour of clock skew
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), static_cast<long>(days) * 24 * 60 * 60);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* subject = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(subject, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("switchboard (self-signed)"),
                             -1, -1, 0);
  X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(unique[0].c_str()), -1, -1, 0);
  X509_set_issuer_name(cert.get(), subject);

  NamesPtr names(sk_GENERAL_NAME_new_null());
  if (!names) return OpenSslError("allocate subjectAltNames");
  for (const std::string& host : unique) {
    if (!AddName(names.get(), host)) return OpenSslError("add a subjectAltName");
  }
  if (!X509_add1_ext_i2d(cert.get(), NID_subject_alt_name, names.get(), 0, 0)) {
    return OpenSslError("add subjectAltName");
  }
  // A server certificate, not a CA: browsers refuse a CA certificate as a server's own.
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
  for (const auto& [nid, value] : {std::pair{NID_basic_constraints, "critical,CA:FALSE"},
                                   std::pair{NID_key_usage, "critical,digitalSignature"},
                                   std::pair{NID_ext_key_usage, "serverAuth"}}) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    if (ext == nullptr) return OpenSslError("build a certificate extension");
    X509_add_ext(cert.get(), ext, -1);
    X509_EXTENSION_free(ext);
  }
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0) return OpenSslError("sign");

  SelfSignedCertificate out;
  BioPtr cert_bio(BIO_new(BIO_s_mem()));
  BioPtr key_bio(BIO_new(BIO_s_mem()));
  if (!cert_bio || !key_bio || !PEM_write_bio_X509(cert_bio.get(), cert.get()) ||
      !PEM_write_bio_PrivateKey(key_bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr)) {
    return OpenSslError("write PEM");
  }
  out.cert_pem = BioText(cert_bio.get());
  out.key_pem = BioText(key_bio.get());
  out.sha256_fingerprint = Fingerprint(cert.get());
  return out;
}

absl::StatusOr<std::string> CertificateFingerprint(const std::string& cert_pem) {
  BioPtr bio(BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size())));
  X509Ptr cert(bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!cert) return absl::InvalidArgumentError("not a PEM certificate");
  return Fingerprint(cert.get());
}

}  // namespace sb::signaling::http
