// Consumer of a simulcast producer: which encoding it forwards, switching only at a key frame
// of the new one, and one continuous stream (sequence numbers, timestamps, VP8 picture id and
// TL0PICIDX) across the switch; where subscriber PLIs go. AV1's frame numbers:
// av1_simulcast_consumer_test.cc.
#include <gtest/gtest.h>

#include <array>
#include <memory>
#include <optional>
#include <vector>

#include "router/consumer.h"
#include "router/producer.h"
#include "rtp/codecs/vp8.h"
#include "rtp/header_extensions.h"
#include "rtp/seq_num.h"
#include "tests/router/recording_listener.h"
#include "tests/router/rtp_test_packets.h"

namespace sb::router {
namespace {

using testing::RecordingListener;
using testing::SentPacket;
using testing::SimulcastVp8ProducerParams;
using testing::TestPacket;
using testing::Vp8Frame;

constexpr int64_t kStartMs = 1'000'000;
constexpr int64_t kFrameMs = 33;
constexpr uint32_t kTicksPerFrame = kFrameMs * 90;  // 90 kHz video clock
constexpr uint32_t kConsumerSsrc = 0xC0FFEE01;
constexpr size_t kQ = 0, kH = 1, kF = 2;

// One simulcast encoding as a browser sends it: its own ssrc, sequence numbers, timestamps,
// picture ids and TL0PICIDX (every frame on temporal layer 0), one packet per frame.
struct Layer {
  uint32_t ssrc;
  uint16_t seq;
  uint32_t ts;
  uint16_t picture_id;
  uint8_t tl0;
  bool sending = true;
  int key_frame_in = -1;  // frames until the key frame a request asked for; -1: none due
};

struct Vp8Fields {
  uint16_t picture_id;
  uint8_t tl0;
  bool key;
};

Vp8Fields FieldsOf(const SentPacket& s) {
  auto d = rtp::Vp8Descriptor::Parse(s.payload);
  EXPECT_TRUE(d.has_value());
  if (!d) return {};
  return {d->picture_id, d->tl0_pic_idx, rtp::Vp8IsKeyFrame(s.payload)};
}

// Which encoding a forwarded packet came from: the tests append its index to every payload.
size_t LayerOf(const SentPacket& s) { return s.payload.back(); }

class SimulcastConsumerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto producer =
        Producer::Create("pv", rtp::MediaKind::kVideo, SimulcastVp8ProducerParams("v-pub"), false);
    ASSERT_TRUE(producer.ok()) << producer.status();
    producer_ = *std::move(producer);
    // Unrelated numbering per encoding, as browsers do; f's picture id is about to wrap.
    layers_ = {Layer{0x1000, 100, 10'000, 7000, 50}, Layer{0x2000, 20000, 500'000, 300, 200},
               Layer{0x3000, 65530, 9'000'000, 32760, 250}};
  }

  void MakeConsumer() {
    auto params = rtp::ConsumerParameters(producer_->kind(), producer_->rtp_parameters(),
                                          rtp::RouterCapabilities(), kConsumerSsrc, 0);
    ASSERT_TRUE(params.ok()) << params.status();
    params->mid = "v-sub";
    consumer_ = std::make_unique<Consumer>("c", *producer_, *std::move(params), false, &listener_);
  }

