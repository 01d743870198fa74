// One direction of SRTP/SRTCP (RFC 3711, RFC 7714) over libsrtp2, for any SSRC.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

struct srtp_ctx_t_;

namespace sb::transport {

enum class SrtpProfile { kAes128CmSha1_80, kAeadAes128Gcm, kAeadAes256Gcm };

// "SRTP_AES128_CM_SHA1_80", "SRTP_AEAD_AES_128_GCM", "SRTP_AEAD_AES_256_GCM" (RFC 5764/7714).
std::string_view SrtpProfileName(SrtpProfile profile);
// Master key and salt sizes per profile (RFC 5764 4.1.2, RFC 7714 12).
size_t SrtpKeyLength(SrtpProfile profile);
size_t SrtpSaltLength(SrtpProfile profile);

// Bytes protect may add to an RTP (RTCP: + 4 for the SRTCP index) packet.
size_t SrtpMaxOverhead();

class SrtpSession {
 public:
  enum class Direction { kInbound, kOutbound };

  // key_salt is the master key followed by the master salt.
  static absl::StatusOr<std::unique_ptr<SrtpSession>> Create(Direction direction,
                                                             SrtpProfile profile,
                                                             absl::Span<const uint8_t> key_salt);
  ~SrtpSession();
  SrtpSession(const SrtpSession&) = delete;
  SrtpSession& operator=(const SrtpSession&) = delete;

  // In place; capacity must leave room for SrtpMaxOverhead() (+ 4 for RTCP).
  bool ProtectRtp(uint8_t* data, size_t* len, size_t capacity);
  bool ProtectRtcp(uint8_t* data, size_t* len, size_t capacity);
  // In place; false on authentication failure, replay or malformed input.
  bool UnprotectRtp(uint8_t* data, size_t* len);
  bool UnprotectRtcp(uint8_t* data, size_t* len);

  SrtpProfile profile() const { return profile_; }
  Direction direction() const { return direction_; }

 private:
  SrtpSession(Direction direction, SrtpProfile profile)
      : direction_(direction), profile_(profile) {}

  Direction direction_;
  SrtpProfile profile_;
  srtp_ctx_t_* session_ = nullptr;
};

}  // namespace sb::transport
