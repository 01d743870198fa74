// router::Transport's RTP side, fed decrypted packets as its WebRtcTransport would hand them
// over: ssrcs learned per simulcast encoding from the mid + rid (RTX: repaired rid) header
// extensions, unknown streams counted, publisher SRs per encoding, and subscriber PLIs routed
// to the encoding the consumer forwards, subscriber NACKs to the consumer's retransmission.
#include "router/transport.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "router/router.h"
#include "rtp/header_extensions.h"
#include "rtp/rtcp/nack.h"
#include "rtp/rtcp/pli.h"
#include "rtp/rtcp/sender_report.h"
#include "rtp/rtcp/transport_feedback.h"
#include "tests/router/router_fixture.h"
#include "tests/router/rtp_test_packets.h"
#include "tests/transport/test_loop.h"

namespace sb::router {
namespace {

using testing::SimulcastVp8ProducerParams;
using testing::TestPacket;
using testing::Vp8Frame;
using testing::Vp8ProducerParams;

using Extensions = std::vector<std::pair<uint8_t, std::vector<uint8_t>>>;

// Extension ids of SimulcastVp8ProducerParams.
constexpr uint8_t kMidId = 4;
constexpr uint8_t kRidId = 6;
constexpr uint8_t kRepairedRidId = 8;
constexpr uint32_t kQ = 0xA0000001, kH = 0xA0000002, kF = 0xA0000003;

std::vector<uint8_t> Bytes(const std::string& s) { return {s.begin(), s.end()}; }

struct NoEvents : EventSink {
  void OnTransportIceState(const std::string&, transport::IceState) override {}
  void OnTransportDtlsState(const std::string&, transport::DtlsState, const std::string&) override {
  }
  void OnConsumerProducerClosed(const std::string&) override {}
  void OnConsumerProducerPaused(const std::string&, bool) override {}
};

class TransportTest : public testing::RouterFixture<NoEvents> {
 protected:
  Producer* ProduceSimulcast(rtp::RtpParameters params = SimulcastVp8ProducerParams("v")) {
    auto producer = router_->Produce("pub", "pv", rtp::MediaKind::kVideo, std::move(params), false);
    EXPECT_TRUE(producer.ok()) << producer.status();
    return producer.ok() ? *producer : nullptr;
  }