  // One frame of every sending encoding at now_ (through the producer's accounting and the
  // consumer, as the router does), then the clock advances. Key-frame requests are answered
  // `answer_after_frames_` frames later, as the publisher's encoder would.
  void Frame() {
    for (size_t i = 0; i < layers_.size(); ++i) {
      Layer& l = layers_[i];
      if (!l.sending) continue;
      const bool key = l.key_frame_in == 0;
      std::vector<uint8_t> payload = Vp8Frame(key, l.picture_id, l.tl0);
      payload.push_back(static_cast<uint8_t>(i));
      TestPacket p(96, l.seq, l.ts, l.ssrc, payload);
      ASSERT_TRUE(p.ok());
      if (producer_->ReceiveRtpPacket(p.get(), i, now_) && consumer_) {
        consumer_->SendRtpPacket(p.get(), i, testing::Vp8Layers(p.get()), now_);
      }
      if (l.key_frame_in >= 0) --l.key_frame_in;
      ++l.seq;
      l.ts += kTicksPerFrame;
      l.picture_id = (l.picture_id + 1) & 0x7FFF;
      ++l.tl0;
    }
    for (; answered_ < listener_.key_frame_encodings.size(); ++answered_) {
      Layer& l = layers_[listener_.key_frame_encodings[answered_]];
      if (l.key_frame_in < 0) l.key_frame_in = answer_after_frames_ - 1;
    }
    now_ += kFrameMs;
  }
  void Frames(int n) {
    for (int i = 0; i < n; ++i) Frame();
  }
  // Runs frames until the consumer asks for a key frame of `encoding`; false after `max`.
  bool FramesUntilRequestFor(size_t encoding, int max) {
    const size_t seen = listener_.key_frame_encodings.size();
    for (int i = 0; i < max; ++i) {
      Frame();
      for (size_t j = seen; j < listener_.key_frame_encodings.size(); ++j) {
        if (listener_.key_frame_encodings[j] == encoding) return true;
      }
    }
    return false;
  }

  // The subscriber's stream continues across sent[i-1] -> sent[i] as one stream: next
  // sequence number, next picture and TL0PICIDX, timestamp advanced by the wall-clock gap.
  void ExpectContinuous(size_t i, int64_t gap_ms) {
    const SentPacket& before = listener_.sent[i - 1];
    const SentPacket& after = listener_.sent[i];
    EXPECT_EQ(after.ssrc, kConsumerSsrc);
    EXPECT_EQ(after.seq, static_cast<uint16_t>(before.seq + 1)) << "at " << i;
    EXPECT_EQ(after.ts, before.ts + static_cast<uint32_t>(gap_ms * 90)) << "at " << i;
    EXPECT_EQ(FieldsOf(after).picture_id, (FieldsOf(before).picture_id + 1) & 0x7FFF) << "at " << i;
    EXPECT_EQ(FieldsOf(after).tl0, static_cast<uint8_t>(FieldsOf(before).tl0 + 1)) << "at " << i;
  }

  // Warms the producer up (all encodings seen), then starts a consumer and runs until it
  // forwards `encoding`.
  void StartOn(size_t encoding) {
    Frames(3);
    MakeConsumer();
    Frames(10);
    ASSERT_FALSE(listener_.sent.empty());
    ASSERT_EQ(LayerOf(listener_.sent.back()), encoding);
    ASSERT_EQ(consumer_->current_encoding(), encoding);
  }

  RecordingListener listener_;
  std::unique_ptr<Producer> producer_;
  std::unique_ptr<Consumer> consumer_;
  std::array<Layer, 3> layers_{};
  int64_t now_ = kStartMs;
  int answer_after_frames_ = 1;
  size_t answered_ = 0;
};

TEST_F(SimulcastConsumerTest, StartsOnTheHighestLiveEncodingAtItsKeyFrame) {
  Frames(3);
  MakeConsumer();
  EXPECT_EQ(consumer_->current_encoding(), Consumer::kNoEncoding);
  Frames(8);
  // One request, for f; nothing before f's key frame; then only f.
  EXPECT_EQ(listener_.key_frame_encodings, std::vector<size_t>{kF});
  ASSERT_GE(listener_.sent.size(), 5u);
  EXPECT_TRUE(FieldsOf(listener_.sent.front()).key);
  for (size_t i = 0; i < listener_.sent.size(); ++i) {
    EXPECT_EQ(LayerOf(listener_.sent[i]), kF) << "at " << i;
    if (i > 0) ExpectContinuous(i, kFrameMs);  // f's own numbers wrap on the way
  }
  EXPECT_EQ(consumer_->current_encoding(), kF);
  EXPECT_EQ(consumer_->target_encoding(), kF);
  EXPECT_EQ(consumer_->stats().layer_switches, 0u);
}

