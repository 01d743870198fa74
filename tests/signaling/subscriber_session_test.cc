#include "signaling/subscriber_session.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"

namespace sb::signaling {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using Kind = rtp::MediaKind;

constexpr Kind kAudio = Kind::kAudio;
constexpr Kind kVideo = Kind::kVideo;

SubscriberSession::Track MakeTrack(const std::string& producer, Kind kind) {
  SubscriberSession::Track t;
  t.consumer_id = "c-" + producer;
  t.producer_id = producer;
  t.publisher_id = "pub-" + producer;
  rtp::RtpCodecParameters codec;
  codec.mime_type = kind == kAudio ? "audio/opus" : "video/VP8";
  codec.payload_type = kind == kAudio ? 111 : 96;
  codec.clock_rate = kind == kAudio ? 48000 : 90000;
  t.params.codecs.push_back(codec);
  rtp::RtpEncodingParameters encoding;
  encoding.ssrc = 1000 + static_cast<uint32_t>(producer.size());
  t.params.encodings.push_back(encoding);
  return t;
}

// Reserves and attaches one track; returns its mid.
std::string AddTrack(SubscriberSession& s, const std::string& producer, Kind kind) {
  auto mid = s.ReserveMid(kind);
  EXPECT_TRUE(mid.has_value());
  if (!mid) return "";
  s.Attach(*mid, MakeTrack(producer, kind));
  return *mid;
}

// The client's answer to `offer`: accepts every m-line, except the mids in `refuse`.
sdp::RemoteDescription AnswerTo(const SubscriberSession::Offer& offer,
                                const std::vector<std::string>& refuse = {}) {
  sdp::RemoteDescription answer;
  for (const auto& m : offer.media) {
    sdp::RemoteMedia r;
    r.mid = m.mid;
    r.kind = m.kind;
    r.rejected = m.rejected || std::find(refuse.begin(), refuse.end(), m.mid) != refuse.end();
    r.direction = m.direction == "sendonly" ? "recvonly" : "inactive";
    answer.media.push_back(r);
  }
  return answer;
}

// Offers and answers whatever is pending; returns the offer.
SubscriberSession::Offer Negotiate(SubscriberSession& s) {
  EXPECT_TRUE(s.ShouldOffer());
  SubscriberSession::Offer offer = s.CreateOffer();
  EXPECT_TRUE(s.AnswerReceived(offer.version, AnswerTo(offer)).ok());
  return offer;
}

std::vector<std::string> Directions(const SubscriberSession::Offer& offer) {
  std::vector<std::string> out;
  for (const auto& m : offer.media) {
    out.push_back(absl::StrCat(m.mid, ":", m.rejected ? "rejected" : m.direction));
  }
  return out;
}

TEST(SubscriberSession, FirstOfferWaitsForEveryPendingConsume) {
  SubscriberSession s(64);
  EXPECT_FALSE(s.ShouldOffer());
  auto a = s.ReserveMid(kAudio);
  auto v = s.ReserveMid(kVideo);
  ASSERT_TRUE(a && v);
  EXPECT_EQ(*a, "0");
  EXPECT_EQ(*v, "1");
  s.Attach(*a, MakeTrack("pa", kAudio));
  EXPECT_FALSE(s.ShouldOffer());  // the video consume is still in flight
  s.Attach(*v, MakeTrack("pv", kVideo));
  ASSERT_TRUE(s.ShouldOffer());
  SubscriberSession::Offer offer = s.CreateOffer();
  EXPECT_EQ(offer.version, 1u);
  EXPECT_THAT(Directions(offer), ElementsAre("0:sendonly", "1:sendonly"));
  ASSERT_EQ(offer.streams.size(), 2u);
  EXPECT_EQ(offer.streams[1].producer_id, "pv");
  EXPECT_EQ(offer.streams[1].publisher_id, "pub-pv");
  EXPECT_EQ(offer.media[1].rtp.mid, "1");
  EXPECT_EQ(offer.media[1].msid_track, "c-pv");
  EXPECT_FALSE(s.ShouldOffer());  // outstanding
}

TEST(SubscriberSession, AnswerResumesEachConsumerOnce) {
  SubscriberSession s(64);
  AddTrack(s, "pa", kAudio);
  SubscriberSession::Offer first = s.CreateOffer();
  auto actions = s.AnswerReceived(first.version, AnswerTo(first));
  ASSERT_TRUE(actions.ok());
  EXPECT_THAT(actions->resume, ElementsAre("c-pa"));
  EXPECT_THAT(actions->close, IsEmpty());

  AddTrack(s, "pv", kVideo);
  SubscriberSession::Offer second = s.CreateOffer();
  actions = s.AnswerReceived(0, AnswerTo(second));  // offerId 0: the outstanding one
  ASSERT_TRUE(actions.ok());
  EXPECT_THAT(actions->resume, ElementsAre("c-pv"));
}

TEST(SubscriberSession, TrackChangesDuringAnOutstandingOfferGoIntoTheNextOne) {
  SubscriberSession s(64);
  AddTrack(s, "pa", kAudio);
  SubscriberSession::Offer first = s.CreateOffer();
  AddTrack(s, "pv", kVideo);
  EXPECT_FALSE(s.ShouldOffer());
  auto actions = s.AnswerReceived(first.version, AnswerTo(first));
  ASSERT_TRUE(actions.ok());
  EXPECT_THAT(actions->resume, ElementsAre("c-pa"));  // not the video: never offered yet
  ASSERT_TRUE(s.ShouldOffer());
  SubscriberSession::Offer second = s.CreateOffer();
  EXPECT_THAT(Directions(second), ElementsAre("0:sendonly", "1:sendonly"));
  actions = s.AnswerReceived(second.version, AnswerTo(second));
  ASSERT_TRUE(actions.ok());
  EXPECT_THAT(actions->resume, ElementsAre("c-pv"));
}

TEST(SubscriberSession, EndedTrackGoesInactiveAndKeepsItsMline) {
  SubscriberSession s(64);
  AddTrack(s, "pa", kAudio);
  AddTrack(s, "pv", kVideo);
  Negotiate(s);
  EXPECT_FALSE(s.EndProducers({"other"}));
  ASSERT_TRUE(s.EndProducers({"pa"}));
  SubscriberSession::Offer offer = s.CreateOffer();
  // The bundle tag (mid 0) is inactive, never rejected; its codecs stay, its ssrcs go.
  EXPECT_THAT(Directions(offer), ElementsAre("0:inactive", "1:sendonly"));
  EXPECT_FALSE(offer.media[0].rtp.codecs.empty());
  EXPECT_TRUE(offer.media[0].rtp.encodings.empty());
  EXPECT_TRUE(offer.media[0].msid_stream.empty());
  ASSERT_EQ(offer.streams.size(), 1u);
  EXPECT_EQ(offer.streams[0].mid, "1");
}

TEST(SubscriberSession, NegotiatedInactiveMlineIsReusedBySameKindOnly) {
  SubscriberSession s(64);
  AddTrack(s, "pa", kAudio);
  AddTrack(s, "pv", kVideo);
  Negotiate(s);
  s.EndProducers({"pa", "pv"});
  SubscriberSession::Offer closing = s.CreateOffer();
  // Not answered yet: the client still has the old tracks there, so a new m-line.
  EXPECT_EQ(*s.ReserveMid(kVideo), "2");
  s.Release("2");
  ASSERT_TRUE(s.AnswerReceived(closing.version, AnswerTo(closing)).ok());
  EXPECT_EQ(*s.ReserveMid(kVideo), "1");
  EXPECT_EQ(*s.ReserveMid(kAudio), "0");
  EXPECT_FALSE(s.ReserveMid(kAudio) == "0");  // taken now
}

// A screen share is a second video track of its publisher: the offer's streams say which one
// is the screen, and when the share stops its m-line goes to the next video track, whatever
// its source.
TEST(SubscriberSession, StreamsCarryTheSourceAndAStoppedShareFreesItsMline) {
  SubscriberSession s(64);
  AddTrack(s, "cam", kVideo);
  auto mid = s.ReserveMid(kVideo);
  ASSERT_TRUE(mid.has_value());
  SubscriberSession::Track screen = MakeTrack("screen", kVideo);
  screen.publisher_id = "pub-cam";  // the same participant
  screen.source = TrackSource::kScreen;
  s.Attach(*mid, screen);
  SubscriberSession::Offer offer = Negotiate(s);
  ASSERT_EQ(offer.streams.size(), 2u);
  EXPECT_EQ(offer.streams[0].source, TrackSource::kCamera);
  EXPECT_EQ(offer.streams[1].source, TrackSource::kScreen);
  EXPECT_EQ(offer.streams[1].publisher_id, offer.streams[0].publisher_id);
  ASSERT_NE(s.TrackOf("screen"), nullptr);
  EXPECT_EQ(s.TrackOf("screen")->source, TrackSource::kScreen);
  EXPECT_EQ(s.TrackOf("nothing"), nullptr);

  ASSERT_TRUE(s.EndProducers({"screen"}));
  offer = Negotiate(s);
  EXPECT_THAT(Directions(offer), ElementsAre("0:sendonly", "1:inactive"));
  EXPECT_EQ(s.TrackOf("screen"), nullptr);
  // Shared again: a new producer on the same m-line.
  EXPECT_EQ(s.ReserveMid(kVideo), *mid);
  screen.producer_id = "screen2";
  screen.consumer_id = "c-screen2";
  s.Attach(*mid, screen);
  offer = Negotiate(s);
  ASSERT_EQ(offer.streams.size(), 2u);
  EXPECT_EQ(offer.streams[1].producer_id, "screen2");
  EXPECT_EQ(offer.streams[1].source, TrackSource::kScreen);
}

TEST(SubscriberSession, EveryoneLeftThenANewcomerReusesTheBundleTag) {
  SubscriberSession s(64);
  AddTrack(s, "a1", kAudio);
  AddTrack(s, "v1", kVideo);
  Negotiate(s);
  s.EndProducers({"a1", "v1"});
  SubscriberSession::Offer empty = Negotiate(s);
  EXPECT_THAT(Directions(empty), ElementsAre("0:inactive", "1:inactive"));
  EXPECT_THAT(empty.streams, IsEmpty());

  AddTrack(s, "a2", kAudio);
  AddTrack(s, "v2", kVideo);
  ASSERT_TRUE(s.ShouldOffer());
  SubscriberSession::Offer back = s.CreateOffer();
  EXPECT_THAT(Directions(back), ElementsAre("0:sendonly", "1:sendonly"));
  EXPECT_EQ(back.streams[0].producer_id, "a2");
  EXPECT_EQ(back.media[0].msid_track, "c-a2");
  auto actions = s.AnswerReceived(back.version, AnswerTo(back));
  ASSERT_TRUE(actions.ok());
  EXPECT_THAT(actions->resume, ElementsAre("c-a2", "c-v2"));
}

// A long meeting: 200 participants come, publish audio and video, and go, 3 at a time. The
// subscriber who stays never has more m-lines than tracks live at once allow.
TEST(SubscriberSession, ChurnKeepsOffersBounded) {
  SubscriberSession s(64);
  std::vector<std::string> live;
  for (int i = 0; i < 200; ++i) {
    const std::string a = absl::StrCat("a", i), v = absl::StrCat("v", i);
    AddTrack(s, a, kAudio);
    AddTrack(s, v, kVideo);
    live.push_back(a);
    live.push_back(v);
    if (live.size() > 6) {
      s.EndProducers({live[0], live[1]});
      live.erase(live.begin(), live.begin() + 2);
    }
    if (s.ShouldOffer()) Negotiate(s);
    ASSERT_LE(s.mline_count(), 10u) << i;
  }
  EXPECT_EQ(s.live_count(), 6u);
}

TEST(SubscriberSession, MlineLimit) {
  SubscriberSession s(3);
  AddTrack(s, "a", kAudio);
  AddTrack(s, "b", kAudio);
  AddTrack(s, "c", kVideo);
  EXPECT_FALSE(s.ReserveMid(kVideo).has_value());
  Negotiate(s);
  s.EndProducers({"c"});
  Negotiate(s);
  EXPECT_EQ(*s.ReserveMid(kVideo), "2");  // a reused m-line needs no room
}

TEST(SubscriberSession, RefusedTrackIsClosedAndItsMlineNeverReused) {
  SubscriberSession s(64);
  AddTrack(s, "pa", kAudio);
  AddTrack(s, "pv", kVideo);
  SubscriberSession::Offer offer = s.CreateOffer();
  auto actions = s.AnswerReceived(offer.version, AnswerTo(offer, {"1"}));
  ASSERT_TRUE(actions.ok());
  EXPECT_THAT(actions->resume, ElementsAre("c-pa"));
  EXPECT_THAT(actions->close, ElementsAre("c-pv"));
  ASSERT_TRUE(s.ShouldOffer());
  SubscriberSession::Offer next = Negotiate(s);
  EXPECT_THAT(Directions(next), ElementsAre("0:sendonly", "1:rejected"));
  EXPECT_FALSE(next.media[1].rtp.codecs.empty());  // a closed m-line keeps a codec line
  EXPECT_EQ(*s.ReserveMid(kVideo), "2");
}

TEST(SubscriberSession, FailedAnswerLeadsToAFreshOffer) {
  SubscriberSession s(64);
  AddTrack(s, "pa", kAudio);
  SubscriberSession::Offer first = s.CreateOffer();
  EXPECT_TRUE(s.offer_outstanding());
  s.AnswerFailed();
  EXPECT_FALSE(s.offer_outstanding());
  ASSERT_TRUE(s.ShouldOffer());
  SubscriberSession::Offer second = s.CreateOffer();
  EXPECT_GT(second.version, first.version);
  EXPECT_THAT(Directions(second), ElementsAre("0:sendonly"));
  // A late answer to the failed offer is refused and changes nothing.
  EXPECT_FALSE(s.AnswerReceived(first.version, AnswerTo(first)).ok());
  EXPECT_TRUE(s.offer_outstanding());
  auto actions = s.AnswerReceived(second.version, AnswerTo(second));
  ASSERT_TRUE(actions.ok());
  EXPECT_THAT(actions->resume, ElementsAre("c-pa"));
  // Nothing outstanding: an answer now is refused.
  EXPECT_FALSE(s.AnswerReceived(0, AnswerTo(second)).ok());
}

TEST(SubscriberSession, ReleaseDropsANewMlineAndRestoresAReusedOne) {
  SubscriberSession s(64);
  auto mid = s.ReserveMid(kAudio);
  s.Release(*mid);
  EXPECT_EQ(s.mline_count(), 0u);
  EXPECT_FALSE(s.ShouldOffer());

  const std::string mid_a = AddTrack(s, "pa", kAudio);
  Negotiate(s);
  s.EndProducers({"pa"});
  Negotiate(s);
  auto reused = s.ReserveMid(kAudio);
  ASSERT_EQ(*reused, mid_a);
  s.Release(*reused);
  EXPECT_EQ(*s.ReserveMid(kAudio), mid_a);  // still reusable
}

TEST(SubscriberSession, MlinesKeepTheirOrderWhileAConsumeIsPending) {
  SubscriberSession s(64);
  AddTrack(s, "pa", kAudio);
  auto pending = s.ReserveMid(kVideo);  // mid 1, in flight
  AddTrack(s, "pb", kAudio);            // mid 2
  // Forced out (say, after a resume) while mid 1 is pending: mid 2 may not go before it.
  SubscriberSession::Offer offer = s.CreateOffer();
  EXPECT_THAT(Directions(offer), ElementsAre("0:sendonly"));
  ASSERT_TRUE(s.AnswerReceived(offer.version, AnswerTo(offer)).ok());
  s.Attach(*pending, MakeTrack("pv", kVideo));
  SubscriberSession::Offer next = s.CreateOffer();
  EXPECT_THAT(Directions(next), ElementsAre("0:sendonly", "1:sendonly", "2:sendonly"));
}

TEST(SubscriberSession, TrackEndedBeforeItWasOfferedLeavesNoMline) {
  SubscriberSession s(64);
  AddTrack(s, "pa", kAudio);
  EXPECT_TRUE(s.EndProducers({"pa"}));
  EXPECT_EQ(s.mline_count(), 0u);
  EXPECT_FALSE(s.ShouldOffer());
}

TEST(SubscriberSession, RenegotiateOffersTheSameMlinesAgain) {
  SubscriberSession s(64);
  AddTrack(s, "pa", kAudio);
  Negotiate(s);
  EXPECT_FALSE(s.ShouldOffer());
  s.Renegotiate();
  ASSERT_TRUE(s.ShouldOffer());
  SubscriberSession::Offer offer = s.CreateOffer();
  EXPECT_THAT(Directions(offer), ElementsAre("0:sendonly"));
  auto actions = s.AnswerReceived(offer.version, AnswerTo(offer));
  ASSERT_TRUE(actions.ok());
  EXPECT_THAT(actions->resume, IsEmpty());  // already forwarding
}

}  // namespace
}  // namespace sb::signaling
