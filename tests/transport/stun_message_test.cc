// STUN parsing and building against the RFC 5769 test vectors.
#include "transport/stun_message.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/evp.h>

#include <cstring>
#include <string>
#include <vector>

namespace sb::transport {
namespace {

// RFC 5769 2.1: sample request, short-term credentials.
const std::vector<uint8_t> kSampleRequest = {
    0x00, 0x01, 0x00, 0x58, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86,
    0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x10, 0x53, 0x54, 0x55, 0x4e, 0x20, 0x74, 0x65, 0x73,
    0x74, 0x20, 0x63, 0x6c, 0x69, 0x65, 0x6e, 0x74, 0x00, 0x24, 0x00, 0x04, 0x6e, 0x00, 0x01, 0xff,
    0x80, 0x29, 0x00, 0x08, 0x93, 0x2f, 0xf9, 0xb1, 0x51, 0x26, 0x3b, 0x36, 0x00, 0x06, 0x00, 0x09,
    0x65, 0x76, 0x74, 0x6a, 0x3a, 0x68, 0x36, 0x76, 0x59, 0x20, 0x20, 0x20, 0x00, 0x08, 0x00, 0x14,
    0x9a, 0xea, 0xa7, 0x0c, 0xbf, 0xd8, 0xcb, 0x56, 0x78, 0x1e, 0xf2, 0xb5, 0xb2, 0xd3, 0xf2, 0x49,
    0xc1, 0xb5, 0x71, 0xa2, 0x80, 0x28, 0x00, 0x04, 0xe5, 0x7a, 0x3b, 0xcf};

// RFC 5769 2.2: sample IPv4 response.
const std::vector<uint8_t> kIpv4Response = {
    0x01, 0x01, 0x00, 0x3c, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86,
    0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x0b, 0x74, 0x65, 0x73, 0x74, 0x20, 0x76, 0x65, 0x63,
    0x74, 0x6f, 0x72, 0x20, 0x00, 0x20, 0x00, 0x08, 0x00, 0x01, 0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43,
    0x00, 0x08, 0x00, 0x14, 0x2b, 0x91, 0xf5, 0x99, 0xfd, 0x9e, 0x90, 0xc3, 0x8c, 0x74, 0x89, 0xf9,
    0x2a, 0xf9, 0xba, 0x53, 0xf0, 0x6b, 0xe7, 0xd7, 0x80, 0x28, 0x00, 0x04, 0xc0, 0x7d, 0x4c, 0x96};

// RFC 5769 2.3: sample IPv6 response.
const std::vector<uint8_t> kIpv6Response = {
    0x01, 0x01, 0x00, 0x48, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86,
    0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x0b, 0x74, 0x65, 0x73, 0x74, 0x20, 0x76, 0x65, 0x63,
    0x74, 0x6f, 0x72, 0x20, 0x00, 0x20, 0x00, 0x14, 0x00, 0x02, 0xa1, 0x47, 0x01, 0x13, 0xa9, 0xfa,
    0xa5, 0xd3, 0xf1, 0x79, 0xbc, 0x25, 0xf4, 0xb5, 0xbe, 0xd2, 0xb9, 0xd9, 0x00, 0x08, 0x00, 0x14,
    0xa3, 0x82, 0x95, 0x4e, 0x4b, 0xe6, 0x7b, 0xf1, 0x17, 0x84, 0xc9, 0x7c, 0x82, 0x92, 0xc2, 0x75,
    0xbf, 0xe3, 0xed, 0x41, 0x80, 0x28, 0x00, 0x04, 0xc8, 0xfb, 0x0b, 0x4c};

// RFC 5769 2.4: sample request with long-term credentials (no FINGERPRINT).
const std::vector<uint8_t> kLongTermRequest = {
    0x00, 0x01, 0x00, 0x60, 0x21, 0x12, 0xa4, 0x42, 0x78, 0xad, 0x34, 0x33, 0xc6, 0xad, 0x72,
    0xc0, 0x29, 0xda, 0x41, 0x2e, 0x00, 0x06, 0x00, 0x12, 0xe3, 0x83, 0x9e, 0xe3, 0x83, 0x88,
    0xe3, 0x83, 0xaa, 0xe3, 0x83, 0x83, 0xe3, 0x82, 0xaf, 0xe3, 0x82, 0xb9, 0x00, 0x00, 0x00,
    0x15, 0x00, 0x1c, 0x66, 0x2f, 0x2f, 0x34, 0x39, 0x39, 0x6b, 0x39, 0x35, 0x34, 0x64, 0x36,
    0x4f, 0x4c, 0x33, 0x34, 0x6f, 0x4c, 0x39, 0x46, 0x53, 0x54, 0x76, 0x79, 0x36, 0x34, 0x73,
    0x41, 0x00, 0x14, 0x00, 0x0b, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x2e, 0x6f, 0x72,
    0x67, 0x00, 0x00, 0x08, 0x00, 0x14, 0xf6, 0x70, 0x24, 0x65, 0x6d, 0xd6, 0x4a, 0x3e, 0x02,
    0xb8, 0xe0, 0x71, 0x2e, 0x85, 0xc9, 0xa2, 0x8c, 0xa8, 0x96, 0x66};

constexpr char kPassword[] = "VOkJxbRl1RmTxUk/WvJxBt";
constexpr uint16_t kMappedPort = 32853;

std::string Ipv4(const sockaddr_storage& ss) {
  char buf[INET_ADDRSTRLEN] = {};
  inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&ss)->sin_addr, buf, sizeof(buf));
  return buf;
}