TEST_F(SimulcastConsumerTest, TopEncodingStopsAndTheNextOneTakesOverAtItsKeyFrame) {
  StartOn(kF);
  const size_t before = listener_.sent.size();
  const int64_t last_sent_ms = now_ - kFrameMs;
  layers_[kF].sending = false;
  // Within the activity window f still counts as live: nothing is forwarded, nothing asked.
  const int64_t window_frames = Consumer::kEncodingActiveWindowMs / kFrameMs;
  Frames(static_cast<int>(window_frames) - 1);
  EXPECT_EQ(listener_.sent.size(), before);
  EXPECT_EQ(consumer_->target_encoding(), kF);
  // Then h becomes the target: a key frame of h is asked for, and h starts at that key frame.
  ASSERT_TRUE(FramesUntilRequestFor(kH, 5));
  EXPECT_EQ(consumer_->target_encoding(), kH);
  EXPECT_EQ(consumer_->current_encoding(), kF);
  EXPECT_EQ(listener_.sent.size(), before) << "h's delta frames are not forwarded";
  const int64_t switch_ms = now_;
  Frames(4);
  ASSERT_EQ(listener_.sent.size(), before + 4);
  EXPECT_EQ(consumer_->current_encoding(), kH);
  EXPECT_EQ(consumer_->stats().layer_switches, 1u);
  const SentPacket& first = listener_.sent[before];
  EXPECT_EQ(LayerOf(first), kH);
  EXPECT_TRUE(FieldsOf(first).key);
  ExpectContinuous(before, switch_ms - last_sent_ms);
  for (size_t i = before + 1; i < listener_.sent.size(); ++i) {
    EXPECT_EQ(LayerOf(listener_.sent[i]), kH);
    ExpectContinuous(i, kFrameMs);
  }
}

TEST_F(SimulcastConsumerTest, KeepsForwardingTheCurrentEncodingUntilTheTargetsKeyFrame) {
  layers_[kF].sending = false;
  StartOn(kH);
  // f starts (with delta frames) and its key frame comes 5 frames after it is asked for.
  answer_after_frames_ = 5;
  layers_[kF].sending = true;
  const size_t before = listener_.sent.size();
  Frame();
  EXPECT_EQ(listener_.key_frame_encodings.back(), kF);
  EXPECT_EQ(consumer_->target_encoding(), kF);
  Frames(3);
  // Meanwhile h keeps flowing, one continuous stream.
  ASSERT_EQ(listener_.sent.size(), before + 4);
  for (size_t i = before; i < listener_.sent.size(); ++i) {
    EXPECT_EQ(LayerOf(listener_.sent[i]), kH);
    ExpectContinuous(i, kFrameMs);
  }
  Frames(3);
  EXPECT_EQ(consumer_->current_encoding(), kF);
  // The frame that carries f's key frame also carries one of h, which came first in that
  // frame; from f's key frame on only f.
  size_t first_f = 0;
  for (size_t i = before; i < listener_.sent.size(); ++i) {
    if (LayerOf(listener_.sent[i]) == kF) {
      first_f = i;
      break;
    }
  }
  ASSERT_GT(first_f, 0u);
  EXPECT_TRUE(FieldsOf(listener_.sent[first_f]).key);
  // Same frame time as the h packet before it: the timestamp advances by the minimum tick.
  EXPECT_EQ(listener_.sent[first_f].seq,
            static_cast<uint16_t>(listener_.sent[first_f - 1].seq + 1));
  EXPECT_EQ(listener_.sent[first_f].ts, listener_.sent[first_f - 1].ts + 1);
  EXPECT_EQ(FieldsOf(listener_.sent[first_f]).picture_id,
            (FieldsOf(listener_.sent[first_f - 1]).picture_id + 1) & 0x7FFF);
  for (size_t i = first_f + 1; i < listener_.sent.size(); ++i) {
    EXPECT_EQ(LayerOf(listener_.sent[i]), kF);
    EXPECT_EQ(listener_.sent[i].seq, static_cast<uint16_t>(listener_.sent[i - 1].seq + 1));
  }
}

