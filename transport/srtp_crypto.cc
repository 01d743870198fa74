#include "transport/srtp_crypto.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/params.h>

#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace sb::transport {
namespace {

const EVP_CIPHER* CtrCipher(size_t key_length) {
  return key_length == 32 ? EVP_aes_256_ctr() : EVP_aes_128_ctr();
}

const EVP_CIPHER* GcmCipher(size_t key_length) {
  return key_length == 32 ? EVP_aes_256_gcm() : EVP_aes_128_gcm();
}

void PutU32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

// One EVP update over in-place data; EVP counts in int, packets are far below it.
bool Update(EVP_CIPHER_CTX* ctx, bool encrypt, uint8_t* out, const uint8_t* in, size_t len) {
  if (len == 0) return true;
  int n = 0;
  const int ok = encrypt ? EVP_EncryptUpdate(ctx, out, &n, in, static_cast<int>(len))
                         : EVP_DecryptUpdate(ctx, out, &n, in, static_cast<int>(len));
  return ok == 1 && (out == nullptr || n == static_cast<int>(len));
}

}  // namespace

absl::Status DeriveSrtpKey(absl::Span<const uint8_t> master_key,
                           absl::Span<const uint8_t> master_salt, SrtpKeyLabel label,
                           absl::Span<uint8_t> out) {
  if ((master_key.size() != 16 && master_key.size() != 32) || master_salt.size() > 14 ||
      master_salt.size() < 12) {
    return absl::InvalidArgumentError("srtp kdf: master key must be 16 or 32 bytes, salt 12-14");
  }
  uint8_t iv[16] = {};
  std::memcpy(iv, master_salt.data(), master_salt.size());
  iv[7] ^= static_cast<uint8_t>(label);
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  if (ctx == nullptr) return absl::ResourceExhaustedError("srtp kdf: no cipher context");
  std::memset(out.data(), 0, out.size());
  const bool ok =
      EVP_EncryptInit_ex(ctx, CtrCipher(master_key.size()), nullptr, master_key.data(), iv) == 1 &&
      Update(ctx, true, out.data(), out.data(), out.size());
  EVP_CIPHER_CTX_free(ctx);
  if (!ok) return absl::InternalError("srtp kdf: AES-CM failed");
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<SrtpTransform>> SrtpTransform::Create(
    SrtpProfile profile, bool encrypt, bool rtcp, absl::Span<const uint8_t> key_salt) {
  const size_t key_length = SrtpKeyLength(profile);
  const size_t salt_length = SrtpSaltLength(profile);
  if (key_salt.size() != key_length + salt_length) {
    return absl::InvalidArgumentError(
        absl::StrCat("srtp: key+salt is ", key_salt.size(), " bytes, ",
                     std::string(SrtpProfileName(profile)), " needs ", key_length + salt_length));
  }
  const auto master_key = key_salt.subspan(0, key_length);
  const auto master_salt = key_salt.subspan(key_length);
  std::array<uint8_t, 32> key{};
  std::array<uint8_t, kMaxSaltLength> salt{};
  std::array<uint8_t, kAuthKeyLength> auth{};
  const auto label = [rtcp](SrtpKeyLabel rtp_label) {
    return static_cast<SrtpKeyLabel>(static_cast<uint8_t>(rtp_label) + (rtcp ? 3 : 0));
  };
  const bool aead = profile != SrtpProfile::kAes128CmSha1_80;
  absl::Status status = DeriveSrtpKey(master_key, master_salt, label(SrtpKeyLabel::kRtpEncryption),
                                      absl::MakeSpan(key.data(), key_length));
  if (status.ok()) {
    status = DeriveSrtpKey(master_key, master_salt, label(SrtpKeyLabel::kRtpSalt),
                           absl::MakeSpan(salt.data(), salt_length));
  }
  if (status.ok() && !aead) {
    status =
        DeriveSrtpKey(master_key, master_salt, label(SrtpKeyLabel::kRtpAuth), absl::MakeSpan(auth));
  }
  if (!status.ok()) return status;
  std::unique_ptr<SrtpTransform> transform(new SrtpTransform(profile));
  status = transform->Init(encrypt, absl::MakeConstSpan(key.data(), key_length),
                           absl::MakeConstSpan(salt.data(), salt_length),
                           aead ? absl::Span<const uint8_t>() : absl::MakeConstSpan(auth));
  OPENSSL_cleanse(key.data(), key.size());
  OPENSSL_cleanse(auth.data(), auth.size());
  if (!status.ok()) return status;
  return transform;
}

absl::Status SrtpTransform::Init(bool encrypt, absl::Span<const uint8_t> key,
                                 absl::Span<const uint8_t> salt,
                                 absl::Span<const uint8_t> auth_key) {
  if (key.size() != SrtpKeyLength(profile_) || salt.size() != SrtpSaltLength(profile_) ||
      (!aead() && auth_key.size() != kAuthKeyLength)) {
    return absl::InvalidArgumentError("srtp: session key, salt or auth key of the wrong size");
  }
  encrypt_ = encrypt;
  std::memcpy(salt_.data(), salt.data(), salt.size());
  cipher_ = EVP_CIPHER_CTX_new();
  if (cipher_ == nullptr) return absl::ResourceExhaustedError("srtp: no cipher context");
  if (aead()) {
    const int ok =
        encrypt ? EVP_EncryptInit_ex(cipher_, GcmCipher(key.size()), nullptr, key.data(), nullptr)
                : EVP_DecryptInit_ex(cipher_, GcmCipher(key.size()), nullptr, key.data(), nullptr);
    if (ok != 1) return absl::InternalError("srtp: AES-GCM init failed");
    return absl::OkStatus();
  }
  // AES-CM: counter mode is its own inverse, so both directions encrypt.
  if (EVP_EncryptInit_ex(cipher_, CtrCipher(key.size()), nullptr, key.data(), nullptr) != 1) {
    return absl::InternalError("srtp: AES-CM init failed");
  }
  EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  if (mac == nullptr) return absl::InternalError("srtp: no HMAC in OpenSSL");
  mac_ = EVP_MAC_CTX_new(mac);
  EVP_MAC_free(mac);
  if (mac_ == nullptr) return absl::ResourceExhaustedError("srtp: no HMAC context");
  char digest[] = "SHA1";
  const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                               OSSL_PARAM_construct_end()};
  if (EVP_MAC_init(mac_, auth_key.data(), auth_key.size(), params) != 1) {
    return absl::InternalError("srtp: HMAC-SHA1 init failed");
  }
  return absl::OkStatus();
}

