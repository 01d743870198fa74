// The router's dominant speaker from its publishers' audio levels: the control process is told
// who speaks, and the speaker's video is served first when a subscriber's bandwidth is short.
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "router/router.h"
#include "rtp/header_extensions.h"
#include "tests/router/router_fixture.h"
#include "tests/router/rtp_test_packets.h"

namespace sb::router {
namespace {

using testing::OpusProducerParams;
using testing::TestPacket;
using testing::Vp8ProducerParams;

struct SpeakerEvents : EventSink {
  void OnTransportIceState(const std::string&, transport::IceState) override {}
  void OnTransportDtlsState(const std::string&, transport::DtlsState, const std::string&) override {
  }
  void OnConsumerProducerClosed(const std::string&) override {}
  void OnConsumerProducerPaused(const std::string&, bool) override {}
  void OnActiveSpeaker(const std::string& router_id, const std::string& producer_id) override {
    speakers.emplace_back(router_id, producer_id);
  }
  std::vector<std::pair<std::string, std::string>> speakers;
};

constexpr uint32_t kAliceAudio = 0xA1, kBobAudio = 0xB1;

class ActiveSpeakerTest : public testing::RouterFixture<SpeakerEvents> {
 protected:
  void SetUp() override {
    RouterFixture::SetUp();
    auto bob = router_->CreateWebRtcTransport("bob", testing::LoopbackTransportOptions());
    ASSERT_TRUE(bob.ok());
    bob_ = *bob;
    ASSERT_TRUE(router_
                    ->Produce("pub", "alice-audio", rtp::MediaKind::kAudio,
                              OpusProducerParams(kAliceAudio), false)
                    .ok());
    ASSERT_TRUE(router_
                    ->Produce("pub", "alice-video", rtp::MediaKind::kVideo,
                              Vp8ProducerParams(0xA2, 0, "1"), false)
                    .ok());
    ASSERT_TRUE(router_
                    ->Produce("bob", "bob-audio", rtp::MediaKind::kAudio,
                              OpusProducerParams(kBobAudio), false)
                    .ok());
    ASSERT_TRUE(router_
                    ->Produce("bob", "bob-video", rtp::MediaKind::kVideo,
                              Vp8ProducerParams(0xB2, 0, "1"), false)
                    .ok());
  }

  // One Opus packet with an audio level (RFC 6464; extension id 1 in OpusProducerParams).
  void Audio(Transport* transport, uint32_t ssrc, uint8_t level) {
    uint8_t value[1];
    ASSERT_EQ(rtp::WriteAudioLevel({true, level}, value, sizeof(value)), 1u);
    TestPacket packet(111, seq_, seq_ * 960u, ssrc, {0xFC, 1, 2, 3}, {{1, {value[0]}}});
    ++seq_;
    ASSERT_TRUE(packet.ok());
    std::vector<uint8_t> bytes(packet.get().data(), packet.get().data() + packet.get().size());
    static_cast<transport::WebRtcTransport::Listener*>(transport)->OnRtpPacket(bytes.data(),
                                                                               bytes.size());
  }
  // `ms` of 20 ms packets from both, at their levels (127: silence), on the real loop clock.
  void Speak(int ms, uint8_t alice, uint8_t bob) {
    for (int t = 0; t < ms; t += 20) {
      Audio(pub_, kAliceAudio, alice);
      Audio(bob_, kBobAudio, bob);
      loop_.RunUntil([] { return false; }, 20);
    }
  }

  Transport* bob_ = nullptr;
  uint16_t seq_ = 1;
};

TEST_F(ActiveSpeakerTest, TheSpeakerIsAnnouncedAndItsVideoServedFirst) {
  Speak(1500, 25, 127);
  ASSERT_FALSE(events_.speakers.empty());
  EXPECT_EQ(events_.speakers.back(), std::make_pair(std::string("r1"), std::string("alice-audio")));
  EXPECT_EQ(router_->active_speaker(), "alice-audio");
  EXPECT_EQ(router_->FindProducer("alice-video")->priority(), 1);
  EXPECT_EQ(router_->FindProducer("bob-video")->priority(), 0);

  // Alice stops, Bob talks: the floor and the priority move to him, once.
  Speak(2500, 127, 30);
  EXPECT_EQ(events_.speakers.back().second, "bob-audio");
  EXPECT_EQ(events_.speakers.size(), 2u);
  EXPECT_EQ(router_->FindProducer("alice-video")->priority(), 0);
  EXPECT_EQ(router_->FindProducer("bob-video")->priority(), 1);

  // The speaker's audio producer closes: forgotten.
  ASSERT_TRUE(router_->CloseProducer("bob-audio").ok());
  EXPECT_EQ(router_->active_speaker(), "");
}

TEST_F(ActiveSpeakerTest, SilenceAnnouncesNobody) {
  Speak(1500, 127, 100);
  EXPECT_TRUE(events_.speakers.empty());
  EXPECT_EQ(router_->active_speaker(), "");
}

}  // namespace
}  // namespace sb::router
