#include "bench/load/report.h"

#include <algorithm>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace sb::bench {
namespace {

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

double Round(double v, int decimals = 3) {
  double scale = 1;
  for (int i = 0; i < decimals; ++i) scale *= 10;
  return static_cast<double>(static_cast<int64_t>(v * scale + (v >= 0 ? 0.5 : -0.5))) / scale;
}

}  // namespace

nlohmann::json ReportJson(const Results& r) {
  using nlohmann::json;
  const Scenario& s = r.scenario;
  const double w = r.window_s > 0 ? r.window_s : 1;
  const GeneratorStats& t = r.totals;
  const double loss =
      r.expected_packets > 0
          ? 100.0 * static_cast<double>(std::max<int64_t>(0, r.lost_packets)) / r.expected_packets
          : 0;
  const auto& ttfk = t.time_to_first_keyframe_ms;
  const uint64_t packets = r.sent_packets + r.received_packets;
  json streams = json::array();
  json sfu = nullptr;
  if (!s.watch_pids.empty()) {
    // What went through the server in the window: in = what publishers sent, out = what
    // subscribers received.
    sfu = {{"pids", s.watch_pids},
           {"in_pps", Round(r.sent_packets / w, 1)},
           {"out_pps", Round(r.received_packets / w, 1)},
           {"cpu_seconds", Round(r.server_cpu_s)},
           {"cpu_percent", Round(100.0 * r.server_cpu_s / w, 1)},
           // Out-packets/s scaled to a whole core at this cost per packet (all watched pids
           // on one core, as bench/capacity pins them).
           {"out_pps_per_core",
            Round(r.server_cpu_s > 0 ? r.received_packets / r.server_cpu_s : 0, 1)},
           {"rss_mb", Round(r.server_rss_mb, 1)},
           {"us_per_packet", Round(packets ? r.server_cpu_s * 1e6 / packets : 0)}};
  }
  // What each video stream (simulcast layer) carried: payload kbit/s per publisher, against
  // the share of --video-kbps it was given.
  json video_layers = json::array();
  for (const auto& l : r.video_layers) {
    video_layers.push_back(
        {{"rid", l.rid},
         {"target_kbps", l.target_kbps},
         {"streams", l.streams},
         {"packets_total", l.packets},
         {"keyframes_total", l.keyframes},
         {"payload_kbps",
          Round(l.stream_seconds > 0 ? l.payload_bytes * 8.0 / l.stream_seconds / 1000.0 : 0, 1)}});
  }
  for (const auto& st : r.streams) {
    streams.push_back({{"subscriber", st.subscriber},
                       {"publisher", st.publisher},
                       {"kind", st.kind},
                       {"packets", st.packets},
                       {"expected", st.expected},
                       {"lost", st.lost},
                       {"keyframes", st.keyframes},
                       {"rtx_packets", st.rtx_packets},
                       {"jitter_ms", Round(st.jitter_ms)},
                       {"time_to_first_keyframe_ms", Round(st.time_to_first_keyframe_ms)}});
  }
  return {{"scenario",
           {{"server", s.server},
            {"rooms", s.rooms},
            {"participants", s.participants},
            {"publishers", s.publishers},
            {"audio", s.media.audio},
            {"video", s.media.video},
            {"video_kbps", s.media.video_kbps},
            {"simulcast", s.media.simulcast},
            {"fps", s.media.fps},
            {"keyframe_interval_s", s.media.keyframe_interval_s},
            {"duration_s", s.duration_s},
            {"ramp_up_per_s", s.ramp_up_per_s}}},
          {"setup",
           {{"seconds", Round(r.setup_s)},
            {"all_ready", r.all_ready},
            {"joins", t.joins},
            {"signaling_errors", t.signaling_errors},
            {"connection_failures", t.connection_failures}}},
          {"window_s", Round(r.window_s)},
          {"sent",
           {{"packets", r.sent_packets},
            {"packets_per_s", Round(r.sent_packets / w, 1)},
            {"mbit_per_s", Round(r.sent_bytes * 8.0 / w / 1e6)},
            {"audio_packets_total", t.audio_packets_sent},
            {"video_packets_total", t.video_packets_sent},
            {"rtx_packets_total", t.rtx_packets_sent},
            {"video_frames_total", t.video_frames_sent},
            {"keyframes_total", t.keyframes_sent},
            {"plis_received", t.plis_received},
            {"firs_received", t.firs_received},
            {"nacks_received", t.nacks_received},
            {"srs_sent", t.srs_sent},
            {"video_layers", video_layers}}},
          {"received",
           {{"packets", r.received_packets},
            {"packets_per_s", Round(r.received_packets / w, 1)},
            {"mbit_per_s", Round(r.received_bytes * 8.0 / w / 1e6)},
            {"packets_decrypted", t.packets_decrypted},
            {"unprotect_failures", t.unprotect_failures},
            {"rrs_sent", t.rrs_sent},
            {"plis_sent", t.plis_sent}}},
          {"clients",
           {{"loss_percent", Round(loss, 4)},
            {"expected_packets", r.expected_packets},
            {"lost_packets", r.lost_packets},
            {"streams_expected", r.streams_expected},
            {"streams_received", r.streams_received},
            {"video_streams_without_keyframe", r.video_streams_without_keyframe},
            {"latency_ms",
             {{"p50", Round(t.latency.PercentileMs(0.50))},
              {"p95", Round(t.latency.PercentileMs(0.95))},
              {"p99", Round(t.latency.PercentileMs(0.99))},
              {"max", Round(t.latency.MaxMs())},
              {"samples", t.latency.count()}}},
            {"time_to_first_keyframe_ms",
             {{"p50", Round(Median(ttfk))},
              {"max", Round(ttfk.empty() ? 0 : *std::max_element(ttfk.begin(), ttfk.end()))},
              {"count", ttfk.size()}}}}},
          {"generator",
           {{"cpu_seconds", Round(r.cpu_s)},
            {"cpu_percent", Round(100.0 * r.cpu_s / w, 1)},
            {"us_per_packet", Round(packets ? r.cpu_s * 1e6 / packets : 0)}}},
          {"sfu", sfu},
          // Other work on the machine during the window: every core's busy time less the
          // generator's and the watched server's. Latency suffers when it is not near 0.
          {"machine_window",
           {{"busy_cpu_percent", Round(100.0 * r.machine_busy_s / w, 1)},
            {"other_cpu_percent",
             Round(100.0 * (r.machine_busy_s - r.cpu_s - r.server_cpu_s) / w, 1)}}},
          {"streams", streams}};
}

