#include "transport/dcep.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace sb::transport {
namespace {

using Bytes = std::vector<uint8_t>;

// RFC 8832 5.1 field by field: a reliable ordered channel "chat", protocol "json", normal
// priority, as Chromium sends it for createDataChannel("chat", {protocol: "json"}).
const Bytes kChatOpen = {0x03,                    // Message Type: DATA_CHANNEL_OPEN
                         0x00,                    // Channel Type: DATA_CHANNEL_RELIABLE
                         0x01, 0x00,              // Priority 256
                         0x00, 0x00, 0x00, 0x00,  // Reliability Parameter
                         0x00, 0x04,              // Label Length
                         0x00, 0x04,              // Protocol Length
                         'c',  'h',  'a',  't',  'j', 's', 'o', 'n'};

TEST(DcepTest, ParsesTheRfcLayout) {
  auto open = ParseDcepOpen(kChatOpen);
  ASSERT_TRUE(open.ok()) << open.status();
  EXPECT_EQ(open->channel_type, DcepChannelType::kReliable);
  EXPECT_EQ(open->priority, kDcepPriorityNormal);
  EXPECT_EQ(open->reliability_parameter, 0u);
  EXPECT_EQ(open->label, "chat");
  EXPECT_EQ(open->protocol, "json");
  // Views over the message, not copies.
  EXPECT_EQ(reinterpret_cast<const uint8_t*>(open->label.data()), kChatOpen.data() + 12);
  EXPECT_EQ(DcepMessageType(kChatOpen).value(), kDcepMessageOpen);
}

TEST(DcepTest, RfcValues) {
  // RFC 8832 8.2.1 and 8.2.2; RFC 8831 8 and 6.4.
  EXPECT_EQ(kDcepMessageAck, 0x02);
  EXPECT_EQ(kDcepMessageOpen, 0x03);
  EXPECT_EQ(static_cast<int>(DcepChannelType::kReliableUnordered), 0x80);
  EXPECT_EQ(static_cast<int>(DcepChannelType::kPartialReliableRexmit), 0x01);
  EXPECT_EQ(static_cast<int>(DcepChannelType::kPartialReliableRexmitUnordered), 0x81);
  EXPECT_EQ(static_cast<int>(DcepChannelType::kPartialReliableTimed), 0x02);
  EXPECT_EQ(static_cast<int>(DcepChannelType::kPartialReliableTimedUnordered), 0x82);
  EXPECT_EQ(kPpidDcep, 50u);
  EXPECT_EQ(kPpidString, 51u);
  EXPECT_EQ(kPpidStringPartial, 52u);
  EXPECT_EQ(kPpidBinary, 53u);
  EXPECT_EQ(kPpidBinaryPartial, 54u);
  EXPECT_EQ(kPpidStringEmpty, 56u);
  EXPECT_EQ(kPpidBinaryEmpty, 57u);
  EXPECT_EQ(kDcepPriorityBelowNormal, 128);
  EXPECT_EQ(kDcepPriorityHigh, 512);
  EXPECT_EQ(kDcepPriorityExtraHigh, 1024);
  EXPECT_EQ(BuildDcepAck(), Bytes{0x02});
}

TEST(DcepTest, BuildsWhatItParses) {
  auto built = BuildDcepOpen(ParseDcepOpen(kChatOpen).value());
  ASSERT_TRUE(built.ok());
  EXPECT_EQ(*built, kChatOpen);
}

TEST(DcepTest, EveryReliabilityRoundTrips) {
  struct Case {
    DataChannelReliability reliability;
    DcepChannelType type;
    uint32_t parameter;
  };
  const Case cases[] = {
      {{true, std::nullopt, std::nullopt}, DcepChannelType::kReliable, 0},
      {{false, std::nullopt, std::nullopt}, DcepChannelType::kReliableUnordered, 0},
      {{true, 3, std::nullopt}, DcepChannelType::kPartialReliableRexmit, 3},
      {{false, 0, std::nullopt}, DcepChannelType::kPartialReliableRexmitUnordered, 0},
      {{true, std::nullopt, 1500}, DcepChannelType::kPartialReliableTimed, 1500},
      {{false, std::nullopt, 250}, DcepChannelType::kPartialReliableTimedUnordered, 250},
  };
  for (const Case& c : cases) {
    const std::string label =
        "l\xC3\xA4"
        "bel";  // UTF-8, not ASCII
    DcepOpen open = DcepOpenFor(c.reliability, kDcepPriorityHigh, label, "proto");
    EXPECT_EQ(open.channel_type, c.type);
    EXPECT_EQ(open.reliability_parameter, c.parameter);
    auto bytes = BuildDcepOpen(open);
    ASSERT_TRUE(bytes.ok());
    EXPECT_EQ((*bytes)[1], static_cast<uint8_t>(c.type));
    auto parsed = ParseDcepOpen(*bytes);
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    EXPECT_EQ(parsed->label, label);
    EXPECT_EQ(parsed->protocol, "proto");
    EXPECT_EQ(parsed->priority, kDcepPriorityHigh);
    EXPECT_EQ(ReliabilityOf(parsed->channel_type, parsed->reliability_parameter), c.reliability);
  }
  // A reliable channel type ignores whatever parameter it carries (RFC 8832 5.1).
  EXPECT_TRUE(ReliabilityOf(DcepChannelType::kReliable, 77).reliable());
}

TEST(DcepTest, EveryTruncationIsRejected) {
  for (size_t n = 0; n < kChatOpen.size(); ++n) {
    auto open = ParseDcepOpen(absl::MakeConstSpan(kChatOpen.data(), n));
    EXPECT_FALSE(open.ok()) << n;
    EXPECT_EQ(open.status().code(), absl::StatusCode::kInvalidArgument);
  }
  EXPECT_FALSE(DcepMessageType({}).ok());
  EXPECT_FALSE(ParseDcepAck({}).ok());
}

TEST(DcepTest, LengthsMustMatchTheMessage) {
  Bytes longer = kChatOpen;
  longer.push_back('!');
  auto open = ParseDcepOpen(longer);
  EXPECT_FALSE(open.ok());
  EXPECT_NE(open.status().message().find("lengths need 20"), std::string::npos) << open.status();
  Bytes huge_label = kChatOpen;
  huge_label[8] = 0xFF;
  huge_label[9] = 0xFF;  // 65535 bytes of label in a 20-byte message
  EXPECT_FALSE(ParseDcepOpen(huge_label).ok());
}

TEST(DcepTest, RejectsUnknownTypesAndBadText) {
  Bytes bad_type = kChatOpen;
  bad_type[1] = 0x03;
  EXPECT_FALSE(ParseDcepOpen(bad_type).ok());
  Bytes not_open = kChatOpen;
  not_open[0] = 0x02;
  EXPECT_FALSE(ParseDcepOpen(not_open).ok());
  EXPECT_FALSE(DcepMessageType(Bytes{0x00}).ok());
  EXPECT_FALSE(DcepMessageType(Bytes{0x04}).ok());
  Bytes bad_utf8 = kChatOpen;
  bad_utf8[12] = 0xC0;  // overlong lead byte in the label
  auto open = ParseDcepOpen(bad_utf8);
  ASSERT_FALSE(open.ok());
  EXPECT_NE(open.status().message().find("label"), std::string::npos);
  Bytes bad_protocol = kChatOpen;
  bad_protocol[19] = 0xFF;
  EXPECT_FALSE(ParseDcepOpen(bad_protocol).ok());
}

TEST(DcepTest, AckIsOneByte) {
  EXPECT_TRUE(ParseDcepAck(Bytes{0x02}).ok());
  EXPECT_FALSE(ParseDcepAck(Bytes{0x02, 0x00}).ok());
  EXPECT_FALSE(ParseDcepAck(Bytes{0x03}).ok());
  EXPECT_EQ(DcepMessageType(Bytes{0x02}).value(), kDcepMessageAck);
}

TEST(DcepTest, BuildRefusesWhatCannotBeEncoded) {
  const std::string long_label(65536, 'a');
  DcepOpen open;
  open.label = long_label;
  EXPECT_FALSE(BuildDcepOpen(open).ok());
  open.label = std::string_view(long_label.data(), 65535);
  auto max = BuildDcepOpen(open);
  ASSERT_TRUE(max.ok());
  EXPECT_EQ(max->size(), 12u + 65535u);
  EXPECT_TRUE(ParseDcepOpen(*max).ok());
  const std::string invalid = "\xED\xA0\x80";  // a UTF-16 surrogate encoded in UTF-8
  open.label = invalid;
  EXPECT_FALSE(BuildDcepOpen(open).ok());
}

TEST(DcepTest, Utf8Validation) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("plain"));
  EXPECT_TRUE(IsValidUtf8("\xE2\x82\xAC"));       // U+20AC
  EXPECT_TRUE(IsValidUtf8("\xF0\x9F\x98\x80"));   // U+1F600
  EXPECT_TRUE(IsValidUtf8("\xF4\x8F\xBF\xBF"));   // U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\x80"));              // lone continuation
  EXPECT_FALSE(IsValidUtf8("\xC3"));              // truncated
  EXPECT_FALSE(IsValidUtf8("\xE0\x80\x80"));      // overlong
  EXPECT_FALSE(IsValidUtf8("\xF0\x80\x80\x80"));  // overlong
  EXPECT_FALSE(IsValidUtf8("\xF4\x90\x80\x80"));  // past U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xED\xBF\xBF"));      // surrogate
  EXPECT_FALSE(IsValidUtf8(std::string_view("\xF0\x9F\x98", 3)));
}

}  // namespace
}  // namespace sb::transport
