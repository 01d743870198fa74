// Signaling JSON: the capabilities reader, fmtp lines, and the Conference's message handling as
// a WebSocket session drives it. The Conference sits on a WorkerPool that is never started, so
// there is no media worker: a valid join is answered "server-error", and nothing may create a
// room or participant. An input that is a JSON array is fed as a sequence of messages.
#include <uv.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "signaling/capabilities.h"
#include "signaling/conference.h"
#include "signaling/config.h"
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

class RecordingSink final : public ClientSink {
 public:
  void SendToClient(const nlohmann::json& message) override {
    SB_FUZZ_CHECK(message.is_object());
    auto type = message.find("type");
    SB_FUZZ_CHECK(type != message.end() && type->is_string());
    // What the WebSocket session does with it (signaling/server.cc).
    (void)message.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
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

void HandleOne(Conference& conference, RecordingSink& sink, const nlohmann::json& message) {
  const size_t before = sink.messages.size();
  conference.HandleMessage(&sink, "", message);
  // Not in a room, so at most one reply per message.
  SB_FUZZ_CHECK(sink.messages.size() <= before + 1);
  SB_FUZZ_CHECK(conference.room_count() == 0 && conference.participant_count() == 0);
  SB_FUZZ_CHECK(sink.removed == 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Environment env;
  const std::string text(reinterpret_cast<const char*>(data), size);
  (void)sb::signaling::ParseFmtpLine(text);

  nlohmann::json json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) return 0;

  auto caps = sb::signaling::CapabilitiesFromJson(json);
  if (json.is_null()) SB_FUZZ_CHECK(caps.ok());
  if (caps.ok()) {
    for (const auto& codec : caps->codecs) SB_FUZZ_CHECK(!codec.mime_type.empty());
  }
  if (json.is_string()) (void)sb::signaling::ParseFmtpLine(json.get<std::string>());

  const sb::signaling::Config config;
  Conference conference(&env.loop, config, env.pool.get());
  bool joined = false;
  conference.on_joined = [&](ClientSink*, const std::string&) { joined = true; };
  RecordingSink sink;
  if (json.is_object()) {
    HandleOne(conference, sink, json);
  } else if (json.is_array()) {
    for (const auto& message : json) {
      if (message.is_object()) HandleOne(conference, sink, message);
    }
  }
  SB_FUZZ_CHECK(!joined);
  conference.HandleDisconnect("", /*may_resume=*/true);
  return 0;
}
