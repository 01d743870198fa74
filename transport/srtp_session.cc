#include "transport/srtp_session.h"

#include <srtp2/srtp.h>

#include <climits>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "base/log.h"

namespace sb::transport {
namespace {

// Smallest packets worth handing to libsrtp: an RTP header, an RTCP header + sender SSRC.
constexpr size_t kMinRtpSize = 12;
constexpr size_t kMinRtcpSize = 8;
// SRTCP appends a 4-byte E flag + index (RFC 3711 3.4).
constexpr size_t kSrtcpIndexSize = 4;

SrtpError ToError(srtp_err_status_t err) {
  switch (err) {
    case srtp_err_status_ok:
      return SrtpError::kNone;
    case srtp_err_status_replay_fail:
    case srtp_err_status_replay_old:
      return SrtpError::kReplay;
    case srtp_err_status_auth_fail:
      return SrtpError::kAuth;
    case srtp_err_status_bad_param:
    case srtp_err_status_parse_err:
      return SrtpError::kMalformed;
    default:
      return SrtpError::kOther;
  }
}

absl::Status InitOnce() {
  static srtp_err_status_t status = [] { return srtp_init(); }();
  if (status != srtp_err_status_ok) {
    return absl::InternalError(absl::StrCat("srtp_init failed: ", static_cast<int>(status)));
  }
  return absl::OkStatus();
}

}  // namespace

std::string_view SrtpProfileName(SrtpProfile profile) {
  switch (profile) {
    case SrtpProfile::kAes128CmSha1_80:
      return "SRTP_AES128_CM_SHA1_80";
    case SrtpProfile::kAeadAes128Gcm:
      return "SRTP_AEAD_AES_128_GCM";
    case SrtpProfile::kAeadAes256Gcm:
      return "SRTP_AEAD_AES_256_GCM";
  }
  return "unknown";
}

size_t SrtpKeyLength(SrtpProfile profile) {
  return profile == SrtpProfile::kAeadAes256Gcm ? 32 : 16;
}

size_t SrtpSaltLength(SrtpProfile profile) {
  return profile == SrtpProfile::kAes128CmSha1_80 ? 14 : 12;
}

size_t SrtpMaxOverhead() { return SRTP_MAX_TRAILER_LEN; }

absl::StatusOr<std::unique_ptr<SrtpSession>> SrtpSession::Create(
    Direction direction, SrtpProfile profile, absl::Span<const uint8_t> key_salt) {
  if (absl::Status status = InitOnce(); !status.ok()) return status;
  const size_t expected = SrtpKeyLength(profile) + SrtpSaltLength(profile);
  if (key_salt.size() != expected) {
    return absl::InvalidArgumentError(
        absl::StrCat("srtp: key+salt is ", key_salt.size(), " bytes, ",
                     std::string(SrtpProfileName(profile)), " needs ", expected));
  }
  srtp_policy_t policy{};
  switch (profile) {
    case SrtpProfile::kAes128CmSha1_80:
      srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtp);
      srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtcp);
      break;
    case SrtpProfile::kAeadAes128Gcm:
      srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtp);
      srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtcp);
      break;
    case SrtpProfile::kAeadAes256Gcm:
      srtp_crypto_policy_set_aes_gcm_256_16_auth(&policy.rtp);
      srtp_crypto_policy_set_aes_gcm_256_16_auth(&policy.rtcp);
      break;
  }
  policy.ssrc.type = direction == Direction::kInbound ? ssrc_any_inbound : ssrc_any_outbound;
  policy.ssrc.value = 0;
  // libsrtp copies the key into the session, so a const_cast of the caller's bytes is safe.
  policy.key = const_cast<unsigned char*>(key_salt.data());
  policy.window_size = kSrtpReplayWindow;
  // Outbound: RTX/NACK resends re-protect the same sequence number.
  policy.allow_repeat_tx = direction == Direction::kOutbound ? 1 : 0;
  policy.next = nullptr;

  std::unique_ptr<SrtpSession> session(new SrtpSession(direction, profile));
  const srtp_err_status_t err = srtp_create(&session->session_, &policy);
  if (err != srtp_err_status_ok) {
    session->session_ = nullptr;
    return absl::InternalError(absl::StrCat("srtp_create failed: ", static_cast<int>(err)));
  }
  return session;
}

SrtpSession::~SrtpSession() {
  if (session_ != nullptr) srtp_dealloc(session_);
}

bool SrtpSession::ProtectRtp(uint8_t* data, size_t* len, size_t capacity) {
  if (direction_ != Direction::kOutbound || *len < kMinRtpSize ||
      *len + SRTP_MAX_TRAILER_LEN > capacity || capacity > INT_MAX) {
    return false;
  }
  int n = static_cast<int>(*len);
  const srtp_err_status_t err = srtp_protect(session_, data, &n);
  if (err != srtp_err_status_ok) {
    SB_LOG_DEBUG("srtp", "srtp_protect failed: {}", static_cast<int>(err));
    return false;
  }
  *len = static_cast<size_t>(n);
  return true;
}

bool SrtpSession::ProtectRtcp(uint8_t* data, size_t* len, size_t capacity) {
  if (direction_ != Direction::kOutbound || *len < kMinRtcpSize ||
      *len + SRTP_MAX_TRAILER_LEN + kSrtcpIndexSize > capacity || capacity > INT_MAX) {
    return false;
  }
  int n = static_cast<int>(*len);
  const srtp_err_status_t err = srtp_protect_rtcp(session_, data, &n);
  if (err != srtp_err_status_ok) {
    SB_LOG_DEBUG("srtp", "srtp_protect_rtcp failed: {}", static_cast<int>(err));
    return false;
  }
  *len = static_cast<size_t>(n);
  return true;
}

bool SrtpSession::UnprotectRtp(uint8_t* data, size_t* len, SrtpError* error) {
  SrtpError ignored;
  if (error == nullptr) error = &ignored;
  if (direction_ != Direction::kInbound || *len < kMinRtpSize || *len > INT_MAX) {
    *error = SrtpError::kMalformed;
    return false;
  }
  int n = static_cast<int>(*len);
  const srtp_err_status_t err = srtp_unprotect(session_, data, &n);
  *error = ToError(err);
  if (err != srtp_err_status_ok) {
    SB_LOG_DEBUG("srtp", "srtp_unprotect failed: {}", static_cast<int>(err));
    return false;
  }
  *len = static_cast<size_t>(n);
  return true;
}

bool SrtpSession::UnprotectRtcp(uint8_t* data, size_t* len, SrtpError* error) {
  SrtpError ignored;
  if (error == nullptr) error = &ignored;
  if (direction_ != Direction::kInbound || *len < kMinRtcpSize + kSrtcpIndexSize ||
      *len > INT_MAX) {
    *error = SrtpError::kMalformed;
    return false;
  }
  int n = static_cast<int>(*len);
  const srtp_err_status_t err = srtp_unprotect_rtcp(session_, data, &n);
  *error = ToError(err);
  if (err != srtp_err_status_ok) {
    SB_LOG_DEBUG("srtp", "srtp_unprotect_rtcp failed: {}", static_cast<int>(err));
    return false;
  }
  *len = static_cast<size_t>(n);
  return true;
}

}  // namespace sb::transport
