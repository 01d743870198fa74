// Producer: parameter validation, receive accounting, report blocks, key-frame debouncing.
#include "router/producer.h"

#include <gtest/gtest.h>

#include "tests/router/rtp_test_packets.h"

namespace sb::router {
namespace {

using testing::OpusPayload;
using testing::OpusProducerParams;
using testing::TestPacket;
using testing::Vp8DeltaFrame;
using testing::Vp8KeyFrame;
using testing::Vp8ProducerParams;

constexpr uint32_t kSsrc = 0xABCD0001;
constexpr int64_t kStartMs = 1'000'000;

std::unique_ptr<Producer> MakeVideo() {
  auto producer =
      Producer::Create("pv", rtp::MediaKind::kVideo, Vp8ProducerParams(kSsrc, kSsrc + 1), false);
  EXPECT_TRUE(producer.ok()) << producer.status();
  return producer.ok() ? *std::move(producer) : nullptr;
}

TEST(ProducerTest, ExposesItsParameters) {
  auto producer = MakeVideo();
  ASSERT_NE(producer, nullptr);
  EXPECT_EQ(producer->id(), "pv");
  EXPECT_EQ(producer->kind(), rtp::MediaKind::kVideo);
  EXPECT_EQ(producer->mime_type(), "video/VP8");
  EXPECT_EQ(producer->clock_rate(), 90000u);
  EXPECT_EQ(producer->media_ssrc(), kSsrc);
  EXPECT_EQ(producer->rtx_ssrc(), kSsrc + 1);
  EXPECT_EQ(producer->mid_extension_id(), 4);
  EXPECT_FALSE(producer->paused());
}

TEST(ProducerTest, RejectsUnusableParameters) {
  rtp::RtpParameters none = OpusProducerParams(kSsrc);
  none.codecs.clear();
  auto status = Producer::Create("p", rtp::MediaKind::kAudio, none, false).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("no codecs"), std::string::npos) << status;

  rtp::RtpParameters unknown = OpusProducerParams(kSsrc);
  unknown.codecs[0].mime_type = "audio/G722";
  EXPECT_EQ(Producer::Create("p", rtp::MediaKind::kAudio, unknown, false).status().code(),
            absl::StatusCode::kInvalidArgument);

