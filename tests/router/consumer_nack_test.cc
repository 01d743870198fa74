// Consumer retransmission on a subscriber's NACK (RFC 4585 6.2.1): RTX (RFC 4588) or plain,
// exactly the packet sent first, nothing for what cannot be mapped or is no longer held, and
// the rate limits.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <vector>

#include "router/consumer.h"
#include "router/producer.h"
#include "tests/router/recording_listener.h"
#include "tests/router/rtp_test_packets.h"

namespace sb::router {
namespace {

using testing::RecordingListener;
using testing::SentPacket;
using testing::TestPacket;
using testing::Vp8DeltaFrame;
using testing::Vp8KeyFrame;
using testing::Vp8ProducerParams;

constexpr uint32_t kVideoSsrc = 0x33334444;
constexpr uint32_t kConsumerSsrc = 0xC0FFEE01;
constexpr uint32_t kConsumerRtxSsrc = 0xC0FFEE02;
constexpr uint8_t kRouterVp8Pt = 101;
constexpr uint8_t kRouterRtxPt = 102;  // apt=101 in the router's capabilities
constexpr int64_t kStartMs = 1'000'000;

// A payload that names its source sequence number in its last two bytes; `size` pads it.
std::vector<uint8_t> Payload(bool key, uint16_t seq, size_t size = 0) {
  std::vector<uint8_t> p = key ? Vp8KeyFrame() : Vp8DeltaFrame();
  if (p.size() + 2 < size) p.resize(size - 2, 0xAB);
  p.push_back(static_cast<uint8_t>(seq >> 8));
  p.push_back(static_cast<uint8_t>(seq));
  return p;
}

// The transport-wide sequence number (id 5) of a packet, and its other extensions: a
// retransmission is a packet of its own on the wire, with a later number, for the subscriber's
// feedback, and otherwise carries what the original did.
int TransportSeq(const SentPacket& p) {
  const auto& v = p.extensions.at(5);
  return v[0] << 8 | v[1];
}
std::map<uint8_t, std::vector<uint8_t>> WithoutTransportSeq(const SentPacket& p) {
  auto extensions = p.extensions;
  extensions.erase(5);
  return extensions;
}

void ExpectSameAsSent(const SentPacket& retransmitted, const SentPacket& sent) {
  EXPECT_EQ(retransmitted.ssrc, sent.ssrc);
  EXPECT_EQ(retransmitted.payload_type, sent.payload_type);
  EXPECT_EQ(retransmitted.seq, sent.seq);
  EXPECT_EQ(retransmitted.ts, sent.ts);
  EXPECT_EQ(retransmitted.marker, sent.marker);
  EXPECT_EQ(WithoutTransportSeq(retransmitted), WithoutTransportSeq(sent));
  ASSERT_TRUE(retransmitted.extensions.count(5) && sent.extensions.count(5));
  EXPECT_GT(TransportSeq(retransmitted), TransportSeq(sent));
  EXPECT_EQ(retransmitted.payload, sent.payload);
}

class ConsumerNackTest : public ::testing::Test {
 protected:
  void Make(bool with_rtx) {
    auto producer = Producer::Create("pv", rtp::MediaKind::kVideo,
                                     Vp8ProducerParams(kVideoSsrc, 0, "v-pub"), false);
    ASSERT_TRUE(producer.ok()) << producer.status();
    producer_ = *std::move(producer);
    auto params = rtp::ConsumerParameters(producer_->kind(), producer_->rtp_parameters(),
                                          rtp::RouterCapabilities(), kConsumerSsrc,
                                          with_rtx ? kConsumerRtxSsrc : 0);
    ASSERT_TRUE(params.ok()) << params.status();
    params->mid = "v-sub";
    consumer_ = std::make_unique<Consumer>("c", *producer_, *std::move(params), false, &listener_);
  }

  // A packet through the producer (history) and the consumer; with the abs-send-time and mid
  // extensions a browser sends.
  void Video(uint16_t seq, bool key, int64_t now_ms, bool marker = false, size_t size = 0) {
    TestPacket p(96, seq, 3000u * seq, kVideoSsrc, Payload(key, seq, size),
                 {{2, {0x01, 0x02, static_cast<uint8_t>(seq)}}, {4, {'v', '-', 'p', 'u', 'b'}}},
                 marker);
    ASSERT_TRUE(p.ok());
    if (producer_->ReceiveRtpPacket(p.get(), 0, now_ms)) {
      consumer_->SendRtpPacket(p.get(), 0, testing::Vp8Layers(p.get()), now_ms);
    }
  }
  // Only the producer sees it (a packet of a paused consumer, say).
  void ProducerOnly(uint16_t seq, bool key, int64_t now_ms) {
    TestPacket p(96, seq, 3000u * seq, kVideoSsrc, Payload(key, seq));
    ASSERT_TRUE(p.ok());
    producer_->ReceiveRtpPacket(p.get(), 0, now_ms);
  }
  size_t Nack(std::vector<uint16_t> seqs, int64_t now_ms) {
    const size_t before = listener_.sent.size();
    consumer_->ReceiveNack(consumer_->ssrc(), seqs, now_ms);
    return listener_.sent.size() - before;
  }

