#include "signaling/sdp/webrtc_sdp.h"

#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "signaling/sdp/sdp_session.h"
#include "tests/signaling/sdp/sdp_fixtures.h"
#include "tests/test_data.h"

namespace sb::signaling::sdp {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

const rtp::RtpCodecParameters* FindCodec(const rtp::RtpParameters& p, const std::string& mime,
                                         uint8_t pt = 0) {
  for (const auto& c : p.codecs) {
    if (c.mime_type == mime && (pt == 0 || c.payload_type == pt)) return &c;
  }
  return nullptr;
}

uint8_t ExtId(const rtp::RtpParameters& p, const std::string& uri) {
  for (const auto& e : p.header_extensions) {
    if (e.uri == uri) return e.id;
  }
  return 0;
}

// The value after "a=<prefix>" on the first line that starts so, e.g. "ssrc-group:FID ".
std::string FirstValue(const std::string& sdp, const std::string& prefix) {
  for (absl::string_view line : absl::StrSplit(sdp, "\r\n")) {
    if (absl::StartsWith(line, "a=" + prefix)) return std::string(line.substr(2 + prefix.size()));
  }
  return "";
}

TEST(WebRtcSdp, ParsesChromiumPublishOffer) {
  const std::string text = test_data::Read("chromium_publish_offer.sdp");
  auto offer = ParseRemoteDescription(text);
  ASSERT_TRUE(offer.ok()) << offer.status();
  EXPECT_EQ(offer->ice_ufrag, FirstValue(text, "ice-ufrag:"));
  EXPECT_EQ(offer->ice_pwd, FirstValue(text, "ice-pwd:"));
  ASSERT_THAT(offer->fingerprints, SizeIs(1));
  EXPECT_EQ(offer->fingerprints[0].algorithm, "sha-256");
  EXPECT_THAT(offer->fingerprints[0].value, SizeIs(32 * 3 - 1));
  EXPECT_EQ(offer->setup, "actpass");
  EXPECT_THAT(offer->bundle_mids, ElementsAre("0", "1"));
  ASSERT_THAT(offer->media, SizeIs(2));

  const RemoteMedia& audio = offer->media[0];
  EXPECT_EQ(audio.mid, "0");
  EXPECT_EQ(audio.rtp.mid, "0");
  EXPECT_EQ(audio.kind, rtp::MediaKind::kAudio);
  EXPECT_EQ(audio.direction, "sendonly");
  EXPECT_FALSE(audio.rejected);
  EXPECT_TRUE(audio.rtp.reduced_size);
  ASSERT_FALSE(audio.rtp.codecs.empty());
  const rtp::RtpCodecParameters& opus = audio.rtp.codecs[0];
  EXPECT_EQ(opus.mime_type, "audio/opus");
  EXPECT_EQ(opus.payload_type, 111);
  EXPECT_EQ(opus.clock_rate, 48000u);
  EXPECT_EQ(opus.channels, 2);
  EXPECT_EQ(opus.parameters.at("minptime"), "10");
  EXPECT_EQ(opus.parameters.at("useinbandfec"), "1");
  EXPECT_THAT(opus.rtcp_feedback, ElementsAre(rtp::RtcpFeedback{"transport-cc", ""}));
  ASSERT_NE(FindCodec(audio.rtp, "audio/red"), nullptr);
  EXPECT_EQ(FindCodec(audio.rtp, "audio/red")->parameters.count("111/111"), 1u);
  EXPECT_NE(FindCodec(audio.rtp, "audio/PCMU", 0), nullptr);
  EXPECT_EQ(ExtId(audio.rtp, rtp::kUriAudioLevel), 1);
  EXPECT_EQ(ExtId(audio.rtp, rtp::kUriAbsSendTime), 2);
  EXPECT_EQ(ExtId(audio.rtp, rtp::kUriTransportWideCc), 3);
  EXPECT_EQ(ExtId(audio.rtp, rtp::kUriMid), 4);
  ASSERT_THAT(audio.rtp.encodings, SizeIs(1));
  EXPECT_NE(audio.rtp.encodings[0].ssrc, 0u);
  EXPECT_EQ(audio.rtp.encodings[0].rtx_ssrc, 0u);
  EXPECT_THAT(audio.rids, IsEmpty());
  const std::string cname = audio.rtp.cname;
  EXPECT_FALSE(cname.empty());
  EXPECT_FALSE(audio.msid_stream.empty());
  EXPECT_FALSE(audio.msid_track.empty());

  const RemoteMedia& video = offer->media[1];
  EXPECT_EQ(video.mid, "1");
  EXPECT_EQ(video.kind, rtp::MediaKind::kVideo);
  EXPECT_EQ(video.direction, "sendonly");
  EXPECT_EQ(video.msid_stream, audio.msid_stream);
  EXPECT_NE(video.msid_track, audio.msid_track);
  EXPECT_EQ(video.rtp.cname, cname);
  const rtp::RtpCodecParameters* vp8 = FindCodec(video.rtp, "video/VP8");
  ASSERT_NE(vp8, nullptr);
  EXPECT_EQ(vp8->payload_type, 96);
  EXPECT_EQ(vp8->clock_rate, 90000u);
  EXPECT_THAT(vp8->rtcp_feedback,
              ElementsAre(rtp::RtcpFeedback{"goog-remb", ""}, rtp::RtcpFeedback{"transport-cc", ""},
                          rtp::RtcpFeedback{"ccm", "fir"}, rtp::RtcpFeedback{"nack", ""},
                          rtp::RtcpFeedback{"nack", "pli"}));
  const rtp::RtpCodecParameters* rtx = FindCodec(video.rtp, "video/rtx", 97);
  ASSERT_NE(rtx, nullptr);
  EXPECT_EQ(rtx->parameters.at("apt"), "96");
  const rtp::RtpCodecParameters* h264 = FindCodec(video.rtp, "video/H264", 102);
  ASSERT_NE(h264, nullptr);
  EXPECT_EQ(h264->parameters.at("packetization-mode"), "1");
  EXPECT_EQ(h264->parameters.at("profile-level-id"), "42001f");
  EXPECT_EQ(h264->parameters.at("level-asymmetry-allowed"), "1");
  EXPECT_EQ(video.rtp.codecs[0].payload_type, 96);  // m= line order
  EXPECT_EQ(ExtId(video.rtp, rtp::kUriAbsSendTime), 2);
  EXPECT_EQ(ExtId(video.rtp, rtp::kUriTransportWideCc), 3);
  EXPECT_EQ(ExtId(video.rtp, rtp::kUriMid), 4);
  EXPECT_EQ(ExtId(video.rtp, rtp::kUriRid), 10);
  EXPECT_EQ(ExtId(video.rtp, rtp::kUriRepairedRid), 11);
  EXPECT_EQ(ExtId(video.rtp, rtp::kUriToffset), 14);

  std::vector<std::string> fid = absl::StrSplit(FirstValue(text, "ssrc-group:FID "), ' ');
  ASSERT_THAT(fid, SizeIs(2));
  uint32_t primary = 0, repair = 0;
  ASSERT_TRUE(absl::SimpleAtoi(fid[0], &primary));
  ASSERT_TRUE(absl::SimpleAtoi(fid[1], &repair));
  ASSERT_THAT(video.rtp.encodings, SizeIs(1));
  EXPECT_EQ(video.rtp.encodings[0].ssrc, primary);
  EXPECT_EQ(video.rtp.encodings[0].rtx_ssrc, repair);
  EXPECT_TRUE(video.rtp.encodings[0].rid.empty());
}

TEST(WebRtcSdp, ParsesChromiumSimulcastOffer) {
  auto offer = ParseRemoteDescription(test_data::Read("chromium_simulcast_offer.sdp"));
  ASSERT_TRUE(offer.ok()) << offer.status();
  ASSERT_THAT(offer->media, SizeIs(2));
  EXPECT_THAT(offer->media[0].rids, IsEmpty());
  const RemoteMedia& video = offer->media[1];
  EXPECT_THAT(video.rids, ElementsAre("q", "h", "f"));
  ASSERT_THAT(video.rtp.encodings, SizeIs(3));
  EXPECT_EQ(video.rtp.encodings[0].rid, "q");
  EXPECT_EQ(video.rtp.encodings[2].rid, "f");
  EXPECT_EQ(video.rtp.encodings[0].ssrc, 0u);
  EXPECT_EQ(ExtId(video.rtp, rtp::kUriRid), 10);
  EXPECT_NE(FindCodec(video.rtp, "video/VP8", 96), nullptr);
}

TEST(WebRtcSdp, AnswerToChromiumOffer) {
  for (const char* file : {"chromium_publish_offer.sdp", "chromium_simulcast_offer.sdp"}) {
    SCOPED_TRACE(file);
    auto offer = ParseRemoteDescription(test_data::Read(file));
    ASSERT_TRUE(offer.ok()) << offer.status();
    const LocalTransport transport = testing::ServerTransport();
    const std::string text = BuildAnswer(*offer, transport, testing::AnswerMediaFor(*offer), 1234);

    auto session = SessionDescription::Parse(text);
    ASSERT_TRUE(session.ok()) << session.status();
    EXPECT_TRUE(session->attributes.Has("ice-lite"));
    EXPECT_EQ(session->origin.session_id, 1234u);
    EXPECT_EQ(session->attributes.Get("msid-semantic"), " WMS *");
    EXPECT_NE(text.find("\r\n"), std::string::npos);
    for (const MediaDescription& m : session->media) {
      EXPECT_EQ(m.port, 40000);
      EXPECT_EQ(m.connection->address, "127.0.0.1");
      EXPECT_THAT(m.attributes.GetAll("candidate"),
                  ElementsAre("1 1 udp 2130706431 127.0.0.1 40000 typ host generation 0"));
      EXPECT_TRUE(m.attributes.Has("end-of-candidates"));
      EXPECT_TRUE(m.attributes.Has("rtcp-mux"));
      EXPECT_TRUE(m.attributes.Has("rtcp-rsize"));
    }
    const bool simulcast = std::string(file).find("simulcast") != std::string::npos;
    const MediaDescription& video_section = session->media[1];
    if (simulcast) {
      EXPECT_THAT(video_section.attributes.GetAll("rid"),
                  ElementsAre("q recv", "h recv", "f recv"));
      EXPECT_EQ(video_section.attributes.Get("simulcast"), "recv q;h;f");
    } else {
      EXPECT_FALSE(video_section.attributes.Has("rid"));
    }

    auto answer = ParseRemoteDescription(text);
    ASSERT_TRUE(answer.ok()) << answer.status();
    EXPECT_EQ(answer->setup, "passive");
    EXPECT_EQ(answer->ice_ufrag, transport.ice_ufrag);
    EXPECT_EQ(answer->ice_pwd, transport.ice_pwd);
    EXPECT_EQ(answer->fingerprints, transport.fingerprints);
    EXPECT_THAT(answer->bundle_mids, ElementsAre("0", "1"));
    ASSERT_THAT(answer->media, SizeIs(2));
    EXPECT_EQ(answer->media[0].mid, "0");
    EXPECT_EQ(answer->media[0].direction, "recvonly");
    ASSERT_THAT(answer->media[0].rtp.codecs, SizeIs(1));
    EXPECT_EQ(answer->media[0].rtp.codecs[0].mime_type, "audio/opus");
    EXPECT_EQ(answer->media[0].rtp.codecs[0].payload_type, 111);
    EXPECT_EQ(answer->media[0].rtp.codecs[0].channels, 2);
    EXPECT_EQ(answer->media[0].rtp.codecs[0].parameters, offer->media[0].rtp.codecs[0].parameters);
    EXPECT_EQ(ExtId(answer->media[0].rtp, rtp::kUriMid), 4);
    EXPECT_EQ(ExtId(answer->media[0].rtp, rtp::kUriToffset), 0);
    EXPECT_EQ(answer->media[1].mid, "1");
    EXPECT_EQ(answer->media[1].direction, "recvonly");
    ASSERT_THAT(answer->media[1].rtp.codecs, SizeIs(2));
    EXPECT_EQ(answer->media[1].rtp.codecs[0].mime_type, "video/VP8");
    EXPECT_EQ(answer->media[1].rtp.codecs[0].payload_type, 96);
    EXPECT_EQ(answer->media[1].rtp.codecs[0].rtcp_feedback,
              FindCodec(offer->media[1].rtp, "video/VP8")->rtcp_feedback);
    EXPECT_EQ(answer->media[1].rtp.codecs[1].mime_type, "video/rtx");
    EXPECT_EQ(answer->media[1].rtp.codecs[1].parameters.at("apt"), "96");
    EXPECT_EQ(ExtId(answer->media[1].rtp, rtp::kUriRid), simulcast ? 10 : 10);
    EXPECT_THAT(answer->media[1].rtp.encodings, IsEmpty());
  }
}

TEST(WebRtcSdp, AnswerSetupFollowsOfferAndRejectsWhatWeDoNotTake) {
  auto offer = ParseRemoteDescription(test_data::Read("chromium_publish_offer.sdp"));
  ASSERT_TRUE(offer.ok()) << offer.status();
  offer->setup = "passive";
  std::vector<LocalMedia> media = testing::AnswerMediaFor(*offer);
  media[1].rejected = true;
  const std::string text = BuildAnswer(*offer, testing::ServerTransport(), media, 1);
  auto answer = ParseRemoteDescription(text);
  ASSERT_TRUE(answer.ok()) << answer.status() << "\n" << text;
  EXPECT_EQ(answer->setup, "active");
  EXPECT_THAT(answer->bundle_mids, ElementsAre("0"));
  ASSERT_THAT(answer->media, SizeIs(2));
  EXPECT_TRUE(answer->media[1].rejected);
  EXPECT_EQ(answer->media[1].mid, "1");
  EXPECT_EQ(answer->media[1].direction, "inactive");
  EXPECT_EQ(answer->media[1].formats, offer->media[1].formats);
}

// A data channel m-line (real Chromium offer) is taken and answered in place (RFC 8841): in
// the BUNDLE, with a=sctp-port and our a=max-message-size.
TEST(WebRtcSdp, DataChannelSectionIsAnswered) {
  auto offer = ParseRemoteDescription(test_data::Read("chromium_datachannel_offer.sdp"));
  ASSERT_TRUE(offer.ok()) << offer.status();
  EXPECT_THAT(offer->bundle_mids, ElementsAre("0", "1", "2"));
  ASSERT_THAT(offer->media, SizeIs(3));
  EXPECT_FALSE(offer->media[1].rejected);
  EXPECT_FALSE(offer->media[2].rejected);
  EXPECT_TRUE(offer->media[2].data_channel);
  EXPECT_EQ(offer->media[2].sctp_port, 5000);
  EXPECT_EQ(offer->media[2].max_message_size, 262144u);
  EXPECT_EQ(offer->media[2].mid, "2");
  EXPECT_EQ(offer->media[2].media, "application");
  std::vector<LocalMedia> media = testing::AnswerMediaFor(*offer);
  ASSERT_THAT(media, SizeIs(2)) << "the fixture answers audio and video only";
  LocalMedia& data = media.emplace_back();
  data.mid = "2";
  data.data_channel = true;
  data.max_message_size = 100000;
  const std::string answer_text = BuildAnswer(*offer, testing::ServerTransport(), media, 1);
  EXPECT_NE(answer_text.find("a=sctp-port:5000\r\n"), std::string::npos) << answer_text;
  auto answer = ParseRemoteDescription(answer_text);
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_THAT(answer->bundle_mids, ElementsAre("0", "1", "2"));
  ASSERT_THAT(answer->media, SizeIs(3));
  EXPECT_EQ(answer->media[2].mid, "2");
  EXPECT_TRUE(answer->media[2].data_channel);
  EXPECT_EQ(answer->media[2].max_message_size, 100000u);
  EXPECT_EQ(answer->media[2].proto, "UDP/DTLS/SCTP");
  EXPECT_EQ(answer->media[2].direction, "sendrecv");
}

// Without a LocalMedia taking it (and for the pre-RFC 8841 format), the section is rejected.
TEST(WebRtcSdp, DataChannelSectionRejectedWhenNotTaken) {
  auto offer = ParseRemoteDescription(test_data::Read("chromium_datachannel_offer.sdp"));
  ASSERT_TRUE(offer.ok()) << offer.status();
  const std::string answer_text =
      BuildAnswer(*offer, testing::ServerTransport(), testing::AnswerMediaFor(*offer), 1);
  EXPECT_NE(answer_text.find("m=application 0 UDP/DTLS/SCTP webrtc-datachannel\r\n"),
            std::string::npos);
  auto answer = ParseRemoteDescription(answer_text);
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_THAT(answer->bundle_mids, ElementsAre("0", "1"));
  EXPECT_TRUE(answer->media[2].rejected);

  std::string old_style = test_data::Read("chromium_datachannel_offer.sdp");
  old_style.replace(old_style.find("UDP/DTLS/SCTP webrtc-datachannel"),
                    std::string("UDP/DTLS/SCTP webrtc-datachannel").size(), "DTLS/SCTP 5000");
  auto old_offer = ParseRemoteDescription(old_style);
  ASSERT_TRUE(old_offer.ok()) << old_offer.status();
  EXPECT_TRUE(old_offer->media[2].rejected);
  EXPECT_FALSE(old_offer->media[2].data_channel);
}

// RFC 8841: the attributes are numbers; a bad one is an error, not a guess.
TEST(WebRtcSdp, DataChannelAttributesChecked) {
  const std::string base = test_data::Read("chromium_datachannel_offer.sdp");
  auto with = [&](const std::string& from, const std::string& to) {
    std::string s = base;
    s.replace(s.find(from), from.size(), to);
    return ParseRemoteDescription(s);
  };
  EXPECT_FALSE(with("a=sctp-port:5000", "a=sctp-port:0").ok());
  EXPECT_FALSE(with("a=sctp-port:5000", "a=sctp-port:70000").ok());
  EXPECT_FALSE(with("a=max-message-size:262144", "a=max-message-size:-1").ok());
  EXPECT_FALSE(with("a=max-message-size:262144", "a=max-message-size:99999999999999999999").ok());
  auto unlimited = with("a=max-message-size:262144", "a=max-message-size:0");
  ASSERT_TRUE(unlimited.ok()) << unlimited.status();
  EXPECT_EQ(unlimited->media[2].max_message_size, 0u);
  auto absent = with("a=max-message-size:262144\r\n", "");
  ASSERT_TRUE(absent.ok()) << absent.status();
  EXPECT_EQ(absent->media[2].max_message_size, 65536u);
}

TEST(WebRtcSdp, OfferRoundTrip) {
  const LocalTransport transport = testing::ServerTransport();
  const std::vector<LocalMedia> media = testing::SubscribeMedia();
  const std::string text = BuildOffer(transport, media, 99, 3);
  auto session = SessionDescription::Parse(text);
  ASSERT_TRUE(session.ok()) << session.status();
  EXPECT_TRUE(session->attributes.Has("ice-lite"));
  EXPECT_EQ(session->origin.session_version, 3u);
  EXPECT_THAT(session->media[1].attributes.GetAll("ssrc-group"), ElementsAre("FID 2222 3333"));
  EXPECT_EQ(session->media[0].attributes.Get("msid"), "p1 p1-audio");
  EXPECT_EQ(session->media[0].attributes.Get("fmtp"), "100 minptime=10;useinbandfec=1");
  EXPECT_EQ(session->media[1].attributes.Get("rtpmap"), "101 VP8/90000");

  auto offer = ParseRemoteDescription(text);
  ASSERT_TRUE(offer.ok()) << offer.status() << "\n" << text;
  EXPECT_EQ(offer->setup, "actpass");
  EXPECT_THAT(offer->bundle_mids, ElementsAre("0", "1"));
  ASSERT_THAT(offer->media, SizeIs(2));
  for (size_t i = 0; i < media.size(); ++i) {
    SCOPED_TRACE(i);
    const RemoteMedia& r = offer->media[i];
    const LocalMedia& l = media[i];
    EXPECT_EQ(r.mid, l.mid);
    EXPECT_EQ(r.kind, l.kind);
    EXPECT_EQ(r.direction, "sendonly");
    EXPECT_EQ(r.msid_stream, l.msid_stream);
    EXPECT_EQ(r.msid_track, l.msid_track);
    EXPECT_EQ(r.rtp.cname, l.rtp.cname);
    EXPECT_EQ(r.rtp.reduced_size, true);
    ASSERT_EQ(r.rtp.codecs.size(), l.rtp.codecs.size());
    for (size_t c = 0; c < l.rtp.codecs.size(); ++c) {
      EXPECT_EQ(r.rtp.codecs[c].mime_type, l.rtp.codecs[c].mime_type);
      EXPECT_EQ(r.rtp.codecs[c].payload_type, l.rtp.codecs[c].payload_type);
      EXPECT_EQ(r.rtp.codecs[c].clock_rate, l.rtp.codecs[c].clock_rate);
      EXPECT_EQ(r.rtp.codecs[c].channels, l.rtp.codecs[c].channels);
      EXPECT_EQ(r.rtp.codecs[c].parameters, l.rtp.codecs[c].parameters);
      EXPECT_EQ(r.rtp.codecs[c].rtcp_feedback, l.rtp.codecs[c].rtcp_feedback);
    }
    ASSERT_EQ(r.rtp.header_extensions.size(), l.rtp.header_extensions.size());
    for (size_t e = 0; e < l.rtp.header_extensions.size(); ++e) {
      EXPECT_EQ(r.rtp.header_extensions[e].uri, l.rtp.header_extensions[e].uri);
      EXPECT_EQ(r.rtp.header_extensions[e].id, l.rtp.header_extensions[e].id);
    }
    ASSERT_THAT(r.rtp.encodings, SizeIs(1));
    EXPECT_EQ(r.rtp.encodings[0].ssrc, l.rtp.encodings[0].ssrc);
    EXPECT_EQ(r.rtp.encodings[0].rtx_ssrc, l.rtp.encodings[0].rtx_ssrc);
  }
}

TEST(WebRtcSdp, AnswerDirectionMirrorsOffer) {
  auto offer = ParseRemoteDescription(test_data::Read("chromium_publish_offer.sdp"));
  ASSERT_TRUE(offer.ok()) << offer.status();
  offer->media[0].direction = "sendrecv";
  offer->media[1].direction = "recvonly";
  std::vector<LocalMedia> media = testing::AnswerMediaFor(*offer);
  for (LocalMedia& m : media) m.direction.clear();
  auto answer = ParseRemoteDescription(BuildAnswer(*offer, testing::ServerTransport(), media, 1));
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_EQ(answer->media[0].direction, "recvonly");
  EXPECT_EQ(answer->media[1].direction, "inactive");
}

TEST(WebRtcSdp, CandidatesTcpAndIpv6) {
  LocalTransport transport = testing::ServerTransport();
  transport.candidates = {{"7", 1000, "::1", "tcp", 4443, "host"},
                          {"8", 900, "127.0.0.1", "udp", 40001, "host"}};
  auto session = SessionDescription::Parse(BuildOffer(transport, testing::SubscribeMedia(), 1, 1));
  ASSERT_TRUE(session.ok()) << session.status();
  const MediaDescription& m = session->media[0];
  EXPECT_EQ(m.port, 4443);
  EXPECT_EQ(m.connection->addr_type, "IP6");
  EXPECT_EQ(m.connection->address, "::1");
  EXPECT_THAT(m.attributes.GetAll("candidate"),
              ElementsAre("7 1 tcp 1000 ::1 4443 typ host tcptype passive generation 0",
                          "8 1 udp 900 127.0.0.1 40001 typ host generation 0"));

  transport.candidates.clear();
  session = SessionDescription::Parse(BuildOffer(transport, testing::SubscribeMedia(), 1, 1));
  ASSERT_TRUE(session.ok()) << session.status();
  EXPECT_EQ(session->media[0].port, 9);
  EXPECT_EQ(session->media[0].connection->address, "0.0.0.0");
}

TEST(WebRtcSdp, OfferWithClosedSections) {
  std::vector<LocalMedia> media = testing::SubscribeMedia();
  media[0].rejected = true;
  auto offer = ParseRemoteDescription(BuildOffer(testing::ServerTransport(), media, 1, 2));
  ASSERT_TRUE(offer.ok()) << offer.status();
  EXPECT_THAT(offer->bundle_mids, ElementsAre("1"));
  EXPECT_TRUE(offer->media[0].rejected);
  EXPECT_EQ(offer->media[0].mid, "0");
  EXPECT_EQ(offer->media[0].direction, "inactive");
  EXPECT_FALSE(offer->media[1].rejected);

  media[1].rejected = true;
  const std::string text = BuildOffer(testing::ServerTransport(), media, 1, 3);
  auto session = SessionDescription::Parse(text);
  ASSERT_TRUE(session.ok()) << session.status();
  EXPECT_EQ(session->attributes.Get("group"), "BUNDLE 0 1");  // see BuildOffer
  ASSERT_THAT(session->media, SizeIs(2));
  EXPECT_EQ(session->media[0].port, 0);
  EXPECT_EQ(session->media[1].port, 0);
  EXPECT_EQ(session->media[1].attributes.Get("mid"), "1");
  // A closed m-line keeps a codec line (werift) and the transport attributes (GStreamer).
  for (const MediaDescription& m : session->media) {
    EXPECT_NE(m.formats[0], "0");
    EXPECT_TRUE(m.attributes.Has("rtpmap"));
    EXPECT_EQ(m.attributes.Get("ice-ufrag"), "sbUfrag1");
    EXPECT_TRUE(m.attributes.Has("ice-pwd"));
    EXPECT_TRUE(m.attributes.Has("fingerprint"));
    EXPECT_EQ(m.attributes.Get("setup"), "actpass");
    EXPECT_FALSE(m.attributes.Has("candidate"));
    EXPECT_FALSE(m.attributes.Has("ssrc"));
  }
}

// An m-line whose track ended stays in BUNDLE, inactive, with its port and transport: the
// bundle tag never moves.
TEST(WebRtcSdp, OfferWithInactiveSections) {
  std::vector<LocalMedia> media = testing::SubscribeMedia();
  media[0].direction = "inactive";
  media[0].rtp.encodings.clear();
  const std::string text = BuildOffer(testing::ServerTransport(), media, 1, 2);
  auto session = SessionDescription::Parse(text);
  ASSERT_TRUE(session.ok()) << session.status();
  EXPECT_EQ(session->attributes.Get("group"), "BUNDLE 0 1");
  const MediaDescription& m = session->media[0];
  EXPECT_EQ(m.port, 40000);
  EXPECT_TRUE(m.attributes.Has("inactive"));
  EXPECT_TRUE(m.attributes.Has("ice-ufrag"));
  EXPECT_TRUE(m.attributes.Has("candidate"));
  EXPECT_TRUE(m.attributes.Has("rtpmap"));
  EXPECT_FALSE(m.attributes.Has("msid"));
  EXPECT_FALSE(m.attributes.Has("ssrc"));
  auto offer = ParseRemoteDescription(text);
  ASSERT_TRUE(offer.ok()) << offer.status();
  EXPECT_FALSE(offer->media[0].rejected);
  EXPECT_EQ(offer->media[0].direction, "inactive");
}

TEST(WebRtcSdp, ParsesChromiumSubscribeAnswer) {
  const std::string text = test_data::Read("chromium_subscribe_answer.sdp");
  ASSERT_FALSE(text.empty()) << "run tests/data/capture_chromium_sdp.mjs with --tool";
  auto answer = ParseRemoteDescription(text);
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_EQ(answer->setup, "active");
  EXPECT_THAT(answer->bundle_mids, ElementsAre("0", "1"));
  ASSERT_THAT(answer->media, SizeIs(2));
  EXPECT_EQ(answer->media[0].direction, "recvonly");
  EXPECT_EQ(answer->media[1].direction, "recvonly");
  ASSERT_NE(FindCodec(answer->media[0].rtp, "audio/opus", 100), nullptr);
  ASSERT_NE(FindCodec(answer->media[1].rtp, "video/VP8", 101), nullptr);
  ASSERT_NE(FindCodec(answer->media[1].rtp, "video/rtx", 102), nullptr);
  EXPECT_EQ(ExtId(answer->media[1].rtp, rtp::kUriTransportWideCc), 5);
}

// Small hand-written offers for the cases real browsers do not show.
std::string Offer(const std::string& media_lines, const std::string& session_extra = "") {
  return "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
         "a=group:BUNDLE 0\r\n"
         "a=ice-ufrag:abcd\r\na=ice-pwd:0123456789012345678901\r\n"
         "a=fingerprint:sha-256 ab:CD:01\r\na=setup:actpass\r\n" +
         session_extra + media_lines;
}

constexpr char kVideo[] =
    "m=video 9 UDP/TLS/RTP/SAVPF 96 97\r\n"
    "c=IN IP4 0.0.0.0\r\n"
    "a=mid:0\r\n"
    "a=sendonly\r\n"
    "a=rtpmap:96 VP8/90000\r\n"
    "a=rtpmap:97 rtx/90000\r\n"
    "a=fmtp:97 apt=96\r\n";

TEST(WebRtcSdp, SessionLevelTransportWildcardFeedbackAndExtmapDirection) {
  auto offer =
      ParseRemoteDescription(Offer(std::string(kVideo) + "a=rtcp-fb:* nack\r\n"
                                                         "a=rtcp-fb:96 nack pli\r\n"
                                                         "a=extmap:3/sendonly urn:x attr\r\n"
                                                         "a=ssrc-group:SIM 10 20\r\n"
                                                         "a=ssrc-group:FID 10 11\r\n"
                                                         "a=ssrc-group:FID 20 21\r\n"
                                                         "a=ssrc:10 cname:c\r\n",
                                   "a=extmap:5 urn:session\r\n"));
  ASSERT_TRUE(offer.ok()) << offer.status();
  EXPECT_EQ(offer->fingerprints[0].value, "AB:CD:01");
  const RemoteMedia& v = offer->media[0];
  EXPECT_FALSE(v.rtp.reduced_size);
  ASSERT_THAT(v.rtp.codecs, SizeIs(2));
  EXPECT_THAT(v.rtp.codecs[0].rtcp_feedback,
              ElementsAre(rtp::RtcpFeedback{"nack", "pli"}, rtp::RtcpFeedback{"nack", ""}));
  EXPECT_THAT(v.rtp.codecs[1].rtcp_feedback, ElementsAre(rtp::RtcpFeedback{"nack", ""}));
  EXPECT_EQ(ExtId(v.rtp, "urn:x"), 3);
  EXPECT_EQ(ExtId(v.rtp, "urn:session"), 5);
  ASSERT_THAT(v.rtp.encodings, SizeIs(2));
  EXPECT_EQ(v.rtp.encodings[0].ssrc, 10u);
  EXPECT_EQ(v.rtp.encodings[0].rtx_ssrc, 11u);
  EXPECT_EQ(v.rtp.encodings[1].ssrc, 20u);
  EXPECT_EQ(v.rtp.encodings[1].rtx_ssrc, 21u);
  EXPECT_EQ(v.rtp.cname, "c");
  EXPECT_EQ(v.direction, "sendonly");
}

// Rids with a SIM group of as many ssrcs: the encodings are the rids in send order, with the
// group's ssrcs (and their RTX) in the same order.
TEST(WebRtcSdp, SimulcastRidsTakeTheSimGroupsSsrcs) {
  const std::string rids =
      "a=rid:lo send\r\na=rid:hi send\r\na=simulcast:send lo;hi\r\n"
      "a=extmap:10 urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id\r\n";
  auto offer = ParseRemoteDescription(Offer(std::string(kVideo) + rids +
                                            "a=ssrc-group:SIM 10 20\r\n"
                                            "a=ssrc-group:FID 10 11\r\n"
                                            "a=ssrc-group:FID 20 21\r\n"
                                            "a=ssrc:10 cname:c\r\n"));
  ASSERT_TRUE(offer.ok()) << offer.status();
  const RemoteMedia& v = offer->media[0];
  EXPECT_THAT(v.rids, ElementsAre("lo", "hi"));
  ASSERT_THAT(v.rtp.encodings, SizeIs(2));
  EXPECT_EQ(v.rtp.encodings[0].rid, "lo");
  EXPECT_EQ(v.rtp.encodings[0].ssrc, 10u);
  EXPECT_EQ(v.rtp.encodings[0].rtx_ssrc, 11u);
  EXPECT_EQ(v.rtp.encodings[1].rid, "hi");
  EXPECT_EQ(v.rtp.encodings[1].ssrc, 20u);
  EXPECT_EQ(v.rtp.encodings[1].rtx_ssrc, 21u);

  // A group that does not match the rids is not used: the ssrcs are learned by rid.
  offer = ParseRemoteDescription(
      Offer(std::string(kVideo) + rids + "a=ssrc-group:SIM 10 20 30\r\na=ssrc:10 cname:c\r\n"));
  ASSERT_TRUE(offer.ok()) << offer.status();
  ASSERT_THAT(offer->media[0].rtp.encodings, SizeIs(2));
  EXPECT_EQ(offer->media[0].rtp.encodings[0].ssrc, 0u);
  EXPECT_EQ(offer->media[0].rtp.encodings[1].ssrc, 0u);
}

void ExpectBad(const std::string& text, const std::string& fragment) {
  auto d = ParseRemoteDescription(text);
  ASSERT_FALSE(d.ok()) << text;
  EXPECT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(d.status().message()), HasSubstr(fragment)) << d.status();
}

