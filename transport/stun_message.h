// STUN messages (RFC 8489): a parser that overlays a view on the received bytes, and a builder
// for the requests and responses ICE-lite needs (RFC 8445 attributes included).
#pragma once

#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace sb::transport {

// RFC 8489 section 5.
inline constexpr uint32_t kStunMagicCookie = 0x2112A442;
inline constexpr size_t kStunHeaderSize = 20;
inline constexpr size_t kStunTransactionIdSize = 12;
inline constexpr uint16_t kStunMethodBinding = 0x001;

enum class StunClass : uint8_t { kRequest, kIndication, kSuccessResponse, kErrorResponse };

// Attribute types (RFC 8489 section 18.3, RFC 8445 section 16.1).
namespace stun_attr {
inline constexpr uint16_t kMappedAddress = 0x0001;
inline constexpr uint16_t kUsername = 0x0006;
inline constexpr uint16_t kMessageIntegrity = 0x0008;
inline constexpr uint16_t kErrorCode = 0x0009;
inline constexpr uint16_t kRealm = 0x0014;
inline constexpr uint16_t kNonce = 0x0015;
inline constexpr uint16_t kMessageIntegritySha256 = 0x001C;
inline constexpr uint16_t kXorMappedAddress = 0x0020;
inline constexpr uint16_t kPriority = 0x0024;
inline constexpr uint16_t kUseCandidate = 0x0025;
inline constexpr uint16_t kSoftware = 0x8022;
inline constexpr uint16_t kFingerprint = 0x8028;
inline constexpr uint16_t kIceControlled = 0x8029;
inline constexpr uint16_t kIceControlling = 0x802A;
}  // namespace stun_attr

// True if the bytes look like STUN: first two bits zero (RFC 7983: first byte 0..3), a full
// header and the magic cookie.
bool IsStunMessage(const uint8_t* data, size_t len);

class StunMessage {
 public:
  // Validates the header and every attribute length; the bytes must outlive the message.
  static absl::StatusOr<StunMessage> Parse(absl::Span<const uint8_t> data);

  uint16_t method() const { return method_; }
  StunClass message_class() const { return class_; }
  absl::Span<const uint8_t> transaction_id() const {
    return data_.subspan(8, kStunTransactionIdSize);
  }
  absl::Span<const uint8_t> bytes() const { return data_; }

  const std::optional<std::string_view>& username() const { return username_; }
  const std::optional<std::string_view>& software() const { return software_; }
  const std::optional<uint32_t>& priority() const { return priority_; }
  bool use_candidate() const { return use_candidate_; }
  const std::optional<uint64_t>& ice_controlling() const { return ice_controlling_; }
  const std::optional<uint64_t>& ice_controlled() const { return ice_controlled_; }
  const std::optional<uint16_t>& error_code() const { return error_code_; }
  std::string_view error_reason() const { return error_reason_; }
  // XOR-MAPPED-ADDRESS decoded into a sockaddr_in / sockaddr_in6.
  const std::optional<sockaddr_storage>& xor_mapped_address() const { return xor_mapped_; }

  bool has_message_integrity() const { return mi_offset_ != 0; }
  bool has_message_integrity_sha256() const { return mi256_offset_ != 0; }
  bool has_fingerprint() const { return fp_offset_ != 0; }

  // HMAC over the message up to MESSAGE-INTEGRITY with the length adjusted (RFC 8489 14.5).
  // For ICE short-term credentials the key is the password itself.
  bool CheckIntegrity(absl::Span<const uint8_t> key) const;
  bool CheckIntegrity(std::string_view password) const;
  bool CheckIntegritySha256(std::string_view password) const;
  // CRC-32 of the message up to FINGERPRINT, xor 0x5354554e (RFC 8489 14.7).
  bool CheckFingerprint() const;

 private:
  StunMessage() = default;
  bool CheckHmac(size_t attr_offset, size_t mac_size, const char* digest,
                 absl::Span<const uint8_t> key) const;

  absl::Span<const uint8_t> data_;
  uint16_t method_ = 0;
  StunClass class_ = StunClass::kRequest;
  std::optional<std::string_view> username_;
  std::optional<std::string_view> software_;
  std::optional<uint32_t> priority_;
  bool use_candidate_ = false;
  std::optional<uint64_t> ice_controlling_;
  std::optional<uint64_t> ice_controlled_;
  std::optional<uint16_t> error_code_;
  std::string_view error_reason_;
  std::optional<sockaddr_storage> xor_mapped_;
  // Offsets of the attribute headers from the start of the message; 0 = absent.
  size_t mi_offset_ = 0;
  size_t mi256_offset_ = 0;
  size_t fp_offset_ = 0;
};

// Builds one message; attributes are appended in call order, so add MESSAGE-INTEGRITY and then
// FINGERPRINT last.
class StunMessageBuilder {
 public:
  StunMessageBuilder(uint16_t method, StunClass message_class,
                     absl::Span<const uint8_t> transaction_id);

  StunMessageBuilder& AddUsername(std::string_view username);
  StunMessageBuilder& AddSoftware(std::string_view software);
  StunMessageBuilder& AddPriority(uint32_t priority);
  StunMessageBuilder& AddUseCandidate();
  StunMessageBuilder& AddIceControlling(uint64_t tie_breaker);
  StunMessageBuilder& AddIceControlled(uint64_t tie_breaker);
  StunMessageBuilder& AddXorMappedAddress(const sockaddr* address);
  StunMessageBuilder& AddErrorCode(uint16_t code, std::string_view reason);
  StunMessageBuilder& AddMessageIntegrity(std::string_view password);
  // RFC 8489 14.6; may follow MESSAGE-INTEGRITY (a peer that knows only one checks that one).
  StunMessageBuilder& AddMessageIntegritySha256(std::string_view password);
  StunMessageBuilder& AddFingerprint();

  const std::vector<uint8_t>& bytes() const { return buffer_; }
  std::vector<uint8_t> Take() { return std::move(buffer_); }

 private:
  void AddAttribute(uint16_t type, absl::Span<const uint8_t> value);
  void SetLength(size_t body_length);

  std::vector<uint8_t> buffer_;
};

// Binding success response for an ICE check: XOR-MAPPED-ADDRESS, MESSAGE-INTEGRITY, FINGERPRINT.
std::vector<uint8_t> BuildBindingSuccessResponse(const StunMessage& request,
                                                 const sockaddr* mapped_address,
                                                 std::string_view password);
// Error response (e.g. 400, 401, 487). An empty password leaves MESSAGE-INTEGRITY out, as a
// 401 must (the request could not be authenticated).
std::vector<uint8_t> BuildErrorResponse(const StunMessage& request, uint16_t code,
                                        std::string_view reason, std::string_view password);

uint32_t StunCrc32(absl::Span<const uint8_t> data);

}  // namespace sb::transport
