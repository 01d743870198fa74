// What a publisher's offer becomes in the worker: Chromium's simulcast offer gives a producer
// with one encoding per rid (lowest quality first) and the extensions that name the streams.
#include "signaling/publish_parameters.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>

#include "signaling/sdp/webrtc_sdp.h"
#include "tests/test_data.h"

namespace sb::signaling {
namespace {

using ::testing::ElementsAre;
using ::testing::SizeIs;

sdp::RemoteMedia VideoOf(const std::string& file) {
  auto offer = sdp::ParseRemoteDescription(test_data::Read(file));
  EXPECT_TRUE(offer.ok()) << offer.status();
  if (!offer.ok() || offer->media.size() < 2) return {};
  return offer->media[1];
}

TEST(PublishParameters, ChromiumSimulcastOfferGivesOneEncodingPerRid) {
  auto params = ProducerParametersFor(VideoOf("chromium_simulcast_offer.sdp"));
  ASSERT_TRUE(params.has_value());
  ASSERT_THAT(params->encodings, SizeIs(3));
  // Offer order, which is Chromium's sendEncodings order: q (1/4), h (1/2), f.
  EXPECT_EQ(params->encodings[0].rid, "q");
  EXPECT_EQ(params->encodings[1].rid, "h");
  EXPECT_EQ(params->encodings[2].rid, "f");
  for (const auto& e : params->encodings) {
    EXPECT_EQ(e.ssrc, 0u) << "learned from the rid extension";
    EXPECT_EQ(e.rtx_ssrc, 0u);
  }
  // The streams are told apart by rid, RTX by repaired rid: both extensions are negotiated
  // with the offer's ids, and so is the transport-wide sequence number with its feedback (the
  // worker answers it with transport-cc feedback); REMB is not (transport-cc is preferred).
  EXPECT_EQ(params->HeaderExtensionId(rtp::kUriMid), 4);
  EXPECT_EQ(params->HeaderExtensionId(rtp::kUriRid), 10);
  EXPECT_EQ(params->HeaderExtensionId(rtp::kUriRepairedRid), 11);
  EXPECT_EQ(params->HeaderExtensionId(rtp::kUriTransportWideCc), 3);
  auto has_feedback = [&](const std::string& type) {
    return std::any_of(params->codecs[0].rtcp_feedback.begin(),
                       params->codecs[0].rtcp_feedback.end(),
                       [&](const rtp::RtcpFeedback& fb) { return fb.type == type; });
  };
  EXPECT_TRUE(has_feedback("transport-cc"));
  EXPECT_FALSE(has_feedback("goog-remb"));
  ASSERT_THAT(params->codecs, SizeIs(2));
  EXPECT_EQ(params->codecs[0].mime_type, "video/VP8");
  EXPECT_EQ(params->codecs[1].mime_type, "video/rtx");
  EXPECT_TRUE(rtp::ValidateProducerParameters(rtp::MediaKind::kVideo, *params).ok());
}

TEST(PublishParameters, PlainOfferKeepsOneEncodingWithItsSsrcs) {
  const sdp::RemoteMedia video = VideoOf("chromium_publish_offer.sdp");
  ASSERT_THAT(video.rtp.encodings, SizeIs(1));
  auto params = ProducerParametersFor(video);
  ASSERT_TRUE(params.has_value());
  ASSERT_THAT(params->encodings, SizeIs(1));
  EXPECT_TRUE(params->encodings[0].rid.empty());
  EXPECT_EQ(params->encodings[0].ssrc, video.rtp.encodings[0].ssrc);
  EXPECT_EQ(params->encodings[0].rtx_ssrc, video.rtp.encodings[0].rtx_ssrc);
  EXPECT_TRUE(rtp::ValidateProducerParameters(rtp::MediaKind::kVideo, *params).ok());
}

TEST(PublishParameters, AnswerAcceptsTheSimulcastStreams) {
  auto offer = sdp::ParseRemoteDescription(test_data::Read("chromium_simulcast_offer.sdp"));
  ASSERT_TRUE(offer.ok());
  std::vector<sdp::LocalMedia> media;
  for (const auto& m : offer->media) {
    sdp::LocalMedia local;
    local.mid = m.mid;
    local.kind = m.kind;
    local.rtp = *ProducerParametersFor(m);
    media.push_back(std::move(local));
  }
  sdp::LocalTransport transport;
  transport.ice_ufrag = "abcd";
  transport.ice_pwd = "0123456789012345678901";
  transport.fingerprints = {{"sha-256", "AB:CD"}};
  const std::string answer = sdp::BuildAnswer(*offer, transport, media, 1);
  // Chromium refuses a simulcast answer without the rid extension (checked with Chromium 156).
  EXPECT_NE(answer.find("a=extmap:10 urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id\r\n"),
            std::string::npos);
  EXPECT_NE(answer.find("a=extmap:11 urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id\r\n"),
            std::string::npos);
  EXPECT_NE(answer.find("a=simulcast:recv q;h;f\r\n"), std::string::npos);
}

// The offer as a client that speaks only REMB makes it (Chromium's with transport-cc taken out):
// goog-remb and abs-send-time are accepted, so that the worker's receive-side estimate reaches
// the publisher. Without abs-send-time there is nothing to estimate from: no goog-remb.
TEST(PublishParameters, RembForAPublisherWithoutTransportCc) {
  sdp::RemoteMedia m = VideoOf("chromium_simulcast_offer.sdp");
  std::erase_if(m.rtp.header_extensions,
                [](const auto& ext) { return ext.uri == rtp::kUriTransportWideCc; });
  for (auto& codec : m.rtp.codecs) {
    std::erase_if(codec.rtcp_feedback, [](const auto& fb) { return fb.type == "transport-cc"; });
  }
  auto params = ProducerParametersFor(m);
  ASSERT_TRUE(params.has_value());
  EXPECT_EQ(params->HeaderExtensionId(rtp::kUriTransportWideCc), 0);
  EXPECT_EQ(params->HeaderExtensionId(rtp::kUriAbsSendTime), 2);
  EXPECT_THAT(params->codecs[0].rtcp_feedback,
              ::testing::Contains(rtp::RtcpFeedback{"goog-remb", ""}));

  std::erase_if(m.rtp.header_extensions,
                [](const auto& ext) { return ext.uri == rtp::kUriAbsSendTime; });
  params = ProducerParametersFor(m);
  ASSERT_TRUE(params.has_value());
  EXPECT_THAT(params->codecs[0].rtcp_feedback,
              ::testing::Not(::testing::Contains(rtp::RtcpFeedback{"goog-remb", ""})));
}

TEST(PublishParameters, NoForwardableCodec) {
  sdp::RemoteMedia m = VideoOf("chromium_publish_offer.sdp");
  // Only RED (and its RTX): nothing the router forwards.
  std::erase_if(m.rtp.codecs, [](const auto& c) {
    return c.mime_type != "video/red" && c.mime_type != "video/rtx";
  });
  ASSERT_FALSE(m.rtp.codecs.empty());
  EXPECT_FALSE(ProducerParametersFor(m).has_value());
}

// VP9 and AV1 are forwarded too (with their SVC layers).
TEST(PublishParameters, Vp9AndAv1AreForwardable) {
  sdp::RemoteMedia m = VideoOf("chromium_publish_offer.sdp");
  std::erase_if(m.rtp.codecs, [](const auto& c) { return c.mime_type != "video/VP9"; });
  auto params = ProducerParametersFor(m);
  ASSERT_TRUE(params.has_value());
  EXPECT_EQ(params->MediaCodec()->mime_type, "video/VP9");
  m = VideoOf("chromium_publish_offer.sdp");
  std::erase_if(m.rtp.codecs, [](const auto& c) { return c.mime_type != "video/AV1"; });
  params = ProducerParametersFor(m);
  ASSERT_TRUE(params.has_value());
  EXPECT_EQ(params->MediaCodec()->mime_type, "video/AV1");
}

// A stopped screen share (its m-line offered a=inactive) is answered inactive with a codec,
// port and transport kept, so the browser's transceiver stays usable for the next share; a
// sending m-line whose produce failed is rejected.
TEST(PublishParameters, AnswerKeepsAnInactiveMLineAndRejectsAnUnproducedOne) {
  auto offer = sdp::ParseRemoteDescription(test_data::Read("chromium_publish_offer.sdp"));
  ASSERT_TRUE(offer.ok());
  ASSERT_THAT(offer->media, SizeIs(2));
  const auto audio = ProducerParametersFor(offer->media[0]);
  ASSERT_TRUE(audio.has_value());
  offer->media[1].direction = "inactive";
  auto produced_audio = [&](const std::string& mid) -> const rtp::RtpParameters* {
    return mid == "0" ? &*audio : nullptr;
  };
  auto media = PublishAnswerMedia(*offer, produced_audio);
  ASSERT_THAT(media, SizeIs(2));
  EXPECT_EQ(media[0].direction, "recvonly");
  EXPECT_FALSE(media[0].rejected);
  EXPECT_EQ(media[1].mid, "1");
  EXPECT_EQ(media[1].direction, "inactive");
  EXPECT_FALSE(media[1].rejected);
  ASSERT_FALSE(media[1].rtp.codecs.empty());
  EXPECT_EQ(media[1].rtp.codecs[0].mime_type, "video/VP8");

  sdp::LocalTransport transport;
  transport.ice_ufrag = "abcd";
  transport.ice_pwd = "0123456789012345678901";
  transport.fingerprints = {{"sha-256", "AB:CD"}};
  auto answer = sdp::ParseRemoteDescription(sdp::BuildAnswer(*offer, transport, media, 1));
  ASSERT_TRUE(answer.ok()) << answer.status();
  ASSERT_THAT(answer->media, SizeIs(2));
  EXPECT_FALSE(answer->media[1].rejected) << "port kept";
  EXPECT_EQ(answer->media[1].direction, "inactive");
  EXPECT_THAT(answer->bundle_mids, ElementsAre("0", "1"));

  // Sending, but nothing was produced (no forwardable codec, or the worker refused): rejected.
  offer->media[1].direction = "sendonly";
  media = PublishAnswerMedia(*offer, produced_audio);
  EXPECT_TRUE(media[1].rejected);
  // Inactive with no codec we forward: nothing to keep it with.
  offer->media[1].direction = "inactive";
  std::erase_if(offer->media[1].rtp.codecs,
                [](const auto& c) { return c.mime_type != "video/red"; });
  media = PublishAnswerMedia(*offer, produced_audio);
  EXPECT_TRUE(media[1].rejected);
}

// Chromium's AV1 SVC offer (scalabilityMode L3T3_KEY): its layers are only in the dependency
// descriptor, which the answer must keep (without it the worker saw one layer and Chromium's
// subscribers decoded nothing).
TEST(PublishParameters, Av1KeepsTheDependencyDescriptor) {
  const std::string offer =
      "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n"
      "a=extmap-allow-mixed\r\na=msid-semantic: WMS\r\n"
      "m=video 9 UDP/TLS/RTP/SAVPF 45\r\nc=IN IP4 0.0.0.0\r\na=rtcp:9 IN IP4 0.0.0.0\r\n"
      "a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\n"
      "a=fingerprint:sha-256 "
      "AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:"
      "88:99\r\na=setup:actpass\r\na=mid:0\r\n"
      "a=extmap:4 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01\r\n"
      "a=extmap:9 urn:ietf:params:rtp-hdrext:sdes:mid\r\n"
      "a=extmap:13 https://aomediacodec.github.io/av1-rtp-spec/"
      "#dependency-descriptor-rtp-header-extension\r\n"
      "a=extmap:14 http://www.webrtc.org/experiments/rtp-hdrext/video-layers-allocation00\r\n"
      "a=sendonly\r\na=msid:- t\r\na=rtcp-mux\r\na=rtpmap:45 AV1/90000\r\n"
      "a=rtcp-fb:45 transport-cc\r\na=rtcp-fb:45 nack\r\na=rtcp-fb:45 nack pli\r\n"
      "a=fmtp:45 level-idx=5;profile=0;tier=0\r\na=ssrc:1111 cname:c\r\n";
  auto parsed = sdp::ParseRemoteDescription(offer);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  ASSERT_THAT(parsed->media, SizeIs(1));
  auto params = ProducerParametersFor(parsed->media[0]);
  ASSERT_TRUE(params.has_value());
  EXPECT_EQ(params->codecs[0].mime_type, "video/AV1");
  EXPECT_EQ(params->HeaderExtensionId(rtp::kUriDependencyDescriptor), 13);
  // The layer allocation extension is Chromium's own business: not negotiated.
  EXPECT_EQ(params->header_extensions.size(), 3u);
}

}  // namespace
}  // namespace sb::signaling
