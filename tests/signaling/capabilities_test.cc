// A browser's RTCRtpReceiver.getCapabilities() output as the client library sends it.
#include "signaling/capabilities.h"

#include <gtest/gtest.h>

namespace sb::signaling {
namespace {

TEST(Capabilities, ChromiumShapedJson) {
  auto json = nlohmann::json::parse(R"({
    "audio": {"codecs": [{"mimeType": "audio/opus", "clockRate": 48000, "channels": 2,
                          "sdpFmtpLine": "minptime=10;useinbandfec=1"}],
              "headerExtensions": [{"uri": "urn:ietf:params:rtp-hdrext:ssrc-audio-level"}]},
    "video": {"codecs": [{"mimeType": "video/VP8", "clockRate": 90000},
                         {"mimeType": "video/rtx", "clockRate": 90000},
                         {"mimeType": "video/H264", "clockRate": 90000,
                          "sdpFmtpLine": "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"}],
              "headerExtensions": [{"uri": "urn:ietf:params:rtp-hdrext:sdes:mid"}]}
  })");
  auto caps = CapabilitiesFromJson(json);
  ASSERT_TRUE(caps.ok()) << caps.status();
  ASSERT_EQ(caps->codecs.size(), 4u);
  EXPECT_EQ(caps->codecs[0].kind, rtp::MediaKind::kAudio);
  EXPECT_EQ(caps->codecs[0].channels, 2);
  EXPECT_EQ(caps->codecs[0].parameters.at("useinbandfec"), "1");
  EXPECT_EQ(caps->codecs[3].kind, rtp::MediaKind::kVideo);
  EXPECT_EQ(caps->codecs[3].parameters.at("profile-level-id"), "42e01f");
  ASSERT_EQ(caps->header_extensions.size(), 2u);
  EXPECT_EQ(caps->header_extensions[1].kind, rtp::MediaKind::kVideo);
}

TEST(Capabilities, AbsentMeansTheRouterDefaults) {
  auto caps = CapabilitiesFromJson(nlohmann::json());
  ASSERT_TRUE(caps.ok());
  EXPECT_EQ(caps->codecs.size(), rtp::RouterCapabilities().codecs.size());
}

TEST(Capabilities, MalformedShapesAreRefused) {
  for (const char* text : {
           R"([])",
           R"({"audio": 5})",
           R"({"audio": {"codecs": {}}})",
           R"({"audio": {"codecs": [{"clockRate": 48000}]}})",
           R"({"audio": {"codecs": [{"mimeType": "audio/opus", "clockRate": -1}]}})",
           R"({"video": {"headerExtensions": [{"url": "x"}]}})",
       }) {
    EXPECT_FALSE(CapabilitiesFromJson(nlohmann::json::parse(text)).ok()) << text;
  }
  nlohmann::json many = {{"video", {{"codecs", nlohmann::json::array()}}}};
  for (int i = 0; i < 1000; ++i) {
    many["video"]["codecs"].push_back({{"mimeType", "video/VP8"}, {"clockRate", 90000}});
  }
  EXPECT_FALSE(CapabilitiesFromJson(many).ok());
}

TEST(Capabilities, FmtpLine) {
  auto map = ParseFmtpLine(" apt=96 ; x-google-start-bitrate = 800;flag;");
  EXPECT_EQ(map.at("apt"), "96");
  EXPECT_EQ(map.at("x-google-start-bitrate"), "800");
  EXPECT_EQ(map.at("flag"), "");
  EXPECT_EQ(map.size(), 3u);
}

}  // namespace
}  // namespace sb::signaling
