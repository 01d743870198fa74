// SDP: the generic parser (with serialize -> parse -> serialize a fixed point), the WebRTC
// reading of an offer, and the server's answer to an offer that parsed (which must itself be
// an SDP we parse, with the offer's m-lines in order).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "signaling/sdp/sdp_session.h"
#include "signaling/sdp/webrtc_sdp.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

namespace sdp = sb::signaling::sdp;

void CheckGeneric(std::string_view text) {
  auto s = sdp::SessionDescription::Parse(text);
  if (!s.ok()) return;
  const std::string once = s->Serialize();
  auto again = sdp::SessionDescription::Parse(once);
  SB_FUZZ_CHECK(again.ok());
  SB_FUZZ_CHECK(again->media.size() == s->media.size());
  SB_FUZZ_CHECK(again->Serialize() == once);
}

sdp::LocalTransport ServerTransport() {
  sdp::LocalTransport t;
  t.ice_ufrag = "fuzzufrag";
  t.ice_pwd = "fuzzpassword0123456789ab";
  t.fingerprints.push_back(
      {"sha-256",
       "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:"
       "67:89"});
  sdp::Candidate c;
  c.foundation = "1";
  c.priority = 2130706431;
  c.ip = "127.0.0.1";
  c.port = 40000;
  t.candidates.push_back(c);
  return t;
}

void CheckWebRtc(std::string_view text) {
  auto offer = sdp::ParseRemoteDescription(text);
  if (!offer.ok()) return;
  SB_FUZZ_CHECK(!offer->ice_ufrag.empty() && !offer->ice_pwd.empty());
  // Accept every m-line the offer does not reject, with what the offer proposed.
  std::vector<sdp::LocalMedia> media;
  for (const sdp::RemoteMedia& m : offer->media) {
    SB_FUZZ_CHECK(!m.mid.empty());
    if (m.rejected) continue;
    SB_FUZZ_CHECK(!offer->fingerprints.empty());  // DTLS needs one (RFC 8122 5)
    if (m.rtp.codecs.empty()) continue;           // BuildAnswer rejects it: nothing to accept
    sdp::LocalMedia l;
    l.mid = m.mid;
    l.kind = m.kind;
    l.rtp = m.rtp;
    media.push_back(std::move(l));
  }
  static const sdp::LocalTransport transport = ServerTransport();
  const std::string answer = sdp::BuildAnswer(*offer, transport, media, 1234);
  auto generic = sdp::SessionDescription::Parse(answer);
  SB_FUZZ_CHECK(generic.ok());
  SB_FUZZ_CHECK(generic->media.size() == offer->media.size());
  // With every m-line rejected the answer carries no transport (no ICE credentials or
  // fingerprint), which ParseRemoteDescription rightly refuses.
  if (media.empty()) return;
  auto parsed = sdp::ParseRemoteDescription(answer);
  if (!parsed.ok()) {
    std::fprintf(stderr, "answer rejected: %s\n%s\n",
                 std::string(parsed.status().message()).c_str(), answer.c_str());
  }
  SB_FUZZ_CHECK(parsed.ok());
  SB_FUZZ_CHECK(parsed->media.size() == offer->media.size());
  for (size_t i = 0; i < parsed->media.size(); ++i) {
    SB_FUZZ_CHECK(parsed->media[i].mid == offer->media[i].mid);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);  // exact size for ASan
  CheckGeneric(text);
  CheckWebRtc(text);
  return 0;
}
