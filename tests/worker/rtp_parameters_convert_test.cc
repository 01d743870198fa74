// The RTP model crosses the IPC pipe unchanged, and oversized lists are refused.
#include "worker/fbs/rtp_parameters_convert.h"

#include <gtest/gtest.h>

#include <string>

namespace sb::ipc {
namespace {

rtp::RtpParameters VideoParams() {
  rtp::RtpParameters p;
  p.mid = "1";
  p.cname = "cname-x";
  p.reduced_size = true;
  rtp::RtpCodecParameters vp8{"video/VP8", 96, 90000, 0, {}, {{"nack", ""}, {"nack", "pli"}}};
  rtp::RtpCodecParameters rtx{"video/rtx", 97, 90000, 0, {{"apt", "96"}}, {}};
  p.codecs = {vp8, rtx};
  p.encodings = {{1111, 2222, "", 0}, {3333, 0, "h", 500000}};
  p.header_extensions = {{rtp::kUriMid, 4}, {rtp::kUriAbsSendTime, 2}};
  return p;
}

template <typename T, typename Fbs>
const Fbs* Finish(flatbuffers::FlatBufferBuilder& fbb, flatbuffers::Offset<Fbs> offset) {
  fbb.Finish(offset);
  flatbuffers::Verifier verifier(fbb.GetBufferPointer(), fbb.GetSize());
  EXPECT_TRUE(verifier.VerifyBuffer<Fbs>(nullptr));
  return flatbuffers::GetRoot<Fbs>(fbb.GetBufferPointer());
}

TEST(RtpParametersConvert, ParametersRoundTrip) {
  flatbuffers::FlatBufferBuilder fbb;
  const rtp::RtpParameters in = VideoParams();
  const auto* table = Finish<rtp::RtpParameters>(fbb, ToFbs(fbb, in));
  auto out = FromFbs(table);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->mid, in.mid);
  EXPECT_EQ(out->cname, in.cname);
  ASSERT_EQ(out->codecs.size(), 2u);
  EXPECT_EQ(out->codecs[0].mime_type, "video/VP8");
  EXPECT_EQ(out->codecs[0].payload_type, 96);
  EXPECT_EQ(out->codecs[0].rtcp_feedback, in.codecs[0].rtcp_feedback);
  EXPECT_EQ(out->codecs[1].parameters.at("apt"), "96");
  ASSERT_EQ(out->encodings.size(), 2u);
  EXPECT_EQ(out->encodings[0].rtx_ssrc, 2222u);
  EXPECT_EQ(out->encodings[1].rid, "h");
  EXPECT_EQ(out->encodings[1].max_bitrate, 500000u);
  ASSERT_EQ(out->header_extensions.size(), 2u);
  EXPECT_EQ(out->header_extensions[0].uri, rtp::kUriMid);
  EXPECT_EQ(out->header_extensions[0].id, 4);
}

TEST(RtpParametersConvert, CapabilitiesRoundTrip) {
  flatbuffers::FlatBufferBuilder fbb;
  const rtp::RtpCapabilities& in = rtp::RouterCapabilities();
  const auto* table = Finish<rtp::RtpCapabilities>(fbb, ToFbs(fbb, in));
  auto out = FromFbs(table);
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_EQ(out->codecs.size(), in.codecs.size());
  for (size_t i = 0; i < in.codecs.size(); ++i) {
    EXPECT_EQ(out->codecs[i].kind, in.codecs[i].kind);
    EXPECT_EQ(out->codecs[i].mime_type, in.codecs[i].mime_type);
    EXPECT_EQ(out->codecs[i].preferred_payload_type, in.codecs[i].preferred_payload_type);
    EXPECT_EQ(out->codecs[i].parameters, in.codecs[i].parameters);
  }
  ASSERT_EQ(out->header_extensions.size(), in.header_extensions.size());
}

TEST(RtpParametersConvert, RejectsOversizedLists) {
  flatbuffers::FlatBufferBuilder fbb;
  rtp::RtpParameters in = VideoParams();
  in.encodings.resize(100);
  const auto* table = Finish<rtp::RtpParameters>(fbb, ToFbs(fbb, in));
  EXPECT_FALSE(FromFbs(table).ok());
  EXPECT_FALSE(FromFbs(static_cast<const fbs::RtpParameters*>(nullptr)).ok());
}

// Found by tests/fuzz/ipc_fuzz: strings were written through c_str(), so a NUL inside one cut
// it short, and parameter keys differing only after a NUL collided when read back.
TEST(RtpParametersConvert, StringsWithNulSurviveTheRoundTrip) {
  using namespace std::string_literals;
  rtp::RtpParameters in = VideoParams();
  in.mid = "a\0b"s;
  in.cname = "c\0d"s;
  in.codecs[1].parameters = {{"apt"s, "96"s}, {"k\0x"s, "1"s}, {"k\0y"s, "2\0z"s}};
  in.codecs[0].rtcp_feedback.push_back({"nack\0"s, "p\0li"s});
  in.encodings[1].rid = "h\0i"s;
  in.header_extensions[0].uri = "urn:x\0y"s;
  flatbuffers::FlatBufferBuilder fbb;
  auto out = FromFbs(Finish<rtp::RtpParameters>(fbb, ToFbs(fbb, in)));
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->mid, in.mid);
  EXPECT_EQ(out->cname, in.cname);
  EXPECT_EQ(out->codecs[1].parameters, in.codecs[1].parameters);
  EXPECT_EQ(out->codecs[0].rtcp_feedback, in.codecs[0].rtcp_feedback);
  EXPECT_EQ(out->encodings[1].rid, in.encodings[1].rid);
  EXPECT_EQ(out->header_extensions[0].uri, in.header_extensions[0].uri);

  rtp::RtpCapabilities caps;
  caps.codecs.push_back(
      {rtp::MediaKind::kVideo, "video/VP8", 96, 90000, 0, {{"a\0b"s, "1"s}, {"a\0c"s, "2"s}}, {}});
  caps.header_extensions.push_back({rtp::MediaKind::kAudio, "urn:a\0b"s, 1});
  flatbuffers::FlatBufferBuilder fbb2;
  auto caps_out = FromFbs(Finish<rtp::RtpCapabilities>(fbb2, ToFbs(fbb2, caps)));
  ASSERT_TRUE(caps_out.ok()) << caps_out.status();
  EXPECT_EQ(caps_out->codecs[0].parameters, caps.codecs[0].parameters);
  EXPECT_EQ(caps_out->header_extensions[0].uri, caps.header_extensions[0].uri);
}

}  // namespace
}  // namespace sb::ipc
