#include "transport/stun_message.h"

#include <netinet/in.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <algorithm>
#include <cstring>

#include "absl/status/status.h"

namespace sb::transport {
namespace {

// RFC 8489 14.7: the CRC-32 is xor'ed with this ("STUN") so it differs from application CRCs.
constexpr uint32_t kFingerprintXor = 0x5354554e;
constexpr size_t kAttrHeaderSize = 4;
constexpr size_t kSha1MacSize = 20;
constexpr size_t kFingerprintValueSize = 4;
// RFC 8489 14.3: USERNAME is less than 513 bytes.
constexpr size_t kMaxUsernameSize = 512;

uint16_t ReadU16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }
uint32_t ReadU32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}
uint64_t ReadU64(const uint8_t* p) { return (uint64_t{ReadU32(p)} << 32) | ReadU32(p + 4); }
void WriteU16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
void WriteU32(uint8_t* p, uint32_t v) {
  WriteU16(p, static_cast<uint16_t>(v >> 16));
  WriteU16(p + 2, static_cast<uint16_t>(v));
}
void WriteU64(uint8_t* p, uint64_t v) {
  WriteU32(p, static_cast<uint32_t>(v >> 32));
  WriteU32(p + 4, static_cast<uint32_t>(v));
}

constexpr std::array<uint32_t, 256> MakeCrcTable() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    table[i] = c;
  }
  return table;
}
constexpr std::array<uint32_t, 256> kCrcTable = MakeCrcTable();

// HMAC(digest, key, a || b) into out; returns the MAC size or 0 on failure.
size_t Hmac(const char* digest, absl::Span<const uint8_t> key, absl::Span<const uint8_t> a,
            absl::Span<const uint8_t> b, uint8_t* out, size_t out_capacity) {
  // Fetched once; EVP_MAC objects are immutable and shareable.
  static EVP_MAC* const kHmac = EVP_MAC_fetch(nullptr, OSSL_MAC_NAME_HMAC, nullptr);
  if (kHmac == nullptr) return 0;
  EVP_MAC_CTX* ctx = EVP_MAC_CTX_new(kHmac);
  if (ctx == nullptr) return 0;
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>(digest), 0),
      OSSL_PARAM_construct_end()};
  size_t out_len = 0;
  bool ok = EVP_MAC_init(ctx, key.data(), key.size(), params) == 1 &&
            EVP_MAC_update(ctx, a.data(), a.size()) == 1 &&
            EVP_MAC_update(ctx, b.data(), b.size()) == 1 &&
            EVP_MAC_final(ctx, out, &out_len, out_capacity) == 1;
  EVP_MAC_CTX_free(ctx);
  return ok ? out_len : 0;
}

absl::Span<const uint8_t> AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

uint16_t EncodeType(uint16_t method, StunClass cls) {
  auto c = static_cast<uint16_t>(cls);
  return static_cast<uint16_t>((method & 0x000F) | ((method & 0x0070) << 1) |
                               ((method & 0x0F80) << 2) | ((c & 1) << 4) | ((c & 2) << 7));
}

// RFC 8489 14.2: XOR-MAPPED-ADDRESS, port xor the cookie's top half, address xor cookie (+ tid).
std::optional<sockaddr_storage> DecodeXorAddress(absl::Span<const uint8_t> value,
                                                 absl::Span<const uint8_t> tid) {
  sockaddr_storage ss{};
  const uint16_t port = ReadU16(value.data() + 2) ^ static_cast<uint16_t>(kStunMagicCookie >> 16);
  if (value[1] == 0x01 && value.size() == 8) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(port);
    sin->sin_addr.s_addr = htonl(ReadU32(value.data() + 4) ^ kStunMagicCookie);
    return ss;
  }
  if (value[1] == 0x02 && value.size() == 20) {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(port);
    uint8_t mask[16];
    WriteU32(mask, kStunMagicCookie);
    std::memcpy(mask + 4, tid.data(), kStunTransactionIdSize);
    for (int i = 0; i < 16; ++i) sin6->sin6_addr.s6_addr[i] = value[4 + i] ^ mask[i];
    return ss;
  }
  return std::nullopt;
}

}  // namespace

