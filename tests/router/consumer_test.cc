// Consumer: header rewriting, key-frame gating, continuity across pauses, sender reports.
#include "router/consumer.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "router/producer.h"
#include "tests/router/recording_listener.h"
#include "tests/router/rtp_test_packets.h"

namespace sb::router {
namespace {

using testing::OpusPayload;
using testing::OpusProducerParams;
using testing::RecordingListener;
using testing::SentPacket;
using testing::TestPacket;
using testing::Vp8DeltaFrame;
using testing::Vp8KeyFrame;
using testing::Vp8ProducerParams;

constexpr uint32_t kAudioSsrc = 0x11112222;
constexpr uint32_t kVideoSsrc = 0x33334444;
constexpr uint32_t kVideoRtxSsrc = 0x33335555;
constexpr uint32_t kConsumerSsrc = 0xC0FFEE01;
constexpr uint32_t kConsumerRtxSsrc = 0xC0FFEE02;
// uv_now() is milliseconds of a monotonic clock that has been running a while.
constexpr int64_t kStartMs = 1'000'000;

std::vector<uint8_t> Bytes(const std::string& s) { return {s.begin(), s.end()}; }

class ConsumerTest : public ::testing::Test {
 protected:
  void MakeAudio(bool paused = false) {
    auto producer = Producer::Create("pa", rtp::MediaKind::kAudio,
                                     OpusProducerParams(kAudioSsrc, "a-pub"), false);
    ASSERT_TRUE(producer.ok()) << producer.status();
    producer_ = *std::move(producer);
    MakeConsumer("a-sub", paused);
  }
  void MakeVideo(bool paused = false) {
    auto producer = Producer::Create("pv", rtp::MediaKind::kVideo,
                                     Vp8ProducerParams(kVideoSsrc, kVideoRtxSsrc, "v-pub"), false);
    ASSERT_TRUE(producer.ok()) << producer.status();
    producer_ = *std::move(producer);
    MakeConsumer("v-sub", paused);
  }
  void MakeConsumer(const std::string& mid, bool paused) {
    auto params =
        rtp::ConsumerParameters(producer_->kind(), producer_->rtp_parameters(),
                                rtp::RouterCapabilities(), kConsumerSsrc, kConsumerRtxSsrc);
    ASSERT_TRUE(params.ok()) << params.status();
    params->mid = mid;
    consumer_ = std::make_unique<Consumer>("c", *producer_, *std::move(params), paused, &listener_);
  }

  // Sends an Opus packet through producer accounting and the consumer.
  void Audio(uint16_t seq, uint32_t ts, int64_t now_ms) {
    TestPacket p(111, seq, ts, kAudioSsrc, OpusPayload());
    ASSERT_TRUE(p.ok());
    if (producer_->ReceiveRtpPacket(p.get(), 0, now_ms))
      consumer_->SendRtpPacket(p.get(), 0, testing::Vp8Layers(p.get()), now_ms);
  }
  void Video(uint16_t seq, uint32_t ts, bool key, int64_t now_ms) {
    TestPacket p(96, seq, ts, kVideoSsrc, key ? Vp8KeyFrame() : Vp8DeltaFrame());
    ASSERT_TRUE(p.ok());
    if (producer_->ReceiveRtpPacket(p.get(), 0, now_ms))
      consumer_->SendRtpPacket(p.get(), 0, testing::Vp8Layers(p.get()), now_ms);
  }