TEST_F(SimulcastConsumerTest, SubscriberPliGoesToTheForwardedOrPendingEncoding) {
  StartOn(kF);
  consumer_->ReceivePli(consumer_->ssrc());
  EXPECT_EQ(listener_.key_frame_encodings.back(), kF);
  consumer_->ReceiveFir(consumer_->ssrc());
  EXPECT_EQ(listener_.key_frame_encodings.back(), kF);
  // f stops; the switch to h waits for a key frame that is slow to come.
  answer_after_frames_ = 100;
  layers_[kF].sending = false;
  ASSERT_TRUE(FramesUntilRequestFor(kH, 40));
  consumer_->ReceivePli(consumer_->ssrc());
  EXPECT_EQ(listener_.key_frame_encodings.back(), kH) << "the pending target";
  EXPECT_EQ(consumer_->stats().pli_received, 2u);
}

TEST_F(SimulcastConsumerTest, ResumedConsumerStartsOnWhatIsLiveThen) {
  StartOn(kF);
  const SentPacket last = listener_.sent.back();
  consumer_->SetPaused(true);
  layers_[kF].sending = false;
  Frames(40);  // more than the activity window
  const size_t before = listener_.sent.size();
  consumer_->SetPaused(false);
  Frames(3);
  // The stale target (f) is asked first, then h as soon as a packet shows f is gone.
  EXPECT_EQ(listener_.key_frame_encodings.back(), kH);
  ASSERT_GT(listener_.sent.size(), before);
  EXPECT_EQ(LayerOf(listener_.sent[before]), kH);
  EXPECT_TRUE(FieldsOf(listener_.sent[before]).key);
  EXPECT_EQ(listener_.sent[before].seq, static_cast<uint16_t>(last.seq + 1));
  EXPECT_EQ(FieldsOf(listener_.sent[before]).picture_id, (FieldsOf(last).picture_id + 1) & 0x7FFF);
}

TEST_F(SimulcastConsumerTest, PreferenceAndAllocationAreCeilings) {
  StartOn(kF);
  // A small tile: the subscriber prefers q; the switch happens at q's key frame, continuous.
  consumer_->SetPreferredLayer(kQ);
  size_t before = listener_.sent.size();
  Frames(5);
  EXPECT_EQ(listener_.key_frame_encodings.back(), kQ);
  EXPECT_EQ(consumer_->current_encoding(), kQ);
  EXPECT_EQ(LayerOf(listener_.sent.back()), kQ);
  for (size_t i = before; i < listener_.sent.size(); ++i) {
    EXPECT_EQ(listener_.sent[i].seq, static_cast<uint16_t>(listener_.sent[i - 1].seq + 1));
  }
  // Larger again, but the allocator allows only h: the smaller of the two wins.
  consumer_->SetAllocatedLayer(kH);
  consumer_->SetPreferredLayer(kF);
  Frames(5);
  EXPECT_EQ(consumer_->current_encoding(), kH);
  EXPECT_EQ(consumer_->allocated_layer(), kH);
  consumer_->SetAllocatedLayer(kF);
  Frames(5);
  EXPECT_EQ(consumer_->current_encoding(), kF);
  EXPECT_EQ(consumer_->stats().layer_switches, 3u);
  // A ceiling past the top is the top.
  consumer_->SetPreferredLayer(7);
  EXPECT_EQ(consumer_->preferred_layer(), kF);
}

