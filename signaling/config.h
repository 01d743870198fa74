// The control process's settings: embedded defaults, then an optional JSON config file, then
// command-line flags, each overriding the one before.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "base/log.h"

namespace sb::signaling {

struct Config {
  std::string listen_ip = "127.0.0.1";  // HTTP + WebSocket
  uint16_t port = 8080;
  std::string rtc_listen_ip = "127.0.0.1";  // media UDP sockets
  std::string announced_ip;                 // empty: announce rtc_listen_ip
  uint16_t rtc_port_min = 40000;
  uint16_t rtc_port_max = 49999;
  int workers = 0;  // 0: one per core
  int room_capacity = 16;
  int resume_grace_seconds = 20;    // a participant whose connection broke may resume
  int answer_timeout_seconds = 10;  // an unanswered subscribe-offer is offered afresh
  std::string web_root;             // empty: the web/ folder found next to the binary or source
  std::string worker_binary;        // empty: switchboard-worker next to this binary
  log::Level log_level = log::Level::kInfo;
};

// Parses flags (and --config=FILE). Returns the config, or an error naming the bad flag.
// `--help` yields a NotFound status whose message is the help text.
absl::StatusOr<Config> ParseConfig(int argc, char** argv);

std::string HelpText();

}  // namespace sb::signaling
