#include "transport/srtp_session.h"

#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "base/log.h"
#include "transport/srtp_crypto.h"

namespace sb::transport {
namespace {

constexpr size_t kMinRtpSize = 12;
constexpr size_t kMinRtcpSize = 8;
// SRTCP appends a 4-byte E flag + index (RFC 3711 3.4).
constexpr size_t kSrtcpIndexSize = 4;
constexpr uint32_t kSrtcpEncryptedFlag = 0x80000000u;
constexpr uint32_t kMaxSrtcpIndex = 0x7FFFFFFFu;
constexpr uint32_t kSeqMedian = 1u << 15;

uint32_t ReadU32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

void WriteU32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

// The RTP header's length (fixed part, CSRCs, extension: RFC 3550 5.1, 5.3.1) when it fits in
// `len` bytes, else 0.
size_t RtpHeaderLength(const uint8_t* data, size_t len) {
  if (len < kMinRtpSize || (data[0] >> 6) != 2) return 0;
  size_t header = kMinRtpSize + 4 * size_t{data[0] & 0x0Fu};
  if (data[0] & 0x10) {
    if (header + 4 > len) return 0;
    header += 4 + 4 * ((size_t{data[header + 2]} << 8) | data[header + 3]);
  }
  return header <= len ? header : 0;
}

// The packet index a sequence number stands for, next to the highest index so far (RFC 3711
// 3.3.1 and Appendix A). As libsrtp: until the highest index passes 2^15 a number is taken
// as it is (ROC 0), so a stream that starts high does not guess a rollover below zero.
uint64_t EstimateIndex(bool started, uint64_t top, uint16_t seq) {
  if (!started || top <= kSeqMedian) return seq;
  const uint64_t roc = top >> 16;
  const uint32_t local_seq = static_cast<uint32_t>(top & 0xFFFF);
  uint64_t guess_roc = roc;
  if (local_seq < kSeqMedian) {
    if (seq > local_seq + kSeqMedian) guess_roc = roc - 1;
  } else if (local_seq - kSeqMedian > seq) {
    guess_roc = roc + 1;
  }
  return (guess_roc << 16) | seq;
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

size_t SrtpMaxOverhead() { return SrtpTransform::kGcmTagLength; }

SrtpSession::SrtpSession(Direction direction, SrtpProfile profile)
    : direction_(direction), profile_(profile) {}

SrtpSession::~SrtpSession() = default;

absl::StatusOr<std::unique_ptr<SrtpSession>> SrtpSession::Create(
    Direction direction, SrtpProfile profile, absl::Span<const uint8_t> key_salt) {
  const bool encrypt = direction == Direction::kOutbound;
  auto rtp = SrtpTransform::Create(profile, encrypt, /*rtcp=*/false, key_salt);
  if (!rtp.ok()) return rtp.status();
  auto rtcp = SrtpTransform::Create(profile, encrypt, /*rtcp=*/true, key_salt);
  if (!rtcp.ok()) return rtcp.status();
  std::unique_ptr<SrtpSession> session(new SrtpSession(direction, profile));
  session->rtp_ = *std::move(rtp);
  session->rtcp_ = *std::move(rtcp);
  return session;
}

SrtpSession::OutboundStream* SrtpSession::OutboundFor(uint32_t ssrc) {
  auto it = outbound_.find(ssrc);
  if (it != outbound_.end()) return &it->second;
  if (outbound_.size() >= kMaxSrtpStreams) {
    SB_LOG_DEBUG("srtp", "protect: {} streams already, ssrc {} refused", outbound_.size(), ssrc);
    return nullptr;
  }
  return &outbound_.emplace(ssrc, OutboundStream{}).first->second;
}

bool SrtpSession::ProtectRtp(uint8_t* data, size_t* len, size_t capacity) {
  const size_t tag = rtp_->tag_length();
  const size_t header = RtpHeaderLength(data, *len);
  if (direction_ != Direction::kOutbound || header == 0 || *len + tag > capacity) return false;
  const uint32_t ssrc = ReadU32(data + 8);
  OutboundStream* const found = OutboundFor(ssrc);
  if (found == nullptr) return false;
  OutboundStream& stream = *found;
  const uint16_t seq = static_cast<uint16_t>((data[2] << 8) | data[3]);
  const uint64_t index = EstimateIndex(stream.rtp_started, stream.rtp_top, seq);
  // A resend of a recent index is allowed (the same packet again); one from beyond the window
  // is not: its keystream may have protected other bytes since.
  if (stream.rtp_started && index < stream.rtp_top && stream.rtp_top - index >= kSrtpReplayWindow) {
    SB_LOG_DEBUG("srtp", "protect: ssrc {} seq {} is older than the window", ssrc, seq);
    return false;
  }
  if (!rtp_->ProtectRtp(absl::MakeSpan(data, *len), header, ssrc, index, data + *len)) {
    return false;
  }
  if (!stream.rtp_started || index > stream.rtp_top) stream.rtp_top = index;
  stream.rtp_started = true;
  *len += tag;
  return true;
}

bool SrtpSession::ProtectRtcp(uint8_t* data, size_t* len, size_t capacity) {
  const size_t tag = rtcp_->tag_length();
  if (direction_ != Direction::kOutbound || *len < kMinRtcpSize ||
      *len + tag + kSrtcpIndexSize > capacity) {
    return false;
  }
  const uint32_t ssrc = ReadU32(data + 4);
  OutboundStream* const found = OutboundFor(ssrc);
  if (found == nullptr) return false;
  OutboundStream& stream = *found;
  if (stream.rtcp_index >= kMaxSrtcpIndex) return false;  // RFC 3711 3.3.1: rekey needed
  const uint32_t index = stream.rtcp_index + 1;
  uint8_t trailer[kSrtcpIndexSize];
  WriteU32(trailer, kSrtcpEncryptedFlag | index);
  const auto packet = absl::MakeSpan(data, *len);
  if (profile_ == SrtpProfile::kAes128CmSha1_80) {
    // packet | E+index | tag (RFC 3711 3.4)
    std::memcpy(data + *len, trailer, kSrtcpIndexSize);
    if (!rtcp_->ProtectRtcp(packet, ssrc, index, data + *len, data + *len + kSrtcpIndexSize)) {
      return false;
    }
  } else {
    // packet | tag | E+index (RFC 7714 9.1)
    if (!rtcp_->ProtectRtcp(packet, ssrc, index, trailer, data + *len)) return false;
    std::memcpy(data + *len + tag, trailer, kSrtcpIndexSize);
  }
  stream.rtcp_index = index;
  *len += tag + kSrtcpIndexSize;
  return true;
}

bool SrtpSession::UnprotectRtp(uint8_t* data, size_t* len, SrtpError* error) {
  SrtpError ignored;
  if (error == nullptr) error = &ignored;
  const size_t tag = rtp_->tag_length();
  const size_t header = *len >= tag ? RtpHeaderLength(data, *len - tag) : 0;
  if (direction_ != Direction::kInbound || header == 0) {
    *error = SrtpError::kMalformed;
    return false;
  }
  const uint32_t ssrc = ReadU32(data + 8);
  const uint16_t seq = static_cast<uint16_t>((data[2] << 8) | data[3]);
  auto it = inbound_.find(ssrc);
  const bool known = it != inbound_.end();
  const uint64_t index =
      known ? EstimateIndex(it->second.rtp.started(), it->second.rtp.top(), seq) : seq;
  if (known && it->second.rtp.Check(index) != SrtpReplayWindow<kSrtpReplayWindow>::Verdict::kNew) {
    *error = SrtpError::kReplay;
    return false;
  }
  if (!known && inbound_.size() >= kMaxSrtpStreams) {
    *error = SrtpError::kOther;
    return false;
  }
  const size_t body = *len - tag;
  if (!rtp_->UnprotectRtp(absl::MakeSpan(data, body), header, ssrc, index, data + body)) {
    *error = SrtpError::kAuth;
    return false;
  }
  // Only an authenticated packet makes state: a forged SSRC costs nothing.
  if (!known) it = inbound_.emplace(ssrc, InboundStream{}).first;
  it->second.rtp.Add(index);
  *len = body;
  *error = SrtpError::kNone;
  return true;
}

bool SrtpSession::UnprotectRtcp(uint8_t* data, size_t* len, SrtpError* error) {
  SrtpError ignored;
  if (error == nullptr) error = &ignored;
  const size_t tag = rtcp_->tag_length();
  if (direction_ != Direction::kInbound || *len < kMinRtcpSize + kSrtcpIndexSize + tag) {
    *error = SrtpError::kMalformed;
    return false;
  }
  const bool aead = profile_ != SrtpProfile::kAes128CmSha1_80;
  const size_t body = *len - tag - kSrtcpIndexSize;
  const uint8_t* trailer = aead ? data + *len - kSrtcpIndexSize : data + body;
  const uint8_t* tag_bytes = aead ? data + body : data + body + kSrtcpIndexSize;
  const uint32_t word = ReadU32(trailer);
  const uint32_t index = word & kMaxSrtcpIndex;
  const uint32_t ssrc = ReadU32(data + 4);
  auto it = inbound_.find(ssrc);
  const bool known = it != inbound_.end();
  if (known &&
      it->second.rtcp.Check(index) != SrtpReplayWindow<kSrtcpReplayWindow>::Verdict::kNew) {
    *error = SrtpError::kReplay;
    return false;
  }
  if (!known && inbound_.size() >= kMaxSrtpStreams) {
    *error = SrtpError::kOther;
    return false;
  }
  if (!rtcp_->UnprotectRtcp(absl::MakeSpan(data, body), ssrc, index,
                            (word & kSrtcpEncryptedFlag) != 0, trailer, tag_bytes)) {
    *error = SrtpError::kAuth;
    return false;
  }
  if (!known) it = inbound_.emplace(ssrc, InboundStream{}).first;
  it->second.rtcp.Add(index);
  *len = body;
  *error = SrtpError::kNone;
  return true;
}

}  // namespace sb::transport
