// The synthetic subscriber follows which stream each mid carries as a server reusing m-lines
// offers them: a track that ends (inactive, or rejected with its attributes left in) ends its
// stream, and a mid reused for another track starts a new stream with the new ssrc, whose
// packets count there and not in the old one. And Janus's subscriber offer, as captured, starts
// ICE with Janus's credentials.
#include "bench/load/subscriber.h"

#include <arpa/inet.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include <array>
#include <map>
#include <string_view>

#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gtest/gtest.h"
#include "rtp/byte_io.h"
#include "tests/bench/load/subscribe_offer_fixtures.h"
#include "tests/test_data.h"
#include "transport/dtls_certificate.h"
#include "transport/stun_message.h"

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

  // `n` audio packets on `ssrc` carrying send times `first_sent_us`, +20 ms, ...: each is
  // decrypted (passed to OnRtp, the test's packets being in the clear) when the subscriber
  // asks for it.
  void AudioPackets(uint32_t ssrc, int n, int64_t first_sent_us) {
    auto* listener = static_cast<MediaConnection::Listener*>(subscriber_.get());
    for (int i = 0; i < n; ++i) {
      std::array<uint8_t, 40> p{};
      p[0] = 0x80;
      p[1] = 111;
      rtp::WriteU16(&p[2], static_cast<uint16_t>(seq_[ssrc]++));
      rtp::WriteU32(&p[4], 960u * static_cast<uint32_t>(i));
      rtp::WriteU32(&p[8], ssrc);
      p[12] = 15 << 3;  // Opus TOC, then the send time (bench/load/publisher.h)
      rtp::WriteU64(&p[13], static_cast<uint64_t>(first_sent_us + 20'000 * i));
      if (listener->OnSrtpPacket(p.data(), p.size())) listener->OnRtp(p.data(), p.size());
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

// Loss is counted against what publishers send (issue 10): a stream live when counting starts
// counts from the first packet sent at or after the window's start, whatever arrived before;
// packets on an ssrc no offer announced are not received at all.
TEST_F(SubscriberTest, CountsFromTheWindowAndOnlyAnnouncedStreams) {
  Offer({Audio("0", 11, "p1")});
  AudioPackets(11, 5, 1'000'000);  // sent before the window: not counted
  subscriber_->StartCounting(1'100'000);
  AudioPackets(11, 10, 1'060'000);  // 1.06 .. 1.24 s: 2 before the window, 8 in it
  Packets(99, 4);                   // nobody's ssrc
  auto r = Reports();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].expect_from_us, 1'100'000);
  EXPECT_EQ(r[0].counted, 8u);
  EXPECT_EQ(r[0].packets, 15u);
  EXPECT_GE(r[0].last_packet_us, r[0].first_packet_us);
  EXPECT_EQ(stats_.packets_received, 15u);
  EXPECT_EQ(stats_.packets_unmatched, 4u);
}

// A stream that starts after the window opened counts from its first packet.
TEST_F(SubscriberTest, StreamStartingInTheWindowCountsFromItsFirstPacket) {
  subscriber_->StartCounting(1'000'000);
  Offer({Audio("0", 11, "p1")});
  AudioPackets(11, 4, 5'000'000);
  auto r = Reports();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].expect_from_us, 5'000'000);
  EXPECT_EQ(r[0].counted, 4u);
}

TEST(CountSentBetween, CountsSendTimesInTheClosedRange) {
  const std::vector<int64_t> sent = {10, 20, 20, 30, 40};
  EXPECT_EQ(CountSentBetween(sent, 20, 30), 3u);
  EXPECT_EQ(CountSentBetween(sent, 0, 100), 5u);
  EXPECT_EQ(CountSentBetween(sent, 41, 100), 0u);
  EXPECT_EQ(CountSentBetween(sent, 30, 20), 0u);
  EXPECT_EQ(CountSentBetween({}, 0, 100), 0u);
}

// Janus's subscriber offer (tests/data/janus_subscribe_offer.sdp: fingerprint at session
// level only, ICE credentials in the m-sections only) starts ICE toward its candidate with its
// credentials: the binding request's USERNAME begins with Janus's ufrag and its
// MESSAGE-INTEGRITY checks with Janus's password. Before, the subscriber answered and never
// sent a check. The candidate is moved to a socket of this test on 127.0.0.1.
TEST_F(SubscriberTest, JanusOfferStartsIce) {
  const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  socklen_t addr_len = sizeof(addr);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &addr_len), 0);

  std::string sdp = test_data::Read("janus_subscribe_offer.sdp");
  const std::vector<std::string> lines = absl::StrSplit(sdp, "\r\n");
  std::string ufrag, pwd, local;
  for (std::string line : lines) {
    absl::string_view value = line;
    if (absl::ConsumePrefix(&value, "a=ice-ufrag:") && ufrag.empty()) ufrag = std::string(value);
    if (absl::ConsumePrefix(&value, "a=ice-pwd:") && pwd.empty()) pwd = std::string(value);
    if (absl::StartsWith(line, "a=candidate:")) {
      std::vector<std::string> f = absl::StrSplit(line, ' ');
      ASSERT_GE(f.size(), 6u);
      f[4] = "127.0.0.1";
      f[5] = absl::StrCat(ntohs(addr.sin_port));
      line = absl::StrJoin(f, " ");
    }
    absl::StrAppend(&local, line, line.empty() ? "" : "\r\n");
  }
  ASSERT_FALSE(ufrag.empty());
  ASSERT_FALSE(pwd.empty());
  auto answer =
      subscriber_->OnOffer(local, nlohmann::json::array({{{"mid", "0"}, {"participantId", "42"}},
                                                         {{"mid", "1"}, {"participantId", "42"}}}));
  ASSERT_TRUE(answer.ok()) << answer.status();
  subscriber_->OnAnswerSent();
  auto r = Reports();
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].kind, "audio");
  EXPECT_EQ(r[1].kind, "video");
  EXPECT_EQ(r[1].publisher, "42");

  std::array<uint8_t, 1500> buffer{};
  ssize_t n = -1;
  for (int i = 0; i < 200 && n < 0; ++i) {
    uv_run(&loop_, UV_RUN_NOWAIT);
    pollfd p{fd, POLLIN, 0};
    poll(&p, 1, 10);
    n = recv(fd, buffer.data(), buffer.size(), 0);
  }
  close(fd);
  ASSERT_GT(n, 0) << "no ICE check toward Janus's candidate";
  auto check = transport::StunMessage::Parse(
      absl::Span<const uint8_t>(buffer.data(), static_cast<size_t>(n)));
  ASSERT_TRUE(check.ok()) << check.status();
  ASSERT_TRUE(check->username().has_value());
  const std::string username(*check->username());
  EXPECT_TRUE(absl::StartsWith(username, ufrag + ":")) << username;
  EXPECT_TRUE(check->CheckIntegrity(std::string_view(pwd)));
}

}  // namespace
}  // namespace sb::bench
