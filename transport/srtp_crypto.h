// The cryptographic transforms of SRTP and SRTCP on OpenSSL's EVP: key derivation (RFC 3711
// 4.3, RFC 6188 for AES-256), AES counter mode with HMAC-SHA1 (RFC 3711 4.1.1, 4.2) and
// AEAD AES-GCM (RFC 7714). No packet state: SrtpSession keeps indices and replay windows.
#pragma once

#include <openssl/evp.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "transport/srtp_session.h"

namespace sb::transport {

// RFC 3711 4.3.1 labels, kdr = 0 (the only rate DTLS-SRTP uses, RFC 5764 4.1.2).
enum class SrtpKeyLabel : uint8_t {
  kRtpEncryption = 0x00,
  kRtpAuth = 0x01,
  kRtpSalt = 0x02,
  kRtcpEncryption = 0x03,
  kRtcpAuth = 0x04,
  kRtcpSalt = 0x05,
};

// The PRF of RFC 3711 4.3.3: AES in counter mode keyed by the master key (16 or 32 bytes),
// from IV = (master_salt XOR label at octet 7) * 2^16. A 12-byte salt (AEAD profiles) is
// taken as the high octets of the 14-byte one, as RFC 7714 11 and libsrtp do.
absl::Status DeriveSrtpKey(absl::Span<const uint8_t> master_key,
                           absl::Span<const uint8_t> master_salt, SrtpKeyLabel label,
                           absl::Span<uint8_t> out);

// One set of session keys (RTP's or RTCP's) for one direction, with its OpenSSL contexts
// keyed once. Not copyable; the contexts are reused for every packet.
class SrtpTransform {
 public:
  static constexpr size_t kGcmTagLength = 16;   // RFC 7714 14.2
  static constexpr size_t kHmacTagLength = 10;  // SRTP_AES128_CM_HMAC_SHA1_80
  static constexpr size_t kAuthKeyLength = 20;  // RFC 3711 4.2.1: n_a = 160
  static constexpr size_t kMaxSaltLength = 14;

  static absl::StatusOr<std::unique_ptr<SrtpTransform>> Create(SrtpProfile profile, bool encrypt,
                                                               bool rtcp,
                                                               absl::Span<const uint8_t> key_salt);
  ~SrtpTransform();
  SrtpTransform(const SrtpTransform&) = delete;
  SrtpTransform& operator=(const SrtpTransform&) = delete;

  size_t tag_length() const { return aead() ? kGcmTagLength : kHmacTagLength; }

  // SRTP: `packet` is the whole RTP packet, its first `header_length` bytes the header (fixed
  // part, CSRCs and extension), authenticated and left clear; the rest is encrypted in place
  // and the tag written at packet.end() (the caller leaves tag_length() bytes of room).
  bool ProtectRtp(absl::Span<uint8_t> packet, size_t header_length, uint32_t ssrc, uint64_t index,
                  uint8_t* tag);
  // The reverse: `packet` without the tag, `tag` the tag_length() bytes that followed it.
  // False when the tag does not verify (then the payload may be garbled: callers drop it).
  bool UnprotectRtp(absl::Span<uint8_t> packet, size_t header_length, uint32_t ssrc, uint64_t index,
                    const uint8_t* tag);

  // SRTCP: `packet` is the RTCP compound; its first 8 bytes stay clear; `trailer` is the
  // 4-byte E flag and index (RFC 3711 3.4), written by the caller, authenticated, and for
  // AES-CM covered by the tag after it (the caller's layout: packet | trailer | tag for AES-CM,
  // packet | tag | trailer for GCM, RFC 7714 9.1).
  bool ProtectRtcp(absl::Span<uint8_t> packet, uint32_t ssrc, uint32_t srtcp_index,
                   const uint8_t* trailer, uint8_t* tag);
  bool UnprotectRtcp(absl::Span<uint8_t> packet, uint32_t ssrc, uint32_t srtcp_index,
                     bool encrypted, const uint8_t* trailer, const uint8_t* tag);

 private:
  explicit SrtpTransform(SrtpProfile profile) : profile_(profile) {}
  absl::Status Init(bool encrypt, absl::Span<const uint8_t> key, absl::Span<const uint8_t> salt,
                    absl::Span<const uint8_t> auth_key);
  bool aead() const { return profile_ != SrtpProfile::kAes128CmSha1_80; }
  // AES-CM: IV = salt * 2^16 XOR ssrc * 2^64 XOR index * 2^16 (RFC 3711 4.1.1).
  void CounterIv(uint32_t ssrc, uint64_t index, uint8_t iv[16]) const;
  // GCM: (00 00 || SSRC || index) XOR salt, the index 48 bits: ROC || SEQ, or the SRTCP
  // index (RFC 7714 8.1, 9.1).
  void GcmIv(uint32_t ssrc, uint64_t index, uint8_t iv[12]) const;
  bool Ctr(const uint8_t iv[16], absl::Span<uint8_t> data);
  // HMAC-SHA1 over a then b (all 20 bytes; the callers keep kHmacTagLength of them).
  bool Hmac(absl::Span<const uint8_t> a, absl::Span<const uint8_t> b, uint8_t out[20]);
  bool Gcm(const uint8_t iv[12], absl::Span<const uint8_t> aad1, absl::Span<const uint8_t> aad2,
           absl::Span<uint8_t> data, uint8_t* tag, bool verify);

  SrtpProfile profile_;
  bool encrypt_ = true;
  std::array<uint8_t, kMaxSaltLength> salt_{};
  EVP_CIPHER_CTX* cipher_ = nullptr;
  EVP_MAC_CTX* mac_ = nullptr;  // AES-CM only
};

}  // namespace sb::transport
