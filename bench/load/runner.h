// A load scenario on one libuv loop: rooms × participants joined at a ramp-up rate, a
// measurement window once everyone is connected, then the results.
#pragma once

#include <uv.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "bench/load/load_stats.h"
#include "bench/load/participant.h"
#include "bench/load/ws_client.h"
#include "transport/dtls_certificate.h"
#include "transport/uv_timer.h"

namespace sb::bench {

struct Scenario {
  std::string server = "ws://127.0.0.1:8080/ws";
  int rooms = 1;
  int participants = 3;  // per room
  int publishers = -1;   // per room; -1 = all
  MediaProfile media;
  double duration_s = 10;
  double ramp_up_per_s = 20;
  // Longest wait for everyone to be connected before the window starts anyway.
  double setup_timeout_s = 20;
  std::string room_prefix;  // default: "load-<pid>"
  // Server processes (e.g. the worker) whose CPU and memory the report shows for the window.
  std::vector<int> watch_pids;
  // 0: the loop blocks in epoll. Otherwise it polls (zero-timeout epoll) and sleeps this many
  // microseconds between polls, so that the server's sends do not pay for waking us
  // (TESTING.md, Measuring); bench/capacity uses it for every server it compares.
  int poll_us = 0;
  // `server` is Janus's WebSocket API (videoroom plugin) instead of ours.
  bool janus = false;
};

// The video streams publishers sent with one rid ("" without simulcast), over the whole run.
struct SentLayerTotals {
  std::string rid;
  uint32_t target_kbps = 0;  // of one publisher's stream
  uint64_t streams = 0, packets = 0, payload_bytes = 0, keyframes = 0;
  double stream_seconds = 0;  // summed over the streams
};

struct Results {
  Scenario scenario;
  double setup_s = 0;  // first join to all connected (or the timeout)
  bool all_ready = false;
  double window_s = 0;                         // the measurement window
  double cpu_s = 0;                            // generator CPU over the window
  double server_cpu_s = 0, server_rss_mb = 0;  // the watched pids, summed
  double machine_busy_s = 0;                   // every core, every process, over the window
  uint64_t sent_packets = 0, sent_bytes = 0;
  uint64_t received_packets = 0, received_bytes = 0;
  uint64_t streams_expected = 0, streams_received = 0, video_streams_without_keyframe = 0;
  uint64_t expected_packets = 0;
  int64_t lost_packets = 0;
  GeneratorStats totals;                      // over the whole run
  std::vector<SentLayerTotals> video_layers;  // lowest layer first
  std::vector<StreamReport> streams;
};

class Runner {
 public:
  Runner(uv_loop_t* loop, Scenario scenario);
  ~Runner();
  // Runs the loop until the scenario is over; fills the results.
  absl::Status Run(Results* results);

 private:
  void StartNext();
  void CheckReady();
  void StartWindow();
  void EndWindow();
  bool Ready(const LoadParticipant& p) const;
  size_t ExpectedStreams(const LoadParticipant& p) const;

  // Passed by argument.
  uv_loop_t* loop_;
  Scenario scenario_;
  // Allocated by this.
  std::unique_ptr<transport::DtlsCertificate> certificate_;
  WsUrl url_;
  GeneratorStats stats_;
  std::vector<std::unique_ptr<LoadParticipant>> participants_;
  std::unique_ptr<transport::UvTimer> ramp_timer_, check_timer_, window_timer_;
  size_t next_ = 0;
  int64_t first_start_us_ = 0;
  int64_t window_start_us_ = 0;
  double window_cpu_start_ = 0;
  double window_server_cpu_start_ = 0;
  double window_machine_busy_start_ = 0;
  GeneratorStats window_start_stats_;
  Results* results_ = nullptr;
  bool done_ = false;
};

}  // namespace sb::bench