  RecordingListener listener_;
  std::unique_ptr<Producer> producer_;
  std::unique_ptr<Consumer> consumer_;
};

TEST_F(ConsumerNackTest, RetransmitsAsRtxWithTheOriginalSequenceNumber) {
  Make(/*with_rtx=*/true);
  Video(1000, true, kStartMs);
  Video(1001, false, kStartMs + 1, /*marker=*/true);
  Video(1002, false, kStartMs + 2);
  ASSERT_EQ(listener_.sent.size(), 3u);
  const SentPacket original = listener_.sent[1];

  ASSERT_EQ(Nack({original.seq}, kStartMs + 50), 1u);
  const SentPacket rtx = listener_.sent.back();  // a copy: the next Nack grows `sent`
  EXPECT_EQ(rtx.ssrc, kConsumerRtxSsrc);
  EXPECT_EQ(rtx.payload_type, kRouterRtxPt);
  EXPECT_EQ(rtx.ts, original.ts);
  EXPECT_EQ(rtx.marker, original.marker);
  EXPECT_EQ(WithoutTransportSeq(rtx), WithoutTransportSeq(original));
  EXPECT_GT(TransportSeq(rtx), TransportSeq(original));
  // RFC 4588 4: OSN, then the original payload.
  std::vector<uint8_t> expected = {static_cast<uint8_t>(original.seq >> 8),
                                   static_cast<uint8_t>(original.seq)};
  expected.insert(expected.end(), original.payload.begin(), original.payload.end());
  EXPECT_EQ(rtx.payload, expected);
  EXPECT_EQ(original.payload_type, kRouterVp8Pt);

  // RTX has its own sequence numbers: the next retransmission is the next one.
  ASSERT_EQ(Nack({listener_.sent[2].seq}, kStartMs + 60), 1u);
  EXPECT_EQ(listener_.sent.back().seq, static_cast<uint16_t>(rtx.seq + 1));
  EXPECT_EQ(consumer_->stats().retransmitted, 2u);
  EXPECT_EQ(consumer_->stats().nack_received, 2u);
  EXPECT_EQ(consumer_->stats().packets, 3u) << "retransmissions are counted apart";
}

TEST_F(ConsumerNackTest, WithoutRtxRetransmitsThePacketAsSent) {
  Make(/*with_rtx=*/false);
  Video(65534, true, kStartMs);
  Video(65535, false, kStartMs + 1);
  Video(0, false, kStartMs + 2);  // the source's numbers wrap
  Video(1, false, kStartMs + 3);
  ASSERT_EQ(listener_.sent.size(), 4u);
  ASSERT_EQ(Nack({listener_.sent[1].seq, listener_.sent[2].seq}, kStartMs + 40), 2u);
  ExpectSameAsSent(listener_.sent[4], listener_.sent[1]);
  ExpectSameAsSent(listener_.sent[5], listener_.sent[2]);
}

TEST_F(ConsumerNackTest, NothingForPacketsNeverForwarded) {
  Make(/*with_rtx=*/true);
  ProducerOnly(99, false, kStartMs);  // before the key frame: held, but never sent
  Video(100, true, kStartMs + 1);
  Video(102, false, kStartMs + 2);  // 101 lost on the way in
  EXPECT_EQ(Nack({99}, kStartMs + 10), 0u);
  EXPECT_EQ(Nack({101}, kStartMs + 10), 0u);
  EXPECT_EQ(Nack({103, 104}, kStartMs + 10), 0u) << "not sent yet";
  EXPECT_EQ(Nack({static_cast<uint16_t>(100 + 0x8000)}, kStartMs + 10), 0u);
  EXPECT_EQ(consumer_->stats().retransmitted, 0u);
  EXPECT_EQ(consumer_->stats().nack_packets, 5u);
}

TEST_F(ConsumerNackTest, NothingForPacketsEvictedFromTheHistory) {
  Make(/*with_rtx=*/true);
  Video(0, true, kStartMs);
  for (uint16_t s = 1; s <= Producer::kHistoryPackets; ++s) Video(s, false, kStartMs + s);
  EXPECT_EQ(Nack({0}, kStartMs + 1000), 0u);
  EXPECT_EQ(Nack({1}, kStartMs + 1000), 1u);
}

TEST_F(ConsumerNackTest, SamePacketAtMostOncePerInterval) {
  Make(/*with_rtx=*/true);
  Video(10, true, kStartMs);
  Video(11, false, kStartMs + 1);
  EXPECT_EQ(Nack({11}, kStartMs + 10), 1u);
  EXPECT_EQ(Nack({11}, kStartMs + 10 + Consumer::kRetransmitIntervalMs - 1), 0u);
  EXPECT_EQ(Nack({10, 11}, kStartMs + 20), 1u) << "the other one still goes";
  EXPECT_EQ(Nack({11}, kStartMs + 10 + Consumer::kRetransmitIntervalMs), 1u);
  EXPECT_EQ(consumer_->stats().nack_duplicates, 2u);
  // The same number twice in one NACK goes once.
  EXPECT_EQ(Nack({10, 10, 10}, kStartMs + 500), 1u);
  EXPECT_EQ(consumer_->stats().nack_duplicates, 4u);
}

TEST_F(ConsumerNackTest, CapsPacketsPerNack) {
  Make(/*with_rtx=*/true);
  Video(0, true, kStartMs);
  std::vector<uint16_t> all;
  for (uint16_t s = 1; s <= 100; ++s) {
    Video(s, false, kStartMs);
    all.push_back(listener_.sent.back().seq);
  }
  EXPECT_EQ(Nack(all, kStartMs + 10), Consumer::kMaxRetransmissionsPerNack);
  EXPECT_EQ(consumer_->stats().nack_over_cap, 100u - Consumer::kMaxRetransmissionsPerNack);
}

// A subscriber that NACKs everything, again and again, gets at most half of the media bytes
// it was sent in the last second again; the rest is refused and counted.
TEST_F(ConsumerNackTest, NackFloodStaysWithinTheByteBudget) {
  Make(/*with_rtx=*/false);
  constexpr int kPackets = 100;
  for (int i = 0; i < kPackets; ++i) {
    Video(static_cast<uint16_t>(2000 + i), i == 0, kStartMs + 10 * i, false, /*size=*/1000);
  }
  ASSERT_EQ(listener_.sent.size(), static_cast<size_t>(kPackets));
  uint64_t media_bytes = 0;
  for (const auto& p : listener_.sent) media_bytes += p.size;
  std::vector<uint16_t> all;
  for (const auto& p : listener_.sent) all.push_back(p.seq);

  // In the second that holds all of it: three rounds of NACKs of 25 numbers each, a
  // millisecond apart.
  const int64_t now = kStartMs + 10 * kPackets - 5;
  size_t retransmitted = 0;
  for (int round = 0; round < 3; ++round) {
    for (size_t from = 0; from < all.size(); from += 25) {
      retransmitted +=
          Nack({all.begin() + static_cast<long>(from), all.begin() + static_cast<long>(from + 25)},
               now + round);
    }
  }
  uint64_t retransmitted_bytes = 0;
  for (size_t i = kPackets; i < listener_.sent.size(); ++i) {
    retransmitted_bytes += listener_.sent[i].size;
  }
  ASSERT_EQ(retransmitted, listener_.sent.size() - kPackets);
  EXPECT_GT(retransmitted, 0u);
  EXPECT_LE(retransmitted_bytes, media_bytes / 2 + 20) << "20: a rewrite's few bytes";
  EXPECT_GE(retransmitted_bytes, media_bytes / 2 - 1100) << "the budget is used, not wasted";
  const auto& stats = consumer_->stats();
  EXPECT_EQ(stats.retransmitted, retransmitted);
  EXPECT_EQ(stats.nack_over_budget, 3 * (kPackets - retransmitted));
  EXPECT_EQ(stats.nack_duplicates, 2u * retransmitted) << "rounds 2 and 3 ask again at once";
  EXPECT_EQ(stats.nack_packets, 3u * kPackets);

  // Once media has gone on, the budget is back.
  for (int i = kPackets; i < 2 * kPackets; ++i) {
    Video(static_cast<uint16_t>(2000 + i), false, kStartMs + 10 * i, false, /*size=*/1000);
  }
  EXPECT_EQ(Nack({listener_.sent.back().seq}, kStartMs + 20 * kPackets), 1u);
}

TEST_F(ConsumerNackTest, PausedConsumerRetransmitsNothing) {
  Make(/*with_rtx=*/true);
  Video(10, true, kStartMs);
  consumer_->SetPaused(true);
  EXPECT_EQ(Nack({10}, kStartMs + 10), 0u);
  EXPECT_EQ(consumer_->stats().nack_received, 1u);
}

TEST_F(ConsumerNackTest, MapsAcrossPauseAndResume) {
  Make(/*with_rtx=*/false);
  Video(100, true, kStartMs);
  Video(101, false, kStartMs + 30);
  Video(102, false, kStartMs + 60);
  consumer_->SetPaused(true);
  ProducerOnly(103, false, kStartMs + 90);  // not forwarded: paused
  ProducerOnly(104, false, kStartMs + 120);
  consumer_->SetPaused(false);
  ProducerOnly(105, false, kStartMs + 150);  // waiting for a key frame
  Video(106, true, kStartMs + 180);
  Video(107, false, kStartMs + 210);
  ASSERT_EQ(listener_.sent.size(), 5u);
  // The subscriber's numbers run on: 102 was followed by 106 (re-based).
  ASSERT_EQ(listener_.sent[3].seq, static_cast<uint16_t>(listener_.sent[2].seq + 1));

  for (size_t i : {0u, 1u, 2u, 3u, 4u}) {
    const size_t before = listener_.sent.size();
    ASSERT_EQ(Nack({listener_.sent[i].seq}, kStartMs + 300), 1u) << i;
    ExpectSameAsSent(listener_.sent[before], listener_.sent[i]);
  }
  // What the old mapping would give for the next numbers (103, 104) was never sent.
  EXPECT_EQ(Nack({static_cast<uint16_t>(listener_.sent[4].seq + 1)}, kStartMs + 300), 0u);
  EXPECT_EQ(consumer_->stats().retransmitted, 5u);
}

TEST_F(ConsumerNackTest, AudioRetransmitsNothing) {
  auto producer = Producer::Create("pa", rtp::MediaKind::kAudio,
                                   testing::OpusProducerParams(0x1111, "a-pub"), false);
  ASSERT_TRUE(producer.ok());
  producer_ = *std::move(producer);
  EXPECT_EQ(producer_->history(0), nullptr);
  auto params = rtp::ConsumerParameters(rtp::MediaKind::kAudio, producer_->rtp_parameters(),
                                        rtp::RouterCapabilities(), kConsumerSsrc, 0);
  ASSERT_TRUE(params.ok());
  consumer_ = std::make_unique<Consumer>("c", *producer_, *std::move(params), false, &listener_);
  TestPacket p(111, 5, 960, 0x1111, testing::OpusPayload());
  ASSERT_TRUE(producer_->ReceiveRtpPacket(p.get(), 0, kStartMs));
  consumer_->SendRtpPacket(p.get(), 0, testing::Vp8Layers(p.get()), kStartMs);
  ASSERT_EQ(listener_.sent.size(), 1u);
  EXPECT_EQ(Nack({5}, kStartMs + 10), 0u);
}

}  // namespace
}  // namespace sb::router

