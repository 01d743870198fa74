#include "bench/load/report.h"

#include <algorithm>
#include <cstdio>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace sb::bench {
namespace {

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// The value below which `fraction` of the samples are (nearest rank); 0 if empty.
double Percentile(std::vector<double> v, double fraction) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t rank = static_cast<size_t>(fraction * static_cast<double>(v.size()) + 0.999999);
  return v[std::clamp<size_t>(rank, 1, v.size()) - 1];
}

double Round(double v, int decimals = 3) {
  double scale = 1;
  for (int i = 0; i < decimals; ++i) scale *= 10;
  return static_cast<double>(static_cast<int64_t>(v * scale + (v >= 0 ? 0.5 : -0.5))) / scale;
}

nlohmann::json LatencyJson(const Histogram& h) {
  return {{"p50", Round(h.PercentileMs(0.50))},
          {"p95", Round(h.PercentileMs(0.95))},
          {"p99", Round(h.PercentileMs(0.99))},
          {"max", Round(h.MaxMs())},
          {"samples", h.count()}};
}

nlohmann::json SamplesJson(const std::vector<double>& v) {
  return {{"p50", Round(Percentile(v, 0.50))},
          {"p95", Round(Percentile(v, 0.95))},
          {"max", Round(v.empty() ? 0 : *std::max_element(v.begin(), v.end()))},
          {"count", v.size()}};
}

nlohmann::json MissingJson(const std::vector<MissingTrack>& missing) {
  nlohmann::json out = nlohmann::json::array();
  for (const MissingTrack& m : missing) {
    out.push_back({{"subscriber", m.subscriber},
                   {"publisher", m.publisher},
                   {"kind", m.kind},
                   {"reason", m.reason}});
  }
  return out;
}

// A run's latency figures mean something when at least this share of the packets subscribers
// were due to decrypt (received packets / --decrypt-one-in) gave a sample: a run where
// nothing decrypts has no latency at all, not a low one.
constexpr double kMinLatencySampleShare = 0.25;

double LossPercent(uint64_t expected, int64_t lost) {
  return expected > 0 ? 100.0 * static_cast<double>(std::max<int64_t>(0, lost)) / expected : 0;
}

nlohmann::json GroupJson(const GroupResults& g) {
  const auto& ttfk = g.stats.time_to_first_keyframe_ms;
  return {{"participants", g.participants},
          {"streams", g.streams},
          {"streams_with_loss", g.streams_with_loss},
          {"loss_percent", Round(LossPercent(g.expected_packets, g.lost_packets), 4)},
          {"expected_packets", g.expected_packets},
          {"lost_packets", g.lost_packets},
          {"latency_ms", LatencyJson(g.stats.latency)},
          {"time_to_first_keyframe_ms",
           {{"p50", Round(Median(ttfk))},
            {"max", Round(ttfk.empty() ? 0 : *std::max_element(ttfk.begin(), ttfk.end()))},
            {"count", ttfk.size()}}}};
}

nlohmann::json ChurnJson(const Results& r) {
  const ChurnOptions& o = r.scenario.churn;
  const ChurnResults& c = r.churn_results;
  return {{"fraction", o.fraction},
          {"interval_s", o.interval_s},
          {"per_minute_per_room", Round(60.0 / o.interval_s, 2)},
          {"close_fraction", o.close_fraction},
          {"drop_fraction", o.drop_fraction},
          {"rejoin_delay_s", o.rejoin_delay_s},
          {"quiet_s", o.quiet_s},
          {"grace_s", o.grace_s},
          {"stayers_first", o.stayers_first},
          {"stayers", c.stayer_count},
          {"churners", c.churner_count},
          {"joins", r.totals.joins},
          {"newcomers", c.newcomers},
          {"leaves", c.leaves_by_message + c.leaves_by_close + c.leaves_by_drop},
          {"leaves_by_message", c.leaves_by_message},
          {"leaves_by_close", c.leaves_by_close},
          {"leaves_by_drop", c.leaves_by_drop},
          {"newcomer_to_stayer_ms",
           {{"first_packet", SamplesJson(c.first_packet_ms)},
            {"first_keyframe", SamplesJson(c.first_keyframe_ms)}}},
          {"newcomer_tracks",
           {{"expected", c.tracks_expected},
            {"received", c.tracks_received},
            {"missing", c.tracks_missing},
            {"keyframes_missing", c.keyframes_missing},
            {"not_measured", c.tracks_not_measured},
            {"missing_list", MissingJson(c.missing)}}},
          {"stayers_group", GroupJson(c.stayers)},
          {"churners_group", GroupJson(c.churners)}};
}

