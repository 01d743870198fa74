// An RTP packet (RFC 3550 5.1) parsed as a view over a caller's mutable buffer, with RFC 8285
// header extensions. Parsing validates every length; nothing is copied.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "absl/types/span.h"

namespace sb::rtp {

inline constexpr size_t kRtpFixedHeaderSize = 12;             // RFC 3550 5.1
inline constexpr uint16_t kOneByteExtensionProfile = 0xBEDE;  // RFC 8285 4.2
inline constexpr uint16_t kTwoByteExtensionProfile = 0x1000;  // RFC 8285 4.3 (low 4 bits: appbits)
inline constexpr uint8_t kMaxOneByteExtensionId = 14;         // 15 is reserved (RFC 8285 4.2)
inline constexpr size_t kMaxOneByteExtensionLength = 16;

struct ExtensionValue {
  uint8_t id;
  absl::Span<const uint8_t> value;
};

class RtpPacket {
 public:
  enum class ExtensionForm : uint8_t { kNone, kOneByte, kTwoByte, kOther };

  // Returns nullopt on anything malformed: version != 2, truncated header/CSRCs/extension,
  // an extension element running past the block, padding count 0 or larger than the room.
  static std::optional<RtpPacket> Parse(uint8_t* data, size_t len);

  bool has_padding() const { return padding_length_ > 0; }
  bool has_extension() const { return (data_[0] & 0x10) != 0; }
  bool marker() const { return (data_[1] & 0x80) != 0; }
  uint8_t payload_type() const { return data_[1] & 0x7F; }
  uint16_t sequence_number() const;
  uint32_t timestamp() const;
  uint32_t ssrc() const;
  uint8_t csrc_count() const { return data_[0] & 0x0F; }
  uint32_t csrc(size_t i) const;  // i < csrc_count()

  // Extension block: profile ("defined by profile" field) and form.
  ExtensionForm extension_form() const { return ext_form_; }
  uint16_t extension_profile() const { return ext_profile_; }
  // The value of extension element `id`, or an empty span when absent. In one-byte form a
  // present element is 1..16 bytes; in two-byte form an element may be empty (0 bytes), which
  // is indistinguishable here from absence: use HasExtension for that.
  absl::Span<const uint8_t> GetExtension(uint8_t id) const;
  bool HasExtension(uint8_t id) const;
  // Calls fn(uint8_t id, absl::Span<const uint8_t> value) for each element, in order.
  template <typename F>
  void ForEachExtension(F&& fn) const;

  absl::Span<const uint8_t> payload() const { return {data_ + header_size_, payload_size_}; }
  uint8_t* mutable_payload() { return data_ + header_size_; }
  size_t padding_length() const { return padding_length_; }
  size_t header_size() const { return header_size_; }
  size_t size() const { return size_; }
  const uint8_t* data() const { return data_; }
  uint8_t* data() { return data_; }

  void SetMarker(bool marker);
  void SetPayloadType(uint8_t pt);
  void SetSequenceNumber(uint16_t seq);
  void SetTimestamp(uint32_t ts);
  void SetSsrc(uint32_t ssrc);

 private:
  RtpPacket() = default;

  uint8_t* data_ = nullptr;
  size_t size_ = 0;
  size_t header_size_ = 0;      // fixed header + CSRCs + extension block
  size_t ext_data_offset_ = 0;  // first byte of extension elements
  size_t ext_data_size_ = 0;
  uint16_t ext_profile_ = 0;
  ExtensionForm ext_form_ = ExtensionForm::kNone;
  size_t payload_size_ = 0;
  size_t padding_length_ = 0;
};

template <typename F>
void RtpPacket::ForEachExtension(F&& fn) const {
  if (ext_form_ != ExtensionForm::kOneByte && ext_form_ != ExtensionForm::kTwoByte) {
    return;
  }
  const uint8_t* p = data_ + ext_data_offset_;
  const size_t n = ext_data_size_;
  size_t i = 0;
  // Parse() has validated every element, so the walk below stays within the block.
  if (ext_form_ == ExtensionForm::kOneByte) {
    while (i < n) {
      uint8_t id = p[i] >> 4;
      if (id == 0) {  // padding byte
        ++i;
        continue;
      }
      if (id == 15) {
        return;  // RFC 8285 4.2: stop processing
      }
      size_t len = (p[i] & 0x0F) + 1u;
      fn(id, absl::Span<const uint8_t>(p + i + 1, len));
      i += 1 + len;
    }
  } else {
    while (i < n) {
      uint8_t id = p[i];
      if (id == 0) {
        ++i;
        continue;
      }
      size_t len = p[i + 1];
      fn(id, absl::Span<const uint8_t>(p + i + 2, len));
      i += 2 + len;
    }
  }
}

// Header rewrite a consumer applies when forwarding a packet.
struct RtpRewrite {
  uint32_t ssrc = 0;
  uint8_t payload_type = 0;
  uint16_t sequence_number = 0;
  uint32_t timestamp = 0;
  std::array<uint8_t, 256> ext_id_map{};   // incoming ext id -> outgoing id; 0 = drop
  absl::Span<const ExtensionValue> extra;  // appended extensions (e.g. the consumer's mid)
};

// Writes a rewritten copy of `in` into out[0..cap): header fields replaced, marker and CSRCs
// kept, extensions remapped/dropped/appended (an `extra` id replaces a remapped element with the
// same outgoing id; one-byte form if every id <= 14 and length 1..16, else two-byte), payload
// and padding copied. An extension block of an unknown profile (not RFC 8285) is dropped.
// Returns bytes written, or 0 if cap is too small.
size_t WriteRewritten(const RtpPacket& in, const RtpRewrite& rw, uint8_t* out, size_t cap);

// The same extension rewrite applied to a packet in its own buffer of `capacity` bytes: ids
// remapped or dropped by `ext_id_map` (0 = drop), `extra` added, and the payload and padding
// moved to follow the new block; the other header fields are kept. On success `packet` views
// the rewritten bytes. False, and the packet unchanged, when the result needs more than
// `capacity` bytes.
bool RewriteExtensionsInPlace(RtpPacket* packet, const std::array<uint8_t, 256>& ext_id_map,
                              absl::Span<const ExtensionValue> extra, size_t capacity);

}  // namespace sb::rtp
