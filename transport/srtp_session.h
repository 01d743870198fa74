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

// Inbound replay window in packets (RFC 3711 3.3.2); libsrtp accepts 64..0x7FFF. Large enough
// for reordering after NACK.
inline constexpr unsigned long kSrtpReplayWindow = 1024;

// Why an unprotect failed, as libsrtp tells it.
enum class SrtpError {
  kNone,
  kReplay,     // RFC 3711 3.3.2: index already seen or older than the replay window
  kAuth,       // authentication tag does not verify (forged, corrupted, other key)
  kMalformed,  // too short to be SRTP/SRTCP, or libsrtp could not parse it
  kOther,
};

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
  // In place; false on authentication failure, replay or malformed input, with the reason in
  // *error when given. Replay protection (kSrtpReplayWindow) is always on.
  bool UnprotectRtp(uint8_t* data, size_t* len, SrtpError* error = nullptr);
  bool UnprotectRtcp(uint8_t* data, size_t* len, SrtpError* error = nullptr);

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