nlohmann::json DataLabelJson(const DataLabelResults& l, double window_s, const Histogram& latency) {
  return {{"sent_messages", l.sent_messages},
          {"sent_bytes", l.sent_bytes},
          {"sent_messages_per_s", Round(l.sent_messages / window_s, 1)},
          {"expected_messages", l.expected_messages},
          {"received_messages", l.received_messages},
          {"received_bytes", l.received_bytes},
          // What the server forwarded: every receiver's copy.
          {"received_messages_per_s", Round(l.received_messages / window_s, 1)},
          {"received_mbit_per_s", Round(l.received_bytes * 8.0 / window_s / 1e6)},
          {"missing_messages", l.missing_messages},
          {"sequence_errors", l.sequence_errors},
          {"corrupt_messages", l.corrupt},
          {"sends_refused_buffer_full", l.sends_refused},
          {"latency_ms", LatencyJson(latency)}};
}

nlohmann::json DataJson(const Results& r, double window_s) {
  const DataResults& d = r.data;
  const DataOptions& o = r.scenario.media.data;
  nlohmann::json participants = nlohmann::json::array();
  for (const DataParticipantTotals& p : d.participants) {
    auto counts = [](const DataParticipantTotals::Counts& c) {
      return nlohmann::json{{"sent_messages", c.sent_messages},
                            {"sent_bytes", c.sent_bytes},
                            {"received_messages", c.received_messages},
                            {"received_bytes", c.received_bytes}};
    };
    participants.push_back({{"name", p.name}, {"chat", counts(p.chat)}, {"file", counts(p.file)}});
  }
  return {{"participants", participants},
          {"chat_rate", o.chat_rate},
          {"file_kbps", o.file_kbps},
          {"file_bytes", o.file_bytes},
          {"channels_expected", d.channels_expected},
          {"channels_open", d.channels_open},
          {"channels_closed_by_server", d.channels_closed},
          {"missing_channels", MissingJson(d.missing_channels)},
          {"sctp_failures", r.totals.data_sctp_failures},
          {"closed_messages_from_server", r.totals.data_channels_closed_by_server},
          {"unknown_stream_messages", r.totals.data_unknown_messages},
          // Chat messages a stalled generator loop did not send (rate below --chat-rate).
          {"chat_messages_skipped", r.totals.chat_messages_skipped},
          {"chat", DataLabelJson(d.chat, window_s, r.totals.chat_latency)},
          {"file", DataLabelJson(d.file, window_s, r.totals.file_latency)}};
}

}  // namespace

