#include "rtp/rtp_parameters.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace sb::rtp {
namespace {

constexpr MediaKind kA = MediaKind::kAudio;
constexpr MediaKind kV = MediaKind::kVideo;

const std::vector<RtcpFeedback> kChromeVideoFb = {
    {"goog-remb", ""}, {"transport-cc", ""}, {"ccm", "fir"}, {"nack", ""}, {"nack", "pli"}};

RtpCodecCapability Cap(MediaKind kind, std::string mime, uint8_t pt, uint32_t clock,
                       uint8_t channels, CodecParameterMap params,
                       std::vector<RtcpFeedback> fb = {}) {
  return {kind, std::move(mime), pt, clock, channels, std::move(params), std::move(fb)};
}

// What a recent Chromium offers to receive (abridged but in its shape and order).
RtpCapabilities ChromiumCaps() {
  RtpCapabilities c;
  c.codecs = {
      Cap(kA, "audio/opus", 111, 48000, 2, {{"minptime", "10"}, {"useinbandfec", "1"}},
          {{"transport-cc", ""}}),
      Cap(kA, "audio/red", 63, 48000, 2, {{"", "111/111"}}),
      Cap(kA, "audio/G722", 9, 8000, 1, {}),
      Cap(kA, "audio/PCMU", 0, 8000, 1, {}),
      Cap(kA, "audio/telephone-event", 126, 8000, 1, {}),
      Cap(kV, "video/VP8", 96, 90000, 0, {}, kChromeVideoFb),
      Cap(kV, "video/rtx", 97, 90000, 0, {{"apt", "96"}}),
      Cap(kV, "video/VP9", 98, 90000, 0, {{"profile-id", "0"}}, kChromeVideoFb),
      Cap(kV, "video/rtx", 99, 90000, 0, {{"apt", "98"}}),
      Cap(kV, "video/H264", 102, 90000, 0,
          {{"level-asymmetry-allowed", "1"},
           {"packetization-mode", "1"},
           {"profile-level-id", "42001f"}},
          kChromeVideoFb),
      Cap(kV, "video/rtx", 103, 90000, 0, {{"apt", "102"}}),
      Cap(kV, "video/H264", 104, 90000, 0,
          {{"level-asymmetry-allowed", "1"},
           {"packetization-mode", "0"},
           {"profile-level-id", "42001f"}},
          kChromeVideoFb),
      Cap(kV, "video/H264", 106, 90000, 0,
          {{"level-asymmetry-allowed", "1"},
           {"packetization-mode", "1"},
           {"profile-level-id", "42e01f"}},
          kChromeVideoFb),
      Cap(kV, "video/rtx", 107, 90000, 0, {{"apt", "106"}}),
      Cap(kV, "video/AV1", 45, 90000, 0, {}, kChromeVideoFb),
      Cap(kV, "video/red", 116, 90000, 0, {}),
      Cap(kV, "video/ulpfec", 118, 90000, 0, {}),
  };
  c.header_extensions = {
      {kA, kUriAudioLevel, 1},
      {kA, kUriAbsSendTime, 2},
      {kA, kUriTransportWideCc, 3},
      {kA, kUriMid, 4},
      {kV, kUriToffset, 14},
      {kV, kUriAbsSendTime, 2},
      {kV, kUriVideoOrientation, 13},
      {kV, kUriTransportWideCc, 3},
      {kV, kUriPlayoutDelay, 12},
      {kV, kUriMid, 4},
      {kV, kUriRid, 10},
      {kV, kUriRepairedRid, 11},
  };
  return c;
}

RtpCodecParameters Codec(std::string mime, uint8_t pt, uint32_t clock, uint8_t channels,
                         CodecParameterMap params) {
  RtpCodecParameters c;
  c.mime_type = std::move(mime);
  c.payload_type = pt;
  c.clock_rate = clock;
  c.channels = channels;
  c.parameters = std::move(params);
  return c;
}

RtpParameters OpusProducer() {
  RtpParameters p;
  p.mid = "0";
  p.codecs = {Codec("audio/opus", 111, 48000, 2,
                    {{"minptime", "10"}, {"useinbandfec", "1"}, {"stereo", "1"}})};
  p.encodings = {{0x1111, 0, "", 0}};
  p.header_extensions = {{kUriAudioLevel, 1}, {kUriMid, 4}};
  p.cname = "abc";
  return p;
}

RtpParameters VideoProducer(RtpCodecParameters media) {
  RtpParameters p;
  p.mid = "1";
  const uint8_t pt = media.payload_type;
  p.codecs = {std::move(media), Codec("video/rtx", static_cast<uint8_t>(pt + 1), 90000, 0,
                                      {{"apt", std::to_string(pt)}})};
  p.encodings = {{0x2222, 0x3333, "", 0}};
  p.header_extensions = {{kUriMid, 4}, {kUriAbsSendTime, 2}};
  p.cname = "cam";
  return p;
}

std::vector<std::string> Uris(const RtpParameters& p) {
  std::vector<std::string> out;
  for (const auto& e : p.header_extensions) out.push_back(e.uri + "=" + std::to_string(e.id));
  return out;
}

TEST(RtpParametersTest, RouterCapabilities) {
  const RtpCapabilities& caps = RouterCapabilities();
  ASSERT_EQ(caps.codecs.size(), 11u);
  EXPECT_EQ(caps.codecs[0].mime_type, "audio/opus");
  EXPECT_EQ(caps.codecs[0].preferred_payload_type, 100);
  // Opus: transport-cc only (audio counts for the subscriber's transport-wide feedback).
  EXPECT_EQ(caps.codecs[0].rtcp_feedback, (std::vector<RtcpFeedback>{{"transport-cc", ""}}));
  std::vector<int> pts;
  for (const auto& c : caps.codecs) pts.push_back(c.preferred_payload_type);
  EXPECT_EQ(pts, (std::vector<int>{100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110}));
  EXPECT_EQ(caps.codecs[7].mime_type, "video/VP9");
  EXPECT_EQ(caps.codecs[8].parameters.at("apt"), "107");
  EXPECT_EQ(caps.codecs[9].mime_type, "video/AV1");
  EXPECT_EQ(caps.codecs[10].parameters.at("apt"), "109");
  EXPECT_EQ(caps.codecs[6].parameters.at("apt"), "105");
  EXPECT_EQ(caps.codecs[5].parameters.at("profile-level-id"), "42001f");
  EXPECT_EQ(caps.header_extensions.size(), 10u);
  for (MediaKind kind : {MediaKind::kAudio, MediaKind::kVideo}) {
    EXPECT_TRUE(std::any_of(caps.header_extensions.begin(), caps.header_extensions.end(),
                            [&](const RtpHeaderExtensionCapability& e) {
                              return e.kind == kind && e.uri == kUriTransportWideCc &&
                                     e.preferred_id == 5;
                            }));
  }
}

TEST(RtpParametersTest, Helpers) {
  RtpParameters p = VideoProducer(Codec("video/VP8", 96, 90000, 0, {}));
  ASSERT_NE(p.MediaCodec(), nullptr);
  EXPECT_EQ(p.MediaCodec()->payload_type, 96);
  ASSERT_NE(p.RtxCodecFor(96), nullptr);
  EXPECT_EQ(p.RtxCodecFor(96)->payload_type, 97);
  EXPECT_EQ(p.RtxCodecFor(100), nullptr);
  EXPECT_EQ(p.HeaderExtensionId(kUriAbsSendTime), 2);
  EXPECT_EQ(p.HeaderExtensionId(kUriToffset), 0);
  EXPECT_TRUE(Codec("VIDEO/RTX", 1, 90000, 0, {}).IsRtx());
  EXPECT_FALSE(Codec("video/rtxx", 1, 90000, 0, {}).IsRtx());
  EXPECT_EQ(Codec("a/b", 1, 1, 0, {{"x", "abc"}}).IntParameter("x"), std::nullopt);
  EXPECT_EQ(Codec("a/b", 1, 1, 0, {{"x", "42"}}).IntParameter("x"), 42u);
  EXPECT_STREQ(MediaKindName(kV), "video");
}

TEST(RtpParametersTest, CodecsMatch) {
  const auto& caps = RouterCapabilities().codecs;
  EXPECT_TRUE(CodecsMatch(Codec("AUDIO/OPUS", 111, 48000, 2, {}), caps[0]));
  EXPECT_FALSE(CodecsMatch(Codec("audio/opus", 111, 48000, 1, {}), caps[0]));
  EXPECT_FALSE(CodecsMatch(Codec("audio/opus", 111, 16000, 2, {}), caps[0]));
  const auto h264 = [](std::string pm, std::string plid) {
    CodecParameterMap m;
    if (!pm.empty()) m["packetization-mode"] = pm;
    if (!plid.empty()) m["profile-level-id"] = plid;
    return Codec("video/H264", 102, 90000, 0, m);
  };
  EXPECT_TRUE(CodecsMatch(h264("1", "42e01f"), caps[3]));
  EXPECT_TRUE(CodecsMatch(h264("1", "42E034"), caps[3]));  // level differs: fine
  EXPECT_FALSE(CodecsMatch(h264("1", "42001f"), caps[3]));
  EXPECT_TRUE(CodecsMatch(h264("1", "42001f"), caps[5]));
  EXPECT_FALSE(CodecsMatch(h264("0", "42e01f"), caps[3]));
  EXPECT_FALSE(CodecsMatch(h264("", "42e01f"), caps[3]));  // default mode 0
  EXPECT_TRUE(CodecsMatch(h264("1", ""), caps[5]));        // default 42000a: baseline
  EXPECT_FALSE(CodecsMatch(h264("1", "zz"), caps[5]));
}

TEST(RtpParametersTest, ValidateAcceptsGoodProducers) {
  EXPECT_TRUE(ValidateProducerParameters(kA, OpusProducer()).ok());
  EXPECT_TRUE(
      ValidateProducerParameters(kV, VideoProducer(Codec("video/VP8", 96, 90000, 0, {}))).ok());
  RtpParameters simulcast = VideoProducer(Codec("video/VP8", 96, 90000, 0, {}));
  simulcast.encodings = {{0, 0, "q", 0}, {0, 0, "h", 0}, {0, 0, "f", 0}};
  EXPECT_TRUE(ValidateProducerParameters(kV, simulcast).ok());
  // Neither ssrc nor rid, but a mid (GStreamer's webrtcbin before its encoders run): the
  // transport learns the ssrc from the mid header extension.
  RtpParameters mid_only = VideoProducer(Codec("video/VP8", 96, 90000, 0, {}));
  mid_only.mid = "video0";
  mid_only.encodings = {{0, 0, "", 0}};
  EXPECT_TRUE(ValidateProducerParameters(kV, mid_only).ok());
}

TEST(RtpParametersTest, ValidateRejections) {
  const auto rejects = [](MediaKind kind, const RtpParameters& p) {
    absl::Status st = ValidateProducerParameters(kind, p);
    EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << st;
    EXPECT_FALSE(st.message().empty());
  };
  const RtpParameters vp8 = VideoProducer(Codec("video/VP8", 96, 90000, 0, {}));
  RtpParameters p = vp8;
  p.codecs.clear();
  rejects(kV, p);
  p = vp8;
  p.codecs.erase(p.codecs.begin());  // only RTX
  rejects(kV, p);
  rejects(kV, VideoProducer(Codec("video/H265", 98, 90000, 0, {})));  // unsupported
  rejects(kA, vp8);                                                   // wrong kind
  p = vp8;
  p.codecs[1].parameters.clear();  // rtx without apt
  rejects(kV, p);
  p = vp8;
  p.codecs[1].parameters["apt"] = "55";  // rtx pointing nowhere
  rejects(kV, p);
  p = vp8;
  p.codecs[1].payload_type = 96;  // duplicate payload type
  rejects(kV, p);
  p = vp8;
  p.codecs[0].payload_type = 200;
  rejects(kV, p);
  p = vp8;
  p.encodings.clear();
  rejects(kV, p);
  p = vp8;
  p.mid.clear();
  p.encodings = {{0, 0, "", 0}};  // nothing to match packets by
  rejects(kV, p);
  p.mid = "1";
  p.encodings = {{0, 0, "", 0}, {0, 0, "", 0}};  // a mid matches one encoding only
  rejects(kV, p);
  p = vp8;
  p.encodings = {{5, 0, "", 0}, {5, 0, "", 0}};
  rejects(kV, p);
  p = vp8;
  p.encodings = {{0, 0, "q", 0}, {0, 0, "q", 0}};  // duplicate rid
  rejects(kV, p);
  for (uint8_t bad_id : {0, 15, 4}) {  // 4 duplicates mid's id
    p = vp8;
    p.header_extensions.push_back({kUriToffset, bad_id});
    rejects(kV, p);
  }
  p = vp8;
  p.header_extensions.push_back({"", 7});
  rejects(kV, p);
}

TEST(RtpParametersTest, ConsumerForOpus) {
  auto c = ConsumerParameters(kA, OpusProducer(), ChromiumCaps(), 0xAAAA, 0xBBBB);
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_EQ(c->codecs.size(), 1u);
  EXPECT_EQ(c->codecs[0].mime_type, "audio/opus");
  EXPECT_EQ(c->codecs[0].payload_type, 100);
  EXPECT_EQ(c->codecs[0].clock_rate, 48000u);
  EXPECT_EQ(c->codecs[0].channels, 2);
  EXPECT_EQ(c->codecs[0].parameters, OpusProducer().codecs[0].parameters);
  EXPECT_EQ(c->codecs[0].rtcp_feedback, (std::vector<RtcpFeedback>{{"transport-cc", ""}}));
  EXPECT_EQ(Uris(*c),
            (std::vector<std::string>{
                std::string(kUriMid) + "=1", std::string(kUriAbsSendTime) + "=3",
                std::string(kUriTransportWideCc) + "=5", std::string(kUriAudioLevel) + "=10"}));
  ASSERT_EQ(c->encodings.size(), 1u);
  EXPECT_EQ(c->encodings[0].ssrc, 0xAAAAu);
  EXPECT_EQ(c->encodings[0].rtx_ssrc, 0u);
  EXPECT_TRUE(c->mid.empty());
  EXPECT_EQ(c->cname, "abc");
}

TEST(RtpParametersTest, ConsumerForVp8WithRtx) {
  auto c = ConsumerParameters(kV, VideoProducer(Codec("video/VP8", 96, 90000, 0, {})),
                              ChromiumCaps(), 10, 11);
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_EQ(c->codecs.size(), 2u);
  EXPECT_EQ(c->codecs[0].mime_type, "video/VP8");
  EXPECT_EQ(c->codecs[0].payload_type, 101);
  EXPECT_EQ(c->codecs[0].rtcp_feedback,
            (std::vector<RtcpFeedback>{
                {"nack", ""}, {"nack", "pli"}, {"ccm", "fir"}, {"transport-cc", ""}}));
  EXPECT_TRUE(c->codecs[1].IsRtx());
  EXPECT_EQ(c->codecs[1].payload_type, 102);
  EXPECT_EQ(c->codecs[1].IntParameter("apt"), 101u);
  EXPECT_EQ(c->RtxCodecFor(101), &c->codecs[1]);
  EXPECT_EQ(Uris(*c),
            (std::vector<std::string>{std::string(kUriMid) + "=1", std::string(kUriToffset) + "=2",
                                      std::string(kUriAbsSendTime) + "=3",
                                      std::string(kUriTransportWideCc) + "=5",
                                      std::string(kUriVideoOrientation) + "=13"}));
  EXPECT_EQ(c->encodings[0].ssrc, 10u);
  EXPECT_EQ(c->encodings[0].rtx_ssrc, 11u);
  EXPECT_EQ(c->cname, "cam");
  EXPECT_TRUE(c->mid.empty());
}

TEST(RtpParametersTest, ConsumerForVp8WithoutRtxAndFilteredFeedback) {
  RtpCapabilities caps = ChromiumCaps();
  std::erase_if(caps.codecs,
                [](const RtpCodecCapability& c) { return c.mime_type == "video/rtx"; });
  for (auto& codec : caps.codecs) {
    if (codec.mime_type == "video/VP8") codec.rtcp_feedback = {{"nack", "pli"}, {"goog-remb", ""}};
  }
  caps.header_extensions.clear();
  auto c =
      ConsumerParameters(kV, VideoProducer(Codec("video/VP8", 96, 90000, 0, {})), caps, 10, 11);
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_EQ(c->codecs.size(), 1u);
  EXPECT_EQ(c->codecs[0].rtcp_feedback, (std::vector<RtcpFeedback>{{"nack", "pli"}}));
  EXPECT_EQ(c->encodings[0].rtx_ssrc, 0u);
  EXPECT_TRUE(c->header_extensions.empty());

  // A subscriber capability without a feedback list keeps the router's.
  for (auto& codec : caps.codecs) codec.rtcp_feedback.clear();
  c = ConsumerParameters(kV, VideoProducer(Codec("video/VP8", 96, 90000, 0, {})), caps, 10, 11);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->codecs[0].rtcp_feedback.size(), 4u);