TEST_F(SimulcastConsumerTest, PausedForBandwidthResumesAtAKeyFrameWhereItLeftOff) {
  StartOn(kF);
  const SentPacket last = listener_.sent.back();
  consumer_->SetAllocatedLayer(Consumer::kNoEncoding);
  EXPECT_TRUE(consumer_->bandwidth_paused());
  EXPECT_FALSE(consumer_->active());
  const size_t before = listener_.sent.size();
  Frames(20);
  EXPECT_EQ(listener_.sent.size(), before) << "nothing while it does not fit";
  // It fits again at q: a key frame of q is asked for, and the stream continues from there.
  consumer_->SetAllocatedLayer(kQ);
  EXPECT_FALSE(consumer_->bandwidth_paused());
  Frames(5);
  ASSERT_GT(listener_.sent.size(), before);
  EXPECT_EQ(LayerOf(listener_.sent[before]), kQ);
  EXPECT_TRUE(FieldsOf(listener_.sent[before]).key);
  EXPECT_EQ(listener_.sent[before].seq, static_cast<uint16_t>(last.seq + 1));
  EXPECT_EQ(FieldsOf(listener_.sent[before]).picture_id, (FieldsOf(last).picture_id + 1) & 0x7FFF);
}

TEST_F(SimulcastConsumerTest, NothingLiveForwardsNothing) {
  StartOn(kF);
  const size_t before = listener_.sent.size();
  const size_t requests = listener_.key_frame_encodings.size();
  for (auto& l : layers_) l.sending = false;
  Frames(60);
  EXPECT_EQ(listener_.sent.size(), before);
  EXPECT_EQ(listener_.key_frame_encodings.size(), requests);
  // A packet of q alone then makes q the target.
  layers_[kQ].sending = true;
  Frames(3);
  EXPECT_EQ(consumer_->current_encoding(), kQ);
  EXPECT_EQ(LayerOf(listener_.sent.back()), kQ);
}

TEST_F(SimulcastConsumerTest, SenderReportFollowsTheForwardedEncoding) {
  StartOn(kF);
  producer_->ReceiveSenderReport(kH, 0xE0000001, 0, 111, now_);
  EXPECT_FALSE(consumer_->MakeSenderReport(*producer_).has_value()) << "f sent no SR yet";
  producer_->ReceiveSenderReport(kF, 0xE0000002, 0, layers_[kF].ts, now_);
  auto sr = consumer_->MakeSenderReport(*producer_);
  ASSERT_TRUE(sr.has_value());
  EXPECT_EQ(sr->ntp_sec, 0xE0000002u);
  // f's timestamp for "now" maps to where the subscriber's stream is.
  EXPECT_EQ(sr->rtp_timestamp, listener_.sent.back().ts + kTicksPerFrame);
}

// A NACK after a switch: packets from before it come from the old encoding's history and
// after it from the new one's, each exactly as first sent (numbers, picture id, TL0PICIDX).
TEST_F(SimulcastConsumerTest, RetransmitsExactlyAcrossALayerSwitch) {
  StartOn(kF);
  const size_t before = listener_.sent.size();
  layers_[kF].sending = false;
  ASSERT_TRUE(FramesUntilRequestFor(kH, 40));
  Frames(4);
  ASSERT_EQ(listener_.sent.size(), before + 4);
  ASSERT_EQ(LayerOf(listener_.sent[before]), kH);
  const std::vector<SentPacket> sent = listener_.sent;
  for (size_t i = before - 3; i < sent.size(); ++i) {
    consumer_->ReceiveNack(consumer_->ssrc(), std::vector<uint16_t>{sent[i].seq}, now_);
    ASSERT_EQ(listener_.sent.size(), sent.size() + (i - (before - 3)) + 1) << "at " << i;
    const SentPacket& again = listener_.sent.back();
    EXPECT_EQ(again.ssrc, sent[i].ssrc);
    EXPECT_EQ(again.seq, sent[i].seq);
    EXPECT_EQ(again.ts, sent[i].ts);
    EXPECT_EQ(again.payload, sent[i].payload) << "at " << i;
    EXPECT_EQ(FieldsOf(again).picture_id, FieldsOf(sent[i]).picture_id);
    EXPECT_EQ(LayerOf(again), LayerOf(sent[i]));
  }
  // The next number has not been sent: nothing.
  const size_t total = listener_.sent.size();
  consumer_->ReceiveNack(consumer_->ssrc(),
                         std::vector<uint16_t>{static_cast<uint16_t>(sent.back().seq + 1)}, now_);
  EXPECT_EQ(listener_.sent.size(), total);
}