  // Hands a packet to a transport the way its WebRtcTransport does after SRTP.
  static void Deliver(Transport* transport, uint8_t pt, uint16_t seq, uint32_t ssrc,
                      const std::vector<uint8_t>& payload, const Extensions& extensions = {}) {
    TestPacket packet(pt, seq, seq * 3000u, ssrc, payload, extensions);
    ASSERT_TRUE(packet.ok());
    std::vector<uint8_t> bytes(packet.get().data(), packet.get().data() + packet.get().size());
    static_cast<transport::WebRtcTransport::Listener*>(transport)->OnRtpPacket(bytes.data(),
                                                                               bytes.size());
  }
  static void DeliverRtcp(Transport* transport, const uint8_t* data, size_t len) {
    static_cast<transport::WebRtcTransport::Listener*>(transport)->OnRtcpPacket(data, len);
  }
  // The first packet of a simulcast stream: mid and rid, as browsers send until they get an RR.
  void Layer(uint32_t ssrc, const std::string& rid, uint16_t seq, bool key = true) {
    Deliver(pub_, 96, seq, ssrc, Vp8Frame(key, seq, 0),
            {{kMidId, Bytes("v")}, {kRidId, Bytes(rid)}});
  }
};

TEST_F(TransportTest, LearnsEachEncodingsSsrcFromMidAndRid) {
  Producer* producer = ProduceSimulcast();
  ASSERT_NE(producer, nullptr);
  auto consumer = router_->Consume("sub", "c", "pv", rtp::RouterCapabilities(), "0", false);
  ASSERT_TRUE(consumer.ok()) << consumer.status();

  // The layers arrive in any order; each ssrc is bound to the encoding its rid names.
  Layer(kF, "f", 1);
  Layer(kQ, "q", 100);
  Layer(kH, "h", 200);
  EXPECT_EQ(producer->media_ssrc(0), kQ);
  EXPECT_EQ(producer->media_ssrc(1), kH);
  EXPECT_EQ(producer->media_ssrc(2), kF);
  EXPECT_EQ(pub_->counters().rtp_unknown_ssrc, 0u);
  // Later packets carry no extensions and are matched by ssrc.
  for (uint16_t i = 1; i <= 5; ++i) {
    Deliver(pub_, 96, static_cast<uint16_t>(200 + i), kH, Vp8Frame(false, 200 + i, 0));
  }
  EXPECT_EQ(producer->stats(0).packets, 1u);
  EXPECT_EQ(producer->stats(1).packets, 6u);
  EXPECT_EQ(producer->stats(1).ssrc, kH);
  EXPECT_EQ(producer->stats(1).rid, "h");
  EXPECT_EQ(producer->stats(2).packets, 1u);
  EXPECT_EQ(pub_->counters().rtp_unknown_ssrc, 0u);
  // The subscriber gets one stream: the highest live encoding, f (its first packet was a key
  // frame); q's and h's packets are not forwarded.
  EXPECT_EQ((*consumer)->current_encoding(), 2u);
  EXPECT_EQ((*consumer)->stats().packets, 1u);
}

TEST_F(TransportTest, StreamsNoEncodingClaimsAreCountedNotLearned) {
  Producer* producer = ProduceSimulcast();
  ASSERT_NE(producer, nullptr);
  Layer(kQ, "q", 1);
  const std::vector<uint8_t> frame = Vp8Frame(true, 1, 0);
  Deliver(pub_, 96, 1, 0xBAD00001, frame, {{kMidId, Bytes("v")}, {kRidId, Bytes("x")}});
  Deliver(pub_, 96, 1, 0xBAD00002, frame, {{kMidId, Bytes("v")}});  // simulcast needs a rid
  Deliver(pub_, 96, 1, 0xBAD00003, frame, {{kMidId, Bytes("v")}, {kRidId, Bytes("q")}});
  Deliver(pub_, 96, 1, 0xBAD00004, frame, {{kMidId, Bytes("zz")}, {kRidId, Bytes("h")}});
  Deliver(pub_, 96, 1, 0xBAD00005, frame);
  Deliver(pub_, 45, 1, 0xBAD00006, frame, {{kMidId, Bytes("v")}, {kRidId, Bytes("h")}});
  EXPECT_EQ(pub_->counters().rtp_unknown_ssrc, 6u);
  EXPECT_EQ(producer->media_ssrc(0), kQ) << "q keeps the ssrc it was learned with";
  EXPECT_EQ(producer->media_ssrc(1), 0u);
  EXPECT_EQ(producer->media_ssrc(2), 0u);
  uint8_t garbage[] = {0x12, 0x34, 0x56};
  static_cast<transport::WebRtcTransport::Listener*>(pub_)->OnRtpPacket(garbage, sizeof(garbage));
  EXPECT_EQ(pub_->counters().rtp_malformed, 1u);
}

TEST_F(TransportTest, LearnsRtxSsrcsFromTheRepairedRid) {
  Producer* producer = ProduceSimulcast();
  ASSERT_NE(producer, nullptr);
  Layer(kH, "h", 1);
  const std::vector<uint8_t> rtx_payload = {0x00, 0x01, 0x10, 0x00, 0x01};
  Deliver(pub_, 97, 7, 0xB0000002, rtx_payload,
          {{kMidId, Bytes("v")}, {kRepairedRidId, Bytes("h")}});
  EXPECT_EQ(producer->rtx_ssrc(1), 0xB0000002u);
  EXPECT_EQ(producer->rtx_ssrc(0), 0u);
  Deliver(pub_, 97, 8, 0xB0000002, rtx_payload);  // known now, by ssrc
  EXPECT_EQ(pub_->counters().rtx_ignored, 2u);
  EXPECT_EQ(pub_->counters().rtp_unknown_ssrc, 0u);
  EXPECT_EQ(producer->stats(1).packets, 1u) << "retransmissions are not media packets";
}

TEST_F(TransportTest, RtxIsNotLearnedWithoutAnRtxCodec) {
  rtp::RtpParameters params = SimulcastVp8ProducerParams("v");
  params.codecs.pop_back();  // VP8 only
  Producer* producer = ProduceSimulcast(params);
  ASSERT_NE(producer, nullptr);
  Deliver(pub_, 97, 7, 0xB0000002, {0x00, 0x01, 0x10},
          {{kMidId, Bytes("v")}, {kRepairedRidId, Bytes("h")}});
  EXPECT_EQ(producer->rtx_ssrc(1), 0u);
  EXPECT_EQ(pub_->counters().rtp_unknown_ssrc, 1u);
}

TEST_F(TransportTest, SimulcastWithoutSsrcsNeedsTheRidExtension) {
  rtp::RtpParameters params = SimulcastVp8ProducerParams("v");
  std::erase_if(params.header_extensions, [](const auto& e) { return e.uri == rtp::kUriRid; });
  auto producer = router_->Produce("pub", "pv", rtp::MediaKind::kVideo, params, false);
  EXPECT_EQ(producer.status().code(), absl::StatusCode::kInvalidArgument) << producer.status();
  // With the ssrcs announced (a=ssrc-group:SIM), the rid is not needed.
  params.encodings = {{kQ, 0, "", 0}, {kH, 0, "", 0}};
  Producer* by_ssrc = ProduceSimulcast(params);
  ASSERT_NE(by_ssrc, nullptr);
  Deliver(pub_, 96, 1, kH, Vp8Frame(true, 1, 0));
  EXPECT_EQ(by_ssrc->stats(1).packets, 1u);
}

TEST_F(TransportTest, PublisherSenderReportsArePerEncoding) {
  Producer* producer = ProduceSimulcast();
  ASSERT_NE(producer, nullptr);
  Layer(kQ, "q", 1);
  Layer(kH, "h", 1);
  rtp::SenderReport sr;
  sr.sender_ssrc = kH;
  sr.ntp_seconds = 0xE1000000;
  sr.rtp_timestamp = 123456;
  uint8_t buffer[128];
  size_t len = sr.Serialize(buffer, sizeof(buffer));
  ASSERT_GT(len, 0u);
  DeliverRtcp(pub_, buffer, len);
  EXPECT_TRUE(producer->sender_info(1).valid);
  EXPECT_EQ(producer->sender_info(1).rtp_timestamp, 123456u);
  EXPECT_FALSE(producer->sender_info(0).valid);
}

TEST_F(TransportTest, SubscriberPliReachesTheForwardedEncodingDebouncedPerEncoding) {
  Producer* producer = ProduceSimulcast();
  ASSERT_NE(producer, nullptr);
  auto consumer = router_->Consume("sub", "c", "pv", rtp::RouterCapabilities(), "0", false);
  ASSERT_TRUE(consumer.ok());
  // q alone at first: the consumer asks for q's key frame (one PLI for q's ssrc).
  Layer(kQ, "q", 1, /*key=*/false);
  EXPECT_EQ(producer->stats(0).pli_sent, 1u);
  Layer(kQ, "q", 2, /*key=*/true);
  EXPECT_EQ((*consumer)->current_encoding(), 0u);
  // h shows up: a PLI for h, not held back by the one q just got.
  Layer(kH, "h", 1, /*key=*/false);
  EXPECT_EQ((*consumer)->target_encoding(), 1u);
  EXPECT_EQ(producer->stats(1).pli_sent, 1u);
  EXPECT_EQ(producer->stats(0).pli_sent, 1u);

  // The subscriber's PLI names the consumer's ssrc and reaches the pending target, h; inside
  // h's debounce interval it is deferred, and goes out when the interval ends.
  rtp::Pli pli;
  pli.sender_ssrc = 0x5AB5C1BE;
  pli.media_ssrc = (*consumer)->ssrc();
  uint8_t buffer[64];
  size_t len = pli.Serialize(buffer, sizeof(buffer));
  ASSERT_GT(len, 0u);
  DeliverRtcp(sub_, buffer, len);
  EXPECT_TRUE(producer->key_frame_request_deferred(1));
  EXPECT_FALSE(producer->key_frame_request_deferred(0));
  EXPECT_TRUE(loop_.RunUntil([&] { return producer->stats(1).pli_sent == 2; }, 2000));
  EXPECT_EQ(producer->stats(0).pli_sent, 1u);
  EXPECT_EQ(producer->stats(2).pli_sent, 0u);
}

TEST_F(TransportTest, OneEncodingProducersStillLearnByMidAlone) {
  rtp::RtpParameters params = Vp8ProducerParams(0, 0, "v");
  params.encodings = {{0, 0, "only", 0}};
  Producer* producer = ProduceSimulcast(params);
  ASSERT_NE(producer, nullptr);
  EXPECT_FALSE(producer->simulcast());
  // A lone encoding with a rid is matched by that rid when the packet has one...
  Deliver(pub_, 96, 1, kQ, Vp8Frame(true, 1, 0), {{kMidId, Bytes("v")}, {kRidId, Bytes("x")}});
  EXPECT_EQ(producer->media_ssrc(0), 0u);
  // ...and by the mid alone when it has none.
  Deliver(pub_, 96, 1, kQ, Vp8Frame(true, 1, 0), {{kMidId, Bytes("v")}});
  EXPECT_EQ(producer->media_ssrc(0), kQ);
  EXPECT_EQ(pub_->counters().rtp_unknown_ssrc, 1u);
}

TEST_F(TransportTest, SubscriberNackReachesTheConsumerWithItsSequenceNumbers) {
  Producer* producer = ProduceSimulcast(Vp8ProducerParams(kQ, 0, "v"));
  ASSERT_NE(producer, nullptr);
  auto consumer = router_->Consume("sub", "c", "pv", rtp::RouterCapabilities(), "0", false);
  ASSERT_TRUE(consumer.ok());
  Deliver(pub_, 96, 10, kQ, Vp8Frame(true, 1, 0));
  Deliver(pub_, 96, 11, kQ, Vp8Frame(false, 2, 0));
  ASSERT_EQ((*consumer)->stats().packets, 2u);

  // One FCI item naming 11 (sent) and 12 (never sent): one retransmission.
  const auto nack = rtp::Nack::FromSequenceNumbers(0x5AB5C1BE, (*consumer)->ssrc(),
                                                   std::vector<uint16_t>{11, 12});
  uint8_t buffer[64];
  const size_t len = nack.Serialize(buffer, sizeof(buffer));
  ASSERT_GT(len, 0u);
  DeliverRtcp(sub_, buffer, len);
  EXPECT_EQ((*consumer)->stats().nack_received, 1u);
  EXPECT_EQ((*consumer)->stats().nack_packets, 2u);
  EXPECT_EQ((*consumer)->stats().retransmitted, 1u);
}

// A publisher that negotiated the transport-wide sequence number gets transport-cc feedback on
// every packet it numbered (RTX and unclaimed streams too): every 100 ms, at once when 100 wait.
TEST_F(TransportTest, TransportWideSequenceNumbersAreAnsweredWithFeedback) {
  static constexpr uint8_t kTwccId = 5;  // as Vp8ProducerParams negotiates it
  rtp::RtpParameters params = Vp8ProducerParams(kQ, 0, "v");
  ASSERT_EQ(params.HeaderExtensionId(rtp::kUriTransportWideCc), kTwccId);
  ASSERT_NE(ProduceSimulcast(params), nullptr);
  auto twcc = [](uint16_t seq) {
    std::vector<uint8_t> value(2);
    rtp::WriteTransportSequenceNumber(seq, value.data(), value.size());
    return Extensions{{kTwccId, value}};
  };
  for (uint16_t i = 0; i < 10; ++i) {
    Deliver(pub_, 96, static_cast<uint16_t>(10 + i), kQ, Vp8Frame(i == 0, i, 0), twcc(i));
  }
  Deliver(pub_, 96, 1, 0xDEAD0001, Vp8Frame(false, 1, 0), twcc(10));  // no producer's
  EXPECT_EQ(pub_->transport_cc().counters().packets, 11u);
  EXPECT_EQ(pub_->transport_cc().pending(), 11u);
  EXPECT_EQ(pub_->counters().transport_feedback_sent, 0u);
  ASSERT_TRUE(loop_.RunUntil([&] { return pub_->counters().transport_feedback_sent == 1; }, 1000));
  EXPECT_EQ(pub_->transport_cc().pending(), 0u);

  // A burst: the hundredth waiting packet sends the feedback without waiting for the timer.
  for (uint16_t i = 11; i < 111; ++i) {
    Deliver(pub_, 96, static_cast<uint16_t>(10 + i), kQ, Vp8Frame(false, i, 0), twcc(i));
  }
  EXPECT_EQ(pub_->counters().transport_feedback_sent, 2u);
  EXPECT_EQ(pub_->transport_cc().pending(), 0u);
  // The subscriber's transport negotiated nothing: it records nothing.
  EXPECT_EQ(sub_->transport_cc().counters().packets, 0u);
}

// The subscriber's side: each forwarded packet gets the transport's next transport-wide
// number (one counter for all consumers of the transport), and the subscriber's transport-cc
// feedback about them feeds the send-side estimate.
TEST_F(TransportTest, ForwardedPacketsAreNumberedAndFeedbackFeedsTheEstimate) {
  ASSERT_NE(ProduceSimulcast(Vp8ProducerParams(kQ, 0, "v")), nullptr);
  auto consumer = router_->Consume("sub", "c", "pv", rtp::RouterCapabilities(), "0", false);
  ASSERT_TRUE(consumer.ok()) << consumer.status();
  ASSERT_EQ((*consumer)->rtp_parameters().HeaderExtensionId(rtp::kUriTransportWideCc), 5);
  ASSERT_NE(sub_->bandwidth(), nullptr) << "from the first consumer that numbers packets";
  for (uint16_t i = 0; i < 40; ++i) {
    Deliver(pub_, 96, static_cast<uint16_t>(10 + i), kQ, Vp8Frame(i == 0, i, 0));
  }
  ASSERT_EQ((*consumer)->stats().packets, 40u);
  // The subscriber got numbers 1..40 (the transport's counter), 1 ms apart; 3 were lost.
  std::vector<rtp::TwccPacketStatus> statuses;
  for (uint16_t seq = 1; seq <= 40; ++seq) {
    statuses.push_back({seq, seq % 13 != 0, seq == 1 ? 0 : 4});
  }
  const auto feedback = rtp::TransportFeedback::Build(0x5AB5C1BE, 1, 100, 0, statuses);
  uint8_t buffer[512];
  const size_t len = feedback.Serialize(buffer, sizeof(buffer));
  ASSERT_GT(len, 0u);
  DeliverRtcp(sub_, buffer, len);
  EXPECT_EQ(sub_->counters().transport_feedback_received, 1u);
  const auto& c = sub_->bandwidth()->bwe().counters();
  EXPECT_EQ(c.unknown, 0u) << "every number in the feedback was one we sent";
  EXPECT_EQ(c.packets_acked, 37u);
  EXPECT_EQ(c.packets_lost, 3u);
  EXPECT_EQ(sub_->bandwidth()->estimate_bps(), 300'000) << "the start value, until it learns more";
  // The publisher's transport sends nothing with numbers of ours.
  EXPECT_EQ(pub_->bandwidth(), nullptr);
}

TEST_F(TransportTest, WithoutTheExtensionNoFeedback) {
  rtp::RtpParameters params = Vp8ProducerParams(kQ, 0, "v");
  std::erase_if(params.header_extensions,
                [](const auto& ext) { return ext.uri == rtp::kUriTransportWideCc; });
  ASSERT_NE(ProduceSimulcast(params), nullptr);
  std::vector<uint8_t> value(2);
  rtp::WriteTransportSequenceNumber(1, value.data(), value.size());
  Deliver(pub_, 96, 10, kQ, Vp8Frame(true, 0, 0), {{5, value}});
  loop_.RunUntil([] { return false; }, 250);
  EXPECT_EQ(pub_->transport_cc().counters().packets, 0u);
  EXPECT_EQ(pub_->counters().transport_feedback_sent, 0u);
}

// REMB only for a publisher that negotiated goog-remb and abs-send-time and not the
// transport-wide sequence number (transport-cc is preferred when it has both); a value of the
// wrong length is counted and not used.
TEST_F(TransportTest, RembForAPublisherWithoutTransportCc) {
  auto remb_only = [] {
    rtp::RtpParameters params = Vp8ProducerParams(kQ, 0, "v");
    std::erase_if(params.header_extensions,
                  [](const auto& ext) { return ext.uri == rtp::kUriTransportWideCc; });
    params.codecs[0].rtcp_feedback.push_back({"goog-remb", ""});
    return params;
  };
  ASSERT_NE(ProduceSimulcast(remb_only()), nullptr);
  ASSERT_NE(pub_->remb(), nullptr);
  EXPECT_EQ(pub_->remb()->abs_send_time_ext_id(), 2);
  Deliver(pub_, 96, 10, kQ, Vp8Frame(true, 0, 0), {{2, {1, 2}}});
  EXPECT_EQ(pub_->remb()->counters().abs_send_time_malformed, 1u);
  std::vector<uint8_t> abs(3);
  rtp::WriteAbsSendTime(0x123456, abs.data(), abs.size());
  Deliver(pub_, 96, 11, kQ, Vp8Frame(false, 1, 0), {{2, abs}});
  EXPECT_EQ(pub_->remb()->bwe().counters().packets, 1u);
  EXPECT_EQ(pub_->transport_cc().counters().packets, 0u);

  // A second producer on the transport with transport-cc: transport-cc takes over.
  rtp::RtpParameters twcc = Vp8ProducerParams(kH, 0, "w");
  twcc.codecs[0].rtcp_feedback.push_back({"goog-remb", ""});
  auto producer = router_->Produce("pub", "pw", rtp::MediaKind::kVideo, twcc, false);
  ASSERT_TRUE(producer.ok()) << producer.status();
  EXPECT_EQ(pub_->remb(), nullptr);
}

TEST_F(TransportTest, NoRembWithoutAbsSendTimeOrGoogRemb) {
  rtp::RtpParameters params = Vp8ProducerParams(kQ, 0, "v");
  std::erase_if(params.header_extensions, [](const auto& ext) {
    return ext.uri == rtp::kUriTransportWideCc || ext.uri == rtp::kUriAbsSendTime;
  });
  params.codecs[0].rtcp_feedback.push_back({"goog-remb", ""});
  ASSERT_NE(ProduceSimulcast(params), nullptr);
  EXPECT_EQ(pub_->remb(), nullptr) << "goog-remb without abs-send-time";
  params = Vp8ProducerParams(kH, 0, "w");
  std::erase_if(params.header_extensions,
                [](const auto& ext) { return ext.uri == rtp::kUriTransportWideCc; });
  auto producer = router_->Produce("pub", "pw", rtp::MediaKind::kVideo, params, false);
  ASSERT_TRUE(producer.ok()) << producer.status();
  EXPECT_EQ(pub_->remb(), nullptr) << "abs-send-time without goog-remb";
}

}  // namespace
}  // namespace sb::router

namespace sb::router {
namespace {

// The subscriber's estimate caps what its consumers forward: from the start estimate (300
// kbit/s) on, and probes go out once the subscriber sends feedback to judge them by.
class TransportBandwidthTest : public TransportTest {
 protected:
  void SetUp() override {
    TransportTest::SetUp();
    ASSERT_NE(ProduceSimulcast(), nullptr);
    auto consumer = router_->Consume("sub", "c", "pv", rtp::RouterCapabilities(), "0", false);
    ASSERT_TRUE(consumer.ok()) << consumer.status();
    consumer_ = *consumer;
    Layer(kQ, "q", 1);
    Layer(kH, "h", 1);
    Layer(kF, "f", 1);
    bandwidth_ = sub_->bandwidth();
    ASSERT_NE(bandwidth_, nullptr);
  }
  // What the publisher sends in a moment, as rates over the last second: q ~25 kbit/s,
  // h ~130 kbit/s, f ~350 kbit/s.
  void Media() {
    auto burst = [&](uint32_t ssrc, int packets, size_t size) {
      std::vector<uint8_t> payload = Vp8Frame(false, 7, 0);
      payload.resize(size);
      for (int i = 0; i < packets; ++i) {
        Deliver(pub_, 96, seq_++, ssrc, payload);
      }
    };
    burst(kQ, 10, 300);
    burst(kH, 30, 520);
    burst(kF, 40, 1080);
  }
  // Runs the loop until the next allocation.
  void NextAllocation() {
    const uint64_t allocations = bandwidth_->counters().allocations;
    ASSERT_TRUE(
        loop_.RunUntil([&] { return bandwidth_->counters().allocations > allocations; }, 2000));
  }