SrtpTransform::~SrtpTransform() {
  EVP_CIPHER_CTX_free(cipher_);
  EVP_MAC_CTX_free(mac_);
  OPENSSL_cleanse(salt_.data(), salt_.size());
}

void SrtpTransform::CounterIv(uint32_t ssrc, uint64_t index, uint8_t iv[16]) const {
  std::memcpy(iv, salt_.data(), 14);
  iv[14] = iv[15] = 0;
  iv[4] ^= static_cast<uint8_t>(ssrc >> 24);
  iv[5] ^= static_cast<uint8_t>(ssrc >> 16);
  iv[6] ^= static_cast<uint8_t>(ssrc >> 8);
  iv[7] ^= static_cast<uint8_t>(ssrc);
  for (int i = 0; i < 6; ++i) iv[13 - i] ^= static_cast<uint8_t>(index >> (8 * i));
}

void SrtpTransform::GcmIv(uint32_t ssrc, uint64_t index, uint8_t iv[12]) const {
  // 00 00 || SSRC || the 48-bit index: ROC || SEQ for SRTP, 00 00 || SRTCP index for SRTCP.
  uint8_t block[12] = {};
  PutU32(block + 2, ssrc);
  for (int i = 0; i < 6; ++i) block[11 - i] = static_cast<uint8_t>(index >> (8 * i));
  for (int i = 0; i < 12; ++i) iv[i] = block[i] ^ salt_[i];
}

bool SrtpTransform::Ctr(const uint8_t iv[16], absl::Span<uint8_t> data) {
  return EVP_EncryptInit_ex(cipher_, nullptr, nullptr, nullptr, iv) == 1 &&
         Update(cipher_, true, data.data(), data.data(), data.size());
}

bool SrtpTransform::Hmac(absl::Span<const uint8_t> a, absl::Span<const uint8_t> b,
                         uint8_t out[20]) {
  size_t n = 0;
  // A null key re-initialises with the key given at Init (OpenSSL 3 HMAC).
  return EVP_MAC_init(mac_, nullptr, 0, nullptr) == 1 &&
         EVP_MAC_update(mac_, a.data(), a.size()) == 1 &&
         (b.empty() || EVP_MAC_update(mac_, b.data(), b.size()) == 1) &&
         EVP_MAC_final(mac_, out, &n, 20) == 1 && n == 20;
}

bool SrtpTransform::Gcm(const uint8_t iv[12], absl::Span<const uint8_t> aad1,
                        absl::Span<const uint8_t> aad2, absl::Span<uint8_t> data, uint8_t* tag,
                        bool verify) {
  const bool enc = !verify;
  if ((enc ? EVP_EncryptInit_ex(cipher_, nullptr, nullptr, nullptr, iv)
           : EVP_DecryptInit_ex(cipher_, nullptr, nullptr, nullptr, iv)) != 1) {
    return false;
  }
  if (!Update(cipher_, enc, nullptr, aad1.data(), aad1.size()) ||
      !Update(cipher_, enc, nullptr, aad2.data(), aad2.size()) ||
      !Update(cipher_, enc, data.data(), data.data(), data.size())) {
    return false;
  }
  int n = 0;
  if (enc) {
    return EVP_EncryptFinal_ex(cipher_, data.data() + data.size(), &n) == 1 && n == 0 &&
           EVP_CIPHER_CTX_ctrl(cipher_, EVP_CTRL_AEAD_GET_TAG, kGcmTagLength, tag) == 1;
  }
  return EVP_CIPHER_CTX_ctrl(cipher_, EVP_CTRL_AEAD_SET_TAG, kGcmTagLength, tag) == 1 &&
         EVP_DecryptFinal_ex(cipher_, data.data() + data.size(), &n) == 1 && n == 0;
}