uint32_t StunCrc32(absl::Span<const uint8_t> data) {
  uint32_t c = 0xFFFFFFFFu;
  for (uint8_t byte : data) c = kCrcTable[(c ^ byte) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

bool IsStunMessage(const uint8_t* data, size_t len) {
  return len >= kStunHeaderSize && data[0] < 4 && ReadU32(data + 4) == kStunMagicCookie;
}

absl::StatusOr<StunMessage> StunMessage::Parse(absl::Span<const uint8_t> data) {
  if (data.size() < kStunHeaderSize) return absl::InvalidArgumentError("stun: short header");
  const uint8_t* p = data.data();
  if ((p[0] & 0xC0) != 0) return absl::InvalidArgumentError("stun: top bits not zero");
  const size_t body_len = ReadU16(p + 2);
  if (body_len % 4 != 0) return absl::InvalidArgumentError("stun: length not a multiple of 4");
  if (kStunHeaderSize + body_len != data.size()) {
    return absl::InvalidArgumentError("stun: length does not match datagram");
  }
  if (ReadU32(p + 4) != kStunMagicCookie) return absl::InvalidArgumentError("stun: bad cookie");

  StunMessage msg;
  msg.data_ = data;
  const uint16_t type = ReadU16(p);
  msg.method_ =
      static_cast<uint16_t>((type & 0x000F) | ((type & 0x00E0) >> 1) | ((type & 0x3E00) >> 2));
  msg.class_ = static_cast<StunClass>(((type & 0x0100) >> 7) | ((type & 0x0010) >> 4));

  size_t offset = kStunHeaderSize;
  while (offset < data.size()) {
    if (data.size() - offset < kAttrHeaderSize) {
      return absl::InvalidArgumentError("stun: truncated attribute header");
    }
    const uint16_t attr_type = ReadU16(p + offset);
    const size_t attr_len = ReadU16(p + offset + 2);
    const size_t padded = (attr_len + 3) & ~size_t{3};
    if (data.size() - offset - kAttrHeaderSize < padded) {
      return absl::InvalidArgumentError("stun: attribute overruns message");
    }
    // RFC 8489 14.7: FINGERPRINT is the last attribute.
    if (msg.fp_offset_ != 0) return absl::InvalidArgumentError("stun: attribute after FINGERPRINT");
    const absl::Span<const uint8_t> value = data.subspan(offset + kAttrHeaderSize, attr_len);
    const auto text = std::string_view(reinterpret_cast<const char*>(value.data()), value.size());
    // RFC 8489 14.5: attributes after MESSAGE-INTEGRITY are ignored, but for MI-SHA256 and FP.
    const bool after_mi = msg.mi_offset_ != 0 || msg.mi256_offset_ != 0;
    if (after_mi && attr_type != stun_attr::kMessageIntegritySha256 &&
        attr_type != stun_attr::kFingerprint) {
      offset += kAttrHeaderSize + padded;
      continue;
    }
    switch (attr_type) {
      case stun_attr::kUsername:
        if (attr_len > kMaxUsernameSize) return absl::InvalidArgumentError("stun: long USERNAME");
        if (!msg.username_) msg.username_ = text;
        break;
      case stun_attr::kSoftware:
        if (!msg.software_) msg.software_ = text;
        break;
      case stun_attr::kMessageIntegrity:
        if (attr_len != kSha1MacSize) return absl::InvalidArgumentError("stun: bad MI length");
        msg.mi_offset_ = offset;
        break;
      case stun_attr::kMessageIntegritySha256:
        // RFC 8489 14.6: 16..32 bytes, a multiple of 4.
        if (attr_len < 16 || attr_len > 32 || attr_len % 4 != 0) {
          return absl::InvalidArgumentError("stun: bad MI-SHA256 length");
        }
        if (msg.mi256_offset_ == 0) msg.mi256_offset_ = offset;
        break;
      case stun_attr::kFingerprint:
        if (attr_len != kFingerprintValueSize) {
          return absl::InvalidArgumentError("stun: bad FINGERPRINT length");
        }
        msg.fp_offset_ = offset;
        break;
      case stun_attr::kXorMappedAddress: {
        if (attr_len < 4) return absl::InvalidArgumentError("stun: short XOR-MAPPED-ADDRESS");
        auto address = DecodeXorAddress(value, msg.transaction_id());
        if (!address) return absl::InvalidArgumentError("stun: bad XOR-MAPPED-ADDRESS");
        if (!msg.xor_mapped_) msg.xor_mapped_ = address;
        break;
      }
      case stun_attr::kPriority:
        if (attr_len != 4) return absl::InvalidArgumentError("stun: bad PRIORITY length");
        if (!msg.priority_) msg.priority_ = ReadU32(value.data());
        break;
      case stun_attr::kUseCandidate:
        if (attr_len != 0) return absl::InvalidArgumentError("stun: bad USE-CANDIDATE length");
        msg.use_candidate_ = true;
        break;
      case stun_attr::kIceControlled:
        if (attr_len != 8) return absl::InvalidArgumentError("stun: bad ICE-CONTROLLED length");
        if (!msg.ice_controlled_) msg.ice_controlled_ = ReadU64(value.data());
        break;
      case stun_attr::kIceControlling:
        if (attr_len != 8) return absl::InvalidArgumentError("stun: bad ICE-CONTROLLING length");
        if (!msg.ice_controlling_) msg.ice_controlling_ = ReadU64(value.data());
        break;
      case stun_attr::kErrorCode:
        if (attr_len < 4) return absl::InvalidArgumentError("stun: short ERROR-CODE");
        if (!msg.error_code_) {
          msg.error_code_ = static_cast<uint16_t>((value[2] & 0x07) * 100 + value[3]);
          msg.error_reason_ = text.substr(4);
        }
        break;
      default:
        break;  // Unknown or unused attributes are skipped.
    }
    offset += kAttrHeaderSize + padded;
  }
  return msg;
}

bool StunMessage::CheckHmac(size_t attr_offset, size_t mac_size, const char* digest,
                            absl::Span<const uint8_t> key) const {
  if (attr_offset == 0) return false;
  // The header with the length rewritten to end just after this attribute (RFC 8489 14.5).
  uint8_t header[kStunHeaderSize];
  std::memcpy(header, data_.data(), kStunHeaderSize);
  WriteU16(header + 2,
           static_cast<uint16_t>(attr_offset + kAttrHeaderSize + mac_size - kStunHeaderSize));
  uint8_t mac[EVP_MAX_MD_SIZE];
  const size_t n =
      Hmac(digest, key, {header, kStunHeaderSize},
           data_.subspan(kStunHeaderSize, attr_offset - kStunHeaderSize), mac, sizeof(mac));
  if (n < mac_size) return false;
  return CRYPTO_memcmp(mac, data_.data() + attr_offset + kAttrHeaderSize, mac_size) == 0;
}

bool StunMessage::CheckIntegrity(absl::Span<const uint8_t> key) const {
  return CheckHmac(mi_offset_, kSha1MacSize, "SHA1", key);
}

bool StunMessage::CheckIntegrity(std::string_view password) const {
  return CheckIntegrity(AsBytes(password));
}

bool StunMessage::CheckIntegritySha256(std::string_view password) const {
  if (mi256_offset_ == 0) return false;
  const size_t mac_size = ReadU16(data_.data() + mi256_offset_ + 2);
  return CheckHmac(mi256_offset_, mac_size, "SHA256", AsBytes(password));
}

bool StunMessage::CheckFingerprint() const {
  if (fp_offset_ == 0) return false;
  // FINGERPRINT is last, so the length field already covers it.
  const uint32_t crc = StunCrc32(data_.subspan(0, fp_offset_)) ^ kFingerprintXor;
  return crc == ReadU32(data_.data() + fp_offset_ + kAttrHeaderSize);
}

StunMessageBuilder::StunMessageBuilder(uint16_t method, StunClass message_class,
                                       absl::Span<const uint8_t> transaction_id)
    : buffer_(kStunHeaderSize, 0) {
  WriteU16(buffer_.data(), EncodeType(method, message_class));
  WriteU32(buffer_.data() + 4, kStunMagicCookie);
  const size_t n = std::min(transaction_id.size(), kStunTransactionIdSize);
  std::memcpy(buffer_.data() + 8, transaction_id.data(), n);
}

void StunMessageBuilder::SetLength(size_t body_length) {
  WriteU16(buffer_.data() + 2, static_cast<uint16_t>(body_length));
}

void StunMessageBuilder::AddAttribute(uint16_t type, absl::Span<const uint8_t> value) {
  const size_t start = buffer_.size();
  const size_t padded = (value.size() + 3) & ~size_t{3};
  buffer_.resize(start + kAttrHeaderSize + padded, 0);
  WriteU16(buffer_.data() + start, type);
  WriteU16(buffer_.data() + start + 2, static_cast<uint16_t>(value.size()));
  if (!value.empty())
    std::memcpy(buffer_.data() + start + kAttrHeaderSize, value.data(), value.size());
  SetLength(buffer_.size() - kStunHeaderSize);
}

StunMessageBuilder& StunMessageBuilder::AddUsername(std::string_view username) {
  AddAttribute(stun_attr::kUsername, AsBytes(username));
  return *this;
}

StunMessageBuilder& StunMessageBuilder::AddSoftware(std::string_view software) {
  AddAttribute(stun_attr::kSoftware, AsBytes(software));
  return *this;
}

StunMessageBuilder& StunMessageBuilder::AddPriority(uint32_t priority) {
  uint8_t v[4];
  WriteU32(v, priority);
  AddAttribute(stun_attr::kPriority, v);
  return *this;
}

StunMessageBuilder& StunMessageBuilder::AddUseCandidate() {
  AddAttribute(stun_attr::kUseCandidate, {});
  return *this;
}

StunMessageBuilder& StunMessageBuilder::AddIceControlling(uint64_t tie_breaker) {
  uint8_t v[8];
  WriteU64(v, tie_breaker);
  AddAttribute(stun_attr::kIceControlling, v);
  return *this;
}

StunMessageBuilder& StunMessageBuilder::AddIceControlled(uint64_t tie_breaker) {
  uint8_t v[8];
  WriteU64(v, tie_breaker);
  AddAttribute(stun_attr::kIceControlled, v);
  return *this;
}

StunMessageBuilder& StunMessageBuilder::AddXorMappedAddress(const sockaddr* address) {
  uint8_t v[20] = {};
  if (address->sa_family == AF_INET) {
    const auto* sin = reinterpret_cast<const sockaddr_in*>(address);
    v[1] = 0x01;
    WriteU16(v + 2, ntohs(sin->sin_port) ^ static_cast<uint16_t>(kStunMagicCookie >> 16));
    WriteU32(v + 4, ntohl(sin->sin_addr.s_addr) ^ kStunMagicCookie);
    AddAttribute(stun_attr::kXorMappedAddress, {v, 8});
  } else if (address->sa_family == AF_INET6) {
    const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(address);
    v[1] = 0x02;
    WriteU16(v + 2, ntohs(sin6->sin6_port) ^ static_cast<uint16_t>(kStunMagicCookie >> 16));
    uint8_t mask[16];
    WriteU32(mask, kStunMagicCookie);
    std::memcpy(mask + 4, buffer_.data() + 8, kStunTransactionIdSize);
    for (int i = 0; i < 16; ++i) v[4 + i] = sin6->sin6_addr.s6_addr[i] ^ mask[i];
    AddAttribute(stun_attr::kXorMappedAddress, {v, 20});
  }
  return *this;
}

StunMessageBuilder& StunMessageBuilder::AddErrorCode(uint16_t code, std::string_view reason) {
  std::vector<uint8_t> v(4 + reason.size(), 0);
  v[2] = static_cast<uint8_t>(code / 100);
  v[3] = static_cast<uint8_t>(code % 100);
  std::memcpy(v.data() + 4, reason.data(), reason.size());
  AddAttribute(stun_attr::kErrorCode, v);
  return *this;
}

StunMessageBuilder& StunMessageBuilder::AddMessageIntegrity(std::string_view password) {
  // The length must already count the MI attribute when the HMAC is computed.
  const size_t covered = buffer_.size();
  SetLength(covered + kAttrHeaderSize + kSha1MacSize - kStunHeaderSize);
  uint8_t mac[EVP_MAX_MD_SIZE] = {};
  Hmac("SHA1", AsBytes(password), {buffer_.data(), covered}, {}, mac, sizeof(mac));
  AddAttribute(stun_attr::kMessageIntegrity, {mac, kSha1MacSize});
  return *this;
}

StunMessageBuilder& StunMessageBuilder::AddMessageIntegritySha256(std::string_view password) {
  // RFC 8489 14.6: the full 32-byte HMAC-SHA256, with the length counting the attribute.
  constexpr size_t kSha256MacSize = 32;
  const size_t covered = buffer_.size();
  SetLength(covered + kAttrHeaderSize + kSha256MacSize - kStunHeaderSize);
  uint8_t mac[EVP_MAX_MD_SIZE] = {};
  Hmac("SHA256", AsBytes(password), {buffer_.data(), covered}, {}, mac, sizeof(mac));
  AddAttribute(stun_attr::kMessageIntegritySha256, {mac, kSha256MacSize});
  return *this;
}

StunMessageBuilder& StunMessageBuilder::AddFingerprint() {
  const size_t covered = buffer_.size();
  SetLength(covered + kAttrHeaderSize + kFingerprintValueSize - kStunHeaderSize);
  uint8_t v[4];
  WriteU32(v, StunCrc32({buffer_.data(), covered}) ^ kFingerprintXor);
  AddAttribute(stun_attr::kFingerprint, v);
  return *this;
}

std::vector<uint8_t> BuildBindingSuccessResponse(const StunMessage& request,
                                                 const sockaddr* mapped_address,
                                                 std::string_view password) {
  return StunMessageBuilder(request.method(), StunClass::kSuccessResponse, request.transaction_id())
      .AddXorMappedAddress(mapped_address)
      .AddMessageIntegrity(password)
      .AddFingerprint()
      .Take();
}

std::vector<uint8_t> BuildErrorResponse(const StunMessage& request, uint16_t code,
                                        std::string_view reason, std::string_view password) {
  StunMessageBuilder builder(request.method(), StunClass::kErrorResponse, request.transaction_id());
  builder.AddErrorCode(code, reason);
  if (!password.empty()) builder.AddMessageIntegrity(password);
  builder.AddFingerprint();
  return builder.Take();
}

}  // namespace sb::transport
