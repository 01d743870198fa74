// switchboard-load: synthetic WebRTC participants that join rooms through the real signaling
// protocol and measure what the server forwards. See bench/load/README.md.
#include <uv.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "base/log.h"
#include "bench/load/media_connection.h"
#include "bench/load/report.h"
#include "bench/load/runner.h"
#include "bench/load/subscriber.h"

namespace {

constexpr char kUsage[] =
    "Usage: switchboard-load [--flag=value ...]\n"
    "  --server=URL[,URL...]    signaling endpoint (default ws://127.0.0.1:8080/ws; wss://\n"
    "                           for TLS); several (a cluster's nodes): participant i of each\n"
    "                           room joins through URL i modulo their number\n"
    "  --insecure               wss:// without checking the server's certificate (e.g.\n"
    "                           switchboard --tls-self-signed)\n"
    "  --janus=URL              Janus's WebSocket API instead (e.g. ws://127.0.0.1:8188/):\n"
    "                           rooms of the videoroom plugin, one subscriber handle per feed\n"
    "  --bind=IP                address of the media sockets (default 127.0.0.1)\n"
    "  --rooms=N                rooms (default 1)\n"
    "  --participants=N         participants per room (default 3)\n"
    "  --publishers=N           publishing participants per room (default: all)\n"
    "  --video-kbps=N           video bitrate per publisher (default 1000)\n"
    "  --fps=N                  video frames per second (default 30)\n"
    "  --keyframe-interval=S    seconds between key frames (default 5)\n"
    "  --audio / --no-audio     publish Opus-like audio (default on)\n"
    "  --video / --no-video     publish VP8-like video (default on)\n"
    "  --simulcast              video as 3 simulcast layers by rid (q;h;f, Chromium's\n"
    "                           720p proportions of --video-kbps)\n"
    "  --audio-ptime=MS         Opus packet time: 10, 20 (default), 40 or 60\n"
    "  --duration=S             measurement window once everyone is connected (default 10)\n"
    "  --ramp-up=N              participants started per second (default 20)\n"
    "  --setup-timeout=S        longest wait for everyone to connect (default 20)\n"
    "  --settle=S               once everyone is connected, wait S more before the window\n"
    "                           (default 0), e.g. for the server's bandwidth estimates\n"
    "  --room-prefix=NAME       room names are NAME-0, NAME-1, ... (default load-<pid>)\n"
    "  --report=FILE.json       write the JSON report there\n"
    "  --watch-pid=PID[,PID]    server processes whose CPU and RSS the report shows\n"
    "  --poll-us=N              poll the loop, sleeping N us between polls (default 0:\n"
    "                           block in epoll); capacity runs use it (TESTING.md)\n"
    "  --decrypt-one-in=N       subscribers decrypt one in N packets of a stream once it\n"
    "                           showed a key frame (default 1: all); loss and jitter still\n"
    "                           come from every packet's header, latency from the sample\n"
    "  --no-transport-feedback  subscribers send no transport-cc feedback (default: they\n"
    "                           send it every 100 ms, as Chromium, so that the server's\n"
    "                           estimator and allocator run; off, the server does not limit\n"
    "                           them)\n"
    "  --arrival-times=kernel|read  the arrival time each feedback reports: the kernel's\n"
    "                           timestamp of the datagram (default) or the time the loop\n"
    "                           read it (which adds the generator's own lag)\n"
    "  --break-decryption-for-test=N  corrupt one in N packets before the subscribers\n"
    "                           decrypt them (tests of the benchmark itself)\n"
    "  --churn-fraction=F       churn: this share of each room's participants leave and\n"
    "                           rejoin during the window, the others stay (e.g. 0.5)\n"
    "  --churn-rate=N           churn events (a leave, and a rejoin) per minute per room\n"
    "  --churn-interval=S       or: seconds between churn events in a room\n"
    "  --churn-close-fraction=F share of leaves that just close the WebSocket instead of\n"
    "                           sending leave (default 0.5)\n"
    "  --churn-drop-fraction=F  share of leaves that drop the WebSocket (reset, no close\n"
    "                           frame), as a lost network (default 0)\n"
    "  --churn-rejoin-delay=S   a churner rejoins, as a new participant, S after leaving\n"
    "                           (default 1)\n"
    "  --churn-quiet=S          no churn in the window's last S seconds (default 5)\n"
    "  --churn-grace=S          a newcomer that stayed S seconds must have reached every\n"
    "                           stayer; one that left sooner is not counted (default 3)\n"
    "  --churn-stayers-first    initial joins: stayers first (default: churners first)\n"
    "  --data-channels          each participant opens a reliable ordered \"chat\" data\n"
    "                           channel on its publishing connection (non-publishers too,\n"
    "                           without media) and checks every message it receives on the\n"
    "                           channels the server opens for the others'\n"
    "  --chat-rate=N            chat messages (100-300 bytes of text) per second per\n"
    "                           participant (implies --data-channels)\n"
    "  --file-kbps=N            a reliable \"file\" channel too, sending 16-64 KiB binary\n"
    "                           messages at N kbit/s per participant, paced by SCTP\n"
    "                           back-pressure (implies --data-channels)\n"
    "  --file-bytes=N           the file channel sends N bytes per participant in all (with\n"
    "                           no --file-kbps: as fast as back-pressure allows)\n"
    "  --check                  exit 1 unless media flowed to everyone to the end (loss\n"
    "                           against sent < 5 %, a key frame on every video stream,\n"
    "                           no decryption failure, latency sampled; with churn,\n"
    "                           every newcomer's tracks reached every stayer; with data\n"
    "                           channels, every message sent in the window arrived intact)\n"
    "  --log-level=LEVEL        debug, info, warn, error, off (default warn)\n";

bool ParseNumber(const std::string& v, double* out) {
  return absl::SimpleAtod(v, out) && *out >= 0;
}

}  // namespace

