// Subscribe-offers as a server that reuses m-lines writes them, section by section, for the
// load generator's tests (tests/bench/load/subscribe_sdp_test.cc, subscriber_test.cc).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace sb::bench::testing {

inline constexpr char kServerFingerprint[] =
    "3B:8A:41:0C:55:EE:17:92:6D:A0:2F:C4:71:9E:B3:08:E5:5C:12:77:AF:40:D9:63:2E:81:CC:1A:5B:F0:"
    "94:36";

// One m-section as a server writes it on a subscribing connection. `direction` "sendonly"
// adds msid and ssrc lines; `port` 0 makes it rejected (attributes kept, as a server may
// leave them).
struct Section {
  std::string mid;
  bool video = false;
  std::string direction = "sendonly";
  uint16_t port = 40000;
  uint32_t ssrc = 0, rtx_ssrc = 0;
  std::string publisher, track;
};

inline std::string SectionText(const Section& s, bool candidates) {
  std::vector<std::string> l;
  const std::string formats = s.video ? "101 102" : "100";
  l.push_back(
      absl::StrCat("m=", s.video ? "video" : "audio", " ", s.port, " UDP/TLS/RTP/SAVPF ", formats));
  l.push_back("c=IN IP4 127.0.0.1");
  l.push_back("a=ice-ufrag:sbUfrag1");
  l.push_back("a=ice-pwd:sbIcePassword0123456789");
  l.push_back(absl::StrCat("a=fingerprint:sha-256 ", kServerFingerprint));
  l.push_back("a=setup:actpass");
  l.push_back(absl::StrCat("a=mid:", s.mid));
  l.push_back("a=extmap:1 urn:ietf:params:rtp-hdrext:sdes:mid");
  l.push_back("a=extmap:4 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time");
  l.push_back(absl::StrCat("a=", s.direction));
  if (s.ssrc != 0) {
    const std::string msid = absl::StrCat(s.publisher, " ", s.track);
    l.push_back(absl::StrCat("a=msid:", msid));
    if (s.rtx_ssrc) l.push_back(absl::StrCat("a=ssrc-group:FID ", s.ssrc, " ", s.rtx_ssrc));
    for (uint32_t ssrc : {s.ssrc, s.rtx_ssrc}) {
      if (ssrc == 0) continue;
      l.push_back(absl::StrCat("a=ssrc:", ssrc, " cname:sb-", s.publisher));
      l.push_back(absl::StrCat("a=ssrc:", ssrc, " msid:", msid));
    }
  }
  l.push_back("a=rtcp-mux");
  if (s.video) {
    l.push_back("a=rtcp-rsize");
    l.push_back("a=rtpmap:101 VP8/90000");
    l.push_back("a=rtcp-fb:101 nack");
    l.push_back("a=rtcp-fb:101 nack pli");
    l.push_back("a=rtpmap:102 rtx/90000");
    l.push_back("a=fmtp:102 apt=101");
  } else {
    l.push_back("a=rtpmap:100 opus/48000/2");
    l.push_back("a=rtcp-fb:100 transport-cc");
    l.push_back("a=fmtp:100 minptime=10;useinbandfec=1");
  }
  if (candidates) {
    l.push_back("a=candidate:1 1 udp 2130706431 127.0.0.1 40000 typ host generation 0");
    l.push_back("a=end-of-candidates");
  }
  return absl::StrJoin(l, "\r\n") + "\r\n";
}

// A whole offer; BUNDLE lists the sections whose port is not 0, as RFC 8843 asks.
inline std::string OfferText(const std::vector<Section>& sections, bool candidates = true) {
  std::vector<std::string> bundle;
  for (const Section& s : sections) {
    if (s.port != 0) bundle.push_back(s.mid);
  }
  std::string out = "v=0\r\no=- 7 3 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=ice-lite\r\n";
  if (!bundle.empty()) absl::StrAppend(&out, "a=group:BUNDLE ", absl::StrJoin(bundle, " "), "\r\n");
  absl::StrAppend(&out, "a=msid-semantic: WMS *\r\n");
  for (const Section& s : sections) out += SectionText(s, candidates);
  return out;
}

inline Section Audio(std::string mid, uint32_t ssrc, std::string publisher) {
  return {std::move(mid), false, "sendonly", 40000, ssrc, 0, publisher, publisher + "-a"};
}

inline Section Video(std::string mid, uint32_t ssrc, uint32_t rtx, std::string publisher) {
  return {std::move(mid), true, "sendonly", 40000, ssrc, rtx, publisher, publisher + "-v"};
}

}  // namespace sb::bench::testing