nlohmann::json ReportJson(const Results& r) {
  using nlohmann::json;
  const Scenario& s = r.scenario;
  const double w = r.window_s > 0 ? r.window_s : 1;
  const GeneratorStats& t = r.totals;
  const double loss = LossPercent(r.expected_packets, r.lost_packets);
  const double sequence_loss = LossPercent(r.sequence_expected_packets, r.sequence_lost_packets);
  const uint64_t latency_samples_min =
      static_cast<uint64_t>(kMinLatencySampleShare * static_cast<double>(r.received_packets) /
                            std::max<uint32_t>(1, s.decrypt_one_in));
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
           {"peak_rss_mb", Round(r.server_peak_rss_mb, 1)},
           {"peak_fds", r.server_peak_fds},
           {"peak_threads", r.server_peak_threads},
           {"us_per_packet", Round(packets ? r.server_cpu_s * 1e6 / packets : 0)}};
    // Each watched process apart (a room over two workers: each worker's share).
    json processes = json::array();
    for (size_t i = 0; i < s.watch_pids.size() && i < r.server_cpu_s_each.size(); ++i) {
      processes.push_back({{"pid", s.watch_pids[i]},
                           {"cpu_seconds", Round(r.server_cpu_s_each[i])},
                           {"cpu_percent", Round(100.0 * r.server_cpu_s_each[i] / w, 1)},
                           {"rss_mb", Round(r.server_rss_mb_each[i], 1)}});
    }
    sfu["processes"] = processes;
    if (s.media.data.enabled) {
      // Data messages and bytes the server forwarded (every receiver's copy, chat and file),
      // per second of the watched processes' CPU: with media flowing, so a lower bound of what
      // a core forwards of data alone (bench/capacity data measures the difference).
      const uint64_t messages = r.data.chat.received_messages + r.data.file.received_messages;
      const uint64_t bytes = r.data.chat.received_bytes + r.data.file.received_bytes;
      sfu["data_out_messages_per_s"] = Round(messages / w, 1);
      sfu["data_out_mbit_per_s"] = Round(bytes * 8.0 / w / 1e6);
      sfu["data_out_messages_per_cpu_s"] =
          Round(r.server_cpu_s > 0 ? messages / r.server_cpu_s : 0, 1);
      sfu["data_out_mbit_per_cpu_s"] =
          Round(r.server_cpu_s > 0 ? bytes * 8.0 / r.server_cpu_s / 1e6 : 0);
    }
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
  // The datagrams subscribers received, by kind (SRTP bytes on the wire, over the run): the
  // packet-size mix the server sent, for the machine's limit on that mix (bench/capacity).
  std::map<std::string, std::pair<uint64_t, uint64_t>> by_kind;  // kind -> packets, bytes
  for (const auto& st : r.streams) {
    by_kind[st.kind].first += st.packets;
    by_kind[st.kind].second += st.bytes;
  }
  json size_mix = json::object();
  for (const auto& [kind, pb] : by_kind) {
    size_mix[kind] = {
        {"packets", pb.first},
        {"mean_bytes", Round(pb.first ? static_cast<double>(pb.second) / pb.first : 0, 1)}};
  }
  for (const auto& st : r.streams) {
    streams.push_back({{"subscriber", st.subscriber},
                       {"publisher", st.publisher},
                       {"kind", st.kind},
                       {"mid", st.mid},
                       {"ended", !st.live()},
                       {"packets", st.packets},
                       {"bytes", st.bytes},
                       {"counted", st.counted},
                       {"expected", st.expected},
                       {"lost", st.lost},
                       {"sequence_lost", st.sequence_lost},
                       {"keyframes", st.keyframes},
                       {"rtx_packets", st.rtx_packets},
                       {"jitter_ms", Round(st.jitter_ms)},
                       {"time_to_first_keyframe_ms", Round(st.time_to_first_keyframe_ms)}});
    if (!st.role.empty()) streams.back()["role"] = st.role;
  }
  json report = {{"scenario",
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
                   {"ramp_up_per_s", s.ramp_up_per_s},
                   {"decrypt_one_in", s.decrypt_one_in},
                   {"break_decryption_one_in", s.break_decryption_one_in},
                   {"settle_s", s.settle_s},
                   {"transport_feedback", s.transport_feedback},
                   {"arrival_times", s.kernel_arrival_times ? "kernel" : "read"},
                   {"data_channels", s.media.data.enabled}}},
                 {"setup",
                  {{"seconds", Round(r.setup_s)},
                   {"all_ready", r.all_ready},
                   {"joins", t.joins},
                   {"signaling_errors", t.signaling_errors},
                   {"connection_failures", t.connection_failures}}},
                 {"window_s", Round(r.window_s)},
                 {"drain_s", Round(r.drain_s)},
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
                   // Packets whose ssrc no offer announced: not counted above.
                   {"unmatched_packets_total", t.packets_unmatched},
                   {"size_mix", size_mix},
                   {"rrs_sent", t.rrs_sent},
                   {"plis_sent", t.plis_sent},
                   // Transport-cc feedback to the server, over the run: packets sent, and the
                   // received packets with a transport-wide number that they reported.
                   {"transport_feedback_sent", t.transport_feedbacks_sent},
                   {"transport_cc_packets_total", t.transport_cc_packets}}},
                 {"clients",
                  {// Against what the publishers sent (bench/load/README.md, "Loss").
                   {"loss_percent", Round(loss, 4)},
                   {"expected_packets", r.expected_packets},
                   {"received_packets", r.counted_packets},
                   {"lost_packets", r.lost_packets},
                   {"sequence_only_streams", r.sequence_only_streams},
                   // RFC 3550 A.3 over the received sequence ranges, for comparison: blind to
                   // streams that stop or never arrive.
                   {"sequence_loss_percent", Round(sequence_loss, 4)},
                   {"streams_expected", r.streams_expected},
                   {"streams_received", r.streams_received},
                   {"streams_silent_at_end", r.streams_silent_at_end},
                   {"missing_streams", MissingJson(r.missing_streams)},
                   {"video_streams_without_keyframe", r.video_streams_without_keyframe},
                   {"latency_ms", LatencyJson(t.latency)},
                   {"latency_samples_min", latency_samples_min},
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
  report["churn"] = r.churn ? ChurnJson(r) : json(nullptr);
  report["data"] = s.media.data.enabled ? DataJson(r, w) : json(nullptr);
  return report;
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
  absl::StrAppendFormat(
      &out,
      "  streams received to the end %d of %d (%d silent at the end), video without key frame %d\n",
      c["streams_received"].get<int>(), c["streams_expected"].get<int>(),
      c["streams_silent_at_end"].get<int>(), c["video_streams_without_keyframe"].get<int>());
  absl::StrAppendFormat(
      &out, "  loss %.3f %% against sent (%d of %d packets; by sequence numbers %.3f %%)\n",
      c["loss_percent"].get<double>(), c["lost_packets"].get<int64_t>(),
      c["expected_packets"].get<int64_t>(), c["sequence_loss_percent"].get<double>());
  absl::StrAppendFormat(&out, "  latency ms p50 %.2f p95 %.2f p99 %.2f max %.2f (%d samples)\n",
                        c["latency_ms"]["p50"].get<double>(), c["latency_ms"]["p95"].get<double>(),
                        c["latency_ms"]["p99"].get<double>(), c["latency_ms"]["max"].get<double>(),
                        c["latency_ms"]["samples"].get<int64_t>());
  absl::StrAppendFormat(&out, "  time to first key frame ms p50 %.1f max %.1f\n",
                        c["time_to_first_keyframe_ms"]["p50"].get<double>(),
                        c["time_to_first_keyframe_ms"]["max"].get<double>());
  if (j["churn"].is_object()) {
    const auto& ch = j["churn"];
    absl::StrAppendFormat(
        &out,
        "  churn: %d stayers, %d churners; %d joins, %d newcomers, %d leaves (%d by leave, "
        "%d by closing the WebSocket, %d by dropping it)\n",
        ch["stayers"].get<int>(), ch["churners"].get<int>(), ch["joins"].get<int>(),
        ch["newcomers"].get<int>(), ch["leaves"].get<int>(), ch["leaves_by_message"].get<int>(),
        ch["leaves_by_close"].get<int>(), ch["leaves_by_drop"].get<int>());
    const auto& nt = ch["newcomer_tracks"];
    absl::StrAppendFormat(
        &out,
        "  newcomer tracks at stayers: %d of %d received, %d missing, %d video without key "
        "frame, %d not measured (newcomer left within %.0f s)\n",
        nt["received"].get<int>(), nt["expected"].get<int>(), nt["missing"].get<int>(),
        nt["keyframes_missing"].get<int>(), nt["not_measured"].get<int>(),
        ch["grace_s"].get<double>());
    for (const char* what : {"first_packet", "first_keyframe"}) {
      const auto& v = ch["newcomer_to_stayer_ms"][what];
      absl::StrAppendFormat(
          &out, "  newcomer join -> stayer's %-14s ms p50 %.1f p95 %.1f max %.1f\n", what,
          v["p50"].get<double>(), v["p95"].get<double>(), v["max"].get<double>());
    }
    for (const char* group : {"stayers_group", "churners_group"}) {
      const auto& g = ch[group];
      absl::StrAppendFormat(
          &out,
          "  %-8s loss %.3f %% (%d of %d streams with loss), latency ms p50 %.2f p99 %.2f, "
          "first key frame ms p50 %.1f\n",
          std::string(group).substr(0, std::string(group).find('_')),
          g["loss_percent"].get<double>(), g["streams_with_loss"].get<int>(),
          g["streams"].get<int>(), g["latency_ms"]["p50"].get<double>(),
          g["latency_ms"]["p99"].get<double>(),
          g["time_to_first_keyframe_ms"]["p50"].get<double>());
    }
  }
  if (j.contains("data") && j["data"].is_object()) {
    const auto& d = j["data"];
    absl::StrAppendFormat(&out,
                          "  data channels open %d of %d (%d closed by the server), SCTP failures "
                          "%d\n",
                          d["channels_open"].get<int>(), d["channels_expected"].get<int>(),
                          d["channels_closed_by_server"].get<int>(), d["sctp_failures"].get<int>());
    for (const char* label : {"chat", "file"}) {
      const auto& l = d[label];
      absl::StrAppendFormat(
          &out,
          "  %-4s sent %.1f msg/s, received %.1f msg/s %.3f Mbit/s; %d of %d missing, %d out of "
          "sequence, %d corrupt; latency ms p50 %.2f p99 %.2f max %.2f\n",
          label, l["sent_messages_per_s"].get<double>(), l["received_messages_per_s"].get<double>(),
          l["received_mbit_per_s"].get<double>(), l["missing_messages"].get<int64_t>(),
          l["expected_messages"].get<int64_t>(), l["sequence_errors"].get<int64_t>(),
          l["corrupt_messages"].get<int64_t>(), l["latency_ms"]["p50"].get<double>(),
          l["latency_ms"]["p99"].get<double>(), l["latency_ms"]["max"].get<double>());
    }
  }
  absl::StrAppendFormat(
      &out,
      "  transport-cc feedback %s (%s arrival times): %d packets sent, reporting %d received "
      "packets\n",
      j["scenario"].value("transport_feedback", false) ? "on" : "off",
      j["scenario"].value("arrival_times", std::string("read")),
      j["received"].value("transport_feedback_sent", uint64_t{0}),
      j["received"].value("transport_cc_packets_total", uint64_t{0}));
  absl::StrAppendFormat(
      &out, "  generator CPU %.1f %% of a core, %.2f us per packet sent+received\n",
      j["generator"]["cpu_percent"].get<double>(), j["generator"]["us_per_packet"].get<double>());
  if (j["sfu"].is_object()) {
    absl::StrAppendFormat(
        &out,
        "  server CPU %.1f %% of a core, %.2f us per packet in+out, RSS %.1f MiB (peak %.1f), "
        "peak open fds %d\n",
        j["sfu"]["cpu_percent"].get<double>(), j["sfu"]["us_per_packet"].get<double>(),
        j["sfu"]["rss_mb"].get<double>(), j["sfu"]["peak_rss_mb"].get<double>(),
        j["sfu"]["peak_fds"].get<int>());
  }
  absl::StrAppendFormat(&out, "  other work on the machine during the window: %.1f %% of a core\n",
                        j["machine_window"]["other_cpu_percent"].get<double>());
  absl::StrAppendFormat(
      &out, "  errors: signaling %d, connections %d, unprotect %d, unmatched packets %d\n",
      j["setup"]["signaling_errors"].get<int>(), j["setup"]["connection_failures"].get<int>(),
      j["received"]["unprotect_failures"].get<int>(),
      j["received"]["unmatched_packets_total"].get<int>());
  return out;
}

bool DataFlowed(const nlohmann::json& j, std::string* why) {
  const auto& d = j["data"];
  if (d["channels_open"] != d["channels_expected"] || d["channels_expected"].get<uint64_t>() == 0) {
    std::string list;
    for (const auto& m : d["missing_channels"]) {
      absl::StrAppend(&list, list.empty() ? "" : ", ", m["subscriber"].get<std::string>(), " <- ",
                      m["publisher"].get<std::string>(), " ", m["kind"].get<std::string>(), " (",
                      m["reason"].get<std::string>(), ")");
    }
    *why = absl::StrCat(d["channels_open"].dump(), " of ", d["channels_expected"].dump(),
                        " data channels open at the end; missing (first ", kMaxListedMissing,
                        "): ", list);
    return false;
  }
  if (d["sctp_failures"].get<uint64_t>() > 0) {
    *why = absl::StrCat(d["sctp_failures"].dump(), " SCTP association or send failures");
    return false;
  }
  for (const char* label : {"chat", "file"}) {
    const auto& l = d[label];
    if (l["missing_messages"].get<uint64_t>() > 0 || l["sequence_errors"].get<uint64_t>() > 0 ||
        l["corrupt_messages"].get<uint64_t>() > 0) {
      *why = absl::StrCat(label, " messages: ", l["missing_messages"].dump(), " of ",
                          l["expected_messages"].dump(), " did not arrive, ",
                          l["sequence_errors"].dump(), " out of sequence, ",
                          l["corrupt_messages"].dump(), " not what was sent");
      return false;
    }
  }
  if (d["chat_rate"].get<double>() > 0 && d["chat"]["received_messages"].get<uint64_t>() == 0) {
    *why = "no chat message arrived in the window";
    return false;
  }
  if ((d["file_kbps"].get<uint64_t>() > 0 || d["file_bytes"].get<uint64_t>() > 0) &&
      d["file"]["received_messages"].get<uint64_t>() == 0) {
    *why = "no file message arrived in the window";
    return false;
  }
  return true;
}

bool MediaFlowed(const nlohmann::json& j, double max_loss_percent, std::string* why) {
  const auto& c = j["clients"];
  const bool data = j.contains("data") && j["data"].is_object();
  if (data && !DataFlowed(j, why)) return false;
  // Data channels without media (no publisher, or no track): nothing more to check.
  if (data && c["streams_expected"].get<uint64_t>() == 0) return true;
  if (c["streams_expected"].get<uint64_t>() == 0) {
    *why = "no stream to receive in this scenario";
    return false;
  }
  // Which tracks did not arrive, by name: "r0-u3 <- r0-u5 video, ...".
  auto list = [](const nlohmann::json& missing) {
    std::string out;
    for (const auto& m : missing) {
      absl::StrAppend(&out, out.empty() ? "" : ", ", m["subscriber"].get<std::string>(), " <- ",
                      m["publisher"].get<std::string>(), " ", m["kind"].get<std::string>());
      if (m.contains("reason") && !m["reason"].get<std::string>().empty()) {
        absl::StrAppend(&out, " (", m["reason"].get<std::string>(), ")");
      }
    }
    return out;
  };
  if (c["streams_received"] != c["streams_expected"]) {
    *why = absl::StrCat("received ", c["streams_received"].dump(), " of ",
                        c["streams_expected"].dump(),
                        " streams to the end of the window; missing (first ", kMaxListedMissing,
                        "): ", list(c["missing_streams"]));
    return false;
  }
  if (j["received"]["unprotect_failures"].get<uint64_t>() > 0) {
    *why = absl::StrCat(j["received"]["unprotect_failures"].dump(),
                        " received packets failed SRTP decryption");
    return false;
  }
  if (c["latency_ms"]["samples"].get<uint64_t>() < c["latency_samples_min"].get<uint64_t>() ||
      c["latency_ms"]["samples"].get<uint64_t>() == 0) {
    *why = absl::StrCat("only ", c["latency_ms"]["samples"].dump(), " latency samples (at least ",
                        c["latency_samples_min"].dump(), " expected): packets did not decrypt");
    return false;
  }
  if (j["churn"].is_object() && j["churn"]["newcomer_tracks"]["missing"].get<uint64_t>() > 0) {
    const auto& nt = j["churn"]["newcomer_tracks"];
    *why = absl::StrCat("stayers did not receive ", nt["missing"].dump(), " of ",
                        nt["expected"].dump(), " newcomer tracks; missing (first ",
                        kMaxListedMissing, "): ", list(nt["missing_list"]));
    return false;
  }
  if (j["churn"].is_object() &&
      j["churn"]["newcomer_tracks"]["keyframes_missing"].get<uint64_t>() > 0) {
    *why = absl::StrCat(j["churn"]["newcomer_tracks"]["keyframes_missing"].dump(),
                        " newcomer video track(s) reached a stayer without a key frame");
    return false;
  }
  if (c["loss_percent"].get<double>() >= max_loss_percent) {
    *why = absl::StrCat("loss ", c["loss_percent"].dump(), " % against what publishers sent");
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
