// A pipe between routers on two real workers (issue 14): a publisher's video on worker A is
// consumed onto A's pipe, produced from B's pipe with the consumer's parameters, and consumed by a
// subscriber on B; key-frame requests go back across the pipe to the publisher. Plain RTP (two
// workers of one host) and SRTP (between hosts).
#include <gtest/gtest.h>

#include <array>
#include <string>
#include <utility>
#include <vector>

#include "rtp/rtcp/pli.h"
#include "tests/router/rtp_test_packets.h"
#include "tests/worker/two_worker_fixture.h"

namespace sb::worker::testing {
namespace {

// What a router offers across a pipe: Chromium's codecs and extensions without transport-cc (a
// pipe has no send-side estimate to feed: the other router does not send transport feedback).
rtp::RtpCapabilities PipeCapabilities() {
  rtp::RtpCapabilities caps = ChromiumCapabilities();
  std::erase_if(caps.header_extensions,
                [](const auto& e) { return e.uri == rtp::kUriTransportWideCc; });
  for (auto& codec : caps.codecs) {
    std::erase_if(codec.rtcp_feedback, [](const auto& f) { return f.type == "transport-cc"; });
  }
  return caps;
}

using PipeRequestsTest = TwoWorkerTest;

TEST_P(PipeRequestsTest, VideoCrossesThePipeAndKeyFrameRequestsComeBack) {
  // Worker A: the publisher.
  ASSERT_TRUE(CreateRouter("room").accepted);
  Reply pub_info = CreateTransport("room", "pub");
  ASSERT_TRUE(pub_info.accepted);
  FakePeer* publisher = ConnectPeer("pub", pub_info);
  ASSERT_TRUE(publisher);
  ASSERT_TRUE(Produce("pub", "video", rtp::MediaKind::kVideo,
                      router::testing::Vp8ProducerParams(kVp8Ssrc, kVp8RtxSsrc))
                  .accepted);
  PipeEnd a = CreatePipe("room", "pipe-a");
  ASSERT_TRUE(a.accepted);
  EXPECT_EQ(a.key.size(), GetParam() ? 44u : 0u);

  // Worker B: the other end, and the subscriber.
  PipeEnd b = OnB([&] {
    EXPECT_TRUE(CreateRouter("room-b").accepted);
    return CreatePipe("room-b", "pipe-b");
  });
  ASSERT_TRUE(b.accepted);
  ASSERT_TRUE(ConnectPipe("pipe-a", b).accepted);
  ASSERT_TRUE(OnB([&] { return ConnectPipe("pipe-b", a); }).accepted);
  EXPECT_FALSE(ConnectPipe("pub", b).accepted) << "not a pipe";
  EXPECT_FALSE(Connect("pipe-a", publisher->fingerprints()).accepted) << "not a WebRTC transport";

  Reply piped = Consume("pipe-a", "to-b", "video", PipeCapabilities(), "0");
  ASSERT_TRUE(piped.accepted);
  FakePeer* subscriber = nullptr;
  Reply cv = OnB([&] {
    EXPECT_TRUE(
        Produce("pipe-b", "video-b", rtp::MediaKind::kVideo, *piped.consumer_params).accepted);
    Reply sub_info = CreateTransport("room-b", "sub");
    EXPECT_TRUE(sub_info.accepted);
    subscriber = ConnectPeer("sub", sub_info);
    return Consume("sub", "cv", "video-b", ChromiumCapabilities(), "0");
  });
  ASSERT_TRUE(subscriber && cv.accepted);
  const uint32_t sub_ssrc = cv.consumer_params->encodings[0].ssrc;

  // A key frame, then delta frames: the subscriber on B gets them all, payload intact.
  constexpr int kPackets = 20;
  std::vector<std::vector<uint8_t>> payloads;
  for (int i = 0; i < kPackets; ++i) {
    std::vector<uint8_t> payload =
        i == 0 ? router::testing::Vp8KeyFrame() : router::testing::Vp8DeltaFrame();
    payload.push_back(static_cast<uint8_t>(i));
    router::testing::TestPacket packet(96, static_cast<uint16_t>(700 + i),
                                       static_cast<uint32_t>(90000 + 3000 * i), kVp8Ssrc, payload);
    ASSERT_TRUE(packet.ok());
    ASSERT_TRUE(publisher->SendRtp(packet.get().data(), packet.get().size()));
    payloads.push_back(std::move(payload));
    RunFor(std::chrono::milliseconds(5));
  }
  ASSERT_TRUE(
      RunUntil([&] { return subscriber->rtp().size() >= kPackets; }, std::chrono::seconds(5)))
      << "subscriber got " << subscriber->rtp().size() << " of " << kPackets;
  for (int i = 0; i < kPackets; ++i) {
    std::vector<uint8_t> bytes = subscriber->rtp()[i];
    auto packet = rtp::RtpPacket::Parse(bytes.data(), bytes.size());
    ASSERT_TRUE(packet.has_value());
    EXPECT_EQ(packet->ssrc(), sub_ssrc);
    EXPECT_EQ(std::vector<uint8_t>(packet->payload().begin(), packet->payload().end()), payloads[i])
        << "packet " << i;
  }

  // The subscriber asks for a key frame: the request crosses back to the publisher.
  const int plis_before = publisher->PliCount(kVp8Ssrc);
  const rtp::Pli pli{0x5AB5C1BE, sub_ssrc};
  uint8_t buffer[64];
  const size_t len = pli.Serialize(buffer, sizeof(buffer));
  ASSERT_GT(len, 0u);
  ASSERT_TRUE(subscriber->SendRtcp(buffer, len));
  EXPECT_TRUE(RunUntil([&] { return publisher->PliCount(kVp8Ssrc) > plis_before; },
                       std::chrono::seconds(3)))
      << "no PLI reached the publisher across the pipe";

  // A gap in what crosses the pipe (the publisher skips a sequence number): B's producer asks A
  // for it over the pipe (NACK), as A asks the publisher.
  for (int i = 0; i < 10; ++i) {
    if (i == 3) continue;
    router::testing::TestPacket packet(96, static_cast<uint16_t>(700 + kPackets + i),
                                       static_cast<uint32_t>(150000 + 3000 * i), kVp8Ssrc,
                                       router::testing::Vp8DeltaFrame());
    ASSERT_TRUE(packet.ok());
    ASSERT_TRUE(publisher->SendRtp(packet.get().data(), packet.get().size()));
  }
  EXPECT_TRUE(RunUntil(
      [&] {
        Reply c = Call(fbs::Method::CONSUMER_GET_STATS, "to-b");
        return !c.streams.empty() && c.streams[0].nack_count > 0;
      },
      std::chrono::seconds(3)))
      << "no NACK from B reached A's pipe consumer";
  EXPECT_GE(Call(fbs::Method::PRODUCER_GET_STATS, "video").streams[0].nack_count, 1u)
      << "A asked the publisher";

  Reply b_stats = OnB([&] { return Call(fbs::Method::TRANSPORT_GET_STATS, "pipe-b"); });
  EXPECT_GE(b_stats.rtp_received, static_cast<uint64_t>(kPackets));
  EXPECT_EQ(b_stats.counters["packets_dropped"], 0u);
  Reply a_stats = Call(fbs::Method::TRANSPORT_GET_STATS, "pipe-a");
  EXPECT_GE(a_stats.rtp_sent, static_cast<uint64_t>(kPackets));
  EXPECT_GE(a_stats.rtcp_received, 1u);
  EXPECT_FALSE(exited_);
}

// A simulcast track crosses the pipe whole: the relay on A sends every encoding on its own ssrc
// with the publisher's numbering, B's producer of it has the three encodings, and a subscriber
// on B gets one continuous stream of the layer it asks for; switching layers on B needs
// nothing from A but a key frame of the new layer.
TEST_P(PipeRequestsTest, SimulcastCrossesWholeAndTheOtherSideChoosesTheLayer) {
  ASSERT_TRUE(CreateRouter("room").accepted);
  Reply pub_info = CreateTransport("room", "pub");
  FakePeer* publisher = ConnectPeer("pub", pub_info);
  ASSERT_TRUE(publisher);
  ASSERT_TRUE(Produce("pub", "video", rtp::MediaKind::kVideo,
                      router::testing::SimulcastVp8ProducerParams("1"))
                  .accepted);
  PipeEnd a = CreatePipe("room", "pipe-a");
  PipeEnd b = OnB([&] {
    EXPECT_TRUE(CreateRouter("room-b").accepted);
    return CreatePipe("room-b", "pipe-b");
  });
  ASSERT_TRUE(a.accepted && b.accepted);
  ASSERT_TRUE(ConnectPipe("pipe-a", b).accepted);
  ASSERT_TRUE(OnB([&] { return ConnectPipe("pipe-b", a); }).accepted);

  Reply piped = Consume("pipe-a", "to-b", "video", PipeCapabilities(), "");
  ASSERT_TRUE(piped.accepted);
  ASSERT_EQ(piped.consumer_params->encodings.size(), 3u) << "every encoding crosses";
  for (const auto& e : piped.consumer_params->encodings) {
    EXPECT_NE(e.ssrc, 0u);
    EXPECT_EQ(e.rtx_ssrc, 0u) << "a relay retransmits as first sent";
  }
  FakePeer* subscriber = nullptr;
  Reply cv = OnB([&] {
    EXPECT_TRUE(
        Produce("pipe-b", "video", rtp::MediaKind::kVideo, *piped.consumer_params).accepted);
    Reply sub_info = CreateTransport("room-b", "sub");
    subscriber = ConnectPeer("sub", sub_info);
    return Consume("sub", "cv", "video", ChromiumCapabilities(), "0");
  });
  ASSERT_TRUE(subscriber && cv.accepted);
  const uint32_t sub_ssrc = cv.consumer_params->encodings[0].ssrc;

  // The publisher: three layers by rid (mid 4, rid 6 as in SimulcastVp8ProducerParams); the
  // last payload byte says the layer.
  struct Layer {
    std::string rid;
    uint32_t ssrc;
    uint16_t seq;
    uint32_t ts;
    uint16_t picture_id;
  };
  std::array<Layer, 3> layers = {Layer{"q", 0x6100, 100, 9'000, 10},
                                 Layer{"h", 0x6200, 200, 19'000, 20},
                                 Layer{"f", 0x6300, 300, 29'000, 30}};
  const std::string mid = "1";
  int frame = 0;
  auto send_frames = [&](int count) {
    for (int n = 0; n < count; ++n) {
      for (size_t i = 0; i < layers.size(); ++i) {
        Layer& l = layers[i];
        std::vector<uint8_t> payload = router::testing::Vp8Frame(frame % 10 == 0, l.picture_id, 0);
        payload.push_back(static_cast<uint8_t>(i));
        router::testing::TestPacket p(
            96, l.seq++, l.ts, l.ssrc, payload,
            {{4, {mid.begin(), mid.end()}}, {6, {l.rid.begin(), l.rid.end()}}});
        ASSERT_TRUE(p.ok());
        ASSERT_TRUE(publisher->SendRtp(p.get().data(), p.get().size()));
        l.ts += 33 * 90;
        ++l.picture_id;
      }
      ++frame;
      RunFor(std::chrono::milliseconds(33));
    }
  };
  send_frames(30);

  // B's producer got all three layers, each with the publisher's own numbering.
  Reply b_producer = OnB([&] { return Call(fbs::Method::PRODUCER_GET_STATS, "video"); });
  ASSERT_EQ(b_producer.streams.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_GE(b_producer.streams[i].packets, 25u) << layers[i].rid;
    EXPECT_EQ(b_producer.streams[i].ssrc, piped.consumer_params->encodings[i].ssrc);
  }
  auto received_layers = [&] {
    std::vector<std::pair<uint16_t, uint8_t>> out;
    for (auto bytes : subscriber->rtp()) {
      auto packet = rtp::RtpPacket::Parse(bytes.data(), bytes.size());
      if (!packet || packet->ssrc() != sub_ssrc) continue;
      out.push_back({packet->sequence_number(), packet->payload().back()});
    }
    return out;
  };
  auto got = received_layers();
  ASSERT_GE(got.size(), 15u);
  EXPECT_EQ(got.back().second, 2) << "the subscriber on B gets the top layer";

  // The subscriber wants the lowest layer: B switches at q's next key frame, without A.
  const size_t before = got.size();
  ASSERT_TRUE(OnB([&] {
                return Call(fbs::Method::CONSUMER_SET_PREFERENCES, "cv",
                            [](flatbuffers::FlatBufferBuilder& fbb) {
                              auto body = fbs::CreateConsumerPreferences(fbb, 0, false, 0);
                              return std::make_pair(fbs::RequestBody::ConsumerPreferences,
                                                    body.Union());
                            });
              }).accepted);
  send_frames(25);
  got = received_layers();
  ASSERT_GT(got.size(), before + 5);
  EXPECT_EQ(got.back().second, 0) << "the subscriber on B switched to q";
  for (size_t i = 1; i < got.size(); ++i) {
    EXPECT_EQ(got[i].first, static_cast<uint16_t>(got[i - 1].first + 1)) << "continuous at " << i;
  }
  // Everything crossed once: three layers' packets on A's end, none refused on B's.
  Reply a_stats = Call(fbs::Method::TRANSPORT_GET_STATS, "pipe-a");
  EXPECT_GE(a_stats.rtp_sent, 3u * 50u);
  EXPECT_EQ(OnB([&] {
              return Call(fbs::Method::TRANSPORT_GET_STATS, "pipe-b");
            }).counters["packets_dropped"],
            0u);
  EXPECT_FALSE(exited_);
}

INSTANTIATE_TEST_SUITE_P(PlainAndSrtp, PipeRequestsTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "Srtp" : "Plain"; });

}  // namespace
}  // namespace sb::worker::testing
