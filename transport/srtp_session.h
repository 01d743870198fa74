// One direction of SRTP/SRTCP (RFC 3711, RFC 7714) for any number of SSRCs: the per-stream
// state (rollover counter, replay windows, SRTCP index) here, the transforms on OpenSSL in
// srtp_crypto.h. Behaves as libsrtp2 does with a wildcard SSRC policy (the tests check
// byte for byte), without its NSS backend, whose cost per packet grew with the number of
// sessions a process held.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "transport/srtp_replay_window.h"

namespace sb::transport {

enum class SrtpProfile { kAes128CmSha1_80, kAeadAes128Gcm, kAeadAes256Gcm };

// "SRTP_AES128_CM_SHA1_80", "SRTP_AEAD_AES_128_GCM", "SRTP_AEAD_AES_256_GCM" (RFC 5764/7714).
std::string_view SrtpProfileName(SrtpProfile profile);
// Master key and salt sizes per profile (RFC 5764 4.1.2, RFC 7714 12).
size_t SrtpKeyLength(SrtpProfile profile);
size_t SrtpSaltLength(SrtpProfile profile);

// Bytes protect may add to an RTP (RTCP: + 4 for the SRTCP index) packet.
size_t SrtpMaxOverhead();

// Inbound replay window in packets (RFC 3711 3.3.2). Large enough for reordering after NACK;
// an outbound packet older than this is refused too (as libsrtp does), so a resend cannot reuse
// an index from long ago.
inline constexpr size_t kSrtpReplayWindow = 1024;
// SRTCP's replay window (libsrtp's 128).
inline constexpr size_t kSrtcpReplayWindow = 128;
// SSRCs one session keeps state for. A subscriber transport sends one per consumer (and RTX);
// a new SSRC past this is refused, which only the peer holding the key can cause inbound.
inline constexpr size_t kMaxSrtpStreams = 16384;

class SrtpTransform;

// Why an unprotect failed.
enum class SrtpError {
  kNone,
  kReplay,     // RFC 3711 3.3.2: index already seen or older than the replay window
  kAuth,       // authentication tag does not verify (forged, corrupted, other key)
  kMalformed,  // too short to be SRTP/SRTCP, or its header's lengths do not fit
  kOther,      // kMaxSrtpStreams reached, or OpenSSL failed
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
  struct InboundStream {
    SrtpReplayWindow<kSrtpReplayWindow> rtp;
    SrtpReplayWindow<kSrtcpReplayWindow> rtcp;
  };
  struct OutboundStream {
    uint64_t rtp_top = 0;  // highest SRTP index sent (ROC || SEQ)
    bool rtp_started = false;
    uint32_t rtcp_index = 0;  // last SRTCP index sent
  };

  SrtpSession(Direction direction, SrtpProfile profile);
  // The SSRC's state, made on first use; nullptr past kMaxSrtpStreams.
  OutboundStream* OutboundFor(uint32_t ssrc);

  Direction direction_;
  SrtpProfile profile_;
  std::unique_ptr<SrtpTransform> rtp_;
  std::unique_ptr<SrtpTransform> rtcp_;
  absl::flat_hash_map<uint32_t, InboundStream> inbound_;
  absl::flat_hash_map<uint32_t, OutboundStream> outbound_;
};

}  // namespace sb::transport