std::string ReportTable(const nlohmann::json& j) {
  const auto& s = j["scenario"];
  const auto& c = j["clients"];
  std::string out = absl::StrFormat(
      "switchboard-load: %d room(s) x %d participants (%d publishing), video %d kbit/s @ %d fps%s, "
      "audio %s\n",
      s["rooms"].get<int>(), s["participants"].get<int>(), s["publishers"].get<int>(),
      s["video_kbps"].get<int>(), s["fps"].get<int>(),
      s.value("simulcast", false) ? " (simulcast)" : "", s["audio"].get<bool>() ? "on" : "off");
  absl::StrAppendFormat(&out, "  setup %.2f s (%s), window %.2f s\n",
                        j["setup"]["seconds"].get<double>(),
                        j["setup"]["all_ready"].get<bool>() ? "all connected" : "NOT all connected",
                        j["window_s"].get<double>());
  absl::StrAppendFormat(&out, "  %-10s %12s %10s\n", "direction", "packets/s", "Mbit/s");
  for (const char* dir : {"sent", "received"}) {
    absl::StrAppendFormat(&out, "  %-10s %12.1f %10.3f\n", dir,
                          j[dir]["packets_per_s"].get<double>(),
                          j[dir]["mbit_per_s"].get<double>());
  }
  for (const auto& l : j["sent"].value("video_layers", nlohmann::json::array())) {
    if (l["rid"].get<std::string>().empty()) continue;
    absl::StrAppendFormat(&out, "  sent layer %-3s %5d kbit/s target, %8.1f sent, %d key frames\n",
                          l["rid"].get<std::string>(), l["target_kbps"].get<int>(),
                          l["payload_kbps"].get<double>(), l["keyframes_total"].get<int>());
  }
  absl::StrAppendFormat(&out, "  streams received %d of %d, video without key frame %d\n",
                        c["streams_received"].get<int>(), c["streams_expected"].get<int>(),
                        c["video_streams_without_keyframe"].get<int>());
  absl::StrAppendFormat(&out, "  loss %.3f %%   latency ms p50 %.2f p95 %.2f p99 %.2f max %.2f\n",
                        c["loss_percent"].get<double>(), c["latency_ms"]["p50"].get<double>(),
                        c["latency_ms"]["p95"].get<double>(), c["latency_ms"]["p99"].get<double>(),
                        c["latency_ms"]["max"].get<double>());
  absl::StrAppendFormat(&out, "  time to first key frame ms p50 %.1f max %.1f\n",
                        c["time_to_first_keyframe_ms"]["p50"].get<double>(),
                        c["time_to_first_keyframe_ms"]["max"].get<double>());
  absl::StrAppendFormat(
      &out, "  generator CPU %.1f %% of a core, %.2f us per packet sent+received\n",
      j["generator"]["cpu_percent"].get<double>(), j["generator"]["us_per_packet"].get<double>());
  if (j["sfu"].is_object()) {
    absl::StrAppendFormat(
        &out, "  server CPU %.1f %% of a core, %.2f us per packet in+out, RSS %.1f MiB\n",
        j["sfu"]["cpu_percent"].get<double>(), j["sfu"]["us_per_packet"].get<double>(),
        j["sfu"]["rss_mb"].get<double>());
  }
  absl::StrAppendFormat(&out, "  other work on the machine during the window: %.1f %% of a core\n",
                        j["machine_window"]["other_cpu_percent"].get<double>());
  absl::StrAppendFormat(&out, "  errors: signaling %d, connections %d, unprotect %d\n",
                        j["setup"]["signaling_errors"].get<int>(),
                        j["setup"]["connection_failures"].get<int>(),
                        j["received"]["unprotect_failures"].get<int>());
  return out;
}

bool MediaFlowed(const nlohmann::json& j, double max_loss_percent, std::string* why) {
  const auto& c = j["clients"];
  if (c["streams_expected"].get<uint64_t>() == 0) {
    *why = "no stream to receive in this scenario";
    return false;
  }
  if (c["streams_received"] != c["streams_expected"]) {
    *why = absl::StrCat("received ", c["streams_received"].dump(), " of ",
                        c["streams_expected"].dump(), " streams");
    return false;
  }
  if (c["loss_percent"].get<double>() >= max_loss_percent) {
    *why = absl::StrCat("loss ", c["loss_percent"].dump(), " %");
    return false;
  }
  if (c["video_streams_without_keyframe"].get<uint64_t>() > 0) {
    *why = absl::StrCat(c["video_streams_without_keyframe"].dump(),
                        " video stream(s) without key frame");
    return false;
  }
  return true;
}

}  // namespace sb::bench