std::string Ipv6(const sockaddr_storage& ss) {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&ss)->sin6_addr, buf, sizeof(buf));
  return buf;
}

TEST(StunMessageTest, SampleRequestVector) {
  auto msg = StunMessage::Parse(kSampleRequest);
  ASSERT_TRUE(msg.ok()) << msg.status();
  EXPECT_EQ(msg->method(), kStunMethodBinding);
  EXPECT_EQ(msg->message_class(), StunClass::kRequest);
  ASSERT_TRUE(msg->username());
  EXPECT_EQ(*msg->username(), "evtj:h6vY");
  ASSERT_TRUE(msg->software());
  EXPECT_EQ(*msg->software(), "STUN test client");
  EXPECT_EQ(msg->priority(), 0x6e0001ffu);
  EXPECT_EQ(msg->ice_controlled(), 0x932ff9b151263b36ull);
  EXPECT_FALSE(msg->ice_controlling());
  EXPECT_FALSE(msg->use_candidate());
  EXPECT_TRUE(msg->CheckIntegrity(std::string_view(kPassword)));
  EXPECT_FALSE(msg->CheckIntegrity(std::string_view("wrong password")));
  EXPECT_TRUE(msg->CheckFingerprint());
}

TEST(StunMessageTest, Ipv4ResponseVector) {
  auto msg = StunMessage::Parse(kIpv4Response);
  ASSERT_TRUE(msg.ok()) << msg.status();
  EXPECT_EQ(msg->message_class(), StunClass::kSuccessResponse);
  EXPECT_EQ(*msg->software(), "test vector");
  ASSERT_TRUE(msg->xor_mapped_address());
  const sockaddr_storage& addr = *msg->xor_mapped_address();
  ASSERT_EQ(addr.ss_family, AF_INET);
  EXPECT_EQ(Ipv4(addr), "192.0.2.1");
  EXPECT_EQ(ntohs(reinterpret_cast<const sockaddr_in*>(&addr)->sin_port), kMappedPort);
  EXPECT_TRUE(msg->CheckIntegrity(std::string_view(kPassword)));
  EXPECT_TRUE(msg->CheckFingerprint());
}

