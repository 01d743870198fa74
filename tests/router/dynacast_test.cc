// Dynacast: the router tells its host the highest simulcast encoding the subscribers of a
// producer want, whenever that changes, so the publisher can stop the layers nobody wants.
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "router/router.h"
#include "tests/router/router_fixture.h"
#include "tests/router/rtp_test_packets.h"

namespace sb::router {
namespace {

struct LayerEvents : EventSink {
  void OnTransportIceState(const std::string&, transport::IceState) override {}
  void OnTransportDtlsState(const std::string&, transport::DtlsState, const std::string&) override {
  }
  void OnConsumerProducerClosed(const std::string&) override {}
  void OnConsumerProducerPaused(const std::string&, bool) override {}
  void OnProducerLayersNeeded(const std::string& producer_id, int max_layer) override {
    needed.emplace_back(producer_id, max_layer);
  }
  std::vector<std::pair<std::string, int>> needed;
};

class DynacastTest : public testing::RouterFixture<LayerEvents> {
 protected:
  std::vector<int> Layers() const {
    std::vector<int> out;
    for (const auto& [id, layer] : events_.needed) {
      EXPECT_EQ(id, "pv");
      out.push_back(layer);
    }
    return out;
  }
};

TEST_F(DynacastTest, TheHighestLayerAnySubscriberWantsIsAnnouncedOnChange) {
  ASSERT_TRUE(router_
                  ->Produce("pub", "pv", rtp::MediaKind::kVideo,
                            testing::SimulcastVp8ProducerParams("v"), false)
                  .ok());
  EXPECT_TRUE(events_.needed.empty()) << "nothing until someone subscribes";
  // A subscriber wants everything by default (paused until it answers counts too).
  ASSERT_TRUE(router_->Consume("sub", "c1", "pv", rtp::RouterCapabilities(), "0", true).ok());
  EXPECT_EQ(Layers(), (std::vector<int>{2}));
  // Its tile is small: only the lowest layer is wanted now.
  ASSERT_TRUE(router_->SetConsumerPreferences("c1", 0, false, 0).ok());
  EXPECT_EQ(Layers(), (std::vector<int>{2, 0}));
  // A second subscriber, in the middle.
  auto bob = router_->CreateWebRtcTransport("bob", testing::LoopbackTransportOptions());
  ASSERT_TRUE(bob.ok());
  ASSERT_TRUE(router_->Consume("bob", "c2", "pv", rtp::RouterCapabilities(), "0", false).ok());
  ASSERT_TRUE(router_->SetConsumerPreferences("c2", 1, false, 0).ok());
  EXPECT_EQ(Layers(), (std::vector<int>{2, 0, 2, 1}));
  // Hidden by its subscriber: it wants nothing; the same again announces nothing.
  ASSERT_TRUE(router_->SetConsumerPreferences("c2", 1, true, 0).ok());
  ASSERT_TRUE(router_->SetConsumerPreferences("c2", 1, true, 0).ok());
  EXPECT_EQ(Layers(), (std::vector<int>{2, 0, 2, 1, 0}));
  // Everyone gone: the lowest layer stays on (a newcomer starts on it at once).
  ASSERT_TRUE(router_->CloseConsumer("c1").ok());
  ASSERT_TRUE(router_->CloseConsumer("c2").ok());
  EXPECT_EQ(Layers(), (std::vector<int>{2, 0, 2, 1, 0}));
}

TEST_F(DynacastTest, ASingleEncodingProducerIsNeverAnnounced) {
  ASSERT_TRUE(router_
                  ->Produce("pub", "pv", rtp::MediaKind::kVideo,
                            testing::Vp8ProducerParams(0x1234, 0, "v"), false)
                  .ok());
  ASSERT_TRUE(router_->Consume("sub", "c1", "pv", rtp::RouterCapabilities(), "0", false).ok());
  ASSERT_TRUE(router_->SetConsumerPreferences("c1", 0, false, 0).ok());
  EXPECT_TRUE(events_.needed.empty());
}

}  // namespace
}  // namespace sb::router
