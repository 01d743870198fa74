// AV1 simulcast through a consumer: the dependency descriptor's frame numbers continue across
// encoding switches (router/dd_frame_number_rewriter.h), gaps of dropped temporal frames stay,
// a switch waits for a key frame carrying its template structure, and relays and SVC keep the
// source's numbers.
#include <gtest/gtest.h>

#include <array>
#include <memory>
#include <vector>

#include "router/consumer.h"
#include "router/dd_frame_number_rewriter.h"
#include "router/producer.h"
#include "rtp/codecs/dependency_descriptor.h"
#include "rtp/header_extensions.h"
#include "tests/bit_writer.h"
#include "tests/router/recording_listener.h"
#include "tests/router/rtp_test_packets.h"

namespace sb::router {
namespace {

using testing::RecordingListener;
using testing::SentPacket;
using testing::TestPacket;

constexpr int64_t kStartMs = 1'000'000;
constexpr int64_t kFrameMs = 33;
constexpr uint32_t kTicksPerFrame = kFrameMs * 90;  // 90 kHz video clock
constexpr uint32_t kConsumerSsrc = 0xC0FFEE01;
constexpr size_t kQ = 0, kH = 1, kF = 2;

namespace av1 {

using Bytes = std::vector<uint8_t>;

using sb::testing::BitWriter;

// L1T3 as a browser sends each simulcast encoding. Templates: 0 the key frame (T0), 1 a T0
// delta (fdiff 4), 2 T1 (fdiff 2), 3 T2 (fdiffs 1, 3); three decode targets, one chain.
constexpr uint8_t kKeyTemplate = 0;
constexpr uint8_t kTemplateOfFrame[4] = {1, 3, 2, 3};  // by frame index modulo 4: T0 T2 T1 T2
constexpr uint8_t kTemporalOfTemplate[4] = {0, 0, 1, 2};

// A descriptor of a whole frame in one packet; `structure` attaches the template structure
// (what a key frame carries).
Bytes Descriptor(uint8_t template_id, uint16_t frame_number, bool structure) {
  BitWriter w;
  w.Bits(1, 1).Bits(1, 1).Bits(template_id, 6).Bits(frame_number, 16);
  if (!structure) return w.bytes();
  w.Bits(1, 1).Bits(0, 4);                        // structure present, nothing custom
  w.Bits(0, 6).Bits(2, 5);                        // template_id_offset, dtis_cnt_minus_one
  w.Bits(0, 2).Bits(1, 2).Bits(1, 2).Bits(3, 2);  // next_layer_idc: same, +T, +T, end
  w.Bits(0b101010, 6).Bits(0b010101, 6).Bits(0b001010, 6).Bits(0b000001, 6);  // DTIs
  w.Bits(0, 1);                                                               // fdiffs: -
  w.Bits(1, 1).Bits(3, 4).Bits(0, 1);                                         // 4
  w.Bits(1, 1).Bits(1, 4).Bits(0, 1);                                         // 2
  w.Bits(1, 1).Bits(0, 4).Bits(1, 1).Bits(2, 4).Bits(0, 1);                   // 1, 3
  w.Bits(1, 2).Bits(0, 4).Bits(4, 4).Bits(2, 4).Bits(1, 4);  // one chain and its fdiffs
  w.Bits(0, 1);                                              // no resolutions
  return w.bytes();
}

uint16_t FrameNumberOf(const Bytes& descriptor) {
  auto d = rtp::DependencyDescriptor::ParseMandatory(descriptor);
  EXPECT_TRUE(d.has_value());
  return d ? d->frame_number : 0;
}

}  // namespace av1

TEST(DdFrameNumberRewriterTest, FirstRunKeepsTheSourceNumbers) {
  DdFrameNumberRewriter rewriter;
  for (uint16_t n : {100, 101, 103, 104}) {  // 102 dropped (a temporal layer): a gap
    av1::Bytes d = av1::Descriptor(1, n, n == 100);
    ASSERT_TRUE(rewriter.Rewrite(absl::MakeSpan(d)));
    EXPECT_EQ(av1::FrameNumberOf(d), n);
  }
  EXPECT_EQ(rewriter.offset(), 0);
}

// Switches down and up between encodings with unrelated numbering: each new run starts right
// after the highest number sent and keeps its source's spacing (gaps of dropped frames too).
TEST(DdFrameNumberRewriterTest, RunsContinueAfterTheHighestNumberSent) {
  DdFrameNumberRewriter rewriter;
  auto send = [&](uint16_t source) {
    av1::Bytes d = av1::Descriptor(1, source, false);
    EXPECT_TRUE(rewriter.Rewrite(absl::MakeSpan(d)));
    return av1::FrameNumberOf(d);
  };
  EXPECT_EQ(send(5000), 5000);
  EXPECT_EQ(send(5002), 5002);
  rewriter.RequestSync();  // down to an encoding numbered far below
  EXPECT_EQ(send(17), 5003);
  EXPECT_EQ(send(18), 5004);
  EXPECT_EQ(send(21), 5007) << "the gap of two dropped frames stays";
  EXPECT_EQ(send(20), 5006) << "a late packet of the same run keeps the run's offset";
  EXPECT_EQ(send(22), 5008);
  rewriter.RequestSync();  // up again, to an encoding numbered above
  EXPECT_EQ(send(40000), 5009);
  EXPECT_EQ(send(40004), 5013);
  EXPECT_EQ(rewriter.offset(), static_cast<uint16_t>(5009 - 40000));
  // A retransmission of a packet of the first run, with its offset.
  av1::Bytes again = av1::Descriptor(1, 5002, false);
  ASSERT_TRUE(DdFrameNumberRewriter::Apply(absl::MakeSpan(again), 0));
  EXPECT_EQ(av1::FrameNumberOf(again), 5002);
}

TEST(DdFrameNumberRewriterTest, WrapsAt65535) {
  DdFrameNumberRewriter rewriter;
  auto send = [&](uint16_t source) {
    av1::Bytes d = av1::Descriptor(1, source, false);
    EXPECT_TRUE(rewriter.Rewrite(absl::MakeSpan(d)));
    return av1::FrameNumberOf(d);
  };
  EXPECT_EQ(send(65534), 65534);
  EXPECT_EQ(send(65535), 65535);
  rewriter.RequestSync();
  EXPECT_EQ(send(300), 0) << "continues across the wrap";
  EXPECT_EQ(send(301), 1);
  EXPECT_EQ(send(299), 65535) << "a late packet maps back before the wrap";
  EXPECT_EQ(send(302), 2) << "and does not become the highest";
  rewriter.RequestSync();
  // A source that wraps within its run.
  EXPECT_EQ(send(65533), 3);
  EXPECT_EQ(send(65535), 5);
  EXPECT_EQ(send(1), 7);
  rewriter.RequestSync();
  EXPECT_EQ(send(9), 8);
}

TEST(DdFrameNumberRewriterTest, TooShortChangesNothing) {
  DdFrameNumberRewriter rewriter;
  av1::Bytes shorter = {0xC0, 0x01};
  EXPECT_FALSE(rewriter.Rewrite(absl::MakeSpan(shorter)));
  EXPECT_EQ(shorter, (av1::Bytes{0xC0, 0x01}));
  EXPECT_TRUE(rewriter.sync_required());
  EXPECT_FALSE(DdFrameNumberRewriter::Apply(absl::MakeSpan(shorter), 5));
  EXPECT_FALSE(rewriter.Rewrite({}));
}

// A consumer of an AV1 producer with three simulcast encodings, each L1T3 with its own frame
// numbering in the dependency descriptor (one packet per frame).
class Av1SimulcastConsumerTest : public ::testing::Test {
 protected:
  static constexpr uint8_t kDdId = 12;