namespace sb::router {
namespace {

// Probes of the subscriber's path for the bandwidth estimate: the last packet sent again as
// RTX, as often as asked (not limited like NACK answers, not counted as retransmissions).
TEST_F(ConsumerNackTest, ProbePacketsAreRtxCopiesOfTheLastPacketSent) {
  Make(/*with_rtx=*/true);
  Video(500, true, kStartMs);
  Video(501, false, kStartMs + 1, /*marker=*/false, /*size=*/1000);
  const SentPacket last = listener_.sent.back();
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(consumer_->SendProbePacket(kStartMs + 2));
  ASSERT_EQ(listener_.sent.size(), 12u);
  for (size_t i = 2; i < 12; ++i) {
    const SentPacket& probe = listener_.sent[i];
    EXPECT_EQ(probe.ssrc, kConsumerRtxSsrc);
    // RFC 4588 4: the original sequence number, then the payload.
    ASSERT_GE(probe.payload.size(), 2u);
    EXPECT_EQ((probe.payload[0] << 8) | probe.payload[1], last.seq);
    // Each with a transport-wide number of its own, for the subscriber's feedback.
    EXPECT_GT(TransportSeq(probe), TransportSeq(listener_.sent[i - 1]));
  }
  EXPECT_EQ(consumer_->stats().probe_packets, 10u);
  EXPECT_GT(consumer_->stats().probe_bytes, 10u * 1000);
  EXPECT_EQ(consumer_->stats().retransmitted, 0u);
  // The stream itself goes on where it was.
  Video(502, false, kStartMs + 3);
  EXPECT_EQ(listener_.sent.back().seq, static_cast<uint16_t>(last.seq + 1));
}

TEST_F(ConsumerNackTest, NoProbeWithoutRtxOrBeforeTheFirstPacket) {
  Make(/*with_rtx=*/true);
  EXPECT_FALSE(consumer_->SendProbePacket(kStartMs));
  Make(/*with_rtx=*/false);
  Video(1, true, kStartMs);
  EXPECT_FALSE(consumer_->SendProbePacket(kStartMs + 1));
  EXPECT_EQ(listener_.sent.size(), 1u);
}

}  // namespace
}  // namespace sb::router