bool SrtpTransform::ProtectRtp(absl::Span<uint8_t> packet, size_t header_length, uint32_t ssrc,
                               uint64_t index, uint8_t* tag) {
  if (!encrypt_ || header_length > packet.size()) return false;
  const auto header = absl::MakeConstSpan(packet.data(), header_length);
  const auto payload = packet.subspan(header_length);
  if (aead()) {
    uint8_t iv[12];
    GcmIv(ssrc, index, iv);
    return Gcm(iv, header, {}, payload, tag, /*verify=*/false);
  }
  uint8_t iv[16];
  CounterIv(ssrc, index, iv);
  if (!Ctr(iv, payload)) return false;
  uint8_t roc[4];
  PutU32(roc, static_cast<uint32_t>(index >> 16));
  uint8_t mac[20];
  if (!Hmac(packet, roc, mac)) return false;
  std::memcpy(tag, mac, kHmacTagLength);
  return true;
}

bool SrtpTransform::UnprotectRtp(absl::Span<uint8_t> packet, size_t header_length, uint32_t ssrc,
                                 uint64_t index, const uint8_t* tag) {
  if (encrypt_ && aead()) return false;
  if (header_length > packet.size()) return false;
  const auto header = absl::MakeConstSpan(packet.data(), header_length);
  const auto payload = packet.subspan(header_length);
  if (aead()) {
    uint8_t iv[12];
    GcmIv(ssrc, index, iv);
    uint8_t expected[kGcmTagLength];
    std::memcpy(expected, tag, kGcmTagLength);
    return Gcm(iv, header, {}, payload, expected, /*verify=*/true);
  }
  uint8_t roc[4];
  PutU32(roc, static_cast<uint32_t>(index >> 16));
  uint8_t mac[20];
  if (!Hmac(packet, roc, mac) || CRYPTO_memcmp(mac, tag, kHmacTagLength) != 0) return false;
  uint8_t iv[16];
  CounterIv(ssrc, index, iv);
  return Ctr(iv, payload);
}

bool SrtpTransform::ProtectRtcp(absl::Span<uint8_t> packet, uint32_t ssrc, uint32_t srtcp_index,
                                const uint8_t* trailer, uint8_t* tag) {
  if (!encrypt_ || packet.size() < 8) return false;
  const auto payload = packet.subspan(8);
  if (aead()) {
    uint8_t iv[12];
    GcmIv(ssrc, srtcp_index, iv);
    return Gcm(iv, packet.subspan(0, 8), absl::MakeConstSpan(trailer, 4), payload, tag,
               /*verify=*/false);
  }
  uint8_t iv[16];
  CounterIv(ssrc, srtcp_index, iv);
  if (!Ctr(iv, payload)) return false;
  uint8_t mac[20];
  if (!Hmac(packet, absl::MakeConstSpan(trailer, 4), mac)) return false;
  std::memcpy(tag, mac, kHmacTagLength);
  return true;
}

bool SrtpTransform::UnprotectRtcp(absl::Span<uint8_t> packet, uint32_t ssrc, uint32_t srtcp_index,
                                  bool encrypted, const uint8_t* trailer, const uint8_t* tag) {
  if ((encrypt_ && aead()) || packet.size() < 8) return false;
  if (aead()) {
    uint8_t iv[12];
    GcmIv(ssrc, srtcp_index, iv);
    uint8_t expected[kGcmTagLength];
    std::memcpy(expected, tag, kGcmTagLength);
    // E = 0 (RFC 7714 9.2): the whole packet is associated data, nothing is encrypted.
    if (!encrypted) {
      return Gcm(iv, packet, absl::MakeConstSpan(trailer, 4), {}, expected, /*verify=*/true);
    }
    return Gcm(iv, packet.subspan(0, 8), absl::MakeConstSpan(trailer, 4), packet.subspan(8),
               expected, /*verify=*/true);
  }
  uint8_t mac[20];
  if (!Hmac(packet, absl::MakeConstSpan(trailer, 4), mac) ||
      CRYPTO_memcmp(mac, tag, kHmacTagLength) != 0) {
    return false;
  }
  if (!encrypted) return true;
  uint8_t iv[16];
  CounterIv(ssrc, srtcp_index, iv);
  return Ctr(iv, packet.subspan(8));
}

}  // namespace sb::transport
