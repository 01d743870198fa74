// Signaling JSON as the WebSocket session takes it (signaling/server.cc): the client-message
// entry point (size, depth and value limits before nlohmann builds a tree; requestId and type
// bounds), then the Conference's message handling; also the capabilities reader and fmtp
// lines, and a publish's "sources" against a fixed offer (signaling/track_source.h). The
// Conference sits on a WorkerPool that is never started, so there is no media
// worker: a valid join is answered "server-error", and nothing may create a room or
// participant. An input that is a JSON array is fed as a sequence of messages, each through the
// same checks. No reply may echo an unbounded client value: every reply here is small.
#include <uv.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "signaling/capabilities.h"
#include "signaling/client_message.h"
#include "signaling/conference.h"
#include "signaling/config.h"
#include "signaling/sdp/webrtc_sdp.h"
#include "signaling/track_source.h"
#include "signaling/workers/worker_pool.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using sb::signaling::ClientSink;
using sb::signaling::Conference;
using sb::signaling::WorkerPool;

class NoWorkers final : public WorkerPool::Listener {
 public:
  void OnWorkerDied(int) override {}
};

// Not in a room, a client gets errors and pongs, which echo at most a 64-byte type (twice, in
// unknown-type errors) and a 64-byte requestId: with every byte escaped as \u00XX, under 2 KB.
constexpr size_t kMaxReplyBytes = 2048;

class RecordingSink final : public ClientSink {
 public:
  void SendToClient(const nlohmann::json& message) override {
    SB_FUZZ_CHECK(message.is_object());
    auto type = message.find("type");
    SB_FUZZ_CHECK(type != message.end() && type->is_string());
    // What the WebSocket session does with it (signaling/server.cc).
    const std::string text = message.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    SB_FUZZ_CHECK(text.size() <= kMaxReplyBytes);
    messages.push_back(message);
  }
  void OnRemovedFromRoom() override { ++removed; }
  void CloseReplaced() override { ++removed; }

  std::vector<nlohmann::json> messages;
  int removed = 0;
};

// One loop and one pool for the process: the pool's slots exist but no worker is spawned.
struct Environment {
  Environment() {
    uv_loop_init(&loop);
    WorkerPool::Options options;
    options.binary_path = "/nonexistent/switchboard-worker";
    options.num_workers = 1;
    pool = std::make_unique<WorkerPool>(&loop, options, &listener);
  }
  uv_loop_t loop;
  NoWorkers listener;
  std::unique_ptr<WorkerPool> pool;
};

// Depth and number of values of a tree, without recursion (an unbounded tree must not crash
// the check itself).
void Measure(const nlohmann::json& root, size_t* depth, size_t* values) {
  std::vector<std::pair<const nlohmann::json*, size_t>> stack = {{&root, 1}};
  *depth = 0;
  *values = 0;
  while (!stack.empty()) {
    const auto [node, level] = stack.back();
    stack.pop_back();
    ++*values;
    if (!node->is_structured()) continue;
    *depth = std::max(*depth, level);
    for (const auto& child : *node) stack.push_back({&child, level + 1});
  }
}

// What the server does with a rejection: count it and send the error with only the context.
void SendRejection(Conference& conference, RecordingSink& sink,
                   const sb::signaling::RejectedMessage& rejected) {
  SB_FUZZ_CHECK(rejected.code == "bad-json" || rejected.code == "bad-message");
  SB_FUZZ_CHECK(!rejected.message.empty());
  SB_FUZZ_CHECK(rejected.context.is_object() && rejected.context.size() <= 2);
  if (rejected.code == "bad-json") SB_FUZZ_CHECK(rejected.context.empty());
  const size_t before = sink.messages.size();
  conference.SendError(&sink, rejected.code, rejected.message, rejected.context);
  SB_FUZZ_CHECK(sink.messages.size() == before + 1);
}

void HandleOne(Conference& conference, RecordingSink& sink, const nlohmann::json& message) {
  if (auto rejected = sb::signaling::CheckClientMessage(message)) {
    return SendRejection(conference, sink, *rejected);
  }
  const size_t before = sink.messages.size();
  conference.HandleMessage(&sink, "", message);
  // Not in a room, so at most one reply per message.
  SB_FUZZ_CHECK(sink.messages.size() <= before + 1);
  SB_FUZZ_CHECK(conference.room_count() == 0 && conference.participant_count() == 0);
  SB_FUZZ_CHECK(sink.removed == 0);
}