TEST(StunMessageTest, Ipv6ResponseVector) {
  auto msg = StunMessage::Parse(kIpv6Response);
  ASSERT_TRUE(msg.ok()) << msg.status();
  ASSERT_TRUE(msg->xor_mapped_address());
  const sockaddr_storage& addr = *msg->xor_mapped_address();
  ASSERT_EQ(addr.ss_family, AF_INET6);
  EXPECT_EQ(Ipv6(addr), "2001:db8:1234:5678:11:2233:4455:6677");
  EXPECT_EQ(ntohs(reinterpret_cast<const sockaddr_in6*>(&addr)->sin6_port), kMappedPort);
  EXPECT_TRUE(msg->CheckIntegrity(std::string_view(kPassword)));
  EXPECT_TRUE(msg->CheckFingerprint());
}

TEST(StunMessageTest, LongTermCredentialVectorParses) {
  auto msg = StunMessage::Parse(kLongTermRequest);
  ASSERT_TRUE(msg.ok()) << msg.status();
  ASSERT_TRUE(msg->username());
  EXPECT_EQ(*msg->username(),
            "\xe3\x83\x9e\xe3\x83\x88\xe3\x83\xaa\xe3\x83\x83\xe3\x82\xaf\xe3\x82\xb9");
  EXPECT_TRUE(msg->has_message_integrity());
  EXPECT_FALSE(msg->has_fingerprint());
  // Long-term key = MD5(username ":" realm ":" SASLprep(password)) (RFC 8489 9.2.2).
  const std::string input = std::string(*msg->username()) + ":example.org:TheMatrIX";
  uint8_t key[EVP_MAX_MD_SIZE];
  unsigned int key_len = 0;
  ASSERT_EQ(EVP_Digest(input.data(), input.size(), key, &key_len, EVP_md5(), nullptr), 1);
  EXPECT_TRUE(msg->CheckIntegrity(absl::Span<const uint8_t>(key, key_len)));
}

// Flipping any single byte (outside the header's type/length) breaks MI or FINGERPRINT.
TEST(StunMessageTest, FlippedByteFailsVerification) {
  for (const auto* vector : {&kSampleRequest, &kIpv4Response, &kIpv6Response}) {
    for (size_t i = 4; i < vector->size(); ++i) {
      std::vector<uint8_t> bytes = *vector;
      bytes[i] ^= 0x01;
      auto msg = StunMessage::Parse(bytes);
      if (!msg.ok()) continue;  // Rejected outright is fine too.
      const bool integrity = msg->CheckIntegrity(std::string_view(kPassword));
      const bool fingerprint = msg->CheckFingerprint();
      EXPECT_FALSE(integrity && fingerprint) << "byte " << i;
      EXPECT_FALSE(fingerprint) << "byte " << i;
    }
  }
  // The MAC itself.
  std::vector<uint8_t> bytes = kSampleRequest;
  bytes[80] ^= 0x80;
  auto msg = StunMessage::Parse(bytes);
  ASSERT_TRUE(msg.ok());
  EXPECT_FALSE(msg->CheckIntegrity(std::string_view(kPassword)));
}

TEST(StunMessageTest, RejectsMalformed) {
  EXPECT_FALSE(StunMessage::Parse(absl::Span<const uint8_t>(kSampleRequest.data(), 19)).ok());
  // Length field not matching the datagram.
  EXPECT_FALSE(StunMessage::Parse(absl::Span<const uint8_t>(kSampleRequest.data(), 104)).ok());
  std::vector<uint8_t> bytes = kSampleRequest;
  bytes[3] = 0x57;  // Not a multiple of 4.
  EXPECT_FALSE(StunMessage::Parse(bytes).ok());
  bytes = kSampleRequest;
  bytes[4] = 0x22;  // Magic cookie.
  EXPECT_FALSE(StunMessage::Parse(bytes).ok());
  bytes = kSampleRequest;
  bytes[0] = 0x40;  // Top bits.
  EXPECT_FALSE(StunMessage::Parse(bytes).ok());
  bytes = kSampleRequest;
  bytes[23] = 0xF0;  // SOFTWARE length runs past the end.
  EXPECT_FALSE(StunMessage::Parse(bytes).ok());
  bytes = kSampleRequest;
  bytes[43] = 0x08;  // PRIORITY with a wrong length.
  EXPECT_FALSE(StunMessage::Parse(bytes).ok());
  // Attribute after FINGERPRINT.
  bytes = kSampleRequest;
  bytes.insert(bytes.end(), {0x80, 0x22, 0x00, 0x00});
  bytes[3] += 4;
  EXPECT_FALSE(StunMessage::Parse(bytes).ok());
  // Every truncation of a valid message is rejected.
  for (size_t n = 0; n < kSampleRequest.size(); ++n) {
    EXPECT_FALSE(StunMessage::Parse(absl::Span<const uint8_t>(kSampleRequest.data(), n)).ok());
  }
}

