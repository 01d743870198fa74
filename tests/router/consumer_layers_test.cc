// A consumer forwarding part of an encoding's layers: VP8 temporal layers (one encoding, as a
// browser sends L1T3) and VP9 spatial SVC layers. The subscriber must see one gap-free stream
// (sequence numbers, VP8 picture ids), whole frames, the marker where its picture ends, and
// its NACKs answered with the packets it was sent.
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "router/consumer.h"
#include "router/producer.h"
#include "rtp/codecs/vp8.h"
#include "tests/router/recording_listener.h"
#include "tests/router/rtp_test_packets.h"

namespace sb::router {
namespace {

using testing::RecordingListener;
using testing::SentPacket;
using testing::TestPacket;

constexpr uint32_t kSsrc = 0x11112222;
constexpr uint32_t kConsumerSsrc = 0xC0FFEE01;
constexpr uint32_t kConsumerRtxSsrc = 0xC0FFEE02;
constexpr int64_t kStartMs = 1'000'000;
constexpr uint32_t kTicks = 3000;  // 30 fps at 90 kHz

// VP8 with I, L, T: 15-bit picture id, TL0PICIDX, TID and Y; the last byte names the source
// sequence number's low byte so a test can tell which packet was sent.
std::vector<uint8_t> Vp8(bool key, uint16_t picture_id, uint8_t tl0, uint8_t tid, bool sync,
                         uint16_t seq) {
  return {0x90,
          0xE0,
          static_cast<uint8_t>(0x80 | (picture_id >> 8)),
          static_cast<uint8_t>(picture_id),
          tl0,
          static_cast<uint8_t>((tid << 6) | (sync ? 0x20 : 0)),
          static_cast<uint8_t>(key ? 0 : 1),
          0x9d,
          static_cast<uint8_t>(seq)};
}

rtp::RtpParameters Vp9Params() {
  rtp::RtpParameters p = testing::Vp8ProducerParams(kSsrc, 0, "1");
  p.codecs[0].mime_type = "video/VP9";
  p.codecs[0].parameters = {{"profile-id", "0"}};
  return p;
}

// VP9 non-flexible mode: I (15-bit picture id), P, L, B = E = 1 (one packet per layer frame);
// TID, U, SID; TL0PICIDX.
std::vector<uint8_t> Vp9(bool inter, uint16_t picture_id, uint8_t tid, uint8_t sid, uint16_t seq) {
  return {static_cast<uint8_t>(0xA0 | (inter ? 0x40 : 0) | 0x0C),
          static_cast<uint8_t>(0x80 | (picture_id >> 8)),
          static_cast<uint8_t>(picture_id),
          static_cast<uint8_t>((tid << 5) | (tid == 0 ? 0x10 : 0) | (sid << 1)),
          0x01,
          static_cast<uint8_t>(seq)};
}

class ConsumerLayersTest : public ::testing::Test {
 protected:
  void Make(rtp::RtpParameters params) {
    auto producer = Producer::Create("p", rtp::MediaKind::kVideo, std::move(params), false);
    ASSERT_TRUE(producer.ok()) << producer.status();
    producer_ = *std::move(producer);
    auto consumer_params =
        rtp::ConsumerParameters(producer_->kind(), producer_->rtp_parameters(),
                                rtp::RouterCapabilities(), kConsumerSsrc, kConsumerRtxSsrc);
    ASSERT_TRUE(consumer_params.ok()) << consumer_params.status();
    consumer_ =
        std::make_unique<Consumer>("c", *producer_, *std::move(consumer_params), false, &listener_);
  }
  void Send(const std::vector<uint8_t>& payload, uint16_t seq, uint32_t ts, bool marker = false) {
    TestPacket p(96, seq, ts, kSsrc, payload, {}, marker);
    ASSERT_TRUE(p.ok());
    rtp::VideoLayers layers;
    if (producer_->ReceiveRtpPacket(p.get(), 0, now_, &layers)) {
      consumer_->SendRtpPacket(p.get(), 0, layers, now_);
    }
  }
  // One L1T3 group of four frames (T0 T2 T1 T2), two packets each; `first` is whether the
  // group starts with a key frame.
  void Vp8Group(bool first) {
    static constexpr uint8_t kPattern[] = {0, 2, 1, 2};
    for (uint8_t tid : kPattern) {
      const bool key = first && tid == 0;
      if (tid == 0) ++tl0_;
      for (int part = 0; part < 2; ++part) {
        std::vector<uint8_t> payload = Vp8(key, picture_id_, tl0_, tid, tid == 1, seq_);
        if (part == 1) payload[0] &= ~0x10;  // not the frame's start
        Send(payload, seq_++, ts_, part == 1);
      }
      ++picture_id_;
      ts_ += kTicks;
      now_ += 33;
    }
  }

