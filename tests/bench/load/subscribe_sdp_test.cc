// The generator's reading of the server's subscribe-offers and its answers: the server's offer
// as signaling/sdp builds it today, the forms a server that reuses m-lines writes (inactive
// with the port kept, rejected with its attributes left in, a mid reused with a new ssrc), and
// offers far past 64 m-lines. Answers are checked through the server's own parser where it
// accepts them.
#include "bench/load/subscribe_sdp.h"

#include <arpa/inet.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "signaling/sdp/sdp_session.h"
#include "tests/bench/load/subscribe_offer_fixtures.h"
#include "tests/signaling/sdp/sdp_fixtures.h"
#include "tests/test_data.h"

namespace sb::bench {
namespace {

namespace sdp = signaling::sdp;
using testing::Audio;
using testing::OfferText;
using testing::Section;
using testing::Video;

ClientTransport Transport() {
  return NewClientTransport({{"sha-256",
                              "AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:"
                              "BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99"}});
}

// The value of the first line of `sdp` that starts with `prefix` (up to the line's end).
std::string LineValue(const std::string& sdp, const std::string& prefix) {
  const size_t at = sdp.find(prefix);
  if (at == std::string::npos) return "";
  const size_t start = at + prefix.size();
  return sdp.substr(start, sdp.find_first_of("\r\n", start) - start);
}

const sdp::RemoteMedia* ByMid(const sdp::RemoteDescription& d, const std::string& mid) {
  for (const auto& m : d.media) {
    if (m.mid == mid) return &m;
  }
  return nullptr;
}

TEST(SubscribeSdp, ReadsTheServersOffer) {
  auto media = sdp::testing::SubscribeMedia();
  sdp::LocalMedia closed = media[0];
  closed.mid = "2";
  closed.rejected = true;
  closed.direction = "inactive";
  media.push_back(closed);
  auto offer = ParseSubscribeOffer(sdp::BuildOffer(sdp::testing::ServerTransport(), media, 7, 3));
  ASSERT_TRUE(offer.ok()) << offer.status();
  EXPECT_EQ(offer->ice_ufrag, "sbUfrag1");
  EXPECT_EQ(offer->ice_pwd, "sbIcePassword0123456789");
  ASSERT_EQ(offer->fingerprints.size(), 1u);
  EXPECT_EQ(offer->fingerprints[0].algorithm, "sha-256");
  EXPECT_EQ(offer->bundle_mids, (std::vector<std::string>{"0", "1"}));
  ASSERT_TRUE(offer->candidate);
  EXPECT_EQ(ntohs(offer->candidate->sin_port), 40000);
  EXPECT_EQ(ntohl(offer->candidate->sin_addr.s_addr), INADDR_LOOPBACK);
  ASSERT_EQ(offer->sections.size(), 3u);

  const OfferedSection& audio = offer->sections[0];
  EXPECT_EQ(audio.mid, "0");
  EXPECT_TRUE(audio.sending());
  EXPECT_EQ(audio.ssrc, 1111u);
  EXPECT_EQ(audio.rtx_ssrc, 0u);
  EXPECT_EQ(audio.msid_stream, "p1");
  EXPECT_EQ(audio.msid_track, "p1-audio");
  ASSERT_EQ(audio.codecs.size(), 1u);
  EXPECT_EQ(audio.codecs[0].name, "opus");
  EXPECT_EQ(audio.codecs[0].clock_rate, 48000u);
  EXPECT_EQ(audio.codecs[0].channels, 2u);

  const OfferedSection& video = offer->sections[1];
  EXPECT_TRUE(video.sending());
  EXPECT_NE(video.ssrc, 0u);
  EXPECT_NE(video.rtx_ssrc, 0u);  // from the FID group
  EXPECT_TRUE(video.rtcp_rsize);
  ASSERT_EQ(video.codecs.size(), 2u);
  EXPECT_EQ(video.codecs[0].name, "VP8");
  EXPECT_EQ(video.codecs[1].name, "rtx");
  EXPECT_EQ(video.codecs[1].fmtp, "apt=101");

  EXPECT_TRUE(offer->sections[2].rejected());
  EXPECT_FALSE(offer->sections[2].sending());
}

TEST(SubscribeSdp, AnswersTheServersOffer) {
  auto media = sdp::testing::SubscribeMedia();
  sdp::LocalMedia closed = media[0];
  closed.mid = "2";
  closed.rejected = true;
  closed.direction = "inactive";
  media.push_back(closed);
  const std::string server_offer = sdp::BuildOffer(sdp::testing::ServerTransport(), media, 7, 3);
  auto theirs = sdp::ParseRemoteDescription(server_offer);
  ASSERT_TRUE(theirs.ok()) << theirs.status();
  auto offer = ParseSubscribeOffer(server_offer);
  ASSERT_TRUE(offer.ok()) << offer.status();

  const ClientTransport t = Transport();
  auto answer = sdp::ParseRemoteDescription(BuildSubscribeAnswer(*offer, t, 9, 1));
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_EQ(answer->setup, "active");  // we are the DTLS client
  EXPECT_EQ(answer->ice_ufrag, t.ice_ufrag);
  EXPECT_EQ(answer->ice_pwd, t.ice_pwd);
  EXPECT_EQ(answer->bundle_mids, (std::vector<std::string>{"0", "1"}));
  ASSERT_EQ(answer->media.size(), 3u);
  for (size_t i = 0; i < 2; ++i) {
    const auto& o = theirs->media[i];
    const auto& a = answer->media[i];
    EXPECT_EQ(a.mid, o.mid);
    EXPECT_EQ(a.direction, "recvonly");
    EXPECT_FALSE(a.rejected);
    EXPECT_EQ(a.rtp.reduced_size, o.rtp.reduced_size);
    ASSERT_EQ(a.rtp.codecs.size(), o.rtp.codecs.size());
    for (size_t c = 0; c < a.rtp.codecs.size(); ++c) {
      EXPECT_EQ(a.rtp.codecs[c].payload_type, o.rtp.codecs[c].payload_type);
      EXPECT_EQ(a.rtp.codecs[c].mime_type, o.rtp.codecs[c].mime_type);
      EXPECT_EQ(a.rtp.codecs[c].clock_rate, o.rtp.codecs[c].clock_rate);
      EXPECT_EQ(a.rtp.codecs[c].channels, o.rtp.codecs[c].channels);
      EXPECT_EQ(a.rtp.codecs[c].parameters, o.rtp.codecs[c].parameters);
      EXPECT_EQ(a.rtp.codecs[c].rtcp_feedback.size(), o.rtp.codecs[c].rtcp_feedback.size());
    }
    ASSERT_EQ(a.rtp.header_extensions.size(), o.rtp.header_extensions.size());
    EXPECT_TRUE(a.rtp.encodings.empty());  // a receive-only answer announces no ssrc
  }
  EXPECT_EQ(answer->media[2].mid, "2");
  EXPECT_TRUE(answer->media[2].rejected);
}

// A track ended and the server kept its m-line for reuse: port kept, inactive, in BUNDLE. We
// answer it inactive and keep it in our BUNDLE group, in the offer's order (the first mid
// stays the tag even when its track ended).
TEST(SubscribeSdp, InactiveMLineStaysBundled) {
  Section ended = Audio("0", 0, "");
  ended.direction = "inactive";
  auto offer = ParseSubscribeOffer(OfferText({ended, Video("1", 22, 23, "p2")}));
  ASSERT_TRUE(offer.ok()) << offer.status();
  ASSERT_EQ(offer->sections.size(), 2u);
  EXPECT_FALSE(offer->sections[0].rejected());
  EXPECT_TRUE(offer->sections[0].accepted());
  EXPECT_FALSE(offer->sections[0].sending());
  EXPECT_TRUE(offer->sections[1].sending());

  const std::string text = BuildSubscribeAnswer(*offer, Transport(), 9, 2);
  auto answer = sdp::ParseRemoteDescription(text);
  ASSERT_TRUE(answer.ok()) << answer.status() << "\n" << text;
  EXPECT_EQ(answer->bundle_mids, (std::vector<std::string>{"0", "1"}));
  EXPECT_FALSE(answer->media[0].rejected);
  EXPECT_EQ(answer->media[0].direction, "inactive");
  EXPECT_EQ(answer->media[1].direction, "recvonly");
}

// A server may reject an ended track's m-line (port 0) and leave its old attributes in,
// ssrc, msid and sendonly included: port 0 decides. It is answered rejected, out of BUNDLE.
TEST(SubscribeSdp, RejectedMLineWithItsAttributesIsRejected) {
  Section closed = Video("0", 11, 12, "p1");
  closed.port = 0;
  auto offer = ParseSubscribeOffer(OfferText({closed, Audio("1", 21, "p2")}));
  ASSERT_TRUE(offer.ok()) << offer.status();
  EXPECT_TRUE(offer->sections[0].rejected());
  EXPECT_FALSE(offer->sections[0].sending());
  EXPECT_EQ(offer->sections[0].ssrc, 11u);  // read, but not a stream
  EXPECT_EQ(offer->bundle_mids, (std::vector<std::string>{"1"}));

  auto answer = sdp::ParseRemoteDescription(BuildSubscribeAnswer(*offer, Transport(), 9, 2));
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_EQ(answer->bundle_mids, (std::vector<std::string>{"1"}));
  ASSERT_NE(ByMid(*answer, "0"), nullptr);
  EXPECT_TRUE(ByMid(*answer, "0")->rejected);
  EXPECT_EQ(ByMid(*answer, "1")->direction, "recvonly");
}

// The same mid reused for another publisher's track: sendonly again with a new ssrc and msid.
TEST(SubscribeSdp, ReusedMidCarriesTheNewTrack) {
  auto first = ParseSubscribeOffer(OfferText({Video("0", 11, 12, "p1")}));
  auto reused = ParseSubscribeOffer(OfferText({Video("0", 31, 32, "p3")}));
  ASSERT_TRUE(first.ok() && reused.ok());
  EXPECT_EQ(first->sections[0].ssrc, 11u);
  EXPECT_EQ(reused->sections[0].ssrc, 31u);
  EXPECT_EQ(reused->sections[0].rtx_ssrc, 32u);
  EXPECT_EQ(reused->sections[0].msid_stream, "p3");
  EXPECT_EQ(reused->sections[0].msid_track, "p3-v");
}

// Rooms of 100+ publishers: 250 m-lines (more than signaling/sdp's 64), every one answered and
// bundled.
TEST(SubscribeSdp, OffersOfHundredsOfMLines) {
  std::vector<Section> sections;
  for (uint32_t i = 0; i < 250; ++i) {
    const std::string publisher = absl::StrCat("p", i / 2);
    sections.push_back(i % 2 ? Video(absl::StrCat(i), 1000 + i, 5000 + i, publisher)
                             : Audio(absl::StrCat(i), 1000 + i, publisher));
  }
  sections[0].direction = "inactive";  // the BUNDLE tag's track ended
  sections[0].ssrc = 0;
  sections[7].port = 0;  // and one rejected
  const std::string text = OfferText(sections);
  ASSERT_GT(text.size(), 150'000u);
  auto offer = ParseSubscribeOffer(text);
  ASSERT_TRUE(offer.ok()) << offer.status();
  ASSERT_EQ(offer->sections.size(), 250u);
  EXPECT_EQ(offer->sections[249].ssrc, 1249u);
  EXPECT_EQ(offer->sections[249].rtx_ssrc, 5249u);
  EXPECT_EQ(offer->bundle_mids.size(), 249u);

  const ClientTransport t = Transport();
  const std::string answer = BuildSubscribeAnswer(*offer, t, 9, 2);
  // Our own reading of the answer: every m-line mirrored, 249 bundled, the rejected one out.
  auto ours = ParseSubscribeOffer(answer);
  ASSERT_TRUE(ours.ok()) << ours.status();
  ASSERT_EQ(ours->sections.size(), 250u);
  EXPECT_EQ(ours->bundle_mids.size(), 249u);
  EXPECT_EQ(ours->bundle_mids[0], "0");
  EXPECT_EQ(ours->sections[0].direction, "inactive");
  EXPECT_EQ(ours->sections[1].direction, "recvonly");
  EXPECT_TRUE(ours->sections[7].rejected());
  EXPECT_EQ(ours->ice_ufrag, t.ice_ufrag);
}

// With no m-line left to accept, the answer still carries our ICE credentials and fingerprint
// (at session level), so that it parses as a WebRTC answer.
TEST(SubscribeSdp, AnswerWithEverythingRejectedSaysWhoWeAre) {
  Section a = Audio("0", 11, "p1"), v = Video("1", 12, 13, "p1");
  a.port = v.port = 0;
  auto offer = ParseSubscribeOffer(OfferText({a, v}));
  ASSERT_TRUE(offer.ok()) << offer.status();
  const ClientTransport t = Transport();
  auto answer = sdp::ParseRemoteDescription(BuildSubscribeAnswer(*offer, t, 9, 2));
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_EQ(answer->ice_ufrag, t.ice_ufrag);
  EXPECT_TRUE(answer->media[0].rejected);
  EXPECT_TRUE(answer->media[1].rejected);
}

// Janus 1.1.2's videoroom subscriber offer (tests/data/README.md): a=fingerprint only at
// session level, ICE credentials only in each m-section, msid "janus janus<n>", ssrc lines with
// cname only, an FID group on video. What applies to each m-line comes from both levels (RFC
// 8839 5.4, RFC 8122 5); reading the credentials from one level only left the subscriber
// without any and it never started ICE against Janus.
TEST(SubscribeSdp, ReadsJanusSubscribeOffer) {
  const std::string text = test_data::Read("janus_subscribe_offer.sdp");
  ASSERT_FALSE(text.empty());
  auto offer = ParseSubscribeOffer(text);
  ASSERT_TRUE(offer.ok()) << offer.status();
  EXPECT_EQ(offer->ice_ufrag, LineValue(text, "a=ice-ufrag:"));
  EXPECT_EQ(offer->ice_pwd, LineValue(text, "a=ice-pwd:"));
  EXPECT_FALSE(offer->ice_ufrag.empty());
  ASSERT_EQ(offer->fingerprints.size(), 1u);
  EXPECT_EQ(offer->fingerprints[0].algorithm, "sha-256");
  EXPECT_EQ(offer->fingerprints[0].value, LineValue(text, "a=fingerprint:sha-256 "));
  EXPECT_EQ(offer->bundle_mids, (std::vector<std::string>{"0", "1"}));
  ASSERT_TRUE(offer->candidate);
  const std::vector<std::string> candidate = absl::StrSplit(LineValue(text, "a=candidate:"), ' ');
  ASSERT_GE(candidate.size(), 6u);
  char address[INET_ADDRSTRLEN] = {};
  inet_ntop(AF_INET, &offer->candidate->sin_addr, address, sizeof(address));
  EXPECT_EQ(address, candidate[4]);
  EXPECT_EQ(absl::StrCat(ntohs(offer->candidate->sin_port)), candidate[5]);

  ASSERT_EQ(offer->sections.size(), 2u);
  const OfferedSection& audio = offer->sections[0];
  EXPECT_EQ(audio.mid, "0");
  EXPECT_EQ(audio.media, "audio");
  EXPECT_TRUE(audio.sending());
  EXPECT_NE(audio.ssrc, 0u);
  EXPECT_EQ(absl::StrCat(audio.ssrc, " cname:janus"), LineValue(text, "a=ssrc:"));
  EXPECT_EQ(audio.rtx_ssrc, 0u);
  EXPECT_EQ(audio.msid_stream, "janus");
  EXPECT_EQ(audio.msid_track, "janus0");
  ASSERT_EQ(audio.codecs.size(), 1u);
  EXPECT_EQ(audio.codecs[0].payload_type, 111);
  EXPECT_EQ(audio.codecs[0].name, "opus");
  EXPECT_EQ(audio.codecs[0].fmtp, "useinbandfec=1");

  const OfferedSection& video = offer->sections[1];
  EXPECT_EQ(video.mid, "1");
  EXPECT_TRUE(video.sending());
  const std::vector<std::string> fid = absl::StrSplit(LineValue(text, "a=ssrc-group:FID "), ' ');
  ASSERT_EQ(fid.size(), 2u);
  EXPECT_EQ(absl::StrCat(video.ssrc), fid[0]);
  EXPECT_EQ(absl::StrCat(video.rtx_ssrc), fid[1]);
  EXPECT_EQ(video.msid_track, "janus1");
  ASSERT_EQ(video.codecs.size(), 2u);
  EXPECT_EQ(video.codecs[0].payload_type, 96);
  EXPECT_EQ(video.codecs[0].name, "VP8");
  EXPECT_EQ(video.codecs[0].feedback.size(), 5u);
  EXPECT_EQ(video.codecs[1].payload_type, 97);
  EXPECT_EQ(video.codecs[1].fmtp, "apt=96");
}

// The answer Janus gets back: both m-lines recvonly in one BUNDLE group, setup:active, our
// credentials, its payload types and extensions.
TEST(SubscribeSdp, AnswersJanusSubscribeOffer) {
  auto offer = ParseSubscribeOffer(test_data::Read("janus_subscribe_offer.sdp"));
  ASSERT_TRUE(offer.ok()) << offer.status();
  const ClientTransport t = Transport();
  const std::string text = BuildSubscribeAnswer(*offer, t, 9, 1);
  auto answer = sdp::ParseRemoteDescription(text);
  ASSERT_TRUE(answer.ok()) << answer.status() << "\n" << text;
  EXPECT_EQ(answer->setup, "active");
  EXPECT_EQ(answer->ice_ufrag, t.ice_ufrag);
  EXPECT_EQ(answer->ice_pwd, t.ice_pwd);
  EXPECT_EQ(answer->bundle_mids, (std::vector<std::string>{"0", "1"}));
  ASSERT_EQ(answer->media.size(), 2u);
  EXPECT_EQ(answer->media[0].direction, "recvonly");
  EXPECT_EQ(answer->media[1].direction, "recvonly");
  ASSERT_EQ(answer->media[0].rtp.codecs.size(), 1u);
  EXPECT_EQ(answer->media[0].rtp.codecs[0].payload_type, 111);
  ASSERT_EQ(answer->media[1].rtp.codecs.size(), 2u);
  EXPECT_EQ(answer->media[1].rtp.codecs[0].payload_type, 96);
  EXPECT_EQ(answer->media[1].rtp.codecs[1].payload_type, 97);
  EXPECT_EQ(answer->media[1].rtp.header_extensions.size(), 3u);
}

// Session-level ICE credentials with per-section fingerprints (the other split) are read too;
// an offer with m-lines to receive but no fingerprint anywhere is refused rather than answered
// with nothing to connect to.
TEST(SubscribeSdp, TransportAttributesFromEitherLevel) {
  const std::string janus = test_data::Read("janus_subscribe_offer.sdp");
  const std::string fingerprint =
      "a=fingerprint:sha-256 " + LineValue(janus, "a=fingerprint:sha-256 ");
  const std::string ufrag = "a=ice-ufrag:" + LineValue(janus, "a=ice-ufrag:");
  const std::string pwd = "a=ice-pwd:" + LineValue(janus, "a=ice-pwd:");
  auto replace_all = [](std::string s, const std::string& from, const std::string& to) {
    for (size_t at = 0; (at = s.find(from, at)) != std::string::npos; at += to.size()) {
      s.replace(at, from.size(), to);
    }
    return s;
  };
  // Move the credentials to session level and the fingerprint into every section.
  std::string swapped = replace_all(janus, ufrag + "\r\n", "");
  swapped = replace_all(swapped, pwd + "\r\n", "");
  swapped = replace_all(swapped, fingerprint + "\r\n", "");
  swapped =
      replace_all(swapped, "a=ice-lite\r\n", "a=ice-lite\r\n" + ufrag + "\r\n" + pwd + "\r\n");
  swapped = replace_all(swapped, "a=rtcp-mux\r\n", "a=rtcp-mux\r\n" + fingerprint + "\r\n");
  // Credentials once, before the first m-line; a fingerprint in each m-line, none before.
  const size_t first_m = swapped.find("m=audio");
  ASSERT_LT(swapped.find(ufrag), first_m);
  ASSERT_EQ(swapped.find(ufrag, first_m), std::string::npos);
  ASSERT_GT(swapped.find(fingerprint), first_m);
  ASSERT_NE(swapped.find(fingerprint, swapped.find("m=video")), std::string::npos);
  auto offer = ParseSubscribeOffer(swapped);
  ASSERT_TRUE(offer.ok()) << offer.status();
  EXPECT_EQ("a=ice-ufrag:" + offer->ice_ufrag, ufrag);
  EXPECT_EQ("a=ice-pwd:" + offer->ice_pwd, pwd);
  ASSERT_EQ(offer->fingerprints.size(), 1u);

  EXPECT_FALSE(ParseSubscribeOffer(replace_all(janus, fingerprint + "\r\n", "")).ok());
  EXPECT_FALSE(ParseSubscribeOffer(replace_all(janus, ufrag + "\r\n", "")).ok());
}

TEST(SubscribeSdp, RejectsWhatNoServerSends) {
  EXPECT_FALSE(ParseSubscribeOffer("v=0\r\nm=audio\r\n").ok());
  EXPECT_FALSE(ParseSubscribeOffer("v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 100\r\n").ok());  // no mid
  EXPECT_FALSE(
      ParseSubscribeOffer("v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 100\r\na=mid:0\r\na=rtpmap:x\r\n")
          .ok());
  std::string many = "v=0\r\n";
  for (size_t i = 0; i <= kMaxSubscribeSections; ++i) {
    absl::StrAppend(&many, "m=audio 0 UDP/TLS/RTP/SAVPF 0\r\na=mid:", i, "\r\n");
  }
  EXPECT_FALSE(ParseSubscribeOffer(many).ok());
}

}  // namespace
}  // namespace sb::bench