  // Opus declared as video.
  EXPECT_FALSE(
      Producer::Create("p", rtp::MediaKind::kVideo, OpusProducerParams(kSsrc), false).ok());
}

TEST(ProducerTest, KeyFrameRequestsAreDebounced) {
  auto producer = MakeVideo();
  ASSERT_NE(producer, nullptr);
  EXPECT_TRUE(producer->ShouldRequestKeyFrame(kStartMs));
  EXPECT_FALSE(producer->ShouldRequestKeyFrame(kStartMs + 10));
  EXPECT_FALSE(
      producer->ShouldRequestKeyFrame(kStartMs + Producer::kKeyFrameRequestIntervalMs - 1));
  EXPECT_TRUE(producer->ShouldRequestKeyFrame(kStartMs + Producer::kKeyFrameRequestIntervalMs));
  EXPECT_EQ(producer->stats().pli_sent, 2u);
}

TEST(ProducerTest, RequestInsideTheIntervalIsDeferredNotLost) {
  auto producer = MakeVideo();
  ASSERT_NE(producer, nullptr);
  ASSERT_TRUE(producer->ShouldRequestKeyFrame(kStartMs));
  // A subscriber that starts 300 ms later missed the key frame the first PLI brought.
  EXPECT_FALSE(producer->ShouldRequestKeyFrame(kStartMs + 300));
  EXPECT_TRUE(producer->key_frame_request_deferred());
  EXPECT_EQ(producer->next_key_frame_request_ms(), kStartMs + Producer::kKeyFrameRequestIntervalMs);
  EXPECT_FALSE(producer->TakeDeferredKeyFrameRequest(kStartMs + 400));
  EXPECT_TRUE(
      producer->TakeDeferredKeyFrameRequest(kStartMs + Producer::kKeyFrameRequestIntervalMs));
  EXPECT_FALSE(producer->key_frame_request_deferred());
  EXPECT_EQ(producer->stats().pli_sent, 2u);
}

TEST(ProducerTest, KeyFrameFromThePublisherAnswersADeferredRequest) {
  auto producer = MakeVideo();
  ASSERT_NE(producer, nullptr);
  ASSERT_TRUE(producer->ShouldRequestKeyFrame(kStartMs));
  EXPECT_FALSE(producer->ShouldRequestKeyFrame(kStartMs + 10));
  TestPacket delta(96, 1, 0, kSsrc, Vp8DeltaFrame());
  producer->ReceiveRtpPacket(delta.get(), kStartMs + 20);
  EXPECT_TRUE(producer->key_frame_request_deferred());
  TestPacket key(96, 2, 3000, kSsrc, Vp8KeyFrame());
  producer->ReceiveRtpPacket(key.get(), kStartMs + 60);
  EXPECT_FALSE(producer->key_frame_request_deferred());
  EXPECT_FALSE(
      producer->TakeDeferredKeyFrameRequest(kStartMs + Producer::kKeyFrameRequestIntervalMs));
  EXPECT_EQ(producer->stats().pli_sent, 1u);
}

TEST(ProducerTest, FirstKeyFrameRequestAtTimeZeroGoesOut) {
  auto producer = MakeVideo();
  ASSERT_NE(producer, nullptr);
  EXPECT_TRUE(producer->ShouldRequestKeyFrame(0));
}

TEST(ProducerTest, AudioNeverRequestsKeyFrames) {
  auto producer = Producer::Create("pa", rtp::MediaKind::kAudio, OpusProducerParams(kSsrc), false);
  ASSERT_TRUE(producer.ok());
  EXPECT_FALSE((*producer)->ShouldRequestKeyFrame(kStartMs));
  EXPECT_EQ((*producer)->stats().pli_sent, 0u);
}

TEST(ProducerTest, ReceiveStatsAndReportBlock) {
  auto producer = Producer::Create("pa", rtp::MediaKind::kAudio, OpusProducerParams(kSsrc), false);
  ASSERT_TRUE(producer.ok());
  Producer& p = **producer;
  EXPECT_FALSE(p.MakeReportBlock(kStartMs).has_value()) << "no block before the first packet";

  // Sequence numbers 1..10 with 5 lost.
  for (uint16_t seq = 1; seq <= 10; ++seq) {
    if (seq == 5) continue;
    TestPacket packet(111, seq, seq * 960u, kSsrc, OpusPayload());
    EXPECT_TRUE(p.ReceiveRtpPacket(packet.get(), kStartMs + seq * 20));
  }
  auto block = p.MakeReportBlock(kStartMs + 220);
  ASSERT_TRUE(block.has_value());
  EXPECT_EQ(block->ssrc, kSsrc);
  EXPECT_EQ(block->ext_highest_seq, 10u);
  EXPECT_EQ(block->cumulative_lost, 1);
  EXPECT_EQ(block->fraction_lost, 256 / 10);  // 1 of 10 expected, RFC 3550 A.3
  EXPECT_EQ(block->lsr, 0u);                  // no SR from the publisher yet

  auto stats = p.stats();
  EXPECT_EQ(stats.ssrc, kSsrc);
  EXPECT_EQ(stats.packets, 9u);
  EXPECT_GT(stats.bytes, 9 * OpusPayload().size());
  EXPECT_EQ(stats.packets_lost, 1);
  EXPECT_EQ(stats.fraction_lost, 256 / 10);

  // After the publisher's SR the block carries its middle 32 NTP bits.
  p.ReceiveSenderReport(0x00012345, 0x67890000, 9600, kStartMs + 230);
  EXPECT_TRUE(p.sender_info().valid);
  EXPECT_EQ(p.sender_info().rtp_timestamp, 9600u);
  block = p.MakeReportBlock(kStartMs + 250);
  ASSERT_TRUE(block.has_value());
  EXPECT_EQ(block->lsr, 0x23456789u);
  EXPECT_EQ(block->fraction_lost, 0) << "no loss in the new interval";
}

TEST(ProducerTest, PausedProducerCountsButDoesNotForward) {
  auto producer = MakeVideo();
  ASSERT_NE(producer, nullptr);
  producer->set_paused(true);
  TestPacket packet(96, 1, 0, kSsrc, Vp8DeltaFrame());
  EXPECT_FALSE(producer->ReceiveRtpPacket(packet.get(), kStartMs));
  EXPECT_EQ(producer->stats().packets, 1u);
  producer->set_paused(false);
  TestPacket next(96, 2, 3000, kSsrc, Vp8DeltaFrame());
  EXPECT_TRUE(producer->ReceiveRtpPacket(next.get(), kStartMs + 33));
}

TEST(ProducerTest, WrongPayloadTypeIsNotForwarded) {
  auto producer = MakeVideo();
  ASSERT_NE(producer, nullptr);
  TestPacket unknown(45, 1, 0, kSsrc, Vp8DeltaFrame());
  EXPECT_FALSE(producer->ReceiveRtpPacket(unknown.get(), kStartMs));
  TestPacket rtx(97, 1, 0, kSsrc, {0x00, 0x01, 0x10, 0x01});
  EXPECT_FALSE(producer->ReceiveRtpPacket(rtx.get(), kStartMs));
  EXPECT_EQ(producer->stats().packets, 0u);
}

}  // namespace
}  // namespace sb::router