  RecordingListener listener_;
  std::unique_ptr<Producer> producer_;
  std::unique_ptr<Consumer> consumer_;
};

TEST_F(ConsumerTest, AudioStartsImmediatelyAndRewritesHeader) {
  MakeAudio();
  EXPECT_EQ(consumer_->ssrc(), kConsumerSsrc);
  TestPacket p(111, 4321, 960000, kAudioSsrc, OpusPayload(),
               {{1, {0x85}},              // audio level
                {2, {0x01, 0x02, 0x03}},  // abs-send-time
                {3, {0x00, 0x07}},        // transport-cc: ours to write, not forwarded
                {4, Bytes("a-pub")}},     // the publisher's mid
               true);
  ASSERT_TRUE(p.ok());
  consumer_->SendRtpPacket(p.get(), 0, testing::Vp8Layers(p.get()), kStartMs);
  ASSERT_EQ(listener_.sent.size(), 1u);
  const SentPacket& s = listener_.sent[0];
  EXPECT_EQ(s.ssrc, kConsumerSsrc);
  EXPECT_EQ(s.payload_type, 100);  // the router's Opus payload type
  EXPECT_EQ(s.seq, 4321);
  EXPECT_EQ(s.ts, 960000u);
  EXPECT_TRUE(s.marker);
  EXPECT_EQ(s.payload, OpusPayload());
  // Router ids: mid 1, abs-send-time 3, audio level 10; the publisher's transport-cc is
  // dropped and ours (5) written: the transport's first number.
  std::map<uint8_t, std::vector<uint8_t>> expected = {
      {1, Bytes("a-sub")}, {3, {0x01, 0x02, 0x03}}, {5, {0x00, 0x01}}, {10, {0x85}}};
  EXPECT_EQ(s.extensions, expected);
  EXPECT_EQ(listener_.key_frame_requests, 0);
  EXPECT_EQ(consumer_->stats().packets, 1u);
  EXPECT_EQ(consumer_->stats().bytes, OpusPayload().size());
}

TEST_F(ConsumerTest, AudioConsumerWithoutMidExtensionAddsNone) {
  auto producer = Producer::Create("pa", rtp::MediaKind::kAudio,
                                   OpusProducerParams(kAudioSsrc, "a-pub"), false);
  ASSERT_TRUE(producer.ok());
  producer_ = *std::move(producer);
  rtp::RtpCapabilities caps = rtp::RouterCapabilities();
  caps.header_extensions.clear();  // subscriber negotiated no extensions at all
  auto params = rtp::ConsumerParameters(rtp::MediaKind::kAudio, producer_->rtp_parameters(), caps,
                                        kConsumerSsrc, 0);
  ASSERT_TRUE(params.ok());
  params->mid = "a-sub";
  consumer_ = std::make_unique<Consumer>("c", *producer_, *std::move(params), false, &listener_);
  TestPacket p(111, 1, 1, kAudioSsrc, OpusPayload(), {{1, {0x85}}, {4, Bytes("a-pub")}});
  consumer_->SendRtpPacket(p.get(), 0, testing::Vp8Layers(p.get()), kStartMs);
  ASSERT_EQ(listener_.sent.size(), 1u);
  EXPECT_TRUE(listener_.sent[0].extensions.empty());
}

TEST_F(ConsumerTest, VideoWaitsForKeyFrameAndRequestsOne) {
  MakeVideo();
  Video(100, 9000, false, kStartMs);
  EXPECT_TRUE(listener_.sent.empty());
  EXPECT_EQ(listener_.key_frame_requests, 1);
  // Asking again is rate limited while we keep waiting.
  Video(101, 12000, false, kStartMs + 100);
  EXPECT_EQ(listener_.key_frame_requests, 1);
  Video(102, 15000, false, kStartMs + 1100);
  EXPECT_EQ(listener_.key_frame_requests, 2);
  EXPECT_TRUE(listener_.sent.empty());

  TestPacket key(96, 103, 18000, kVideoSsrc, Vp8KeyFrame(),
                 {{2, {0x0A, 0x0B, 0x0C}},
                  {4, Bytes("v-pub")},
                  {5, {0x00, 0x01}},
                  {6, Bytes("h")},
                  {7, {0x00, 0x00, 0x10}},
                  {9, {0x01}}});
  ASSERT_TRUE(key.ok());
  consumer_->SendRtpPacket(key.get(), 0, testing::Vp8Layers(key.get()), kStartMs + 1200);
  Video(104, 18000, false, kStartMs + 1201);
  ASSERT_EQ(listener_.sent.size(), 2u);
  const SentPacket& s = listener_.sent[0];
  EXPECT_EQ(s.payload_type, 101);  // the router's VP8 payload type
  EXPECT_EQ(s.ssrc, kConsumerSsrc);
  EXPECT_EQ(s.payload, Vp8KeyFrame());
  // Router ids: mid 1, toffset 2, abs-send-time 3, video orientation 13; rid and the
  // publisher's transport-cc dropped, ours (5) written, one number per packet sent.
  std::map<uint8_t, std::vector<uint8_t>> expected = {{1, Bytes("v-sub")},
                                                      {2, {0x00, 0x00, 0x10}},
                                                      {3, {0x0A, 0x0B, 0x0C}},
                                                      {5, {0x00, 0x01}},
                                                      {13, {0x01}}};
  EXPECT_EQ(s.extensions, expected);
  EXPECT_EQ(listener_.sent[1].extensions.at(5), (std::vector<uint8_t>{0x00, 0x02}));
  EXPECT_EQ(listener_.sent[1].seq, static_cast<uint16_t>(s.seq + 1));
  EXPECT_EQ(listener_.key_frame_requests, 2);
}

TEST_F(ConsumerTest, KeyFrameContinuationPacketDoesNotStartTheStream) {
  MakeVideo();
  // A later packet of a key frame (S=0) is not a starting point.
  TestPacket middle(96, 10, 3000, kVideoSsrc, {0x00, 0x00, 0x11, 0x22});
  consumer_->SendRtpPacket(middle.get(), 0, testing::Vp8Layers(middle.get()), kStartMs);
  EXPECT_TRUE(listener_.sent.empty());
  Video(11, 6000, true, kStartMs + 1);
  EXPECT_EQ(listener_.sent.size(), 1u);
}

TEST_F(ConsumerTest, SequenceAndTimestampContinueAcrossConsumerPause) {
  MakeVideo();
  Video(1000, 90000, true, kStartMs);
  for (uint16_t i = 1; i < 5; ++i) Video(1000 + i, 90000 + i * 3000, false, kStartMs + i * 33);
  ASSERT_EQ(listener_.sent.size(), 5u);
  const SentPacket last = listener_.sent.back();
  const int64_t last_ms = kStartMs + 4 * 33;

  consumer_->SetPaused(true);
  EXPECT_FALSE(consumer_->active());
  EXPECT_EQ(listener_.key_frame_requests, 0);  // pausing asks for nothing
  for (uint16_t i = 5; i < 40; ++i) Video(1000 + i, 90000 + i * 3000, i == 20, kStartMs + i * 33);
  EXPECT_EQ(listener_.sent.size(), 5u);

  consumer_->SetPaused(false);
  EXPECT_EQ(listener_.key_frame_requests, 1);  // resuming video needs a key frame
  Video(1040, 90000 + 40 * 3000, false, kStartMs + 40 * 33);
  EXPECT_EQ(listener_.sent.size(), 5u);
  const int64_t key_ms = kStartMs + 41 * 33;
  Video(1041, 90000 + 41 * 3000, true, key_ms);
  Video(1042, 90000 + 42 * 3000, false, key_ms + 33);
  ASSERT_EQ(listener_.sent.size(), 7u);
  const SentPacket& resumed = listener_.sent[5];
  EXPECT_EQ(resumed.seq, static_cast<uint16_t>(last.seq + 1)) << "no gap after a pause";
  // The timestamp advances by the wall-clock time the subscriber saw nothing.
  EXPECT_EQ(resumed.ts, last.ts + static_cast<uint32_t>((key_ms - last_ms) * 90));
  EXPECT_EQ(listener_.sent[6].seq, static_cast<uint16_t>(last.seq + 2));
  EXPECT_EQ(listener_.sent[6].ts, resumed.ts + 3000);
}

TEST_F(ConsumerTest, SequenceAndTimestampContinueAcrossProducerPause) {
  MakeAudio();
  for (uint16_t i = 0; i < 3; ++i) Audio(500 + i, 48000 + i * 960, kStartMs + i * 20);
  ASSERT_EQ(listener_.sent.size(), 3u);
  const SentPacket last = listener_.sent.back();

  producer_->set_paused(true);
  consumer_->SetProducerPaused(true);
  EXPECT_TRUE(consumer_->producer_paused());
  for (uint16_t i = 3; i < 50; ++i) Audio(500 + i, 48000 + i * 960, kStartMs + i * 20);
  EXPECT_EQ(listener_.sent.size(), 3u);  // the paused producer forwards nothing

  producer_->set_paused(false);
  consumer_->SetProducerPaused(false);
  EXPECT_EQ(listener_.key_frame_requests, 0);  // audio needs no key frame
  // The publisher's own numbering jumped (it kept sending while we dropped).
  Audio(2000, 500000, kStartMs + 1040);
  Audio(2001, 500960, kStartMs + 1060);
  ASSERT_EQ(listener_.sent.size(), 5u);
  EXPECT_EQ(listener_.sent[3].seq, static_cast<uint16_t>(last.seq + 1));
  EXPECT_EQ(listener_.sent[3].ts, last.ts + (1040 - 40) * 48);
  EXPECT_EQ(listener_.sent[4].seq, static_cast<uint16_t>(last.seq + 2));
  EXPECT_EQ(listener_.sent[4].ts, listener_.sent[3].ts + 960);
}

TEST_F(ConsumerTest, StartsPausedAndRequestsKeyFrameOnResume) {
  MakeVideo(/*paused=*/true);
  Video(1, 0, true, kStartMs);
  EXPECT_TRUE(listener_.sent.empty());
  consumer_->SetPaused(false);
  EXPECT_EQ(listener_.key_frame_requests, 1);
  Video(2, 3000, true, kStartMs + 33);
  EXPECT_EQ(listener_.sent.size(), 1u);
}

TEST_F(ConsumerTest, SequenceWrapsAt65535) {
  MakeAudio();
  for (uint16_t i = 0; i < 6; ++i) {
    Audio(static_cast<uint16_t>(65533 + i), i * 960, kStartMs + i * 20);
  }
  ASSERT_EQ(listener_.sent.size(), 6u);
  std::vector<uint16_t> seqs;
  for (const auto& s : listener_.sent) seqs.push_back(s.seq);
  EXPECT_EQ(seqs, (std::vector<uint16_t>{65533, 65534, 65535, 0, 1, 2}));
}

TEST_F(ConsumerTest, SequenceWrapsWithAnOffset) {
  MakeAudio();
  Audio(65000, 0, kStartMs);
  consumer_->SetPaused(true);
  consumer_->SetPaused(false);
  // After the re-sync the output continues at 65001 while the input is elsewhere.
  for (uint16_t i = 0; i < 600; ++i)
    Audio(static_cast<uint16_t>(100 + i), 960 * (i + 1), kStartMs + 20 * (i + 1));
  ASSERT_EQ(listener_.sent.size(), 601u);
  for (size_t i = 1; i < listener_.sent.size(); ++i) {
    ASSERT_EQ(listener_.sent[i].seq, static_cast<uint16_t>(listener_.sent[i - 1].seq + 1))
        << "at " << i;
  }
  EXPECT_EQ(listener_.sent.back().seq, static_cast<uint16_t>(65000 + 600));
}

// More than half the sequence space after the sync point the stream must keep flowing: the
// "before the sync point" test compares modulo 2^16.
TEST_F(ConsumerTest, LongStreamKeepsFlowing) {
  MakeAudio();
  constexpr int kPackets = 70000;  // over 65536: wraps and passes the half-range mark twice
  for (int i = 0; i < kPackets; ++i) {
    Audio(static_cast<uint16_t>(10 + i), static_cast<uint32_t>(960 * i), kStartMs + 20 * i);
  }
  ASSERT_EQ(listener_.sent.size(), static_cast<size_t>(kPackets));
  for (size_t i = 1; i < listener_.sent.size(); ++i) {
    ASSERT_EQ(listener_.sent[i].seq, static_cast<uint16_t>(listener_.sent[i - 1].seq + 1))
        << "at " << i;
  }
}

TEST_F(ConsumerTest, LatePacketFromBeforeTheSyncPointIsDropped) {
  MakeVideo();
  Video(100, 0, true, kStartMs);
  Video(101, 3000, false, kStartMs + 33);
  consumer_->SetPaused(true);
  consumer_->SetPaused(false);
  Video(200, 300000, true, kStartMs + 3300);
  ASSERT_EQ(listener_.sent.size(), 3u);
  EXPECT_EQ(listener_.sent[2].seq, 102);
  // Packets numbered before the key frame we re-synced on arrive late: they would map onto
  // numbers the subscriber already has (or will get), so they are dropped.
  Video(150, 150000, false, kStartMs + 3301);
  Video(199, 297000, false, kStartMs + 3302);
  EXPECT_EQ(listener_.sent.size(), 3u);
  Video(201, 303000, false, kStartMs + 3333);
  ASSERT_EQ(listener_.sent.size(), 4u);
  EXPECT_EQ(listener_.sent[3].seq, 103);
}

TEST_F(ConsumerTest, ReorderedPacketAfterTheSyncPointIsForwarded) {
  MakeAudio();
  Audio(10, 0, kStartMs);
  Audio(12, 1920, kStartMs + 40);
  Audio(11, 960, kStartMs + 41);
  ASSERT_EQ(listener_.sent.size(), 3u);
  EXPECT_EQ(listener_.sent[2].seq, 11);
  EXPECT_EQ(listener_.sent[2].ts, 960u);
}

TEST_F(ConsumerTest, SenderReportMapsTheProducersReport) {
  MakeAudio();
  EXPECT_FALSE(consumer_->MakeSenderReport(*producer_).has_value());
  Audio(1, 1000, kStartMs);
  EXPECT_FALSE(consumer_->MakeSenderReport(*producer_).has_value()) << "no publisher SR yet";
  // Re-sync so that the consumer's timestamps differ from the producer's.
  consumer_->SetPaused(true);
  consumer_->SetPaused(false);
  Audio(2, 500000, kStartMs + 100);
  ASSERT_EQ(listener_.sent.size(), 2u);
  const uint32_t offset = listener_.sent[1].ts - 500000u;
  EXPECT_NE(offset, 0u);

  producer_->ReceiveSenderReport(0, 0xE0000001, 0x80000000, 499040, kStartMs + 110);
  auto sr = consumer_->MakeSenderReport(*producer_);
  ASSERT_TRUE(sr.has_value());
  EXPECT_EQ(sr->ntp_sec, 0xE0000001u);
  EXPECT_EQ(sr->ntp_frac, 0x80000000u);
  EXPECT_EQ(sr->rtp_timestamp, 499040u + offset);
  EXPECT_EQ(sr->packet_count, 2u);
  EXPECT_EQ(sr->octet_count, 2 * OpusPayload().size());
}

// The source's timestamps wrap while the consumer is paused and the subscriber's wrap at the
// resume: one continuous stream, and the publisher's SR maps into the subscriber's timestamps.
TEST_F(ConsumerTest, TimestampsWrapAcrossAPause) {
  MakeAudio();
  // Five packets, the last 500 ticks before 2^32.
  const uint32_t base = 0xFFFFFFFFu - 4 * 960 - 500 + 1;
  auto source_ts = [&](int i) { return base + 960u * static_cast<uint32_t>(i); };
  for (int i = 0; i < 5; ++i)
    Audio(static_cast<uint16_t>(65534 + i), source_ts(i), kStartMs + 20 * i);
  ASSERT_EQ(listener_.sent.size(), 5u);
  const SentPacket last = listener_.sent.back();
  ASSERT_EQ(last.ts, 0xFFFFFFFFu - 500 + 1);
  EXPECT_EQ(last.seq, 2) << "the sequence number wrapped on the way";

  consumer_->SetPaused(true);
  for (int i = 5; i < 50; ++i)
    Audio(static_cast<uint16_t>(65534 + i), source_ts(i), kStartMs + 20 * i);
  EXPECT_EQ(listener_.sent.size(), 5u);
  EXPECT_LT(source_ts(49), source_ts(4)) << "the source wrapped during the pause";

  consumer_->SetPaused(false);
  Audio(static_cast<uint16_t>(65534 + 50), source_ts(50), kStartMs + 1000);
  Audio(static_cast<uint16_t>(65534 + 51), source_ts(51), kStartMs + 1020);
  ASSERT_EQ(listener_.sent.size(), 7u);
  // 920 ms since the last packet sent: 44160 ticks at 48 kHz, past 2^32.
  EXPECT_EQ(listener_.sent[5].seq, 3);
  EXPECT_EQ(listener_.sent[5].ts, last.ts + 920u * 48);
  EXPECT_EQ(listener_.sent[5].ts, 44160u - 500);
  EXPECT_EQ(listener_.sent[6].seq, 4);
  EXPECT_EQ(listener_.sent[6].ts, listener_.sent[5].ts + 960);

  // The publisher's SR for the instant of the last packet names the subscriber's timestamp
  // of that packet.
  producer_->ReceiveSenderReport(0, 0xE0000001, 0, source_ts(51), kStartMs + 1020);
  auto sr = consumer_->MakeSenderReport(*producer_);
  ASSERT_TRUE(sr.has_value());
  EXPECT_EQ(sr->rtp_timestamp, listener_.sent[6].ts);
}

TEST_F(ConsumerTest, SubscriberFeedback) {
  MakeVideo();
  consumer_->ReceivePli(consumer_->ssrc());
  consumer_->ReceiveFir(consumer_->ssrc());
  EXPECT_EQ(listener_.key_frame_requests, 2);
  consumer_->SetPaused(true);
  consumer_->ReceivePli(consumer_->ssrc());  // a paused consumer does not bother the publisher
  EXPECT_EQ(listener_.key_frame_requests, 2);
  consumer_->ReceiveNack(consumer_->ssrc(), {}, kStartMs);
  consumer_->ReceiveReportBlock(12, 34, 56);
  const auto& stats = consumer_->stats();
  EXPECT_EQ(stats.pli_received, 2u);
  EXPECT_EQ(stats.fir_received, 1u);
  EXPECT_EQ(stats.nack_received, 1u);
  EXPECT_EQ(stats.fraction_lost, 12);
  EXPECT_EQ(stats.packets_lost, 34);
  EXPECT_EQ(stats.jitter, 56u);
  EXPECT_EQ(stats.ssrc, kConsumerSsrc);
}

TEST_F(ConsumerTest, RequestKeyFrameResyncsVideo) {
  MakeVideo();
  Video(1, 0, true, kStartMs);
  consumer_->RequestKeyFrame();
  EXPECT_EQ(listener_.key_frame_requests, 1);
  Video(2, 3000, false, kStartMs + 33);  // waits for the key frame asked for
  EXPECT_EQ(listener_.sent.size(), 1u);
  Video(3, 6000, true, kStartMs + 66);
  ASSERT_EQ(listener_.sent.size(), 2u);
  EXPECT_EQ(listener_.sent[1].seq, static_cast<uint16_t>(listener_.sent[0].seq + 1));
}

}  // namespace
}  // namespace sb::router
