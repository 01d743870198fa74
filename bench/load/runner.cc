#include "bench/load/runner.h"

#include <unistd.h>

#include <algorithm>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "base/log.h"
#include "bench/load/janus_signaling.h"

namespace sb::bench {
namespace {
// How often readiness is checked during setup.
constexpr uint64_t kCheckIntervalMs = 100;
}  // namespace

Runner::Runner(uv_loop_t* loop, Scenario scenario) : loop_(loop), scenario_(std::move(scenario)) {
  if (scenario_.publishers < 0 || scenario_.publishers > scenario_.participants) {
    scenario_.publishers = scenario_.participants;
  }
  if (scenario_.room_prefix.empty()) scenario_.room_prefix = absl::StrCat("load-", getpid());
}

Runner::~Runner() = default;

absl::Status Runner::Run(Results* results) {
  results_ = results;
  auto url = ParseWsUrl(scenario_.server);
  if (!url.ok()) return url.status();
  url_ = *url;
  if (scenario_.janus) url_.protocol = "janus-protocol";
  // One certificate for every connection: its cost is per process in browsers too, and the
  // server checks each connection's fingerprint against its own SDP all the same.
  auto cert = transport::DtlsCertificate::Generate();
  if (!cert.ok()) return cert.status();
  certificate_ = *std::move(cert);
  for (int r = 0; r < scenario_.rooms; ++r) {
    for (int i = 0; i < scenario_.participants; ++i) {
      std::string room = absl::StrCat(scenario_.room_prefix, "-", r);
      std::string name = absl::StrCat("r", r, "-u", i);
      if (scenario_.janus) {
        participants_.push_back(std::make_unique<JanusParticipant>(
            loop_, url_, certificate_.get(), std::move(room), std::move(name),
            i < scenario_.publishers, scenario_.participants, scenario_.media, &stats_));
      } else {
        participants_.push_back(std::make_unique<Participant>(
            loop_, url_, certificate_.get(), std::move(room), std::move(name),
            i < scenario_.publishers, scenario_.media, &stats_));
      }
    }
  }
  first_start_us_ = NowUs();
  const uint64_t ramp_ms =
      scenario_.ramp_up_per_s > 0
          ? std::max<uint64_t>(1, static_cast<uint64_t>(1000.0 / scenario_.ramp_up_per_s))
          : 1;
  ramp_timer_ = std::make_unique<transport::UvTimer>(loop_, [this] { StartNext(); });
  ramp_timer_->Start(0, ramp_ms);
  check_timer_ = std::make_unique<transport::UvTimer>(loop_, [this] { CheckReady(); });
  check_timer_->Start(kCheckIntervalMs, kCheckIntervalMs);
  if (scenario_.poll_us > 0) {
    while (!done_ && uv_run(loop_, UV_RUN_NOWAIT) != 0) usleep(scenario_.poll_us);
  }
  uv_run(loop_, UV_RUN_DEFAULT);  // blocking, or the teardown once the window is over
  return absl::OkStatus();
}

void Runner::StartNext() {
  if (next_ < participants_.size()) participants_[next_++]->Start();
  if (next_ == participants_.size()) ramp_timer_->Stop();
}

// Every other publisher's audio and one video stream. With simulcast too: an SFU (ours, or
// Janus's videoroom) forwards one layer of a simulcast video to each subscriber, on one ssrc,
// and a server that declines simulcast receives only one layer to begin with.
size_t Runner::ExpectedStreams(const LoadParticipant& p) const {
  const size_t kinds = (scenario_.media.audio ? 1 : 0) + (scenario_.media.video ? 1 : 0);
  const size_t others = static_cast<size_t>(scenario_.publishers) - (p.publishes() ? 1 : 0);
  return others * kinds;
}

bool Runner::Ready(const LoadParticipant& p) const {
  if (!p.joined()) return false;
  if (p.publishes() && (scenario_.media.audio || scenario_.media.video) &&
      !p.publisher_connected()) {
    return false;
  }
  const size_t expected = ExpectedStreams(p);
  if (expected == 0) return true;
  return p.live_streams() >= expected;
}

void Runner::CheckReady() {
  if (window_start_us_ != 0) return;
  const bool all_started = next_ == participants_.size();
  const bool all_ready = all_started && std::all_of(participants_.begin(), participants_.end(),
                                                    [&](const auto& p) { return Ready(*p); });
  const double elapsed = static_cast<double>(NowUs() - first_start_us_) / 1e6;
  const double ramp_s = scenario_.ramp_up_per_s > 0
                            ? static_cast<double>(participants_.size()) / scenario_.ramp_up_per_s
                            : 0;
  if (all_ready || (all_started && elapsed > ramp_s + scenario_.setup_timeout_s)) {
    results_->all_ready = all_ready;
    results_->setup_s = elapsed;
    if (!all_ready) {
      size_t ready = std::count_if(participants_.begin(), participants_.end(),
                                   [&](const auto& p) { return Ready(*p); });
      SB_LOG_WARN("load", "setup timed out: {} of {} participants ready", ready,
                  participants_.size());
    }
    StartWindow();
  }
}

void Runner::StartWindow() {
  check_timer_->Stop();
  window_start_us_ = NowUs();
  window_cpu_start_ = ProcessCpuSeconds();
  window_machine_busy_start_ = MachineBusySeconds();
  for (int pid : scenario_.watch_pids) window_server_cpu_start_ += ProcessCpuSeconds(pid);
  window_start_stats_.audio_packets_sent = stats_.audio_packets_sent;
  window_start_stats_.video_packets_sent = stats_.video_packets_sent;
  window_start_stats_.rtx_packets_sent = stats_.rtx_packets_sent;
  window_start_stats_.bytes_sent = stats_.bytes_sent;
  window_start_stats_.packets_received = stats_.packets_received;
  window_start_stats_.bytes_received = stats_.bytes_received;
  window_timer_ = std::make_unique<transport::UvTimer>(loop_, [this] { EndWindow(); });
  window_timer_->Start(static_cast<uint64_t>(scenario_.duration_s * 1000));
}

void Runner::EndWindow() {
  Results& r = *results_;
  r.scenario = scenario_;
  r.window_s = static_cast<double>(NowUs() - window_start_us_) / 1e6;
  r.cpu_s = ProcessCpuSeconds() - window_cpu_start_;
  r.machine_busy_s = MachineBusySeconds() - window_machine_busy_start_;
  double server_cpu = 0;
  for (int pid : scenario_.watch_pids) {
    server_cpu += ProcessCpuSeconds(pid);
    r.server_rss_mb += ProcessRssMb(pid);
  }
  r.server_cpu_s = server_cpu - window_server_cpu_start_;
  r.sent_packets = stats_.audio_packets_sent + stats_.video_packets_sent + stats_.rtx_packets_sent -
                   window_start_stats_.audio_packets_sent - window_start_stats_.video_packets_sent -
                   window_start_stats_.rtx_packets_sent;
  r.sent_bytes = stats_.bytes_sent - window_start_stats_.bytes_sent;
  r.received_packets = stats_.packets_received - window_start_stats_.packets_received;
  r.received_bytes = stats_.bytes_received - window_start_stats_.bytes_received;

  // Which publishers every subscriber should hear, by server participant id.
  std::map<std::string, std::string> name_of;
  std::map<std::string, std::set<std::string>> publishers_in_room;
  for (const auto& p : participants_) {
    if (!p->joined()) continue;
    name_of[p->id()] = p->name();
    if (p->publishes()) publishers_in_room[p->room()].insert(p->id());
  }
  for (const auto& p : participants_) {
    std::vector<StreamReport> streams;
    p->AppendReports(&streams);
    r.streams_expected += ExpectedStreams(*p);
    std::set<std::pair<std::string, std::string>> heard;
    for (auto& s : streams) {
      if (auto it = name_of.find(s.publisher); it != name_of.end()) s.publisher = it->second;
      r.expected_packets += s.expected;
      r.lost_packets += s.lost;
      if (s.packets > 0) heard.insert({s.publisher, s.kind});
      if (s.kind == "video" && s.keyframes == 0) ++r.video_streams_without_keyframe;
      r.streams.push_back(std::move(s));
    }
    r.streams_received += heard.size();
  }
  r.totals = stats_;
  std::vector<SentLayer> layers;
  for (const auto& p : participants_) {
    if (p->publisher()) p->publisher()->AppendSentLayers(&layers);
  }
  for (const SentLayer& l : layers) {
    auto it = std::find_if(r.video_layers.begin(), r.video_layers.end(),
                           [&](const SentLayerTotals& t) { return t.rid == l.rid; });
    if (it == r.video_layers.end()) {
      it = r.video_layers.insert(r.video_layers.end(), SentLayerTotals{});
      it->rid = l.rid;
      it->target_kbps = l.target_kbps;
    }
    ++it->streams;
    it->packets += l.packets;
    it->payload_bytes += l.payload_bytes;
    it->keyframes += l.keyframes;
    it->stream_seconds += l.seconds;
  }
  done_ = true;
  // Leave and close everything; the loop ends when the last handle is closed.
  window_timer_.reset();
  check_timer_.reset();
  ramp_timer_.reset();
  for (auto& p : participants_) p->Stop();
  participants_.clear();
}

}  // namespace sb::bench