TEST(StunMessageTest, SkipsUnknownAttributes) {
  StunMessageBuilder builder(kStunMethodBinding, StunClass::kRequest,
                             absl::Span<const uint8_t>(kSampleRequest.data() + 8, 12));
  builder.AddUsername("a:b");
  // Build by hand: an unknown comprehension-optional attribute with odd length.
  std::vector<uint8_t> bytes = builder.Take();
  bytes.insert(bytes.end(), {0xC0, 0x57, 0x00, 0x03, 1, 2, 3, 0});
  bytes[3] += 8;
  auto msg = StunMessage::Parse(bytes);
  ASSERT_TRUE(msg.ok()) << msg.status();
  EXPECT_EQ(*msg->username(), "a:b");
}

TEST(StunMessageTest, BuilderReproducesIpv4ResponseAttributes) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(kMappedPort);
  inet_pton(AF_INET, "192.0.2.1", &addr.sin_addr);
  auto request = StunMessage::Parse(kSampleRequest);
  ASSERT_TRUE(request.ok());
  std::vector<uint8_t> bytes =
      BuildBindingSuccessResponse(*request, reinterpret_cast<const sockaddr*>(&addr), kPassword);
  // The XOR-MAPPED-ADDRESS attribute is byte-identical to the vector's.
  const std::vector<uint8_t> expected(kIpv4Response.begin() + 36, kIpv4Response.begin() + 48);
  ASSERT_GE(bytes.size(), 32u);
  EXPECT_EQ(std::vector<uint8_t>(bytes.begin() + 20, bytes.begin() + 32), expected);

  auto msg = StunMessage::Parse(bytes);
  ASSERT_TRUE(msg.ok()) << msg.status();
  EXPECT_EQ(msg->message_class(), StunClass::kSuccessResponse);
  EXPECT_TRUE(std::equal(msg->transaction_id().begin(), msg->transaction_id().end(),
                         request->transaction_id().begin()));
  EXPECT_TRUE(msg->CheckIntegrity(std::string_view(kPassword)));
  EXPECT_TRUE(msg->CheckFingerprint());
  EXPECT_EQ(Ipv4(*msg->xor_mapped_address()), "192.0.2.1");
}

TEST(StunMessageTest, BuilderIpv6AndRequestRoundTrip) {
  sockaddr_in6 addr{};
  addr.sin6_family = AF_INET6;
  addr.sin6_port = htons(kMappedPort);
  inet_pton(AF_INET6, "2001:db8:1234:5678:11:2233:4455:6677", &addr.sin6_addr);
  const std::vector<uint8_t> tid(kIpv6Response.begin() + 8, kIpv6Response.begin() + 20);
  std::vector<uint8_t> bytes = StunMessageBuilder(kStunMethodBinding, StunClass::kRequest, tid)
                                   .AddUsername("local:remote")
                                   .AddPriority(1234)
                                   .AddIceControlling(0x0102030405060708ull)
                                   .AddUseCandidate()
                                   .AddXorMappedAddress(reinterpret_cast<const sockaddr*>(&addr))
                                   .AddMessageIntegrity("secret")
                                   .AddFingerprint()
                                   .Take();
  // Same XOR-MAPPED-ADDRESS bytes as RFC 5769 2.3.
  const std::vector<uint8_t> expected(kIpv6Response.begin() + 36, kIpv6Response.begin() + 60);
  auto it = std::search(bytes.begin(), bytes.end(), expected.begin(), expected.end());
  EXPECT_NE(it, bytes.end());

  auto msg = StunMessage::Parse(bytes);
  ASSERT_TRUE(msg.ok()) << msg.status();
  EXPECT_EQ(*msg->username(), "local:remote");
  EXPECT_EQ(msg->priority(), 1234u);
  EXPECT_EQ(msg->ice_controlling(), 0x0102030405060708ull);
  EXPECT_TRUE(msg->use_candidate());
  EXPECT_EQ(Ipv6(*msg->xor_mapped_address()), "2001:db8:1234:5678:11:2233:4455:6677");
  EXPECT_TRUE(msg->CheckIntegrity(std::string_view("secret")));
  EXPECT_FALSE(msg->CheckIntegrity(std::string_view("secreT")));
  EXPECT_TRUE(msg->CheckFingerprint());
}

