// sdp_tool answer < offer.sdp   -> BuildAnswer for a publisher's offer (Opus / VP8+RTX)
// sdp_tool offer [version] [mids] -> BuildOffer with one participant's audio and video
//                                    (mids: comma-separated m-lines to close, e.g. "0" or "0,1")
// Used by tests/data/capture_chromium_sdp.mjs to check the output against real Chromium.
#include <cstdint>
#include <iostream>
#include <iterator>
#include <string>

#include "absl/strings/str_split.h"
#include "signaling/sdp/webrtc_sdp.h"
#include "tests/signaling/sdp/sdp_fixtures.h"

namespace sdp = sb::signaling::sdp;

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "answer") {
    std::string text((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
    auto offer = sdp::ParseRemoteDescription(text);
    if (!offer.ok()) {
      std::cerr << offer.status() << "\n";
      return 1;
    }
    std::cout << sdp::BuildAnswer(*offer, sdp::testing::ServerTransport(),
                                  sdp::testing::AnswerMediaFor(*offer), 4242);
    return 0;
  }
  if (mode == "offer") {
    // sdp_tool offer [session-version] [closed mids, comma-separated]
    const uint64_t version = argc > 2 ? std::stoull(argv[2]) : 2;
    const std::string closed = argc > 3 ? argv[3] : "";
    auto media = sdp::testing::SubscribeMedia();
    for (auto& m : media) {
      for (absl::string_view mid : absl::StrSplit(closed, ',', absl::SkipEmpty())) {
        if (m.mid == mid) m.rejected = true;
      }
    }
    std::cout << sdp::BuildOffer(sdp::testing::ServerTransport(), media, 4243, version);
    return 0;
  }
  std::cerr << "usage: sdp_tool answer | offer [version] [closed-mids]\n";
  return 2;
}
