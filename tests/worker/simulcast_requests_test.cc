// A simulcast publish through a real worker: Chromium's simulcast offer becomes (through the
// control side's SDP handling) a producer with one encoding per rid; a fake browser sends the
// three layers with mid + rid extensions as Chromium does, and the worker learns their ssrcs,
// reports on each, and forwards one of them to a subscriber as one stream, falling back to the
// next layer when the top one stops.
#include <gtest/gtest.h>

#include <array>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "rtp/rtcp/pli.h"
#include "rtp/rtcp/receiver_report.h"
#include "rtp/rtcp/rtcp_packet.h"
#include "rtp/rtp_packet.h"
#include "signaling/publish_parameters.h"
#include "signaling/sdp/webrtc_sdp.h"
#include "tests/router/rtp_test_packets.h"
#include "tests/test_data.h"
#include "tests/worker/router_requests_fixture.h"

namespace sb::worker {
namespace {

using router::testing::TestPacket;
using router::testing::Vp8Frame;
using testing::ChromiumCapabilities;
using testing::FakePeer;
using testing::Reply;
using testing::RouterRequestsTest;

// Chromium 156's extension ids in tests/data/chromium_simulcast_offer.sdp.
constexpr uint8_t kMidId = 4;
constexpr uint8_t kRidId = 10;
constexpr int64_t kFrameMs = 33;

struct Layer {
  std::string rid;
  uint32_t ssrc;
  uint16_t seq;
  uint32_t ts;
  uint16_t picture_id;
};

TEST_F(RouterRequestsTest, SimulcastOfferGivesAThreeEncodingProducer) {
  auto offer =
      signaling::sdp::ParseRemoteDescription(test_data::Read("chromium_simulcast_offer.sdp"));
  ASSERT_TRUE(offer.ok()) << offer.status();
  const signaling::sdp::RemoteMedia& video = offer->media[1];
  auto params = signaling::ProducerParametersFor(video);
  ASSERT_TRUE(params.has_value());
  ASSERT_EQ(params->encodings.size(), 3u);

  auto [publisher, subscriber] = ConnectPublisherAndSubscriber();
  ASSERT_TRUE(publisher && subscriber);

  ASSERT_TRUE(Produce("pub", "video", rtp::MediaKind::kVideo, *params).accepted);
  Reply stats = Call(fbs::Method::PRODUCER_GET_STATS, "video");
  ASSERT_EQ(stats.streams.size(), 3u) << "one stream per encoding";
  EXPECT_EQ(stats.streams[0].rid, "q");
  EXPECT_EQ(stats.streams[1].rid, "h");
  EXPECT_EQ(stats.streams[2].rid, "f");
  EXPECT_EQ(stats.streams[2].ssrc, 0u) << "not known before the first packet";
  Reply cv = Consume("sub", "cv", "video", ChromiumCapabilities(), "0");
  ASSERT_TRUE(cv.accepted);
  const uint32_t consumer_ssrc = cv.consumer_params->encodings[0].ssrc;

  std::array<Layer, 3> layers = {Layer{"q", 0x5100, 1000, 90'000, 100},
                                 Layer{"h", 0x5200, 2000, 190'000, 200},
                                 Layer{"f", 0x5300, 3000, 290'000, 300}};
  // One frame per layer; every tenth frame is a key frame on each layer (a browser answers
  // the server's PLIs so; this fake one just sends them regularly). The last payload byte
  // says which layer a forwarded packet came from.
  int frame = 0;
  auto send_frame = [&](size_t layer_count) {
    for (size_t i = 0; i < layer_count; ++i) {
      Layer& l = layers[i];
      std::vector<uint8_t> payload = Vp8Frame(frame % 10 == 0, l.picture_id, 0);
      payload.push_back(static_cast<uint8_t>(i));
      TestPacket p(
          96, l.seq++, l.ts, l.ssrc, payload,
          {{kMidId, {video.mid.begin(), video.mid.end()}}, {kRidId, {l.rid.begin(), l.rid.end()}}});
      ASSERT_TRUE(p.ok());
      ASSERT_TRUE(publisher->SendRtp(p.get().data(), p.get().size()));
      l.ts += kFrameMs * 90;
      ++l.picture_id;
    }
    ++frame;
    RunFor(std::chrono::milliseconds(kFrameMs));
  };
  for (int i = 0; i < 30; ++i) send_frame(3);

  // The worker learned each layer's ssrc from its rid and reports on each.
  stats = Call(fbs::Method::PRODUCER_GET_STATS, "video");
  ASSERT_EQ(stats.streams.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(stats.streams[i].ssrc, layers[i].ssrc) << layers[i].rid;
    EXPECT_EQ(stats.streams[i].packets, 30u) << layers[i].rid;
  }
  auto reported = [&] {
    std::set<uint32_t> ssrcs;
    for (const auto& compound : publisher->rtcp()) {
      (void)rtp::ForEachRtcpPacket(compound, [&](const rtp::RtcpHeader& h) {
        if (h.packet_type != rtp::kRtcpRr) return;
        if (auto rr = rtp::ReceiverReport::Parse(h.packet)) {
          for (const auto& block : rr->report_blocks) ssrcs.insert(block.ssrc);
        }
      });
    }
    return ssrcs;
  };
  EXPECT_TRUE(RunUntil([&] { return reported().size() == 3; }, std::chrono::milliseconds(2500)))
      << "receiver reports name " << reported().size() << " of the 3 layers";

  // The subscriber gets one stream, ending on the top layer.
  auto received = [&] {
    std::vector<std::pair<uint16_t, uint8_t>> out;  // sequence number, layer
    for (auto bytes : subscriber->rtp()) {
      auto packet = rtp::RtpPacket::Parse(bytes.data(), bytes.size());
      EXPECT_TRUE(packet.has_value());
      if (!packet) continue;
      EXPECT_EQ(packet->ssrc(), consumer_ssrc);
      out.push_back({packet->sequence_number(), packet->payload().back()});
    }
    return out;
  };
  auto expect_continuous = [](const std::vector<std::pair<uint16_t, uint8_t>>& packets) {
    for (size_t i = 1; i < packets.size(); ++i) {
      EXPECT_EQ(packets[i].first, static_cast<uint16_t>(packets[i - 1].first + 1)) << "at " << i;
    }
  };
  auto got = received();
  ASSERT_GE(got.size(), 20u);
  expect_continuous(got);
  EXPECT_EQ(got.back().second, 2) << "forwarding f";
  EXPECT_EQ(Call(fbs::Method::CONSUMER_GET_STATS, "cv").streams.at(0).rid, "f");

  // f stops: after the activity window the worker asks for a key frame of h and the
  // subscriber's stream continues with h.
  const int h_plis = publisher->PliCount(layers[1].ssrc);
  const size_t before = got.size();
  for (int i = 0; i < 60; ++i) send_frame(2);
  got = received();
  ASSERT_GT(got.size(), before);
  expect_continuous(got);
  EXPECT_EQ(got.back().second, 1) << "forwarding h";
  EXPECT_GT(publisher->PliCount(layers[1].ssrc), h_plis) << "no PLI for h's ssrc";
  EXPECT_EQ(Call(fbs::Method::CONSUMER_GET_STATS, "cv").streams.at(0).rid, "h");
  EXPECT_EQ(subscriber->unprotect_failures(), 0u);
}

}  // namespace
}  // namespace sb::worker