  RecordingListener listener_;
  std::unique_ptr<Producer> producer_;
  std::unique_ptr<Consumer> consumer_;
  int64_t now_ = kStartMs;
  uint16_t seq_ = 1000;
  uint32_t ts_ = 90000;
  uint16_t picture_id_ = 300;
  uint8_t tl0_ = 0;
};

void ExpectGapFree(const std::vector<SentPacket>& sent, size_t from) {
  for (size_t i = from + 1; i < sent.size(); ++i) {
    EXPECT_EQ(sent[i].seq, static_cast<uint16_t>(sent[i - 1].seq + 1)) << i;
    auto prev = rtp::Vp8Descriptor::Parse(sent[i - 1].payload);
    auto cur = rtp::Vp8Descriptor::Parse(sent[i].payload);
    ASSERT_TRUE(prev && cur);
    const int step = (cur->picture_id - prev->picture_id) & 0x7FFF;
    EXPECT_TRUE(step == 0 || step == 1)
        << "picture id " << prev->picture_id << " then " << cur->picture_id << " at " << i;
  }
}

TEST_F(ConsumerLayersTest, Vp8TemporalLayersDroppedWithoutGapsAndRestored) {
  Make(testing::Vp8ProducerParams(kSsrc, 0, "1"));
  Vp8Group(true);
  ASSERT_EQ(listener_.sent.size(), 8u) << "all layers until the allocator says otherwise";
  for (int i = 0; i < 2; ++i) Vp8Group(false);
  EXPECT_TRUE(producer_->layer_live(0, 2, now_, 1000));
  EXPECT_GT(producer_->layer_bitrate_bps(0, 2, now_), producer_->layer_bitrate_bps(0, 1, now_));
  EXPECT_GT(producer_->layer_bitrate_bps(0, 1, now_), producer_->layer_bitrate_bps(0, 0, now_));

  // The base layer only: 7.5 fps of the 30.
  consumer_->SetAllocatedLayer(0, 0);
  const size_t before = listener_.sent.size();
  for (int i = 0; i < 4; ++i) Vp8Group(false);
  EXPECT_EQ(listener_.sent.size() - before, 8u) << "two packets of each T0 frame";
  EXPECT_EQ(consumer_->current_temporal_layer(), 0);
  ExpectGapFree(listener_.sent, 0);
  for (size_t i = before; i < listener_.sent.size(); ++i) {
    EXPECT_EQ(rtp::Vp8Descriptor::Parse(listener_.sent[i].payload)->tid, 0);
  }

  // A NACK for a packet sent after the drops is answered with that very packet.
  const SentPacket wanted = listener_.sent[listener_.sent.size() - 3];
  consumer_->ReceiveNack(consumer_->ssrc(), std::vector<uint16_t>{wanted.seq}, now_);
  ASSERT_EQ(listener_.sent.back().ssrc, kConsumerRtxSsrc);
  const std::vector<uint8_t>& rtx = listener_.sent.back().payload;
  ASSERT_GE(rtx.size(), 2u);
  EXPECT_EQ(rtx[0] << 8 | rtx[1], wanted.seq) << "RFC 4588: the original sequence number";
  EXPECT_EQ(std::vector<uint8_t>(rtx.begin() + 2, rtx.end()), wanted.payload);
  listener_.sent.pop_back();

  // Back to all three, from the next base-layer frame on (the frames after it refer to it or
  // to each other).
  consumer_->SetAllocatedLayer(0, 2);
  const size_t restored = listener_.sent.size();
  for (int i = 0; i < 2; ++i) Vp8Group(false);
  EXPECT_EQ(listener_.sent.size() - restored, 16u);
  EXPECT_EQ(consumer_->current_temporal_layer(), 2);
  ExpectGapFree(listener_.sent, 0);
}

TEST_F(ConsumerLayersTest, Vp9SpatialLayersCutWithTheMarkerMoved) {
  Make(Vp9Params());
  EXPECT_TRUE(producer_->svc());
  ASSERT_EQ(producer_->spatial_layer_count(), 3u);
  uint16_t picture_id = 10;
  auto picture = [&](bool key) {
    for (uint8_t sid = 0; sid < 3; ++sid) {
      Send(Vp9(!key, picture_id, 0, sid, seq_), seq_, ts_, /*marker=*/sid == 2);
      ++seq_;
    }
    ++picture_id;
    ts_ += kTicks;
    now_ += 33;
  };
  picture(true);
  for (int i = 0; i < 3; ++i) picture(false);
  ASSERT_EQ(listener_.sent.size(), 12u);
  EXPECT_GT(producer_->layer_bitrate_bps(1, 0, now_), producer_->layer_bitrate_bps(0, 0, now_))
      << "an SVC layer costs the layers under it too";

  consumer_->SetPreferredLayer(1);
  const size_t before = listener_.sent.size();
  for (int i = 0; i < 3; ++i) picture(false);
  ASSERT_EQ(listener_.sent.size() - before, 6u) << "S0 and S1 of each picture";
  for (size_t i = before; i < listener_.sent.size(); ++i) {
    EXPECT_EQ(listener_.sent[i].seq, static_cast<uint16_t>(listener_.sent[i - 1].seq + 1));
    EXPECT_EQ(listener_.sent[i].marker, (i - before) % 2 == 1) << "S1 ends each picture";
  }
  EXPECT_EQ(consumer_->current_spatial_layer(), 1u);

  // Up again: only at a key frame, which the consumer asks for.
  const int requests = listener_.key_frame_requests;
  consumer_->SetPreferredLayer(2);
  EXPECT_GT(listener_.key_frame_requests, requests);
  const size_t waiting = listener_.sent.size();
  picture(false);
  EXPECT_EQ(listener_.sent.size() - waiting, 2u) << "S2 waits for the key frame";
  picture(true);
  EXPECT_EQ(listener_.sent.size() - waiting, 5u);
  EXPECT_TRUE(listener_.sent.back().marker);
  EXPECT_EQ(consumer_->current_spatial_layer(), 2u);
}

}  // namespace
}  // namespace sb::router
