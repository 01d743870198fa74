// A self-signed certificate for trying the server over HTTPS on a LAN (--tls-self-signed):
// browsers need a secure context for the camera anywhere but localhost. The browser warns once
// (the certificate is nobody's); the log shows its fingerprint to compare with the browser's.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace sb::signaling::http {

struct SelfSignedCertificate {
  std::string cert_pem;
  std::string key_pem;
  std::string sha256_fingerprint;  // "AB:CD:...", of the DER certificate, as browsers show it
};

// An EC P-256 key and a certificate signed with it (SHA-256), valid from now for `days`, for
// every name in `hosts` as a subjectAltName (IP literals as IP addresses, others as DNS names;
// the first names the subject too). Empty and duplicate names are skipped.
absl::StatusOr<SelfSignedCertificate> GenerateSelfSignedCertificate(
    const std::vector<std::string>& hosts, int days);

// "AB:CD:..." for the SHA-256 of the first certificate in `cert_pem`.
absl::StatusOr<std::string> CertificateFingerprint(const std::string& cert_pem);

}  // namespace sb::signaling::http