  struct Av1Layer {
    uint32_t ssrc;
    uint16_t seq;
    uint32_t ts;
    uint16_t frame_number;
    bool sending = true;
    int key_frame_in = 0;      // frames until the next key frame; -1: none due
    bool structure = true;     // key frames carry the template structure
    uint32_t frame_index = 0;  // since the last key frame: the L1T3 pattern
  };

  void SetUp() override { MakeProducer(3); }

  void MakeProducer(size_t encodings) {
    rtp::RtpParameters p = testing::SimulcastVp8ProducerParams("v-pub");
    p.codecs[0].mime_type = "video/AV1";
    p.header_extensions.push_back({rtp::kUriDependencyDescriptor, kDdId});
    if (encodings == 1) p.encodings = {{0x1000, 0, "", 0}};  // SVC: one stream
    auto producer = Producer::Create("pv", rtp::MediaKind::kVideo, std::move(p), false);
    ASSERT_TRUE(producer.ok()) << producer.status();
    producer_ = *std::move(producer);
    // Unrelated numbering per encoding; f's frame number is about to wrap.
    layers_ = {Av1Layer{0x1000, 100, 10'000, 100}, Av1Layer{0x2000, 20000, 500'000, 30000},
               Av1Layer{0x3000, 65000, 9'000'000, 65530}};
    for (size_t i = encodings; i < layers_.size(); ++i) layers_[i].sending = false;
  }