  Consumer* consumer_ = nullptr;
  const BandwidthController* bandwidth_ = nullptr;
  uint16_t seq_ = 2;
};

TEST_F(TransportBandwidthTest, TheEstimateCapsTheLayerAndFeedbackStartsProbes) {
  Media();
  NextAllocation();
  EXPECT_EQ(bandwidth_->estimate_bps(), 300'000);
  // h fits the start estimate, f (with the allocator's headroom) does not.
  EXPECT_EQ(consumer_->allocated_layer(), 1u);
  EXPECT_FALSE(consumer_->bandwidth_paused());
  EXPECT_LE(bandwidth_->allocated_bps(), 300'000);
  EXPECT_GT(bandwidth_->desired_bps(), 300'000);
  EXPECT_EQ(bandwidth_->counters().probe_clusters, 0u) << "no probe without feedback to judge it";

  // The subscriber's feedback on what it got (numbers 1..10, 4 ms apart).
  std::vector<rtp::TwccPacketStatus> statuses;
  for (uint16_t seq = 1; seq <= 10; ++seq) statuses.push_back({seq, true, seq == 1 ? 0 : 4});
  const auto feedback = rtp::TransportFeedback::Build(0x5AB5C1BE, 1, 100, 0, statuses);
  uint8_t buffer[512];
  const size_t len = feedback.Serialize(buffer, sizeof(buffer));
  ASSERT_GT(len, 0u);
  DeliverRtcp(sub_, buffer, len);
  Media();
  NextAllocation();
  EXPECT_EQ(consumer_->allocated_layer(), 1u);
  // The consumers want more than the estimate: probe clusters went out (the first two at
  // consecutive allocations), as RTX copies.
  EXPECT_GE(bandwidth_->counters().probe_clusters, 1u);
  // Paced over a few tens of milliseconds; a cluster carries at least kMinProbeBytes, whatever
  // the size of its packets (here RTX copies of 1080-byte packets: more than kMinProbePackets).
  EXPECT_TRUE(loop_.RunUntil([&] { return !bandwidth_->probing(); }, 1000));
  EXPECT_EQ(bandwidth_->counters().probe_clusters, 1u);
  EXPECT_EQ(consumer_->stats().probe_packets, bandwidth_->counters().probe_packets);
  EXPECT_GT(bandwidth_->counters().probe_packets, BandwidthController::kMinProbePackets);
  EXPECT_GE(consumer_->stats().probe_bytes, BandwidthController::kMinProbeBytes);
}

TEST_F(TransportBandwidthTest, ASubscriberThatSendsNoFeedbackIsNotLimited) {
  Media();
  NextAllocation();
  EXPECT_EQ(consumer_->allocated_layer(), 1u);
  const int64_t deadline =
      static_cast<int64_t>(uv_now(loop_.get())) + BandwidthController::kNoFeedbackMs + 1500;
  while (consumer_->allocated_layer() != 2u &&
         static_cast<int64_t>(uv_now(loop_.get())) < deadline) {
    Media();
    NextAllocation();
  }
  EXPECT_EQ(consumer_->allocated_layer(), 2u) << "no feedback for 5 s: no limit";
  EXPECT_EQ(bandwidth_->counters().probe_clusters, 0u);
}

}  // namespace
}  // namespace sb::router
