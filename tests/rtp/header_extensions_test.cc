#include "rtp/header_extensions.h"

#include <gtest/gtest.h>

#include <vector>

namespace sb::rtp {
namespace {

using Bytes = std::vector<uint8_t>;

TEST(HeaderExtensionsTest, SdesStrings) {
  const Bytes mid = {'a', 'u', 'd', 'i', 'o'};
  EXPECT_EQ(ParseMid(mid), "audio");
  EXPECT_EQ(ParseRid(Bytes{'h', 'i'}), "hi");
  EXPECT_EQ(ParseRepairedRid(Bytes{'l', 'o', 0, 0}), "lo");  // zero padded by the sender
  EXPECT_FALSE(ParseMid(Bytes{}));
  EXPECT_FALSE(ParseRid(Bytes{0, 'x'}));
  EXPECT_FALSE(ParseMid(Bytes(256, 'a')));
  EXPECT_EQ(ParseMid(Bytes(255, 'a'))->size(), 255u);

  uint8_t buf[300];
  EXPECT_EQ(WriteMid("0", buf, sizeof(buf)), 1u);
  EXPECT_EQ(buf[0], '0');
  EXPECT_EQ(WriteRid("q", buf, sizeof(buf)), 1u);
  EXPECT_EQ(WriteRepairedRid("high", buf, 4), 4u);
  EXPECT_EQ(Bytes(buf, buf + 4), (Bytes{'h', 'i', 'g', 'h'}));
  EXPECT_EQ(WriteRid("high", buf, 3), 0u);
  EXPECT_EQ(WriteMid("", buf, sizeof(buf)), 0u);
  EXPECT_EQ(WriteMid(std::string(256, 'a'), buf, sizeof(buf)), 0u);
  EXPECT_EQ(WriteMid(std::string_view("a\0b", 3), buf, sizeof(buf)), 0u);
}

TEST(HeaderExtensionsTest, AbsSendTime) {
  // 1.5 s in 6.18 fixed point = 0x060000.
  EXPECT_EQ(ParseAbsSendTime(Bytes{0x06, 0x00, 0x00}), 0x060000u);
  EXPECT_FALSE(ParseAbsSendTime(Bytes{0x06, 0x00}));
  EXPECT_FALSE(ParseAbsSendTime(Bytes{0x06, 0x00, 0x00, 0x00}));
  EXPECT_EQ(AbsSendTimeFromUs(1500000), 0x060000u);
  EXPECT_EQ(AbsSendTimeFromUs(64000000 + 1500000), 0x060000u);  // wraps every 64 s
  EXPECT_EQ(AbsSendTimeToUs(0x060000), 1500000);
  EXPECT_EQ(AbsSendTimeToUs(0xFFFFFF), 63999996);
  uint8_t buf[3];
  EXPECT_EQ(WriteAbsSendTime(0xABCDEF, buf, 3), 3u);
  EXPECT_EQ(Bytes(buf, buf + 3), (Bytes{0xAB, 0xCD, 0xEF}));
  EXPECT_EQ(WriteAbsSendTime(0x1000000, buf, 3), 0u);
  EXPECT_EQ(WriteAbsSendTime(1, buf, 2), 0u);
}

TEST(HeaderExtensionsTest, TransportSequenceNumber) {
  EXPECT_EQ(ParseTransportSequenceNumber(Bytes{0x12, 0x34}), 0x1234);
  EXPECT_FALSE(ParseTransportSequenceNumber(Bytes{0x12}));
  EXPECT_FALSE(ParseTransportSequenceNumber(Bytes{0x12, 0x34, 0x80, 0x01}));  // version 02
  uint8_t buf[2];
  EXPECT_EQ(WriteTransportSequenceNumber(0xFFFF, buf, 2), 2u);
  EXPECT_EQ(Bytes(buf, buf + 2), (Bytes{0xFF, 0xFF}));
  EXPECT_EQ(WriteTransportSequenceNumber(1, buf, 1), 0u);
}

TEST(HeaderExtensionsTest, AudioLevel) {
  // RFC 6464 3: V=1, level 30 -> 0x9E.
  EXPECT_EQ(ParseAudioLevel(Bytes{0x9E}), (AudioLevel{true, 30}));
  EXPECT_EQ(ParseAudioLevel(Bytes{0x7F}), (AudioLevel{false, 127}));
  EXPECT_FALSE(ParseAudioLevel(Bytes{}));
  EXPECT_FALSE(ParseAudioLevel(Bytes{0x01, 0x00}));
  uint8_t b;
  EXPECT_EQ(WriteAudioLevel({true, 30}, &b, 1), 1u);
  EXPECT_EQ(b, 0x9E);
  EXPECT_EQ(WriteAudioLevel({false, 128}, &b, 1), 0u);
  EXPECT_EQ(WriteAudioLevel({false, 0}, &b, 0), 0u);
}

TEST(HeaderExtensionsTest, VideoOrientation) {
  // C=1 F=0 R=01 (90 degrees) -> 0x09.
  std::optional<VideoOrientation> o = ParseVideoOrientation(Bytes{0x09});
  ASSERT_TRUE(o);
  EXPECT_EQ(*o, (VideoOrientation{true, false, 1}));
  EXPECT_EQ(o->RotationDegrees(), 90);
  EXPECT_EQ(ParseVideoOrientation(Bytes{0x07}), (VideoOrientation{false, true, 3}));
  EXPECT_FALSE(ParseVideoOrientation(Bytes{}));
  uint8_t b;
  EXPECT_EQ(WriteVideoOrientation({false, true, 2}, &b, 1), 1u);
  EXPECT_EQ(b, 0x06);
  EXPECT_EQ(WriteVideoOrientation({false, false, 4}, &b, 1), 0u);
}

TEST(HeaderExtensionsTest, Toffset) {
  EXPECT_EQ(ParseToffset(Bytes{0x00, 0x01, 0x00}), 256);
  EXPECT_EQ(ParseToffset(Bytes{0xFF, 0xFF, 0xFF}), -1);
  EXPECT_EQ(ParseToffset(Bytes{0x80, 0x00, 0x00}), kMinToffset);
  EXPECT_FALSE(ParseToffset(Bytes{0x00, 0x01}));
  uint8_t buf[3];
  EXPECT_EQ(WriteToffset(-2, buf, 3), 3u);
  EXPECT_EQ(Bytes(buf, buf + 3), (Bytes{0xFF, 0xFF, 0xFE}));
  EXPECT_EQ(WriteToffset(kMaxToffset + 1, buf, 3), 0u);
  EXPECT_EQ(WriteToffset(kMinToffset - 1, buf, 3), 0u);
}

TEST(HeaderExtensionsTest, PlayoutDelay) {
  // min 100 ms (10), max 1 s (100): 0x00A064.
  EXPECT_EQ(ParsePlayoutDelay(Bytes{0x00, 0xA0, 0x64}), (PlayoutDelay{10, 100}));
  EXPECT_EQ(ParsePlayoutDelay(Bytes{0xFF, 0xFF, 0xFF}), (PlayoutDelay{4095, 4095}));
  EXPECT_FALSE(ParsePlayoutDelay(Bytes{0x00, 0xA0}));
  uint8_t buf[3];
  EXPECT_EQ(WritePlayoutDelay({10, 100}, buf, 3), 3u);
  EXPECT_EQ(Bytes(buf, buf + 3), (Bytes{0x00, 0xA0, 0x64}));
  EXPECT_EQ(WritePlayoutDelay({4096, 0}, buf, 3), 0u);
  EXPECT_EQ(WritePlayoutDelay({0, 4096}, buf, 3), 0u);
}

TEST(HeaderExtensionsTest, AbsCaptureTime) {
  const Bytes short_form = {0xE0, 0x00, 0x00, 0x01, 0x80, 0x00, 0x00, 0x00};
  std::optional<AbsCaptureTime> t = ParseAbsCaptureTime(short_form);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->absolute_capture_timestamp, 0xE000000180000000ull);
  EXPECT_FALSE(t->estimated_capture_clock_offset);
  Bytes long_form = short_form;
  long_form.insert(long_form.end(), {0xFF, 0xFF, 0xFF, 0xFF, 0x80, 0x00, 0x00, 0x00});
  t = ParseAbsCaptureTime(long_form);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->estimated_capture_clock_offset, -(int64_t{1} << 31));  // -0.5 s in Q32.32
  for (size_t len : {0, 7, 9, 15, 17}) {
    EXPECT_FALSE(ParseAbsCaptureTime(Bytes(len, 0))) << len;
  }
  uint8_t buf[16];
  EXPECT_EQ(WriteAbsCaptureTime(*t, buf, 16), 16u);
  EXPECT_EQ(Bytes(buf, buf + 16), long_form);
  EXPECT_EQ(WriteAbsCaptureTime(*t, buf, 15), 0u);
  EXPECT_EQ(WriteAbsCaptureTime({0xE000000180000000ull, std::nullopt}, buf, 8), 8u);
  EXPECT_EQ(Bytes(buf, buf + 8), short_form);
}

}  // namespace
}  // namespace sb::rtp
