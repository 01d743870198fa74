#include "signaling/sdp/sdp_session.h"

#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/test_data.h"

namespace sb::signaling::sdp {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr char kMinimal[] =
    "v=0\r\n"
    "o=- 123 2 IN IP4 127.0.0.1\r\n"
    "s=-\r\n"
    "t=0 0\r\n"
    "a=group:BUNDLE 0\r\n"
    "a=msid-semantic: WMS *\r\n"
    "m=audio 9 UDP/TLS/RTP/SAVPF 111 0\r\n"
    "c=IN IP4 0.0.0.0\r\n"
    "b=AS:64\r\n"
    "a=mid:0\r\n"
    "a=rtcp-mux\r\n"
    "a=rtpmap:111 opus/48000/2\r\n"
    "a=extmap:1 urn:a\r\n"
    "a=extmap:2 urn:b\r\n";

TEST(SdpSession, ParsesMinimal) {
  auto sd = SessionDescription::Parse(kMinimal);
  ASSERT_TRUE(sd.ok()) << sd.status();
  EXPECT_EQ(sd->origin.session_id, 123u);
  EXPECT_EQ(sd->origin.session_version, 2u);
  EXPECT_EQ(sd->origin.address, "127.0.0.1");
  EXPECT_EQ(sd->attributes.Get("group"), "BUNDLE 0");
  EXPECT_EQ(sd->attributes.Get("msid-semantic"), " WMS *");
  ASSERT_EQ(sd->media.size(), 1u);
  const MediaDescription& m = sd->media[0];
  EXPECT_EQ(m.media, "audio");
  EXPECT_EQ(m.port, 9);
  EXPECT_EQ(m.proto, "UDP/TLS/RTP/SAVPF");
  EXPECT_THAT(m.formats, ElementsAre("111", "0"));
  ASSERT_TRUE(m.connection.has_value());
  EXPECT_EQ(m.connection->address, "0.0.0.0");
  ASSERT_EQ(m.lines.size(), 1u);
  EXPECT_EQ(m.lines[0].type, 'b');
  EXPECT_TRUE(m.attributes.Has("rtcp-mux"));
  EXPECT_EQ(m.attributes.Get("rtcp-mux"), "");
  EXPECT_FALSE(m.attributes.Has("rtcp-rsize"));
  EXPECT_THAT(m.attributes.GetAll("extmap"), ElementsAre("1 urn:a", "2 urn:b"));
  EXPECT_EQ(sd->Serialize(), kMinimal);
}

TEST(SdpSession, AcceptsLfAndBlankLines) {
  std::string lf = absl::StrReplaceAll(kMinimal, {{"\r\n", "\n"}});
  auto sd = SessionDescription::Parse(lf + "\n");
  ASSERT_TRUE(sd.ok()) << sd.status();
  EXPECT_EQ(sd->Serialize(), kMinimal);  // serialized with CRLF
}

TEST(SdpSession, RealChromiumOfferRoundTripsByteForByte) {
  for (const char* name : {"chromium_publish_offer.sdp", "chromium_simulcast_offer.sdp"}) {
    std::string text = test_data::Read(name);
    ASSERT_FALSE(text.empty()) << name;
    auto sd = SessionDescription::Parse(text);
    ASSERT_TRUE(sd.ok()) << name << ": " << sd.status();
    EXPECT_EQ(sd->media.size(), 2u);
    EXPECT_EQ(sd->Serialize(), text) << name;
  }
}

TEST(SdpSession, SerializeAddsTimingWhenMissing) {
  SessionDescription sd;
  sd.origin.session_id = 7;
  std::string text = sd.Serialize();
  EXPECT_EQ(text, "v=0\r\no=- 7 0 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n");
  EXPECT_TRUE(SessionDescription::Parse(text).ok());
}

void ExpectError(const std::string& text, const std::string& fragment) {
  auto sd = SessionDescription::Parse(text);
  ASSERT_FALSE(sd.ok()) << text;
  EXPECT_EQ(sd.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(sd.status().message()), HasSubstr(fragment)) << sd.status();
}

TEST(SdpSession, RejectsMalformed) {
  const std::string head = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n";
  ExpectError("", "incomplete");
  ExpectError("o=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n", "line 1: SDP must start with v=");
  ExpectError("v=1\r\n", "line 1: unsupported SDP version");
  ExpectError("v=0\r\ns=-\r\n", "line 2: expected o=");
  ExpectError("v=0\r\no=- x 1 IN IP4 0.0.0.0\r\ns=-\r\n", "line 2: bad o= line");
  ExpectError("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\nt=0 0\r\n", "line 3: expected s=");
  ExpectError("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nm=audio 9 RTP/AVP 0\r\n",
              "line 4: m= before any t= line");
  ExpectError("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\n", "missing t= line");
  ExpectError(head + "m=audio 9 UDP/TLS/RTP/SAVPF\r\n", "line 5: bad m= line");
  ExpectError(head + "m=audio 70000 UDP/TLS/RTP/SAVPF 0\r\n", "line 5: bad m= line");
  ExpectError(head + "m=audio -1 UDP/TLS/RTP/SAVPF 0\r\n", "line 5: bad m= line");
  ExpectError(head + "m=audio 9/0 RTP/AVP 0\r\n", "line 5: bad m= line");
  ExpectError(head + "m=audio 9 UDP//SAVPF 0\r\n", "line 5: bad m= line");
  ExpectError(head + "m=audio 9 RTP/AVP 0\r\nu=http://x\r\n", "line 6: line type not allowed");
  ExpectError(head + "x=1\r\n", "line 5: line type not allowed");
  ExpectError(head + "a\r\n", "line 5: not a <type>=<value> line");
  ExpectError(head + "A=b\r\n", "line 5: not a <type>=<value> line");
  ExpectError(head + "a=:x\r\n", "line 5: bad attribute name");
  ExpectError(head + "a=na me:x\r\n", "line 5: bad attribute name");
  ExpectError(head + std::string("a=x\0y\r\n", 7), "line 5: control character");
  ExpectError(head + "a=x\ry\r\n", "line 5: control character");
  ExpectError(head + "c=IN IP4\r\n", "line 5: bad c= line");
  ExpectError(head + "c=IN IP4 1.2.3.4\r\nc=IN IP4 1.2.3.4\r\n", "line 6: second c= line");
  ExpectError(head + "t=0\r\n", "line 5: bad t= line");
}

TEST(SdpSession, EnforcesLimits) {
  const std::string head = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n";
  ExpectError(head + std::string(kMaxSdpSize, 'a'), "more than the limit");

  std::string many_media = head;
  for (size_t i = 0; i <= kMaxMediaSections; ++i) many_media += "m=audio 9 RTP/AVP 0\r\n";
  ExpectError(many_media, absl::StrCat("line ", 4 + kMaxMediaSections + 1, ": more than ",
                                       kMaxMediaSections, " m="));

  std::string many_lines = head + "m=audio 9 RTP/AVP 0\r\n";
  for (size_t i = 0; i < kMaxLinesPerSection; ++i) many_lines += "a=x\r\n";
  ExpectError(many_lines, "more than 1024 lines in a section");

  std::string ok = head;
  for (size_t i = 0; i < kMaxMediaSections; ++i) ok += "m=audio 9 RTP/AVP 0\r\na=x\r\n";
  EXPECT_TRUE(SessionDescription::Parse(ok).ok());
}

TEST(SdpSession, AttributeListAccessors) {
  AttributeList attrs;
  attrs.Add("ssrc", "1 cname:a");
  attrs.Add("rtcp-mux");
  attrs.Add("ssrc", "1 msid:s t");
  EXPECT_EQ(attrs.size(), 3u);
  EXPECT_EQ(attrs.Get("ssrc"), "1 cname:a");
  EXPECT_THAT(attrs.GetAll("ssrc"), ElementsAre("1 cname:a", "1 msid:s t"));
  EXPECT_TRUE(attrs.GetAll("fmtp").empty());
  EXPECT_FALSE(attrs.Get("fmtp").has_value());
  EXPECT_TRUE(attrs.Has("rtcp-mux"));
}

// Every prefix and many single-byte corruptions of a real offer parse or fail cleanly.
TEST(SdpSession, TruncatedAndCorruptedInputNeverCrash) {
  const std::string text = test_data::Read("chromium_simulcast_offer.sdp");
  ASSERT_FALSE(text.empty());
  for (size_t n = 0; n < text.size(); n += 7) {
    (void)SessionDescription::Parse(std::string_view(text).substr(0, n));
  }
  for (size_t i = 0; i < text.size(); i += 19) {
    for (char c : {'\0', '\n', ' ', ':', '/', '\xff'}) {
      std::string mutated = text;
      mutated[i] = c;
      auto sd = SessionDescription::Parse(mutated);
      if (sd.ok()) (void)sd->Serialize();
    }
  }
}

}  // namespace
}  // namespace sb::signaling::sdp