int main(int argc, char** argv) {
  using sb::bench::Scenario;
  Scenario scenario;
  std::string report_path;
  bool check = false;
  sb::log::Level level = sb::log::Level::kWarn;

  auto number = [](double* out) {
    return [out](const std::string& v) { return ParseNumber(v, out); };
  };
  double decrypt_one_in = 1, break_decryption = 0;
  double poll_us = 0, rooms = 1, participants = 3, publishers = -1, kbps = 1000, fps = 30,
         keyint = 5, ptime = 20, churn_rate = 0, chat_rate = 0, file_kbps = 0, file_bytes = 0;
  std::map<std::string, std::function<bool(const std::string&)>> with_value = {
      {"server",
       [&](const std::string& v) {
         scenario.server = v;
         return true;
       }},
      {"janus",
       [&](const std::string& v) {
         scenario.server = v;
         scenario.janus = true;
         sb::bench::MediaConnection::SetAwaitPeerCheck(true);
         return true;
       }},
      {"bind",
       [&](const std::string& v) {
         sb::bench::MediaConnection::SetBindAddress(v);
         return !v.empty();
       }},
      {"rooms", number(&rooms)},
      {"participants", number(&participants)},
      {"publishers", number(&publishers)},
      {"video-kbps", number(&kbps)},
      {"fps", number(&fps)},
      {"keyframe-interval", number(&keyint)},
      {"audio-ptime", number(&ptime)},
      {"chat-rate", number(&chat_rate)},
      {"file-kbps", number(&file_kbps)},
      {"file-bytes", number(&file_bytes)},
      {"churn-fraction", number(&scenario.churn.fraction)},
      {"churn-rate", number(&churn_rate)},
      {"churn-interval", number(&scenario.churn.interval_s)},
      {"churn-close-fraction", number(&scenario.churn.close_fraction)},
      {"churn-drop-fraction", number(&scenario.churn.drop_fraction)},
      {"churn-rejoin-delay", number(&scenario.churn.rejoin_delay_s)},
      {"churn-quiet", number(&scenario.churn.quiet_s)},
      {"churn-grace", number(&scenario.churn.grace_s)},
      {"duration", number(&scenario.duration_s)},
      {"poll-us", number(&poll_us)},
      {"decrypt-one-in", number(&decrypt_one_in)},
      {"break-decryption-for-test", number(&break_decryption)},
      {"ramp-up", number(&scenario.ramp_up_per_s)},
      {"setup-timeout", number(&scenario.setup_timeout_s)},
      {"settle", number(&scenario.settle_s)},
      {"room-prefix",
       [&](const std::string& v) {
         scenario.room_prefix = v;
         return !v.empty();
       }},
      {"report",
       [&](const std::string& v) {
         report_path = v;
         return !v.empty();
       }},
      {"arrival-times",
       [&](const std::string& v) {
         scenario.kernel_arrival_times = v == "kernel";
         return v == "kernel" || v == "read";
       }},
      {"log-level", [&](const std::string& v) { return sb::log::ParseLevel(v, &level); }},
      {"watch-pid",
       [&](const std::string& v) {
         for (absl::string_view part : absl::StrSplit(v, ',', absl::SkipEmpty())) {
           int pid = 0;
           if (!absl::SimpleAtoi(part, &pid) || pid <= 0) return false;
           scenario.watch_pids.push_back(pid);
         }
         return true;
       }},
  };
  std::map<std::string, std::function<void()>> switches = {
      {"audio", [&] { scenario.media.audio = true; }},
      {"no-audio", [&] { scenario.media.audio = false; }},
      {"video", [&] { scenario.media.video = true; }},
      {"no-video", [&] { scenario.media.video = false; }},
      {"simulcast", [&] { scenario.media.simulcast = true; }},
      {"check", [&] { check = true; }},
      {"data-channels", [&] { scenario.media.data.enabled = true; }},
      {"transport-feedback", [&] { scenario.transport_feedback = true; }},
      {"no-transport-feedback", [&] { scenario.transport_feedback = false; }},
      {"insecure", [&] { scenario.insecure_tls = true; }},
      {"churn-stayers-first", [&] { scenario.churn.stayers_first = true; }},
  };
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (arg.rfind("--", 0) != 0) {
      std::fprintf(stderr, "unexpected argument '%s'\n%s", arg.c_str(), kUsage);
      return 2;
    }
    std::string name = arg.substr(2), value;
    bool has_value = false;
    if (size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    }
    if (auto s = switches.find(name); s != switches.end() && !has_value) {
      s->second();
      continue;
    }
    auto f = with_value.find(name);
    if (f == with_value.end()) {
      std::fprintf(stderr, "unknown flag --%s\n%s", name.c_str(), kUsage);
      return 2;
    }
    if (!has_value) {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "--%s needs a value\n", name.c_str());
        return 2;
      }
      value = argv[++i];
    }
    if (!f->second(value)) {
      std::fprintf(stderr, "bad value for --%s: '%s'\n", name.c_str(), value.c_str());
      return 2;
    }
  }
  scenario.rooms = static_cast<int>(rooms);
  scenario.participants = static_cast<int>(participants);
  scenario.publishers = publishers < 0 ? -1 : static_cast<int>(publishers);
  scenario.media.video_kbps = static_cast<uint32_t>(kbps);
  scenario.media.fps = static_cast<uint32_t>(fps);
  scenario.media.keyframe_interval_s = keyint;
  scenario.poll_us = static_cast<int>(poll_us);
  sb::bench::Subscriber::SetDecryptOneIn(static_cast<uint32_t>(decrypt_one_in));
  sb::bench::Subscriber::SetTransportFeedback(scenario.transport_feedback);
  sb::bench::Subscriber::SetKernelArrivalTimes(scenario.kernel_arrival_times);
  scenario.decrypt_one_in = std::max<uint32_t>(1, static_cast<uint32_t>(decrypt_one_in));
  scenario.break_decryption_one_in = static_cast<uint32_t>(break_decryption);
  sb::bench::MediaConnection::SetBreakDecryptionOneIn(scenario.break_decryption_one_in);
  if (scenario.rooms < 1 || scenario.participants < 1 || scenario.media.fps < 1) {
    std::fprintf(stderr, "--rooms, --participants and --fps must be at least 1\n");
    return 2;
  }
  if (ptime != 10 && ptime != 20 && ptime != 40 && ptime != 60) {
    std::fprintf(stderr, "--audio-ptime must be 10, 20, 40 or 60\n");
    return 2;
  }
  scenario.media.audio_ptime_ms = static_cast<uint32_t>(ptime);
  scenario.media.data.chat_rate = chat_rate;
  scenario.media.data.file_kbps = static_cast<uint32_t>(file_kbps);
  scenario.media.data.file_bytes = static_cast<uint64_t>(file_bytes);
  if (chat_rate > 0 || scenario.media.data.file()) scenario.media.data.enabled = true;
  if (churn_rate > 0 && scenario.churn.interval_s > 0) {
    std::fprintf(stderr, "give --churn-rate or --churn-interval, not both\n");
    return 2;
  }
  if (churn_rate > 0) scenario.churn.interval_s = 60.0 / churn_rate;
  if (scenario.churn.fraction > 1 ||
      scenario.churn.close_fraction + scenario.churn.drop_fraction > 1) {
    std::fprintf(stderr,
                 "--churn-fraction, and --churn-close-fraction plus --churn-drop-fraction, are "
                 "at most 1\n");
    return 2;
  }
  if ((scenario.churn.fraction > 0) != (scenario.churn.interval_s > 0)) {
    std::fprintf(stderr, "churn needs both --churn-fraction and --churn-rate (or -interval)\n");
    return 2;
  }
  if (scenario.churn.enabled() && (scenario.janus || scenario.participants < 2)) {
    std::fprintf(stderr, "churn needs our signaling (not --janus) and 2 participants or more\n");
    return 2;
  }
  if (scenario.media.data.enabled && (scenario.janus || scenario.churn.enabled())) {
    std::fprintf(stderr, "data channels need our signaling (not --janus) and no churn\n");
    return 2;
  }
  sb::log::Init("switchboard-load", level);

  uv_loop_t loop;
  uv_loop_init(&loop);
  sb::bench::Results results;
  {
    sb::bench::Runner runner(&loop, scenario);
    if (auto s = runner.Run(&results); !s.ok()) {
      std::fprintf(stderr, "switchboard-load: %s\n", std::string(s.message()).c_str());
      return 2;
    }
  }
  uv_run(&loop, UV_RUN_DEFAULT);  // whatever the runner's teardown left to close
  uv_loop_close(&loop);

  nlohmann::json report = sb::bench::ReportJson(results);
  std::fputs(sb::bench::ReportTable(report).c_str(), stdout);
  if (!report_path.empty()) {
    std::ofstream out(report_path);
    out << report.dump(2) << "\n";
    if (!out) {
      std::fprintf(stderr, "cannot write %s\n", report_path.c_str());
      return 2;
    }
  }
  if (check) {
    std::string why;
    if (!sb::bench::MediaFlowed(report, 5.0, &why)) {
      std::fprintf(stderr, "check failed: %s\n", why.c_str());
      return 1;
    }
    std::fputs("check passed: media flowed to every subscriber\n", stdout);
  }
  return 0;
}
