// The synthetic subscriber follows which stream each mid carries as a server reusing m-lines
// offers them: a track that ends (inactive, or rejected with its attributes left in) ends its
// stream, and a mid reused for another track starts a new stream with the new ssrc, whose
// packets count there and not in the old one.
#include "bench/load/subscriber.h"

#include <uv.h>

#include <array>
#include <map>

#include "gtest/gtest.h"
#include "rtp/byte_io.h"
#include "tests/bench/load/subscribe_offer_fixtures.h"
#include "transport/dtls_certificate.h"

namespace sb::bench {
namespace {

using testing::Audio;
using testing::OfferText;
using testing::Section;
using testing::Video;

class SubscriberTest : public ::testing::Test {
 protected:
  void SetUp() override {
    uv_loop_init(&loop_);
    auto cert = transport::DtlsCertificate::Generate();
    ASSERT_TRUE(cert.ok());
    certificate_ = *std::move(cert);
    subscriber_ = std::make_unique<Subscriber>(&loop_, certificate_.get(), "s", &stats_);
  }
  void TearDown() override {
    subscriber_.reset();
    uv_run(&loop_, UV_RUN_DEFAULT);  // the closed sockets' callbacks
    uv_loop_close(&loop_);
  }

  // An offer without candidates (no ICE starts), with the server's `streams` list.
  void Offer(const std::vector<Section>& sections) {
    nlohmann::json streams = nlohmann::json::array();
    for (const Section& s : sections) {
      if (s.ssrc != 0 && s.port != 0 && s.direction == "sendonly") {
        streams.push_back({{"mid", s.mid}, {"participantId", s.publisher}});
      }
    }
    auto answer = subscriber_->OnOffer(OfferText(sections, /*candidates=*/false), streams);
    ASSERT_TRUE(answer.ok()) << answer.status();
    subscriber_->OnAnswerSent();
  }

  // `n` packets on `ssrc` as they come off the wire (only the clear header is read).
  void Packets(uint32_t ssrc, int n) {
    for (int i = 0; i < n; ++i) {
      std::array<uint8_t, 100> p{};
      p[0] = 0x80;
      p[1] = 100;
      rtp::WriteU16(&p[2], static_cast<uint16_t>(seq_[ssrc]++));
      rtp::WriteU32(&p[4], 960u * static_cast<uint32_t>(i));
      rtp::WriteU32(&p[8], ssrc);
      static_cast<MediaConnection::Listener*>(subscriber_.get())->OnSrtpPacket(p.data(), p.size());
    }
  }

  std::vector<StreamReport> Reports() const {
    std::vector<StreamReport> out;
    subscriber_->AppendReports(&out);
    return out;
  }

  uv_loop_t loop_;
  std::unique_ptr<transport::DtlsCertificate> certificate_;
  GeneratorStats stats_;
  std::unique_ptr<Subscriber> subscriber_;
  std::map<uint32_t, int> seq_;
};

TEST_F(SubscriberTest, EndedTrackEndsItsStream) {
  Offer({Audio("0", 11, "p1"), Video("1", 12, 13, "p1")});
  Packets(11, 3);
  Packets(12, 2);
  EXPECT_EQ(subscriber_->live_streams(), 2u);

  Section ended = Audio("0", 0, "");
  ended.direction = "inactive";
  Offer({ended, Video("1", 12, 13, "p1")});
  EXPECT_EQ(subscriber_->live_streams(), 1u);
  Packets(11, 5);  // late packets of the ended track count nowhere

  auto r = Reports();
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].mid, "0");
  EXPECT_EQ(r[0].publisher, "p1");
  EXPECT_FALSE(r[0].live());
  EXPECT_EQ(r[0].packets, 3u);
  EXPECT_TRUE(r[1].live());
  EXPECT_EQ(r[1].packets, 2u);
  EXPECT_GE(r[1].first_packet_us, r[1].offered_us);
}

TEST_F(SubscriberTest, ReusedMidStartsANewStream) {
  Offer({Audio("0", 11, "p1"), Video("1", 12, 13, "p1")});
  Packets(11, 3);
  Section ended = Audio("0", 0, "");
  ended.direction = "inactive";
  Offer({ended, Video("1", 12, 13, "p1")});
  // Reused for another publisher's audio: sendonly again, new ssrc and msid.
  Offer({Audio("0", 31, "p3"), Video("1", 12, 13, "p1")});
  Packets(31, 4);
  Packets(11, 2);  // the old ssrc still counts nowhere

  auto r = Reports();
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].publisher, "p1");
  EXPECT_FALSE(r[0].live());
  EXPECT_EQ(r[0].packets, 3u);
  EXPECT_EQ(r[2].mid, "0");
  EXPECT_EQ(r[2].publisher, "p3");
  EXPECT_EQ(r[2].kind, "audio");
  EXPECT_TRUE(r[2].live());
  EXPECT_EQ(r[2].packets, 4u);
  EXPECT_EQ(r[2].lost, 0);
}

// Reuse without an inactive offer in between: the new ssrc alone ends the old stream.
TEST_F(SubscriberTest, NewSsrcOnALiveMidReplacesTheStream) {
  Offer({Video("0", 11, 12, "p1")});
  Packets(11, 2);
  Offer({Video("0", 21, 22, "p2")});
  Packets(21, 2);
  auto r = Reports();
  ASSERT_EQ(r.size(), 2u);
  EXPECT_FALSE(r[0].live());
  EXPECT_EQ(r[1].publisher, "p2");
  EXPECT_EQ(r[1].packets, 2u);
  EXPECT_EQ(subscriber_->live_streams(), 1u);
}

// Rejected with its old attributes still written (port 0, sendonly, ssrc): ended all the same.
TEST_F(SubscriberTest, RejectedMLineEndsItsStream) {
  Offer({Audio("0", 11, "p1"), Audio("1", 21, "p2")});
  Packets(11, 1);
  Packets(21, 1);
  Section rejected = Audio("0", 11, "p1");
  rejected.port = 0;
  Offer({rejected, Audio("1", 21, "p2")});
  auto r = Reports();
  ASSERT_EQ(r.size(), 2u);
  EXPECT_FALSE(r[0].live());
  EXPECT_TRUE(r[1].live());
  EXPECT_EQ(subscriber_->live_streams(), 1u);
}

}  // namespace
}  // namespace sb::bench
