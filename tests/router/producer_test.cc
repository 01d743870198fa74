// Producer: parameter validation, receive accounting, report blocks, key-frame debouncing.
#include "router/producer.h"

#include <gtest/gtest.h>

#include "tests/router/rtp_test_packets.h"

namespace sb::router {
namespace {

using testing::OpusPayload;
using testing::OpusProducerParams;
using testing::SimulcastVp8ProducerParams;
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
  EXPECT_TRUE(producer->ShouldRequestKeyFrame(0, kStartMs));
  EXPECT_FALSE(producer->ShouldRequestKeyFrame(0, kStartMs + 10));
  EXPECT_FALSE(
      producer->ShouldRequestKeyFrame(0, kStartMs + Producer::kKeyFrameRequestIntervalMs - 1));
  EXPECT_TRUE(producer->ShouldRequestKeyFrame(0, kStartMs + Producer::kKeyFrameRequestIntervalMs));
  EXPECT_EQ(producer->stats(0).pli_sent, 2u);
  EXPECT_EQ(producer->stats(0).key_frame_requests_suppressed, 2u);
}

// However many requests arrive (a subscriber flooding PLI/FIR), at most one PLI per interval;
// the rest are counted as suppressed.
TEST(ProducerTest, KeyFrameRequestFloodMakesOnePliPerInterval) {
  auto producer = MakeVideo();
  ASSERT_NE(producer, nullptr);
  uint32_t sent = 0;
  for (int64_t t = 0; t < 2000; ++t) {  // a request every millisecond for 2 s
    if (producer->ShouldRequestKeyFrame(0, kStartMs + t)) ++sent;
    if (producer->TakeDeferredKeyFrameRequest(0, kStartMs + t)) ++sent;
  }
  EXPECT_EQ(sent, 2000u / Producer::kKeyFrameRequestIntervalMs);
  EXPECT_EQ(producer->stats(0).pli_sent, sent);
  EXPECT_EQ(producer->stats(0).key_frame_requests_suppressed, 2000u - sent);
}

// Each encoding reserves a packet history: an offer cannot declare thousands.
TEST(ProducerTest, RejectsMoreThanFourEncodings) {
  rtp::RtpParameters params = SimulcastVp8ProducerParams();
  params.encodings.clear();
  for (size_t i = 0; i < Producer::kMaxEncodings; ++i) {
    params.encodings.push_back({0, 0, "r" + std::to_string(i), 0});
  }
  EXPECT_TRUE(Producer::Create("p4", rtp::MediaKind::kVideo, params, false).ok());
  params.encodings.push_back({0, 0, "r4", 0});
  auto status = Producer::Create("p5", rtp::MediaKind::kVideo, params, false).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(),
            "producer has 5 encodings, at most 4 are accepted (each keeps its own packet "
            "history)");
  for (size_t i = 5; i < 10000; ++i) params.encodings.push_back({0, 0, std::to_string(i), 0});
  EXPECT_EQ(Producer::Create("p", rtp::MediaKind::kVideo, params, false).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ProducerTest, RequestInsideTheIntervalIsDeferredNotLost) {
  auto producer = MakeVideo();
  ASSERT_NE(producer, nullptr);
  ASSERT_TRUE(producer->ShouldRequestKeyFrame(0, kStartMs));
  // A subscriber that starts 300 ms later missed the key frame the first PLI brought.
  EXPECT_FALSE(producer->ShouldRequestKeyFrame(0, kStartMs + 300));
  EXPECT_TRUE(producer->key_frame_request_deferred(0));
  EXPECT_EQ(producer->next_key_frame_request_ms(0),
            kStartMs + Producer::kKeyFrameRequestIntervalMs);
  EXPECT_FALSE(producer->TakeDeferredKeyFrameRequest(0, kStartMs + 400));
  EXPECT_TRUE(
      producer->TakeDeferredKeyFrameRequest(0, kStartMs + Producer::kKeyFrameRequestIntervalMs));
  EXPECT_FALSE(producer->key_frame_request_deferred(0));
  EXPECT_EQ(producer->stats(0).pli_sent, 2u);
}

TEST(ProducerTest, KeyFrameFromThePublisherAnswersADeferredRequest) {
  auto producer = MakeVideo();
  ASSERT_NE(producer, nullptr);
  ASSERT_TRUE(producer->ShouldRequestKeyFrame(0, kStartMs));
  EXPECT_FALSE(producer->ShouldRequestKeyFrame(0, kStartMs + 10));
  TestPacket delta(96, 1, 0, kSsrc, Vp8DeltaFrame());
  producer->ReceiveRtpPacket(delta.get(), 0, kStartMs + 20);
  EXPECT_TRUE(producer->key_frame_request_deferred(0));
  TestPacket key(96, 2, 3000, kSsrc, Vp8KeyFrame());
  producer->ReceiveRtpPacket(key.get(), 0, kStartMs + 60);
  EXPECT_FALSE(producer->key_frame_request_deferred(0));
  EXPECT_FALSE(
      producer->TakeDeferredKeyFrameRequest(0, kStartMs + Producer::kKeyFrameRequestIntervalMs));
  EXPECT_EQ(producer->stats(0).pli_sent, 1u);
}

TEST(ProducerTest, FirstKeyFrameRequestAtTimeZeroGoesOut) {
  auto producer = MakeVideo();
  ASSERT_NE(producer, nullptr);
  EXPECT_TRUE(producer->ShouldRequestKeyFrame(0, 0));
}

TEST(ProducerTest, AudioNeverRequestsKeyFrames) {
  auto producer = Producer::Create("pa", rtp::MediaKind::kAudio, OpusProducerParams(kSsrc), false);
  ASSERT_TRUE(producer.ok());
  EXPECT_FALSE((*producer)->ShouldRequestKeyFrame(0, kStartMs));
  EXPECT_EQ((*producer)->stats(0).pli_sent, 0u);
}

TEST(ProducerTest, ReceiveStatsAndReportBlock) {
  auto producer = Producer::Create("pa", rtp::MediaKind::kAudio, OpusProducerParams(kSsrc), false);
  ASSERT_TRUE(producer.ok());
  Producer& p = **producer;
  EXPECT_FALSE(p.MakeReportBlock(0, kStartMs).has_value()) << "no block before the first packet";

  // Sequence numbers 1..10 with 5 lost.
  for (uint16_t seq = 1; seq <= 10; ++seq) {
    if (seq == 5) continue;
    TestPacket packet(111, seq, seq * 960u, kSsrc, OpusPayload());
    EXPECT_TRUE(p.ReceiveRtpPacket(packet.get(), 0, kStartMs + seq * 20));
  }
  auto block = p.MakeReportBlock(0, kStartMs + 220);
  ASSERT_TRUE(block.has_value());
  EXPECT_EQ(block->ssrc, kSsrc);
  EXPECT_EQ(block->ext_highest_seq, 10u);
  EXPECT_EQ(block->cumulative_lost, 1);
  EXPECT_EQ(block->fraction_lost, 256 / 10);  // 1 of 10 expected, RFC 3550 A.3
  EXPECT_EQ(block->lsr, 0u);                  // no SR from the publisher yet

  auto stats = p.stats(0);
  EXPECT_EQ(stats.ssrc, kSsrc);
  EXPECT_EQ(stats.packets, 9u);
  EXPECT_GT(stats.bytes, 9 * OpusPayload().size());
  EXPECT_EQ(stats.packets_lost, 1);
  EXPECT_EQ(stats.fraction_lost, 256 / 10);

  // After the publisher's SR the block carries its middle 32 NTP bits.
  p.ReceiveSenderReport(0, 0x00012345, 0x67890000, 9600, kStartMs + 230);
  EXPECT_TRUE(p.sender_info(0).valid);
  EXPECT_EQ(p.sender_info(0).rtp_timestamp, 9600u);
  block = p.MakeReportBlock(0, kStartMs + 250);
  ASSERT_TRUE(block.has_value());
  EXPECT_EQ(block->lsr, 0x23456789u);
  EXPECT_EQ(block->fraction_lost, 0) << "no loss in the new interval";
}

TEST(ProducerTest, PausedProducerCountsButDoesNotForward) {
  auto producer = MakeVideo();
  ASSERT_NE(producer, nullptr);
  producer->set_paused(true);
  TestPacket packet(96, 1, 0, kSsrc, Vp8DeltaFrame());
  EXPECT_FALSE(producer->ReceiveRtpPacket(packet.get(), 0, kStartMs));
  EXPECT_EQ(producer->stats(0).packets, 1u);
  producer->set_paused(false);
  TestPacket next(96, 2, 3000, kSsrc, Vp8DeltaFrame());
  EXPECT_TRUE(producer->ReceiveRtpPacket(next.get(), 0, kStartMs + 33));
}

TEST(ProducerTest, WrongPayloadTypeIsNotForwarded) {
  auto producer = MakeVideo();
  ASSERT_NE(producer, nullptr);
  TestPacket unknown(45, 1, 0, kSsrc, Vp8DeltaFrame());
  EXPECT_FALSE(producer->ReceiveRtpPacket(unknown.get(), 0, kStartMs));
  TestPacket rtx(97, 1, 0, kSsrc, {0x00, 0x01, 0x10, 0x01});
  EXPECT_FALSE(producer->ReceiveRtpPacket(rtx.get(), 0, kStartMs));
  EXPECT_EQ(producer->stats(0).packets, 0u);
}

std::unique_ptr<Producer> MakeSimulcast() {
  auto producer =
      Producer::Create("ps", rtp::MediaKind::kVideo, SimulcastVp8ProducerParams(), false);
  EXPECT_TRUE(producer.ok()) << producer.status();
  if (!producer.ok()) return nullptr;
  (*producer)->set_media_ssrc(0, 0x51);
  (*producer)->set_media_ssrc(1, 0x52);
  (*producer)->set_media_ssrc(2, 0x53);
  return *std::move(producer);
}

TEST(ProducerTest, SimulcastEncodingsByRid) {
  auto producer =
      Producer::Create("ps", rtp::MediaKind::kVideo, SimulcastVp8ProducerParams(), false);
  ASSERT_TRUE(producer.ok()) << producer.status();
  Producer& p = **producer;
  EXPECT_TRUE(p.simulcast());
  ASSERT_EQ(p.encoding_count(), 3u);
  EXPECT_EQ(p.rid(0), "q");
  EXPECT_EQ(p.rid(2), "f");
  EXPECT_EQ(p.EncodingForRid("h"), 1u);
  EXPECT_FALSE(p.EncodingForRid("x").has_value());
  EXPECT_FALSE(p.EncodingForRid("").has_value());
  EXPECT_EQ(p.media_ssrc(1), 0u) << "learned later";
  EXPECT_EQ(p.rid_extension_id(), 6);
  EXPECT_EQ(p.repaired_rid_extension_id(), 8);
  EXPECT_EQ(p.rtx_payload_type(), 97);
  EXPECT_EQ(p.last_packet_ms(0), Producer::kNever);
  // A key-frame request for an encoding whose ssrc is not known yet cannot be addressed.
  EXPECT_FALSE(p.ShouldRequestKeyFrame(1, kStartMs));
  EXPECT_FALSE(p.key_frame_request_deferred(1));
}

TEST(ProducerTest, SimulcastEncodingsKeepTheirOwnStatisticsAndReports) {
  auto producer = MakeSimulcast();
  ASSERT_NE(producer, nullptr);
  for (uint16_t seq = 1; seq <= 4; ++seq) {
    TestPacket q(96, seq, seq * 3000u, 0x51, Vp8DeltaFrame());
    EXPECT_TRUE(producer->ReceiveRtpPacket(q.get(), 0, kStartMs + seq * 33));
    if (seq == 2) continue;  // one of f's is lost
    TestPacket f(96, static_cast<uint16_t>(900 + seq), seq * 3000u, 0x53, Vp8DeltaFrame());
    EXPECT_TRUE(producer->ReceiveRtpPacket(f.get(), 2, kStartMs + seq * 33));
  }
  EXPECT_EQ(producer->stats(0).packets, 4u);
  EXPECT_EQ(producer->stats(1).packets, 0u);
  EXPECT_EQ(producer->stats(2).packets, 3u);
  EXPECT_EQ(producer->last_packet_ms(0), kStartMs + 4 * 33);
  EXPECT_EQ(producer->last_packet_ms(1), Producer::kNever);
  // One report block per encoding that received something, about that encoding's ssrc.
  auto q = producer->MakeReportBlock(0, kStartMs + 200);
  auto h = producer->MakeReportBlock(1, kStartMs + 200);
  auto f = producer->MakeReportBlock(2, kStartMs + 200);
  ASSERT_TRUE(q && f);
  EXPECT_FALSE(h.has_value());
  EXPECT_EQ(q->ssrc, 0x51u);
  EXPECT_EQ(q->cumulative_lost, 0);
  EXPECT_EQ(f->ssrc, 0x53u);
  EXPECT_EQ(f->cumulative_lost, 1);
  EXPECT_EQ(producer->stats(2).packets_lost, 1);
  // Sender reports are per encoding too.
  producer->ReceiveSenderReport(2, 0x00012345, 0x67890000, 12000, kStartMs + 210);
  EXPECT_TRUE(producer->sender_info(2).valid);
  EXPECT_FALSE(producer->sender_info(0).valid);
  EXPECT_EQ(producer->MakeReportBlock(2, kStartMs + 250)->lsr, 0x23456789u);
  EXPECT_EQ(producer->MakeReportBlock(0, kStartMs + 250)->lsr, 0u);
}

TEST(ProducerTest, KeyFrameRequestsAreDebouncedPerEncoding) {
  auto producer = MakeSimulcast();
  ASSERT_NE(producer, nullptr);
  EXPECT_TRUE(producer->ShouldRequestKeyFrame(0, kStartMs));
  // Another encoding is not held back by the first one's request.
  EXPECT_TRUE(producer->ShouldRequestKeyFrame(2, kStartMs + 10));
  EXPECT_FALSE(producer->ShouldRequestKeyFrame(0, kStartMs + 20));
  EXPECT_FALSE(producer->ShouldRequestKeyFrame(2, kStartMs + 20));
  EXPECT_TRUE(producer->key_frame_request_deferred(0));
  EXPECT_TRUE(producer->key_frame_request_deferred(2));
  EXPECT_FALSE(producer->key_frame_request_deferred(1));
  // A key frame of f answers f's deferred request, not q's.
  TestPacket key(96, 1, 0, 0x53, Vp8KeyFrame());
  producer->ReceiveRtpPacket(key.get(), 2, kStartMs + 30);
  EXPECT_FALSE(producer->key_frame_request_deferred(2));
  EXPECT_TRUE(producer->key_frame_request_deferred(0));
  EXPECT_FALSE(producer->TakeDeferredKeyFrameRequest(0, kStartMs + 400));
  EXPECT_TRUE(
      producer->TakeDeferredKeyFrameRequest(0, kStartMs + Producer::kKeyFrameRequestIntervalMs));
  EXPECT_FALSE(producer->TakeDeferredKeyFrameRequest(2, kStartMs + 1000));
  EXPECT_EQ(producer->stats(0).pli_sent, 2u);
  EXPECT_EQ(producer->stats(1).pli_sent, 0u);
  EXPECT_EQ(producer->stats(2).pli_sent, 1u);
}

}  // namespace
}  // namespace sb::router