// The subscriber's timestamps cross 2^32 at a layer switch (f down to h) and a source's own
// timestamps cross it before the switch back up (h to f): one continuous stream throughout,
// the SR maps into the subscriber's wrapped timestamps, and retransmissions on either side of
// the wrap repeat exactly what was sent.
TEST_F(SimulcastConsumerTest, TimestampsWrapAcrossLayerSwitches) {
  // StartOn forwards f up to its 13th frame: make that one end 100 ticks before 2^32.
  layers_[kF].ts = 0u - 12 * kTicksPerFrame - 100;
  StartOn(kF);
  ASSERT_EQ(listener_.sent.back().ts, 0xFFFFFFFFu - 99);
  const size_t before = listener_.sent.size();
  const int64_t last_sent_ms = now_ - kFrameMs;
  layers_[kF].sending = false;
  ASSERT_TRUE(FramesUntilRequestFor(kH, 40));
  const int64_t switch_ms = now_;
  Frames(4);
  ASSERT_EQ(listener_.sent.size(), before + 4);
  ASSERT_EQ(LayerOf(listener_.sent[before]), kH);
  ExpectContinuous(before, switch_ms - last_sent_ms);
  EXPECT_LT(listener_.sent[before].ts, listener_.sent[before - 1].ts) << "wrapped at the switch";
  for (size_t i = before + 1; i < listener_.sent.size(); ++i) ExpectContinuous(i, kFrameMs);

  // h's timestamp for "now" maps to where the subscriber's stream is, past the wrap.
  producer_->ReceiveSenderReport(kH, 0xE0000003, 0, layers_[kH].ts, now_);
  auto sr = consumer_->MakeSenderReport(*producer_);
  ASSERT_TRUE(sr.has_value());
  EXPECT_EQ(sr->rtp_timestamp, listener_.sent.back().ts + kTicksPerFrame);

  // NACKs for packets before and after the wrap: each sent again exactly as first sent.
  const std::vector<SentPacket> sent = listener_.sent;
  for (size_t i = before - 3; i < sent.size(); ++i) {
    consumer_->ReceiveNack(consumer_->ssrc(), std::vector<uint16_t>{sent[i].seq}, now_);
    ASSERT_EQ(listener_.sent.size(), sent.size() + (i - (before - 3)) + 1) << "at " << i;
    EXPECT_EQ(listener_.sent.back().seq, sent[i].seq);
    EXPECT_EQ(listener_.sent.back().ts, sent[i].ts) << "at " << i;
    EXPECT_EQ(listener_.sent.back().payload, sent[i].payload) << "at " << i;
  }
  // Forget the retransmissions: the checks below follow the stream as first sent.
  listener_.sent = sent;

  // f comes back, its clock having run on (past its own wrap) meanwhile: the consumer goes up
  // at f's key frame, one tick after the h packet of the same frame time.
  layers_[kF].ts += static_cast<uint32_t>((now_ - last_sent_ms) * 90);
  ASSERT_LT(layers_[kF].ts, 0x10000000u) << "f's own timestamps wrapped";
  layers_[kF].sending = true;
  const size_t up = listener_.sent.size();
  Frames(4);
  ASSERT_EQ(consumer_->current_encoding(), kF);
  size_t first_f = 0;
  for (size_t i = up; i < listener_.sent.size(); ++i) {
    if (LayerOf(listener_.sent[i]) == kF) {
      first_f = i;
      break;
    }
  }
  ASSERT_GT(first_f, 0u);
  EXPECT_EQ(listener_.sent[first_f].seq,
            static_cast<uint16_t>(listener_.sent[first_f - 1].seq + 1));
  EXPECT_EQ(listener_.sent[first_f].ts, listener_.sent[first_f - 1].ts + 1);
  for (size_t i = up; i < listener_.sent.size(); ++i) {
    if (i != first_f) ExpectContinuous(i, kFrameMs);
  }
}

}  // namespace
}  // namespace sb::router