TEST(StunMessageTest, MessageIntegritySha256RoundTrip) {
  const std::vector<uint8_t> tid(12, 0x5A);
  // Both integrity attributes, as an agent talking to peers of either kind would send them.
  std::vector<uint8_t> bytes = StunMessageBuilder(kStunMethodBinding, StunClass::kRequest, tid)
                                   .AddUsername("local:remote")
                                   .AddMessageIntegrity("secret")
                                   .AddMessageIntegritySha256("secret")
                                   .AddFingerprint()
                                   .Take();
  auto msg = StunMessage::Parse(bytes);
  ASSERT_TRUE(msg.ok()) << msg.status();
  EXPECT_TRUE(msg->has_message_integrity_sha256());
  EXPECT_TRUE(msg->CheckIntegritySha256("secret"));
  EXPECT_FALSE(msg->CheckIntegritySha256("secreT"));
  EXPECT_TRUE(msg->CheckIntegrity(std::string_view("secret")));
  EXPECT_TRUE(msg->CheckFingerprint());
  // A flipped byte in the covered part breaks it.
  bytes[24] ^= 1;
  auto bad = StunMessage::Parse(bytes);
  ASSERT_TRUE(bad.ok());
  EXPECT_FALSE(bad->CheckIntegritySha256("secret"));

  // SHA-256 alone. (Parse returns a view: the bytes must outlive it.)
  const std::vector<uint8_t> only_bytes =
      StunMessageBuilder(kStunMethodBinding, StunClass::kRequest, tid)
          .AddUsername("a:b")
          .AddMessageIntegritySha256("pw")
          .Take();
  auto only = StunMessage::Parse(only_bytes);
  ASSERT_TRUE(only.ok()) << only.status();
  EXPECT_TRUE(only->CheckIntegritySha256("pw"));
  EXPECT_FALSE(only->has_message_integrity());
}

TEST(StunMessageTest, ErrorResponse) {
  auto request = StunMessage::Parse(kSampleRequest);
  ASSERT_TRUE(request.ok());
  for (uint16_t code : {400, 401, 487}) {
    std::vector<uint8_t> bytes =
        BuildErrorResponse(*request, code, "reason", code == 401 ? "" : kPassword);
    auto msg = StunMessage::Parse(bytes);
    ASSERT_TRUE(msg.ok()) << msg.status();
    EXPECT_EQ(msg->message_class(), StunClass::kErrorResponse);
    EXPECT_EQ(msg->method(), kStunMethodBinding);
    EXPECT_EQ(msg->error_code(), code);
    EXPECT_EQ(msg->error_reason(), "reason");
    EXPECT_EQ(msg->has_message_integrity(), code != 401);
    if (code != 401) {
      EXPECT_TRUE(msg->CheckIntegrity(std::string_view(kPassword)));
    }
    EXPECT_TRUE(msg->CheckFingerprint());
  }
}

TEST(StunMessageTest, IsStunMessage) {
  EXPECT_TRUE(IsStunMessage(kSampleRequest.data(), kSampleRequest.size()));
  EXPECT_FALSE(IsStunMessage(kSampleRequest.data(), 10));
  const uint8_t rtp[20] = {0x80, 0x60};
  EXPECT_FALSE(IsStunMessage(rtp, sizeof(rtp)));
}

}  // namespace
}  // namespace sb::transport