  void MakeConsumer(Consumer::Mode mode = Consumer::Mode::kSubscriber) {
    const bool relay = mode == Consumer::Mode::kRelay;
    auto params = rtp::ConsumerParameters(producer_->kind(), producer_->rtp_parameters(),
                                          rtp::RouterCapabilities(), kConsumerSsrc,
                                          relay ? 0 : kConsumerSsrc + 1);
    ASSERT_TRUE(params.ok()) << params.status();
    params->mid = "v-sub";
    if (relay) {  // as the router makes a relay's parameters
      std::erase_if(params->codecs, [](const auto& c) { return c.IsRtx(); });
      const rtp::RtpEncodingParameters first = params->encodings.front();
      params->encodings.clear();
      for (size_t i = 0; i < producer_->encoding_count(); ++i) {
        rtp::RtpEncodingParameters e = first;
        e.ssrc = kConsumerSsrc + 16 * static_cast<uint32_t>(i);
        e.rtx_ssrc = 0;
        params->encodings.push_back(e);
      }
    }
    out_dd_id_ = params->HeaderExtensionId(rtp::kUriDependencyDescriptor);
    ASSERT_NE(out_dd_id_, 0) << "the subscriber gets the dependency descriptor";
    consumer_ =
        std::make_unique<Consumer>("c", *producer_, *std::move(params), false, &listener_, mode);
  }

  // One frame of every sending encoding; the payload ends with the source frame number and
  // the encoding index. Key frames asked for come in the next frame.
  void Frame() {
    for (size_t i = 0; i < layers_.size(); ++i) {
      Av1Layer& l = layers_[i];
      if (!l.sending) continue;
      const bool key = l.key_frame_in == 0;
      if (key) l.frame_index = 0;
      const uint8_t template_id =
          key ? av1::kKeyTemplate : av1::kTemplateOfFrame[l.frame_index % 4];
      av1::Bytes payload =
          key ? av1::Bytes{0x18, 0x08, 0x00, 0x00, 0x00} : av1::Bytes{0x10, 0x30, 0x00};
      payload.insert(payload.end(),
                     {static_cast<uint8_t>(l.frame_number >> 8),
                      static_cast<uint8_t>(l.frame_number), static_cast<uint8_t>(i)});
      TestPacket p(96, l.seq, l.ts, l.ssrc, payload,
                   {{kDdId, av1::Descriptor(template_id, l.frame_number, key && l.structure)}});
      ASSERT_TRUE(p.ok());
      rtp::VideoLayers read;
      if (producer_->ReceiveRtpPacket(p.get(), i, now_, &read) && consumer_) {
        ASSERT_EQ(read.temporal, av1::kTemporalOfTemplate[template_id]);
        ASSERT_EQ(read.key_frame, key);
        consumer_->SendRtpPacket(p.get(), i, read, now_);
      }
      if (l.key_frame_in >= 0) --l.key_frame_in;
      ++l.seq;
      ++l.frame_number;
      ++l.frame_index;
      l.ts += kTicksPerFrame;
    }
    for (; answered_ < listener_.key_frame_encodings.size(); ++answered_) {
      Av1Layer& l = layers_[listener_.key_frame_encodings[answered_]];
      if (l.key_frame_in < 0) l.key_frame_in = 1;
    }
    now_ += kFrameMs;
  }
  void Frames(int n) {
    for (int i = 0; i < n; ++i) Frame();
  }
  // Every encoding live, then a consumer that starts on f (at the key frame it asks for).
  void Start() {
    Frames(2);
    MakeConsumer();
    Frames(4);
    ASSERT_EQ(consumer_->current_encoding(), kF);
    ASSERT_FALSE(listener_.sent.empty());
  }

