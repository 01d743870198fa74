// The load generator's SDP: the Chromium-shaped publishing offer and the answer to the server's
// subscribe-offer, checked through the server's own parser and builder.
#include "bench/load/client_sdp.h"

#include <arpa/inet.h>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "signaling/sdp/sdp_session.h"
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

TEST(ClientSdp, DataChannelsAddAChromiumShapedApplicationSection) {
  PublishTracks tracks = Tracks();
  tracks.data = true;
  const std::string text = BuildPublishOffer(Transport(), tracks, 42);
  // As tests/data/chromium_datachannel_offer.sdp writes it.
  EXPECT_NE(text.find("m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n"), std::string::npos);
  EXPECT_NE(text.find("a=sctp-port:5000\r\n"), std::string::npos);
  EXPECT_NE(text.find("a=max-message-size:262144\r\n"), std::string::npos);
  auto offer = sdp::ParseRemoteDescription(text);
  ASSERT_TRUE(offer.ok()) << offer.status();
  EXPECT_EQ(offer->bundle_mids, (std::vector<std::string>{"0", "1", "2"}));
  ASSERT_EQ(offer->media.size(), 3u);
  const auto& data = offer->media[2];
  EXPECT_EQ(data.mid, "2");
  EXPECT_TRUE(data.data_channel);
  EXPECT_FALSE(data.rejected);
  EXPECT_EQ(data.sctp_port, 5000);
  EXPECT_EQ(data.max_message_size, kClientMaxMessageSize);

  // Data channels alone (a participant that does not publish media): mid 0, bundled alone.
  tracks.audio = tracks.video = false;
  offer = sdp::ParseRemoteDescription(BuildPublishOffer(Transport(), tracks, 43));
  ASSERT_TRUE(offer.ok()) << offer.status();
  EXPECT_EQ(offer->bundle_mids, (std::vector<std::string>{"0"}));
  ASSERT_EQ(offer->media.size(), 1u);
  EXPECT_TRUE(offer->media[0].data_channel);
  EXPECT_EQ(offer->media[0].mid, "0");
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

PublishTracks SimulcastTracks() {
  PublishTracks t = Tracks();
  t.video_rids = {"q", "h", "f"};
  return t;
}

// The value of every `name` attribute of the m-section with `mid`.
std::vector<std::string> SectionAttributes(const std::string& sdp_text, const std::string& mid,
                                           const std::string& name) {
  auto parsed = sdp::SessionDescription::Parse(sdp_text);
  EXPECT_TRUE(parsed.ok()) << parsed.status();
  std::vector<std::string> out;
  if (!parsed.ok()) return out;
  for (const auto& m : parsed->media) {
    if (m.attributes.Get("mid") != mid) continue;
    for (auto v : m.attributes.GetAll(name)) out.emplace_back(v);
  }
  return out;
}

// The offer answered as switchboard answers it (signaling/sdp's BuildAnswer with the media a
// publisher's offer is accepted with).
std::string ServerAnswer(const std::string& offer_text) {
  auto offer = sdp::ParseRemoteDescription(offer_text);
  EXPECT_TRUE(offer.ok()) << offer.status();
  return sdp::BuildAnswer(*offer, sdp::testing::ServerTransport(),
                          sdp::testing::AnswerMediaFor(*offer), 5);
}

// `sdp_text` without the lines that start with one of `prefixes`.
std::string WithoutLines(const std::string& sdp_text, std::vector<std::string> prefixes) {
  std::string out;
  size_t at = 0;
  while (at < sdp_text.size()) {
    size_t end = sdp_text.find("\r\n", at);
    end = end == std::string::npos ? sdp_text.size() : end + 2;
    const std::string line = sdp_text.substr(at, end - at);
    bool drop = false;
    for (const auto& p : prefixes) drop |= line.rfind(p, 0) == 0;
    if (!drop) out += line;
    at = end;
  }
  return out;
}

TEST(ClientSdp, SingleStreamOfferHasNoSimulcast) {
  const std::string offer = BuildPublishOffer(Transport(), Tracks(), 42);
  EXPECT_EQ(offer.find("a=rid:"), std::string::npos);
  EXPECT_EQ(offer.find("a=simulcast"), std::string::npos);
  EXPECT_EQ(offer.find(rtp::kUriRid), std::string::npos);
}

TEST(ClientSdp, SimulcastOfferIsChromiumShaped) {
  const std::string text = BuildPublishOffer(Transport(), SimulcastTracks(), 42);
  // Chromium's order and ids: ..., mid (4), rid (10), repaired-rid (11).
  EXPECT_EQ(SectionAttributes(text, "1", "extmap"),
            (std::vector<std::string>{absl::StrCat(kExtAbsSendTime, " ", rtp::kUriAbsSendTime),
                                      absl::StrCat(kExtTransportCc, " ", rtp::kUriTransportWideCc),
                                      absl::StrCat(kExtMid, " ", rtp::kUriMid),
                                      absl::StrCat(kExtRid, " ", rtp::kUriRid),
                                      absl::StrCat(kExtRepairedRid, " ", rtp::kUriRepairedRid)}));
  EXPECT_EQ(SectionAttributes(text, "1", "rid"),
            (std::vector<std::string>{"q send", "h send", "f send"}));
  EXPECT_EQ(SectionAttributes(text, "1", "simulcast"), (std::vector<std::string>{"send q;h;f"}));
  // No ssrc for the video: the server learns each layer's from its mid and rid.
  EXPECT_TRUE(SectionAttributes(text, "1", "ssrc").empty());
  EXPECT_TRUE(SectionAttributes(text, "1", "ssrc-group").empty());
  EXPECT_EQ(SectionAttributes(text, "1", "msid").size(), 1u);
  EXPECT_EQ(SectionAttributes(text, "0", "ssrc").size(), 2u);  // audio unchanged

  auto offer = sdp::ParseRemoteDescription(text);
  ASSERT_TRUE(offer.ok()) << offer.status();
  const auto& video = offer->media[1];
  EXPECT_EQ(video.rids, (std::vector<std::string>{"q", "h", "f"}));
  ASSERT_EQ(video.rtp.encodings.size(), 3u);
  for (const auto& e : video.rtp.encodings) EXPECT_EQ(e.ssrc, 0u);
  EXPECT_EQ(video.rtp.HeaderExtensionId(rtp::kUriRid), kExtRid);
  EXPECT_EQ(video.rtp.HeaderExtensionId(rtp::kUriRepairedRid), kExtRepairedRid);
  EXPECT_EQ(video.rtp.cname, "");  // no a=ssrc, no cname: it comes in the RTCP SDES
  EXPECT_EQ(offer->media[0].rtp.cname, "cname1");
}

TEST(ClientSdp, SendsEveryLayerTheAnswerReceives) {
  const std::vector<std::string> rids = {"q", "h", "f"};
  const std::string answer = ServerAnswer(BuildPublishOffer(Transport(), SimulcastTracks(), 1));
  ASSERT_EQ(SectionAttributes(answer, "1", "simulcast"), (std::vector<std::string>{"recv q;h;f"}));
  EXPECT_EQ(SendRidsFromAnswer(rids, answer, "1"), rids);
}

TEST(ClientSdp, AnswerWithoutSimulcastLeavesTheFirstEncoding) {
  // JSEP: an answerer that does not take simulcast gets only the first encoding (q here).
  const std::vector<std::string> rids = {"q", "h", "f"};
  const std::string answer = WithoutLines(
      ServerAnswer(BuildPublishOffer(Transport(), SimulcastTracks(), 1)), {"a=simulcast", "a=rid"});
  ASSERT_TRUE(sdp::ParseRemoteDescription(answer).ok());
  EXPECT_EQ(SendRidsFromAnswer(rids, answer, "1"), (std::vector<std::string>{"q"}));
  // The audio m-section never had simulcast; a missing mid is treated the same way.
  EXPECT_EQ(SendRidsFromAnswer(rids, answer, "7"), (std::vector<std::string>{"q"}));
  EXPECT_TRUE(SendRidsFromAnswer({}, answer, "1").empty());
  EXPECT_TRUE(SendRidsFromAnswer(rids, "not sdp", "1").empty());
}

TEST(ClientSdp, AnswerCanDropOrPauseLayers) {
  const std::vector<std::string> rids = {"q", "h", "f"};
  const std::string base = WithoutLines(
      ServerAnswer(BuildPublishOffer(Transport(), SimulcastTracks(), 1)), {"a=simulcast", "a=rid"});
  auto with = [&](const std::string& simulcast) {
    // Append the attribute at the end of the video (last) m-section.
    return base + "a=simulcast:" + simulcast + "\r\n";
  };
  // RFC 8853 5.3: left out = rejected; "~" = paused; alternatives: the first one counts; the
  // offered order is kept.
  EXPECT_EQ(SendRidsFromAnswer(rids, with("recv f;q"), "1"), (std::vector<std::string>{"q", "f"}));
  EXPECT_EQ(SendRidsFromAnswer(rids, with("recv ~q;h;f"), "1"),
            (std::vector<std::string>{"h", "f"}));
  EXPECT_EQ(SendRidsFromAnswer(rids, with("recv h,q;f"), "1"),
            (std::vector<std::string>{"h", "f"}));
  EXPECT_TRUE(SendRidsFromAnswer(rids, with("recv ~q;~h;~f"), "1").empty());
  // Only a send direction: the answerer receives no simulcast.
  EXPECT_EQ(SendRidsFromAnswer(rids, with("send q"), "1"), (std::vector<std::string>{"q"}));
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
