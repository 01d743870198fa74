// Router bookkeeping with real transports on 127.0.0.1: error paths of Produce/Consume, and the
// events it reports when producers pause or close.
#include "router/router.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "tests/router/router_fixture.h"
#include "tests/router/rtp_test_packets.h"
#include "tests/transport/test_loop.h"

namespace sb::router {
namespace {

using testing::OpusProducerParams;
using testing::Vp8ProducerParams;

struct FakeEvents : EventSink {
  void OnTransportIceState(const std::string&, transport::IceState) override {}
  void OnTransportDtlsState(const std::string&, transport::DtlsState, const std::string&) override {
  }
  void OnConsumerProducerClosed(const std::string& consumer_id) override {
    closed.push_back(consumer_id);
  }
  void OnConsumerProducerPaused(const std::string& consumer_id, bool paused) override {
    paused_events.push_back(consumer_id + (paused ? ":pause" : ":resume"));
  }
  std::vector<std::string> closed;
  std::vector<std::string> paused_events;
};

rtp::RtpCapabilities AudioOnlyCaps() {
  rtp::RtpCapabilities caps = rtp::RouterCapabilities();
  caps.codecs.erase(std::remove_if(caps.codecs.begin(), caps.codecs.end(),
                                   [](const auto& c) { return c.kind == rtp::MediaKind::kVideo; }),
                    caps.codecs.end());
  return caps;
}

using RouterTest = testing::RouterFixture<FakeEvents>;

TEST_F(RouterTest, DuplicateTransportId) {
  transport::WebRtcTransport::Options options;
  options.listen = {{.ip = "127.0.0.1", .announced = {}}};
  EXPECT_EQ(router_->CreateWebRtcTransport("pub", options).status().code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(router_->TransportIds().size(), 2u);
}

TEST_F(RouterTest, ProduceErrors) {
  EXPECT_EQ(router_->Produce("nope", "p", rtp::MediaKind::kAudio, OpusProducerParams(1), false)
                .status()
                .code(),
            absl::StatusCode::kNotFound);
  ASSERT_TRUE(
      router_->Produce("pub", "p1", rtp::MediaKind::kAudio, OpusProducerParams(1), false).ok());
  EXPECT_EQ(router_->Produce("pub", "p1", rtp::MediaKind::kAudio, OpusProducerParams(2, "x"), false)
                .status()
                .code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(router_->Produce("pub", "p2", rtp::MediaKind::kAudio, OpusProducerParams(1, "y"), false)
                .status()
                .code(),
            absl::StatusCode::kAlreadyExists)
      << "same ssrc on one transport";
  EXPECT_EQ(router_->Produce("pub", "p3", rtp::MediaKind::kAudio, OpusProducerParams(3, "0"), false)
                .status()
                .code(),
            absl::StatusCode::kAlreadyExists)
      << "same mid on one transport";
  EXPECT_EQ(router_->ProducerIds(), std::vector<std::string>{"p1"});
}

TEST_F(RouterTest, ConsumeErrors) {
  const auto caps = rtp::RouterCapabilities();
  EXPECT_EQ(router_->Consume("sub", "c", "nope", caps, "0", false).status().code(),
            absl::StatusCode::kNotFound);
  ASSERT_TRUE(
      router_->Produce("pub", "video", rtp::MediaKind::kVideo, Vp8ProducerParams(10, 11), false)
          .ok());
  EXPECT_EQ(router_->Consume("nope", "c", "video", caps, "0", false).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(router_->Consume("sub", "c", "video", AudioOnlyCaps(), "0", false).status().code(),
            absl::StatusCode::kFailedPrecondition);
  auto consumer = router_->Consume("sub", "c", "video", caps, "0", false);
  ASSERT_TRUE(consumer.ok()) << consumer.status();
  EXPECT_EQ((*consumer)->rtp_parameters().MediaCodec()->payload_type, 101);
  EXPECT_EQ(router_->Consume("sub", "c", "video", caps, "1", false).status().code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(router_->ConsumerIds(), std::vector<std::string>{"c"});
  EXPECT_EQ(router_->CloseConsumer("c").code(), absl::StatusCode::kOk);
  EXPECT_EQ(router_->CloseConsumer("c").code(), absl::StatusCode::kNotFound);
}

TEST_F(RouterTest, ConsumersGetFreshDistinctSsrcs) {
  ASSERT_TRUE(
      router_->Produce("pub", "a", rtp::MediaKind::kAudio, OpusProducerParams(7), false).ok());
  auto c1 = router_->Consume("sub", "c1", "a", rtp::RouterCapabilities(), "0", false);
  auto c2 = router_->Consume("sub", "c2", "a", rtp::RouterCapabilities(), "1", false);
  ASSERT_TRUE(c1.ok() && c2.ok());
  EXPECT_NE((*c1)->ssrc(), 0u);
  EXPECT_NE((*c1)->ssrc(), 7u);
  EXPECT_NE((*c1)->ssrc(), (*c2)->ssrc());
  EXPECT_EQ((*c1)->rtp_parameters().mid, "0");
}

TEST_F(RouterTest, ProducerPauseAndCloseReachConsumers) {
  ASSERT_TRUE(
      router_->Produce("pub", "a", rtp::MediaKind::kAudio, OpusProducerParams(7), false).ok());
  ASSERT_TRUE(router_->Consume("sub", "c1", "a", rtp::RouterCapabilities(), "0", false).ok());
  ASSERT_TRUE(router_->SetProducerPaused("a", true).ok());
  ASSERT_TRUE(router_->SetProducerPaused("a", true).ok());  // no second event
  EXPECT_TRUE(router_->FindConsumer("c1")->producer_paused());
  ASSERT_TRUE(router_->SetProducerPaused("a", false).ok());
  EXPECT_EQ(events_.paused_events, (std::vector<std::string>{"c1:pause", "c1:resume"}));

  // A consumer created while its producer is paused starts producer-paused.
  ASSERT_TRUE(router_->SetProducerPaused("a", true).ok());
  auto c2 = router_->Consume("sub", "c2", "a", rtp::RouterCapabilities(), "1", false);
  ASSERT_TRUE(c2.ok());
  EXPECT_TRUE((*c2)->producer_paused());

  ASSERT_TRUE(router_->CloseProducer("a").ok());
  std::sort(events_.closed.begin(), events_.closed.end());
  EXPECT_EQ(events_.closed, (std::vector<std::string>{"c1", "c2"}));
  EXPECT_TRUE(router_->ConsumerIds().empty());
  EXPECT_EQ(router_->FindTransport("sub")->consumers().size(), 0u);
  EXPECT_EQ(router_->SetProducerPaused("a", false).code(), absl::StatusCode::kNotFound);
}

TEST_F(RouterTest, ClosingThePublishersTransportClosesItsProducersConsumers) {
  ASSERT_TRUE(
      router_->Produce("pub", "a", rtp::MediaKind::kAudio, OpusProducerParams(7), false).ok());
  ASSERT_TRUE(router_->Consume("sub", "c1", "a", rtp::RouterCapabilities(), "0", false).ok());
  ASSERT_TRUE(router_->CloseTransport("pub").ok());
  EXPECT_EQ(events_.closed, std::vector<std::string>{"c1"});
  EXPECT_TRUE(router_->ProducerIds().empty());
  EXPECT_EQ(router_->TransportIds(), std::vector<std::string>{"sub"});
  EXPECT_EQ(router_->CloseTransport("pub").code(), absl::StatusCode::kNotFound);
}

TEST_F(RouterTest, DestroyingTheRouterWithEverythingOpen) {
  ASSERT_TRUE(
      router_->Produce("pub", "a", rtp::MediaKind::kAudio, OpusProducerParams(7), false).ok());
  ASSERT_TRUE(
      router_->Produce("sub", "v", rtp::MediaKind::kVideo, Vp8ProducerParams(8, 9), false).ok());
  ASSERT_TRUE(router_->Consume("sub", "c1", "a", rtp::RouterCapabilities(), "0", false).ok());
  ASSERT_TRUE(router_->Consume("pub", "c2", "v", rtp::RouterCapabilities(), "1", false).ok());
  router_.reset();  // must not crash; TestLoop checks no handle is left open
}

}  // namespace
}  // namespace sb::router