  struct Got {
    size_t encoding;
    uint16_t source_frame;  // the publisher's
    uint16_t frame;         // as sent to the subscriber
    uint8_t template_id;
    bool structure;
  };
  // What the subscriber got, packet by packet from `from`.
  std::vector<Got> Received(size_t from = 0) const {
    std::vector<Got> out;
    for (size_t i = from; i < listener_.sent.size(); ++i) {
      const SentPacket& s = listener_.sent[i];
      const auto it = s.extensions.find(out_dd_id_);
      EXPECT_NE(it, s.extensions.end()) << "packet " << i << " lost its descriptor";
      if (it == s.extensions.end()) continue;
      auto d = rtp::DependencyDescriptor::ParseMandatory(it->second);
      EXPECT_TRUE(d.has_value());
      if (!d || s.payload.size() < 3) continue;
      const size_t n = s.payload.size();
      out.push_back(
          {s.payload[n - 1], static_cast<uint16_t>(s.payload[n - 3] << 8 | s.payload[n - 2]),
           d->frame_number, d->template_id, rtp::DependencyDescriptor::HasStructure(it->second)});
    }
    return out;
  }

  // Runs of one encoding keep one offset (the source's spacing, gaps included); each switch
  // goes on one after the highest frame number sent, at a key frame with its structure.
  // Returns the number of switches.
  int ExpectRunsContinue(const std::vector<Got>& got) {
    int switches = 0;
    uint16_t highest = got.empty() ? 0 : got.front().frame;
    for (size_t i = 1; i < got.size(); ++i) {
      if (got[i].encoding != got[i - 1].encoding) {
        ++switches;
        EXPECT_EQ(got[i].frame, static_cast<uint16_t>(highest + 1)) << "at " << i;
        EXPECT_EQ(got[i].template_id, av1::kKeyTemplate) << "a switch starts at a key frame";
        EXPECT_TRUE(got[i].structure) << "at " << i;
      } else {
        EXPECT_EQ(static_cast<uint16_t>(got[i].frame - got[i].source_frame),
                  static_cast<uint16_t>(got[i - 1].frame - got[i - 1].source_frame))
            << "at " << i;
      }
      if (rtp::IsSeqNewer(got[i].frame, highest)) highest = got[i].frame;
    }
    return switches;
  }