TEST(WebRtcSdp, RejectsMalformedOffers) {
  const std::string real = test_data::Read("chromium_publish_offer.sdp");
  ExpectBad(real.substr(real.find("o=")), "line 1: SDP must start with v=");
  ExpectBad(
      absl::StrReplaceAll(real, {{"m=video 9 UDP/TLS/RTP/SAVPF", "m=video x UDP/TLS/RTP/SAVPF"}}),
      "bad m= line");
  ExpectBad(absl::StrReplaceAll(real, {{"a=rtpmap:96 VP8/90000", "a=rtpmap:96 VP8"}}),
            "bad rtpmap");
  ExpectBad(absl::StrReplaceAll(real, {{"a=rtpmap:96 VP8/90000", "a=rtpmap:300 VP8/90000"}}),
            "bad rtpmap");
  ExpectBad(absl::StrReplaceAll(real, {{"a=extmap:4 ", "a=extmap:256 "}}),
            "extmap id not in 1-255");
  ExpectBad(absl::StrReplaceAll(real, {{"a=extmap:4 ", "a=extmap:0 "}}), "extmap id not in 1-255");
  ExpectBad(absl::StrReplaceAll(
                real, {{"a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid", "a=extmap:2 urn:other"}}),
            "extmap id used twice");
  std::string no_ufrag;
  for (absl::string_view line : absl::StrSplit(real, "\r\n", absl::SkipEmpty())) {
    if (!absl::StartsWith(line, "a=ice-ufrag")) absl::StrAppend(&no_ufrag, line, "\r\n");
  }
  ExpectBad(no_ufrag, "missing a=ice-ufrag");
  ExpectBad(absl::StrReplaceAll(real, {{"a=fingerprint:", "a=x-fingerprint:"}}),
            "missing a=fingerprint");
  ExpectBad(absl::StrReplaceAll(real, {{"a=mid:1\r\n", ""}}), "m-line 1: missing a=mid");
  ExpectBad(absl::StrReplaceAll(real, {{"a=mid:1\r\n", "a=mid:0\r\n"}}), "duplicate mid");
  ExpectBad(absl::StrReplaceAll(real, {{"a=setup:actpass", "a=setup:maybe"}}), "bad a=setup");
  ExpectBad(absl::StrReplaceAll(real, {{"a=ice-pwd:", "a=ice-pwd:short\r\na=x:"}}),
            "bad a=ice-pwd");
  ExpectBad(std::string(kMaxSdpSize + 1, 'v'), "more than the limit");
  ExpectBad(Offer("m=video 9 RTP/AVP 96\r\na=mid:0\r\n"), "unsupported proto");
  ExpectBad(Offer("m=text 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:0\r\n"), "unsupported media");
  ExpectBad(Offer(std::string(kVideo) + "a=fmtp:96 =1\r\n"), "bad fmtp parameter");
  ExpectBad(Offer(std::string(kVideo) + "a=rtcp-fb:x nack\r\n"), "bad rtcp-fb");
  ExpectBad(Offer(std::string(kVideo) + "a=ssrc:abc cname:x\r\n"), "bad ssrc line");
  ExpectBad(Offer(std::string(kVideo) + "a=ssrc:99999999999 cname:x\r\n"), "bad ssrc line");
  ExpectBad(Offer(std::string(kVideo) + "a=ssrc-group:FID 1\r\n"), "FID group needs two");
  ExpectBad(Offer(std::string(kVideo) + "a=rid:q send\r\na=simulcast:send q;z\r\n"),
            "undeclared rid");
  ExpectBad(Offer(std::string(kVideo) + "a=rid:q! send\r\n"), "bad rid");
  ExpectBad(Offer(std::string(kVideo) + "a=simulcast:send\r\n"), "bad simulcast");
  ExpectBad(absl::StrReplaceAll(real, {{"a=group:BUNDLE 0 1", "a=group:BUNDLE 0 7"}}),
            "unknown mid 7");
  ExpectBad(Offer("m=video 9 UDP/TLS/RTP/SAVPF 96x\r\na=mid:0\r\n"), "bad payload type");
  {
    // An error never echoes more than a short piece of a client's SDP.
    auto d = ParseRemoteDescription(Offer(
        absl::StrCat("m=video 9 UDP/TLS/RTP/SAVPF ", std::string(100000, '9'), "\r\na=mid:0\r\n")));
    ASSERT_FALSE(d.ok());
    EXPECT_LT(d.status().message().size(), 200u);
  }
}

// Truncations and single-byte corruptions of real offers fail cleanly or parse.
TEST(WebRtcSdp, CorruptedOffersNeverCrash) {
  for (const char* file : {"chromium_publish_offer.sdp", "chromium_simulcast_offer.sdp"}) {
    const std::string text = test_data::Read(file);
    for (size_t n = 0; n < text.size(); n += 17) (void)ParseRemoteDescription(text.substr(0, n));
    for (size_t i = 0; i < text.size(); i += 29) {
      for (char c : {'\0', ' ', ':', '/', '9', '*'}) {
        std::string mutated = text;
        mutated[i] = c;
        auto d = ParseRemoteDescription(mutated);
        if (d.ok()) {
          (void)BuildAnswer(*d, testing::ServerTransport(), testing::AnswerMediaFor(*d), 1);
        }
      }
    }
  }
}

}  // namespace
}  // namespace sb::signaling::sdp
