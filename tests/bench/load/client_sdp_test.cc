// The load generator's SDP: the Chromium-shaped publishing offer and the answer to the server's
// subscribe-offer, checked through the server's own parser and builder.
#include "bench/load/client_sdp.h"

#include <arpa/inet.h>

#include "gtest/gtest.h"
#include "tests/signaling/sdp/sdp_fixtures.h"

namespace sb::bench {
namespace {

namespace sdp = signaling::sdp;

ClientTransport Transport() {
  return NewClientTransport({{"sha-256",
                              "AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:"
                              "BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99"}});
}

PublishTracks Tracks() {
  PublishTracks t;
  t.audio_ssrc = 1001;
  t.video_ssrc = 2002;
  t.video_rtx_ssrc = 3003;
  t.cname = "cname1";
  t.stream_id = "stream1";
  t.audio_track_id = "atrack";
  t.video_track_id = "vtrack";
  return t;
}

TEST(ClientSdp, IceCredentialsAreValidAndFresh) {
  ClientTransport a = Transport(), b = Transport();
  EXPECT_EQ(a.ice_ufrag.size(), 4u);
  EXPECT_EQ(a.ice_pwd.size(), 24u);
  EXPECT_NE(a.ice_pwd, b.ice_pwd);
}

TEST(ClientSdp, PublishOfferParsesAsChromiumOffer) {
  const ClientTransport t = Transport();
  auto offer = sdp::ParseRemoteDescription(BuildPublishOffer(t, Tracks(), 42));
  ASSERT_TRUE(offer.ok()) << offer.status();
  EXPECT_EQ(offer->ice_ufrag, t.ice_ufrag);
  EXPECT_EQ(offer->ice_pwd, t.ice_pwd);
  EXPECT_EQ(offer->setup, "actpass");
  ASSERT_EQ(offer->fingerprints.size(), 1u);
  EXPECT_EQ(offer->bundle_mids, (std::vector<std::string>{"0", "1"}));
  ASSERT_EQ(offer->media.size(), 2u);

  const auto& audio = offer->media[0];
  EXPECT_EQ(audio.mid, "0");
  EXPECT_EQ(audio.kind, rtp::MediaKind::kAudio);
  EXPECT_EQ(audio.direction, "sendonly");
  ASSERT_NE(audio.rtp.MediaCodec(), nullptr);
  EXPECT_EQ(audio.rtp.MediaCodec()->mime_type, "audio/opus");
  EXPECT_EQ(audio.rtp.MediaCodec()->payload_type, kOpusPayloadType);
  EXPECT_EQ(audio.rtp.MediaCodec()->channels, 2);
  EXPECT_EQ(audio.rtp.HeaderExtensionId(rtp::kUriAudioLevel), kExtAudioLevel);
  EXPECT_EQ(audio.rtp.HeaderExtensionId(rtp::kUriMid), kExtMid);
  ASSERT_EQ(audio.rtp.encodings.size(), 1u);
  EXPECT_EQ(audio.rtp.encodings[0].ssrc, 1001u);
  EXPECT_EQ(audio.rtp.cname, "cname1");
  EXPECT_EQ(audio.msid_stream, "stream1");

  const auto& video = offer->media[1];
  EXPECT_EQ(video.mid, "1");
  EXPECT_EQ(video.kind, rtp::MediaKind::kVideo);
  ASSERT_NE(video.rtp.MediaCodec(), nullptr);
  EXPECT_EQ(video.rtp.MediaCodec()->mime_type, "video/VP8");
  const auto* rtx = video.rtp.RtxCodecFor(kVp8PayloadType);
  ASSERT_NE(rtx, nullptr);
  EXPECT_EQ(rtx->payload_type, kRtxPayloadType);
  EXPECT_EQ(video.rtp.HeaderExtensionId(rtp::kUriAbsSendTime), kExtAbsSendTime);
  EXPECT_EQ(video.rtp.HeaderExtensionId(rtp::kUriTransportWideCc), kExtTransportCc);
  EXPECT_EQ(video.rtp.HeaderExtensionId(rtp::kUriAudioLevel), 0);
  ASSERT_EQ(video.rtp.encodings.size(), 1u);
  EXPECT_EQ(video.rtp.encodings[0].ssrc, 2002u);
  EXPECT_EQ(video.rtp.encodings[0].rtx_ssrc, 3003u);  // ssrc-group:FID
  EXPECT_TRUE(video.rtp.reduced_size);
  bool has_pli = false;
  for (const auto& fb : video.rtp.MediaCodec()->rtcp_feedback) {
    has_pli |= fb.type == "nack" && fb.parameter == "pli";
  }
  EXPECT_TRUE(has_pli);
}

TEST(ClientSdp, VideoOnlyOfferUsesMidZero) {
  PublishTracks tracks = Tracks();
  tracks.audio = false;
  auto offer = sdp::ParseRemoteDescription(BuildPublishOffer(Transport(), tracks, 1));
  ASSERT_TRUE(offer.ok()) << offer.status();
  ASSERT_EQ(offer->media.size(), 1u);
  EXPECT_EQ(offer->media[0].mid, "0");
  EXPECT_EQ(offer->media[0].kind, rtp::MediaKind::kVideo);
}

TEST(ClientSdp, AnswersTheServersSubscribeOffer) {
  auto media = sdp::testing::SubscribeMedia();
  sdp::LocalMedia closed = media[0];
  closed.mid = "2";
  closed.rejected = true;
  closed.direction = "inactive";
  media.push_back(closed);
  const std::string server_offer = sdp::BuildOffer(sdp::testing::ServerTransport(), media, 7, 3);
  auto offer = sdp::ParseRemoteDescription(server_offer);
  ASSERT_TRUE(offer.ok()) << offer.status();

  const ClientTransport t = Transport();
  auto answer = sdp::ParseRemoteDescription(BuildSubscribeAnswer(*offer, t, 9, 1));
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_EQ(answer->setup, "active");  // we are the DTLS client
  EXPECT_EQ(answer->ice_ufrag, t.ice_ufrag);
  EXPECT_EQ(answer->bundle_mids, (std::vector<std::string>{"0", "1"}));
  ASSERT_EQ(answer->media.size(), 3u);
  for (size_t i = 0; i < 2; ++i) {
    const auto& o = offer->media[i];
    const auto& a = answer->media[i];
    EXPECT_EQ(a.mid, o.mid);
    EXPECT_EQ(a.direction, "recvonly");
    EXPECT_FALSE(a.rejected);
    ASSERT_EQ(a.rtp.codecs.size(), o.rtp.codecs.size());
    for (size_t c = 0; c < a.rtp.codecs.size(); ++c) {
      EXPECT_EQ(a.rtp.codecs[c].payload_type, o.rtp.codecs[c].payload_type);
      EXPECT_EQ(a.rtp.codecs[c].mime_type, o.rtp.codecs[c].mime_type);
      EXPECT_EQ(a.rtp.codecs[c].parameters, o.rtp.codecs[c].parameters);
    }
    ASSERT_EQ(a.rtp.header_extensions.size(), o.rtp.header_extensions.size());
    EXPECT_TRUE(a.rtp.encodings.empty());  // a receive-only answer announces no ssrc
  }
  EXPECT_EQ(answer->media[2].mid, "2");
  EXPECT_TRUE(answer->media[2].rejected);
}

TEST(ClientSdp, FindsTheServersUdpCandidate) {
  const std::string offer =
      sdp::BuildOffer(sdp::testing::ServerTransport(), sdp::testing::SubscribeMedia(), 7, 1);
  auto candidate = FirstUdpCandidate(offer);
  ASSERT_TRUE(candidate);
  EXPECT_EQ(ntohs(candidate->sin_port), 40000);
  EXPECT_EQ(ntohl(candidate->sin_addr.s_addr), INADDR_LOOPBACK);
  EXPECT_FALSE(FirstUdpCandidate("v=0\r\n"));
}

TEST(ClientSdp, CapabilitiesAreChromiumShaped) {
  auto caps = ChromiumRtpCapabilities();
  ASSERT_TRUE(caps["audio"]["codecs"].is_array());
  EXPECT_EQ(caps["audio"]["codecs"][0]["mimeType"], "audio/opus");
  EXPECT_EQ(caps["video"]["codecs"][0]["mimeType"], "video/VP8");
  EXPECT_EQ(caps["video"]["codecs"][1]["mimeType"], "video/rtx");
  EXPECT_GE(caps["video"]["headerExtensions"].size(), 4u);
}

}  // namespace
}  // namespace sb::bench