  std::unique_ptr<Producer> producer_;
  std::unique_ptr<Consumer> consumer_;
  RecordingListener listener_;
  std::array<Av1Layer, 3> layers_;
  uint8_t out_dd_id_ = 0;
  size_t answered_ = 0;
  int64_t now_ = kStartMs;
};

// f, then down to q (the subscriber's preference), up to h, and back to f across f's own
// wrap: at each switch the frame numbers go on by one.
TEST_F(Av1SimulcastConsumerTest, FrameNumbersContinueAcrossSwitches) {
  Start();
  for (size_t ceiling : {kQ, kH, kF}) {
    consumer_->SetPreferredLayer(ceiling);
    Frames(8);
    ASSERT_EQ(consumer_->current_encoding(), ceiling);
  }
  const std::vector<Got> got = Received();
  ASSERT_GT(got.size(), 25u);
  EXPECT_EQ(got.front().frame, got.front().source_frame) << "the first run keeps the numbers";
  EXPECT_EQ(ExpectRunsContinue(got), 3);
  // One packet per frame, all temporal layers forwarded: no gap anywhere.
  for (size_t i = 1; i < got.size(); ++i) {
    EXPECT_EQ(got[i].frame, static_cast<uint16_t>(got[i - 1].frame + 1)) << "at " << i;
  }
  EXPECT_EQ(consumer_->stats().layer_switches, 3u);
}

// The allocator allows only the base temporal layer: the frames dropped stay gaps in the
// frame numbers (a frame's fdiffs are differences of frame numbers), also after a switch.
TEST_F(Av1SimulcastConsumerTest, DroppedTemporalFramesStayGaps) {
  Start();
  consumer_->SetAllocatedLayer(kF, 0);
  const size_t from = listener_.sent.size();
  Frames(12);
  ASSERT_EQ(consumer_->current_encoding(), kF);
  consumer_->SetAllocatedLayer(kH, 0);
  Frames(16);
  ASSERT_EQ(consumer_->current_encoding(), kH);
  const std::vector<Got> got = Received(from);
  ASSERT_GT(got.size(), 5u);
  EXPECT_EQ(ExpectRunsContinue(got), 1);
  for (size_t i = 1; i < got.size(); ++i) {
    EXPECT_EQ(av1::kTemporalOfTemplate[got[i].template_id], 0) << "at " << i;
    if (got[i].encoding == got[i - 1].encoding) {
      EXPECT_EQ(got[i].frame, static_cast<uint16_t>(got[i - 1].frame + 4))
          << "T1 and T2 frames between two T0 frames: a gap of 3, at " << i;
    }
  }
}

// The new encoding's key frames come without the template structure: its later descriptors
// would refer to templates the subscriber does not have, so the consumer keeps forwarding the
// current encoding (and asks again) until a key frame brings the structure.
TEST_F(Av1SimulcastConsumerTest, SwitchWaitsForAKeyFrameWithItsStructure) {
  Start();
  layers_[kQ].structure = false;
  const size_t requests = listener_.key_frame_requests;
  consumer_->SetPreferredLayer(kQ);
  Frames(10);
  EXPECT_EQ(consumer_->current_encoding(), kF) << "still on f";
  EXPECT_EQ(consumer_->target_encoding(), kQ);
  EXPECT_GT(listener_.key_frame_requests, static_cast<int>(requests));
  layers_[kQ].structure = true;
  Frames(40);  // the next request (one a second), and its key frame
  EXPECT_EQ(consumer_->current_encoding(), kQ);
  EXPECT_EQ(ExpectRunsContinue(Received()), 1);
}

// NACKs on both sides of a switch: each packet is sent again with the frame number it was
// first sent with.
TEST_F(Av1SimulcastConsumerTest, RetransmissionsRepeatTheRewrittenFrameNumber) {
  Start();
  consumer_->SetPreferredLayer(kQ);
  Frames(6);
  ASSERT_EQ(consumer_->current_encoding(), kQ);
  const std::vector<SentPacket> sent = listener_.sent;
  for (size_t i = 0; i < sent.size(); ++i) {
    consumer_->ReceiveNack(consumer_->ssrc(), std::vector<uint16_t>{sent[i].seq}, now_);
    ASSERT_EQ(listener_.sent.size(), sent.size() + i + 1) << "at " << i;
    EXPECT_EQ(listener_.sent.back().extensions.at(out_dd_id_), sent[i].extensions.at(out_dd_id_))
        << "at " << i;
  }
}

// A relay on a pipe passes every encoding on as the publisher numbered it; so does a consumer
// of AV1 SVC (one stream), also across a pause.
TEST_F(Av1SimulcastConsumerTest, RelayAndSvcKeepTheSourceNumbers) {
  MakeConsumer(Consumer::Mode::kRelay);
  Frames(6);
  std::vector<Got> got = Received();
  ASSERT_EQ(got.size(), 18u);
  for (const Got& g : got) EXPECT_EQ(g.frame, g.source_frame);

  listener_.sent.clear();
  MakeProducer(1);
  MakeConsumer();
  Frames(4);
  consumer_->SetPaused(true);
  Frames(5);
  consumer_->SetPaused(false);
  Frames(5);
  got = Received();
  ASSERT_GT(got.size(), 6u);
  for (const Got& g : got) EXPECT_EQ(g.frame, g.source_frame);
}

}  // namespace
}  // namespace sb::router
