// Which published track is a screen share: `publish`'s "sources", checked against the offer,
// and the allocation priority each source gives its consumers.
#include "signaling/track_source.h"

#include <gtest/gtest.h>

#include <string>

#include "signaling/sdp/webrtc_sdp.h"
#include "tests/test_data.h"

namespace sb::signaling {
namespace {

// Chromium's offer: audio on mid 0, video on mid 1.
sdp::RemoteDescription Offer() {
  auto offer = sdp::ParseRemoteDescription(test_data::Read("chromium_publish_offer.sdp"));
  EXPECT_TRUE(offer.ok()) << offer.status();
  return offer.ok() ? *std::move(offer) : sdp::RemoteDescription{};
}

absl::StatusOr<absl::flat_hash_map<std::string, TrackSource>> Parse(const char* json) {
  return ParsePublishSources(nlohmann::json::parse(json), Offer());
}

TEST(TrackSource, WithoutSourcesEveryTrackIsItsKindsDefault) {
  auto sources = Parse(R"({"type": "publish", "sdp": "..."})");
  ASSERT_TRUE(sources.ok()) << sources.status();
  EXPECT_TRUE(sources->empty());
  EXPECT_EQ(DefaultSource(rtp::MediaKind::kAudio), TrackSource::kMicrophone);
  EXPECT_EQ(DefaultSource(rtp::MediaKind::kVideo), TrackSource::kCamera);
}

TEST(TrackSource, NamesTheScreenShareByMid) {
  auto sources = Parse(R"({"sources": {"1": "screen"}})");
  ASSERT_TRUE(sources.ok()) << sources.status();
  ASSERT_EQ(sources->size(), 1u);
  EXPECT_EQ(sources->at("1"), TrackSource::kScreen);

  sources = Parse(R"({"sources": {"0": "microphone", "1": "camera"}})");
  ASSERT_TRUE(sources.ok()) << sources.status();
  EXPECT_EQ(sources->at("0"), TrackSource::kMicrophone);
  EXPECT_EQ(sources->at("1"), TrackSource::kCamera);
  EXPECT_TRUE(Parse(R"({"sources": {}})")->empty());
}

TEST(TrackSource, RefusesWhatTheOfferDoesNotBackUp) {
  for (const char* bad : {
           R"({"sources": ["1"]})",                // not an object
           R"({"sources": "screen"})",             // not an object
           R"({"sources": {"2": "screen"}})",      // no such m-line
           R"({"sources": {"": "screen"}})",       // no such m-line
           R"({"sources": {"0": "screen"}})",      // audio cannot be a screen (video) share
           R"({"sources": {"1": "microphone"}})",  // video cannot be a microphone
           R"({"sources": {"0": "camera"}})",      // audio cannot be a camera
           R"({"sources": {"1": "window"}})",      // unknown name
           R"({"sources": {"1": 2}})",             // not a string
           R"({"sources": {"1": null}})",          // not a string
           R"({"sources": {"1": "screen", "9": "screen"}})",
       }) {
    auto sources = Parse(bad);
    EXPECT_FALSE(sources.ok()) << bad;
    EXPECT_EQ(sources.status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

TEST(TrackSource, RejectedAndDataMLinesHaveNoSource) {
  sdp::RemoteDescription offer = Offer();
  ASSERT_EQ(offer.media.size(), 2u);
  offer.media[1].rejected = true;
  EXPECT_FALSE(
      ParsePublishSources(nlohmann::json::parse(R"({"sources": {"1": "screen"}})"), offer).ok());
  auto datachannel = sdp::ParseRemoteDescription(test_data::Read("chromium_datachannel_offer.sdp"));
  ASSERT_TRUE(datachannel.ok());
  EXPECT_FALSE(
      ParsePublishSources(nlohmann::json::parse(R"({"sources": {"2": "screen"}})"), *datachannel)
          .ok());
}

TEST(TrackSource, ScreenShareIsServedBeforeTheActiveSpeaker) {
  EXPECT_EQ(ConsumerPriority(TrackSource::kScreen), kScreenSharePriority);
  EXPECT_EQ(ConsumerPriority(TrackSource::kCamera), 0);
  EXPECT_EQ(ConsumerPriority(TrackSource::kMicrophone), 0);
  // The worker adds 1 to the active speaker's video (router::Router::SetSpeakerPriority): a
  // screen share stays first whoever speaks.
  EXPECT_GT(ConsumerPriority(TrackSource::kScreen), ConsumerPriority(TrackSource::kCamera) + 1);
  EXPECT_STREQ(TrackSourceName(TrackSource::kScreen), "screen");
  EXPECT_STREQ(TrackSourceName(TrackSource::kCamera), "camera");
  EXPECT_STREQ(TrackSourceName(TrackSource::kMicrophone), "microphone");
}

}  // namespace
}  // namespace sb::signaling
