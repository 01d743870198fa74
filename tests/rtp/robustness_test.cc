// Every parser on random and mutated input, each buffer heap-allocated at its exact size so
// that a sanitizer build catches any read past the end.
#include <gtest/gtest.h>

#include <memory>
#include <random>
#include <vector>

#include "rtp/codecs/keyframe.h"
#include "rtp/codecs/vp8.h"
#include "rtp/rtcp/bye.h"
#include "rtp/rtcp/fir.h"
#include "rtp/rtcp/nack.h"
#include "rtp/rtcp/pli.h"
#include "rtp/rtcp/receiver_report.h"
#include "rtp/rtcp/remb.h"
#include "rtp/rtcp/rtcp_packet.h"
#include "rtp/rtcp/sdes.h"
#include "rtp/rtcp/sender_report.h"
#include "rtp/rtp_builder.h"
#include "rtp/rtp_packet.h"
#include "rtp/rtx.h"

namespace sb::rtp {
namespace {

void ExerciseRtp(uint8_t* data, size_t len) {
  auto p = RtpPacket::Parse(data, len);
  if (!p) return;
  p->ForEachExtension([](uint8_t, absl::Span<const uint8_t> v) {
    volatile uint8_t sink = v.empty() ? 0 : v.back();
    (void)sink;
  });
  (void)p->GetExtension(1);
  RtpRewrite rw;
  for (int i = 0; i < 256; ++i) rw.ext_id_map[i] = static_cast<uint8_t>(i);
  std::vector<uint8_t> out(len + 64);
  EXPECT_GT(WriteRewritten(*p, rw, out.data(), out.size()), 0u);
  EXPECT_GT(RtxEncapsulate(*p, 97, 1, 1, out.data(), out.size()), 0u);
  (void)RtxDecapsulate(*p, 96, 1, out.data(), out.size());
  (void)IsKeyFrame(VideoCodec::kVp8, p->payload());
  (void)IsKeyFrame(VideoCodec::kH264, p->payload());
}

void ExerciseRtcp(const uint8_t* data, size_t len) {
  absl::Span<const uint8_t> s(data, len);
  (void)IsRtcp(s);
  (void)ForEachRtcpPacket(s, [](const RtcpHeader& h) {
    (void)SenderReport::Parse(h.packet);
    (void)ReceiverReport::Parse(h.packet);
    (void)Sdes::Parse(h.packet);
    (void)Bye::Parse(h.packet);
    (void)Nack::Parse(h.packet);
    (void)Pli::Parse(h.packet);
    (void)Fir::Parse(h.packet);
    (void)Remb::Parse(h.packet);
  });
  // The type parsers on their own, without the framing pass.
  (void)SenderReport::Parse(s);
  (void)Sdes::Parse(s);
  (void)Bye::Parse(s);
  (void)Remb::Parse(s);
  (void)Vp8Descriptor::Parse(s);
}

TEST(RobustnessTest, RandomAndMutatedBuffers) {
  std::mt19937 rng(1234);
  // Seeds: a valid RTP packet with extensions and padding, and an SR+SDES+BYE compound.
  const std::vector<uint8_t> ext = {1, 2, 3};
  const ExtensionValue exts[] = {{1, ext}, {5, ext}};
  const std::vector<uint8_t> payload = {0x90, 0x80, 0x12, 0x10, 0, 0};
  uint8_t rtp_seed[128];
  const size_t rtp_len =
      BuildRtpPacket({true, 96, 1, 2, 3, {}}, exts, payload, 4, rtp_seed, sizeof(rtp_seed));
  std::vector<uint8_t> rtcp_seed(512);
  size_t rtcp_len = SenderReport{1, 2, 3, 4, 5, 6, {{}}}.Serialize(rtcp_seed.data(), 512);
  rtcp_len += Sdes{{{1, "cname", {{2, "n"}}}}}.Serialize(rtcp_seed.data() + rtcp_len, 256);
  rtcp_len += Bye{{1}, "x"}.Serialize(rtcp_seed.data() + rtcp_len, 64);
  rtcp_seed.resize(rtcp_len);

  for (int iter = 0; iter < 20000; ++iter) {
    std::vector<uint8_t> bytes;
    if (iter % 3 == 0) {
      bytes.resize(rng() % 80);
      for (auto& b : bytes) b = static_cast<uint8_t>(rng());
      if (!bytes.empty()) bytes[0] = static_cast<uint8_t>(0x80 | (bytes[0] & 0x3F));
    } else {
      bytes = iter % 3 == 1 ? std::vector<uint8_t>(rtp_seed, rtp_seed + rtp_len) : rtcp_seed;
      const int flips = 1 + static_cast<int>(rng() % 4);
      for (int f = 0; f < flips; ++f) {
        bytes[rng() % bytes.size()] ^= static_cast<uint8_t>(1u << (rng() % 8));
      }
      bytes.resize(rng() % (bytes.size() + 1));
    }
    const size_t len = bytes.size();
    auto exact = std::make_unique<uint8_t[]>(len == 0 ? 1 : len);
    std::copy(bytes.begin(), bytes.end(), exact.get());
    ExerciseRtp(exact.get(), len);
    ExerciseRtcp(exact.get(), len);
  }
}

}  // namespace
}  // namespace sb::rtp