// An offer with audio on mid 0, video on mid 1 and a data channel on mid 2, for "sources".
const sb::signaling::sdp::RemoteDescription& SourcesOffer() {
  static const auto offer = [] {
    const std::string transport =
        "c=IN IP4 0.0.0.0\r\na=ice-ufrag:fuzz\r\na=ice-pwd:0123456789012345678901\r\n"
        "a=fingerprint:sha-256 AB:CD\r\na=setup:actpass\r\n";
    auto parsed = sb::signaling::sdp::ParseRemoteDescription(
        "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1 2\r\n"
        "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n" +
        transport +
        "a=mid:0\r\na=sendonly\r\na=rtcp-mux\r\na=rtpmap:111 opus/48000/2\r\n"
        "m=video 9 UDP/TLS/RTP/SAVPF 96\r\n" +
        transport +
        "a=mid:1\r\na=sendonly\r\na=rtcp-mux\r\na=rtpmap:96 VP8/90000\r\n"
        "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n" +
        transport + "a=mid:2\r\na=sctp-port:5000\r\n");
    SB_FUZZ_CHECK(parsed.ok());
    return *std::move(parsed);
  }();
  return offer;
}

// A publish's "sources": accepted only for the offer's audio (microphone) and video (camera,
// screen) mids.
void CheckSources(const nlohmann::json& message) {
  auto sources = sb::signaling::ParsePublishSources(message, SourcesOffer());
  if (!sources.ok()) {
    SB_FUZZ_CHECK(message.contains("sources"));
    return;
  }
  for (const auto& [mid, source] : *sources) {
    SB_FUZZ_CHECK(mid == "0" || mid == "1");
    SB_FUZZ_CHECK((mid == "0") == (source == sb::signaling::TrackSource::kMicrophone));
  }
}

// Input that passed CheckJsonLimits but need not be one object.
void FeedOtherShapes(Conference& conference, RecordingSink& sink, const std::string& text) {
  nlohmann::json json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) return;
  auto caps = sb::signaling::CapabilitiesFromJson(json);
  if (json.is_null()) SB_FUZZ_CHECK(caps.ok());
  if (caps.ok()) {
    for (const auto& codec : caps->codecs) SB_FUZZ_CHECK(!codec.mime_type.empty());
  }
  if (json.is_string()) (void)sb::signaling::ParseFmtpLine(json.get<std::string>());
  if (json.is_array()) {
    for (const auto& message : json) {
      if (message.is_object()) HandleOne(conference, sink, message);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Environment env;
  const std::string text(reinterpret_cast<const char*>(data), size);
  (void)sb::signaling::ParseFmtpLine(text);

  const sb::signaling::Config config;
  Conference conference(&env.loop, config, env.pool.get());
  bool joined = false;
  conference.on_joined = [&](ClientSink*, const std::string&) { joined = true; };
  RecordingSink sink;

  // The session's path: one entry point from text to a message the Conference may handle.
  sb::signaling::ParsedClientMessage parsed = sb::signaling::ParseClientMessage(text);
  if (parsed.rejected) {
    SendRejection(conference, sink, *parsed.rejected);
  } else {
    SB_FUZZ_CHECK(parsed.message.is_object());
    size_t depth = 0;
    size_t values = 0;
    Measure(parsed.message, &depth, &values);
    SB_FUZZ_CHECK(depth <= sb::signaling::kMaxJsonDepth);
    SB_FUZZ_CHECK(values <= sb::signaling::kMaxJsonValues + 1);
    CheckSources(parsed.message);
    HandleOne(conference, sink, parsed.message);
  }

  // Other shapes within the same limits: capabilities on their own, arrays as sequences.
  if (!sb::signaling::CheckJsonLimits(text)) FeedOtherShapes(conference, sink, text);
  SB_FUZZ_CHECK(!joined);
  conference.HandleDisconnect("", /*may_resume=*/true);
  return 0;
}