  // No rtx ssrc from the caller: no RTX even though the subscriber supports it.
  c = ConsumerParameters(kV, VideoProducer(Codec("video/VP8", 96, 90000, 0, {})), ChromiumCaps(),
                         10, 0);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->codecs.size(), 1u);
}

TEST(RtpParametersTest, ConsumerForH264Profiles) {
  const CodecParameterMap cb = {{"packetization-mode", "1"},
                                {"profile-level-id", "42e01f"},
                                {"level-asymmetry-allowed", "1"}};
  auto c = ConsumerParameters(kV, VideoProducer(Codec("video/H264", 125, 90000, 0, cb)),
                              ChromiumCaps(), 1, 2);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->codecs[0].payload_type, 103);
  EXPECT_EQ(c->codecs[0].parameters, cb);
  EXPECT_EQ(c->codecs[1].payload_type, 104);
  EXPECT_EQ(c->codecs[1].IntParameter("apt"), 103u);

  const CodecParameterMap baseline = {{"packetization-mode", "1"}, {"profile-level-id", "42001f"}};
  c = ConsumerParameters(kV, VideoProducer(Codec("video/H264", 102, 90000, 0, baseline)),
                         ChromiumCaps(), 1, 2);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->codecs[0].payload_type, 105);
  EXPECT_EQ(c->codecs[1].payload_type, 106);

  // A subscriber with only constrained baseline cannot take a baseline producer.
  RtpCapabilities only_cb = ChromiumCaps();
  std::erase_if(only_cb.codecs, [](const RtpCodecCapability& cap) {
    auto it = cap.parameters.find("profile-level-id");
    return it != cap.parameters.end() && it->second == "42001f";
  });
  c = ConsumerParameters(kV, VideoProducer(Codec("video/H264", 102, 90000, 0, baseline)), only_cb,
                         1, 2);
  EXPECT_EQ(c.status().code(), absl::StatusCode::kFailedPrecondition);
  // packetization-mode 0: the router forwards mode 1 only.
  c = ConsumerParameters(
      kV,
      VideoProducer(Codec("video/H264", 102, 90000, 0,
                          {{"packetization-mode", "0"}, {"profile-level-id", "42e01f"}})),
      ChromiumCaps(), 1, 2);
  EXPECT_FALSE(c.ok());
}

TEST(RtpParametersTest, ConsumerFailsWhenSubscriberLacksCodec) {
  RtpCapabilities caps = ChromiumCaps();
  std::erase_if(caps.codecs,
                [](const RtpCodecCapability& c) { return c.mime_type == "video/VP8"; });
  auto c = ConsumerParameters(kV, VideoProducer(Codec("video/VP8", 96, 90000, 0, {})), caps, 1, 2);
  EXPECT_EQ(c.status().code(), absl::StatusCode::kFailedPrecondition);
  RtpParameters none;
  EXPECT_FALSE(ConsumerParameters(kV, none, caps, 1, 2).ok());
}

}  // namespace
}  // namespace sb::rtp
