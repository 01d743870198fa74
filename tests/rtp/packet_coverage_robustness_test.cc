// The APP, XR, TMMBR/TMMBN, SLI, transport feedback, header extension, dependency descriptor,
// VP9, AV1 and Opus parsers on mutated and random input, each buffer heap-allocated at its
// exact size so that a sanitizer build catches any read past the end. What parses must
// serialize, and parse again to the same value.
#include <gtest/gtest.h>

#include <memory>
#include <random>
#include <vector>

#include "rtp/codecs/av1.h"
#include "rtp/codecs/dependency_descriptor.h"
#include "rtp/codecs/keyframe.h"
#include "rtp/codecs/opus.h"
#include "rtp/codecs/vp9.h"
#include "rtp/header_extensions.h"
#include "rtp/rtcp/app.h"
#include "rtp/rtcp/sli.h"
#include "rtp/rtcp/tmmb.h"
#include "rtp/rtcp/transport_feedback.h"
#include "rtp/rtcp/xr.h"

namespace sb::rtp {
namespace {

using Bytes = std::vector<uint8_t>;

template <typename T>
void ExpectReserializes(absl::Span<const uint8_t> data, bool exact) {
  std::optional<T> p = T::Parse(data);
  if (!p) {
    return;
  }
  Bytes out(p->Size());
  ASSERT_EQ(p->Serialize(out.data(), out.size()), out.size());
  std::optional<T> again = T::Parse(out);
  ASSERT_TRUE(again.has_value());
  if (exact) {
    EXPECT_TRUE(*again == *p);
  }
}

void Exercise(const uint8_t* data, size_t len, DependencyDescriptorReader& dd) {
  absl::Span<const uint8_t> s(data, len);
  ExpectReserializes<App>(s, true);
  ExpectReserializes<Xr>(s, true);
  ExpectReserializes<Tmmbr>(s, false);  // a saturated bitrate is written smaller
  ExpectReserializes<Tmmbn>(s, false);
  ExpectReserializes<Sli>(s, true);
  ExpectReserializes<TransportFeedback>(s, true);
  (void)ParseMid(s);
  (void)ParseAbsSendTime(s);
  (void)ParseTransportSequenceNumber(s);
  (void)ParseAudioLevel(s);
  (void)ParseVideoOrientation(s);
  (void)ParseToffset(s);
  (void)ParsePlayoutDelay(s);
  (void)ParseAbsCaptureTime(s);
  (void)dd.Parse(s);
  (void)DependencyDescriptor::Parse(s, nullptr);
  (void)Vp9Descriptor::Parse(s);
  (void)Av1Descriptor::Parse(s);
  (void)IsKeyFrame(VideoCodec::kVp9, s);
  (void)IsKeyFrame(VideoCodec::kAv1, s);
  (void)OpusFrameCount(s);
}

TEST(PacketCoverageRobustnessTest, MutatedAndRandomInput) {
  const std::vector<Bytes> seeds = {
      // TWCC with 2-bit vector and padding.
      {0xAF, 0xCD, 0x00, 0x06, 0,    0,    0,    1,    0,    0,    0,    2,    0xFF, 0xFE,
       0x00, 0x04, 0x00, 0x00, 0x10, 0x07, 0xD1, 0x80, 0x04, 0x10, 0xFF, 0xFC, 0x00, 0x02},
      // TWCC with a run-length chunk of 8191 lost.
      {0x8F, 0xCD, 0x00, 0x05, 0,    0,    0,    1,    0,    0,    0,    2,
       0x00, 0x00, 0x20, 0x00, 0x00, 0x00, 0x00, 0x00, 0x1F, 0xFF, 0x20, 0x01},
      // XR RRTR + DLRR.
      {0x80, 0xCF, 0x00, 0x08, 0x11, 0x22, 0x33, 0x44, 0x04, 0x00, 0x00, 0x02,
       0xE0, 0x00, 0x00, 0x01, 0x80, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x03,
       0xAA, 0xBB, 0xCC, 0xDD, 0x00, 0x01, 0x80, 0x00, 0x00, 0x00, 0x80, 0x00},
      // APP, TMMBR, SLI.
      {0x85, 0xCC, 0x00, 0x03, 0x12, 0x34, 0x56, 0x78, 'T', 'E', 'S', 'T', 0xDE, 0xAD, 0xBE, 0xEF},
      {0x83, 0xCD, 0x00, 0x04, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00,
       0x00, 0x00, 0xCA, 0xFE, 0xBA, 0xBE, 0x0F, 0xD0, 0x90, 0x28},
      {0x82, 0xCE, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02, 0x03, 0x20, 0x0C,
       0xA1},
      // VP9 with SS, AV1 with two elements.
      {0xAA, 0x92, 0x34, 0x00, 0x05, 0x38, 0x01, 0x40, 0x00, 0xB4,
       0x02, 0x80, 0x01, 0x68, 0x02, 0x04, 0x04, 0x34, 0x01, 0xFF},
      {0x00, 0x02, 0x08, 0xAA, 0x03, 0x30, 0x01, 0x02},
      // Dependency descriptor with a structure (L1T1, one decode target, one chain).
      {0xC0, 0x00, 0x01, 0x80, 0x00, 0xE4, 0x00},
  };
  std::mt19937 rng(42);
  DependencyDescriptorReader dd;
  for (const Bytes& seed : seeds) {
    for (int i = 0; i < 3000; ++i) {
      Bytes b = seed;
      const int flips = 1 + static_cast<int>(rng() % 4);
      for (int f = 0; f < flips; ++f) {
        b[rng() % b.size()] ^= static_cast<uint8_t>(1u << (rng() % 8));
      }
      if (rng() % 4 == 0) {
        b.resize(rng() % (b.size() + 1));
      }
      auto heap = std::make_unique<uint8_t[]>(b.size() + 1);
      std::copy(b.begin(), b.end(), heap.get());
      Exercise(heap.get(), b.size(), dd);
    }
  }
  for (int i = 0; i < 20000; ++i) {
    const size_t len = rng() % 64;
    auto heap = std::make_unique<uint8_t[]>(len + 1);
    for (size_t k = 0; k < len; ++k) {
      heap[k] = static_cast<uint8_t>(rng());
    }
    if (len >= 2 && rng() % 2 == 0) {
      heap[0] = static_cast<uint8_t>(0x80 | (heap[0] & 0x3F));  // version 2 more often
      heap[1] = static_cast<uint8_t>(204 + rng() % 4);
    }
    Exercise(heap.get(), len, dd);
  }
}

}  // namespace
}  // namespace sb::rtp
