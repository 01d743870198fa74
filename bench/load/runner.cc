#include "bench/load/runner.h"

#include <unistd.h>

#include <algorithm>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "base/log.h"
#include "bench/load/janus_signaling.h"

namespace sb::bench {
namespace {
// How often readiness is checked during setup.
constexpr uint64_t kCheckIntervalMs = 100;
// How often churn events and rejoins fall due are looked at.
constexpr uint64_t kChurnTickMs = 20;
// How often the watched server processes' RSS and open fds are sampled for their peaks.
constexpr uint64_t kSampleIntervalMs = 1000;
// After the window the publishers stop and packets still in flight (queued in the server or in
// socket buffers) have this long to arrive; later ones count as lost, as a real-time receiver
// would have given up on them.
constexpr uint64_t kDrainMs = 1000;
// A stream is alive at the end when a packet of it arrived in the window's last second.
constexpr int64_t kAliveWithinUs = 1'000'000;
// Packets a publisher sent this shortly before it (or the subscriber) left may still have been
// in flight: not expected.
constexpr int64_t kInFlightUs = 200'000;
// A pair (subscriber, publisher) of which one joined during the window, whose track never
// arrived: its packets are expected from this long after the later join.
constexpr int64_t kNewTrackGraceUs = 3'000'000;
// Data messages sent in the window may still be queued (the server holds up to 4 MiB per
// receiver's channel beyond SCTP's buffers): with data channels, the drain goes on, checked this
// often, until every counted message arrived, for at most this long.
constexpr uint64_t kDataDrainCheckMs = 200;
constexpr int64_t kMaxDataDrainUs = 10'000'000;
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
  // A list of servers (the nodes of a cluster): each room's participants are spread over them
  // in turn, so every room spans the nodes.
  for (absl::string_view text : absl::StrSplit(scenario_.server, ',', absl::SkipEmpty())) {
    auto url = ParseWsUrl(std::string_view(text.data(), text.size()));
    if (!url.ok()) return url.status();
    if (scenario_.janus) url->protocol = "janus-protocol";
    url->verify_tls = !scenario_.insecure_tls;
    urls_.push_back(*std::move(url));
  }
  if (urls_.empty()) return absl::InvalidArgumentError("no server");
  // One certificate for every connection: its cost is per process in browsers too, and the
  // server checks each connection's fingerprint against its own SDP all the same.
  auto cert = transport::DtlsCertificate::Generate();
  if (!cert.ok()) return cert.status();
  certificate_ = *std::move(cert);
  // Churners per room: at least one, and at least one stayer.
  int churners = 0;
  if (scenario_.churn.enabled()) {
    churners = static_cast<int>(scenario_.participants * scenario_.churn.fraction + 0.5);
    churners = std::clamp(churners, 1, std::max(1, scenario_.participants - 1));
  }
  for (int r = 0; r < scenario_.rooms; ++r) {
    for (int i = 0; i < scenario_.participants; ++i) {
      Member m;
      m.room = r;
      m.index = i;
      m.publishes = i < scenario_.publishers;
      m.churner =
          scenario_.churn.stayers_first ? i >= scenario_.participants - churners : i < churners;
      m.participant = NewParticipant(r, i, 0, m.publishes, m.churner);
      members_.push_back(std::move(m));
    }
  }
  initial_ = members_.size();
  if (!scenario_.watch_pids.empty()) {
    SampleServer();
    sample_timer_ = std::make_unique<UvTimer>(loop_, [this] { SampleServer(); });
    sample_timer_->Start(kSampleIntervalMs, kSampleIntervalMs);
  }
  first_start_us_ = NowUs();
  const uint64_t ramp_ms =
      scenario_.ramp_up_per_s > 0
          ? std::max<uint64_t>(1, static_cast<uint64_t>(1000.0 / scenario_.ramp_up_per_s))
          : 1;
  ramp_timer_ = std::make_unique<UvTimer>(loop_, [this] { StartNext(); });
  ramp_timer_->Start(0, ramp_ms);
  check_timer_ = std::make_unique<UvTimer>(loop_, [this] { CheckReady(); });
  check_timer_->Start(kCheckIntervalMs, kCheckIntervalMs);
  if (scenario_.poll_us > 0) {
    while (!done_ && uv_run(loop_, UV_RUN_NOWAIT) != 0) usleep(scenario_.poll_us);
  }
  uv_run(loop_, UV_RUN_DEFAULT);  // blocking, or the teardown once the window is over
  return absl::OkStatus();
}

std::unique_ptr<LoadParticipant> Runner::NewParticipant(int room, int index, int incarnation,
                                                        bool publishes, bool churner) {
  std::string room_name = absl::StrCat(scenario_.room_prefix, "-", room);
  std::string name = absl::StrCat("r", room, "-u", index);
  if (incarnation > 0) absl::StrAppend(&name, ".", incarnation);
  const WsUrl& url = urls_[static_cast<size_t>(index) % urls_.size()];
  std::unique_ptr<LoadParticipant> p;
  if (scenario_.janus) {
    p = std::make_unique<JanusParticipant>(loop_, url, certificate_.get(), std::move(room_name),
                                           std::move(name), publishes, scenario_.participants,
                                           scenario_.media, &stats_);
  } else {
    p = std::make_unique<Participant>(loop_, url, certificate_.get(), std::move(room_name),
                                      std::move(name), publishes, scenario_.media, &stats_);
  }
  if (scenario_.churn.enabled()) p->set_receive_group(churner ? &churners_group_ : &stayers_group_);
  return p;
}

void Runner::StartNext() {
  if (next_ < initial_) {
    members_[next_].started_us = NowUs();
    members_[next_++].participant->Start();
  }
  if (next_ == initial_) ramp_timer_->Stop();
}

void Runner::SampleServer() {
  double rss = 0;
  int fds = 0, threads = 0;
  for (int pid : scenario_.watch_pids) {
    rss += std::max(0.0, ProcessRssMb(pid));
    fds += std::max(0, ProcessFdCount(pid));
    threads += std::max(0, ProcessThreadCount(pid));
  }
  results_->server_peak_rss_mb = std::max(results_->server_peak_rss_mb, rss);
  results_->server_peak_fds = std::max(results_->server_peak_fds, fds);
  results_->server_peak_threads = std::max(results_->server_peak_threads, threads);
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
  if (p.has_data() && (!p.data() || !p.data()->Ready(ExpectedDataChannels()))) return false;
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
  const bool all_started = next_ == initial_;
  const bool all_ready =
      all_started && std::all_of(members_.begin(), members_.end(),
                                 [&](const Member& m) { return Ready(*m.participant); });
  const double elapsed = static_cast<double>(NowUs() - first_start_us_) / 1e6;
  const double ramp_s =
      scenario_.ramp_up_per_s > 0 ? static_cast<double>(initial_) / scenario_.ramp_up_per_s : 0;
  if (all_ready && scenario_.settle_s > 0) {
    if (ready_us_ == 0) ready_us_ = NowUs();
    if (static_cast<double>(NowUs() - ready_us_) < scenario_.settle_s * 1e6) return;
  }
  if (all_ready || (all_started && elapsed > ramp_s + scenario_.setup_timeout_s)) {
    results_->all_ready = all_ready;
    results_->setup_s = elapsed;
    if (!all_ready) {
      size_t ready = std::count_if(members_.begin(), members_.end(),
                                   [&](const Member& m) { return Ready(*m.participant); });
      SB_LOG_WARN("load", "setup timed out: {} of {} participants ready", ready, initial_);
    }
    StartWindow();
  }
}

void Runner::StartWindow() {
  check_timer_->Stop();
  window_start_us_ = NowUs();
  window_cpu_start_ = ProcessCpuSeconds();
  window_machine_busy_start_ = MachineBusySeconds();
  window_server_cpu_start_each_.clear();
  for (int pid : scenario_.watch_pids) {
    window_server_cpu_start_each_.push_back(ProcessCpuSeconds(pid));
    window_server_cpu_start_ += window_server_cpu_start_each_.back();
  }
  window_start_stats_.audio_packets_sent = stats_.audio_packets_sent;
  window_start_stats_.video_packets_sent = stats_.video_packets_sent;
  window_start_stats_.rtx_packets_sent = stats_.rtx_packets_sent;
  window_start_stats_.bytes_sent = stats_.bytes_sent;
  window_start_stats_.packets_received = stats_.packets_received;
  window_start_stats_.bytes_received = stats_.bytes_received;
  // Loss counts against what publishers send from here on (Subscriber::StartCounting).
  for (Member& m : members_) m.participant->StartCounting(window_start_us_);
  SB_LOG_INFO("load", "measurement window started ({} s)", scenario_.duration_s);
  window_timer_ = std::make_unique<UvTimer>(loop_, [this] { EndWindow(); });
  window_timer_->Start(static_cast<uint64_t>(scenario_.duration_s * 1000));
  if (scenario_.churn.enabled()) {
    // Events are spread over the rooms: each room sees one every interval_s.
    next_churn_us_ =
        window_start_us_ + static_cast<int64_t>(scenario_.churn.interval_s * 1e6 / scenario_.rooms);
    churn_end_us_ = window_start_us_ +
                    static_cast<int64_t>((scenario_.duration_s - scenario_.churn.quiet_s) * 1e6);
    churn_timer_ = std::make_unique<UvTimer>(loop_, [this] { OnChurnTick(); });
    churn_timer_->Start(kChurnTickMs, kChurnTickMs);
  }
}

void Runner::OnChurnTick() {
  const int64_t now = NowUs();
  while (next_churn_us_ <= now && next_churn_us_ < churn_end_us_) {
    ChurnOne(static_cast<int>(churn_events_++ % static_cast<uint64_t>(scenario_.rooms)));
    next_churn_us_ += static_cast<int64_t>(scenario_.churn.interval_s * 1e6 / scenario_.rooms);
  }
  // Rejoins that fell due, as new participants in the same place.
  for (size_t i = 0; i < rejoins_.size();) {
    if (rejoins_[i].due_us > now) {
      ++i;
      continue;
    }
    const Rejoin j = rejoins_[i];
    rejoins_.erase(rejoins_.begin() + static_cast<std::ptrdiff_t>(i));
    Member m;
    m.room = j.room;
    m.index = j.index;
    m.incarnation = j.incarnation;
    m.publishes = j.publishes;
    m.churner = true;
    m.newcomer = true;
    m.started_us = now;
    m.participant = NewParticipant(j.room, j.index, j.incarnation, j.publishes, true);
    m.participant->StartCounting(window_start_us_);
    members_.push_back(std::move(m));
    members_.back().participant->Start();
  }
}

void Runner::ChurnOne(int room) {
  // The churner of this room that has been there longest (members_ is in start order).
  auto it = std::find_if(members_.begin(), members_.end(),
                         [&](const Member& m) { return m.room == room && m.churner && m.present; });
  if (it == members_.end()) return;  // every churner of the room is between leave and rejoin
  // Drops and closes spread evenly among leaves: the n-th leave drops when that brings the
  // drops to round(n * drop_fraction), else closes when that brings the closes to
  // round(n * close_fraction), else sends `leave`.
  ++leaves_;
  auto due = [&](double fraction) {
    return static_cast<uint64_t>(static_cast<double>(leaves_) * fraction + 0.5);
  };
  it->present = false;
  if (stats_.leaves_by_drop < due(scenario_.churn.drop_fraction)) {
    ++stats_.leaves_by_drop;
    it->participant->Drop();
  } else if (stats_.leaves_by_close < due(scenario_.churn.close_fraction)) {
    ++stats_.leaves_by_close;
    it->participant->Disconnect();
  } else {
    ++stats_.leaves_by_message;
    it->participant->Stop();
  }
  rejoins_.push_back({NowUs() + static_cast<int64_t>(scenario_.churn.rejoin_delay_s * 1e6),
                      it->room, it->index, it->incarnation + 1, it->publishes});
}

void Runner::EndWindow() {
  Results& r = *results_;
  r.scenario = scenario_;
  window_end_us_ = NowUs();
  r.window_s = static_cast<double>(window_end_us_ - window_start_us_) / 1e6;
  r.cpu_s = ProcessCpuSeconds() - window_cpu_start_;
  r.machine_busy_s = MachineBusySeconds() - window_machine_busy_start_;
  double server_cpu = 0;
  for (size_t i = 0; i < scenario_.watch_pids.size(); ++i) {
    const double cpu = ProcessCpuSeconds(scenario_.watch_pids[i]);
    const double rss = ProcessRssMb(scenario_.watch_pids[i]);
    server_cpu += cpu;
    r.server_rss_mb += rss;
    r.server_cpu_s_each.push_back(
        cpu - (i < window_server_cpu_start_each_.size() ? window_server_cpu_start_each_[i] : 0));
    r.server_rss_mb_each.push_back(rss);
  }
  r.server_cpu_s = server_cpu - window_server_cpu_start_;
  r.sent_packets = stats_.audio_packets_sent + stats_.video_packets_sent + stats_.rtx_packets_sent -
                   window_start_stats_.audio_packets_sent - window_start_stats_.video_packets_sent -
                   window_start_stats_.rtx_packets_sent;
  r.sent_bytes = stats_.bytes_sent - window_start_stats_.bytes_sent;
  r.received_packets = stats_.packets_received - window_start_stats_.packets_received;
  r.received_bytes = stats_.bytes_received - window_start_stats_.bytes_received;
  SB_LOG_INFO("load", "measurement window over; publishers stop, {} ms for packets in flight",
              kDrainMs);
  churn_timer_.reset();
  for (Member& m : members_) m.participant->StopMedia();
  drain_timer_ = std::make_unique<UvTimer>(loop_, [this] { Finish(); });
  drain_timer_->Start(kDrainMs);
}

void Runner::Finish() {
  Results& r = *results_;
  r.drain_s = static_cast<double>(NowUs() - window_end_us_) / 1e6;
  if (scenario_.media.data.enabled) {
    r.data = DataResults{};
    CountData(r);
    const uint64_t missing = r.data.chat.missing_messages + r.data.file.missing_messages;
    if (missing > 0 && NowUs() - window_end_us_ < kMaxDataDrainUs) {
      drain_timer_->Start(kDataDrainCheckMs);  // Finish again, later
      return;
    }
  }
  CountStreams(r);
  if (scenario_.churn.enabled()) CountChurn(r);
  r.totals = stats_;
  std::vector<SentLayer> layers;
  for (const Member& m : members_) {
    if (m.participant->publisher()) m.participant->publisher()->AppendSentLayers(&layers);
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
  if (!scenario_.watch_pids.empty()) SampleServer();
  done_ = true;
  // Leave and close everything; the loop ends when the last handle is closed.
  window_timer_.reset();
  drain_timer_.reset();
  check_timer_.reset();
  ramp_timer_.reset();
  churn_timer_.reset();
  sample_timer_.reset();
  for (Member& m : members_) m.participant->Stop();
  members_.clear();
}

void Runner::CountStreams(Results& r) const {
  const int64_t start_us = window_start_us_, end_us = window_end_us_;
  // Server participant ids to members, over every member (left ones too).
  std::map<std::string, const Member*> member_of;
  for (const Member& m : members_) {
    if (m.participant->joined()) member_of[m.participant->id()] = &m;
  }
  // What a publisher sent of one kind (null: not sent, or simulcast video).
  auto sent_times = [](const Member* q, const std::string& kind) -> const std::vector<int64_t>* {
    const Publisher* p = q ? q->participant->publisher() : nullptr;
    return p ? p->SentTimes(kind == "video") : nullptr;
  };
  for (const Member& m : members_) {
    const LoadParticipant& p = *m.participant;
    std::vector<StreamReport> streams;
    p.AppendReports(&streams);
    GroupResults* group = nullptr;
    if (scenario_.churn.enabled()) {
      group = m.churner ? &r.churn_results.churners : &r.churn_results.stayers;
    }
    // Per (publisher, kind): whether some stream of it was counted against what was sent, and
    // the last arrival on a live stream of it (-1: none with packets).
    std::set<std::pair<const Member*, std::string>> counted;
    std::map<std::pair<const Member*, std::string>, int64_t> last_arrival;
    for (auto& s : streams) {
      auto it = member_of.find(s.publisher);
      const Member* q = it != member_of.end() ? it->second : nullptr;
      if (q) s.publisher = q->participant->name();
      if (scenario_.churn.enabled()) s.role = m.churner ? "churner" : "stayer";
      r.sequence_expected_packets += s.sequence_expected;
      r.sequence_lost_packets += s.sequence_lost;
      if (const auto* times = sent_times(q, s.kind); times && s.expect_from_us >= 0) {
        // Every packet the publisher sent from the start of counting to the end of the window
        // (or until the stream, the subscriber or the publisher ended) should have arrived.
        int64_t to = end_us;
        if (s.ended_us >= 0) to = std::min(to, s.ended_us);
        if (s.subscriber_stopped_us >= 0) to = std::min(to, s.subscriber_stopped_us - kInFlightUs);
        if (q->participant->left_us() >= 0) {
          to = std::min(to, q->participant->left_us() - kInFlightUs);
        }
        s.expected = CountSentBetween(*times, s.expect_from_us, to);
        s.lost = std::max<int64_t>(
            0, static_cast<int64_t>(s.expected) - static_cast<int64_t>(s.counted));
        counted.insert({q, s.kind});
      } else if (!times && s.sequence_expected > 0) {
        // No send record to count against (simulcast video): sequence numbers it is.
        s.expected = s.sequence_expected;
        s.lost = s.sequence_lost;
        s.counted = s.expected - static_cast<uint64_t>(std::max<int64_t>(0, s.lost));
        ++r.sequence_only_streams;
        counted.insert({q, s.kind});
      }
      r.expected_packets += s.expected;
      r.counted_packets += std::min(s.counted, s.expected);
      r.lost_packets += s.lost;
      if (group) {
        ++group->streams;
        group->streams_with_loss += s.lost > 0 ? 1 : 0;
        group->expected_packets += s.expected;
        group->lost_packets += s.lost;
      }
      if (q && s.live() && s.packets > 0) {
        auto [at, inserted] = last_arrival.try_emplace({q, s.kind}, s.last_packet_us);
        if (!inserted) at->second = std::max(at->second, s.last_packet_us);
      }
      if (m.present && s.live() && s.kind == "video" && s.keyframes == 0 && q && q->present) {
        ++r.video_streams_without_keyframe;
      }
      r.streams.push_back(std::move(s));
    }
    if (!m.present) continue;
    // Present members must hear every other present publisher of their room, to the end of
    // the window: those that failed to join or publish too, which then show as missing.
    for (const Member& q : members_) {
      if (&q == &m || !q.present || q.room != m.room || !q.publishes) continue;
      for (const char* kind : {"audio", "video"}) {
        if ((kind[0] == 'a' && !scenario_.media.audio) ||
            (kind[0] == 'v' && !scenario_.media.video)) {
          continue;
        }
        ++r.streams_expected;
        auto last = last_arrival.find({&q, kind});
        std::string reason;
        if (last == last_arrival.end()) {
          reason = "never arrived";
        } else if (last->second < end_us - kAliveWithinUs) {
          ++r.streams_silent_at_end;
          reason = absl::StrCat("silent for the last ",
                                static_cast<double>((end_us - last->second) / 100'000) / 10.0,
                                " s of the window");
        } else {
          ++r.streams_received;
        }
        if (!reason.empty() && r.missing_streams.size() < kMaxListedMissing) {
          r.missing_streams.push_back({p.name(), q.participant->name(), kind, reason});
        }
        // A track that never had a stream counted: everything its publisher sent in the
        // window (from a grace period after a later join) is lost.
        if (counted.contains({&q, kind})) continue;
        const auto* times = sent_times(&q, kind);
        if (!times) continue;
        int64_t from = start_us;
        if (m.newcomer) from = std::max(from, m.started_us + kNewTrackGraceUs);
        if (q.newcomer) from = std::max(from, q.started_us + kNewTrackGraceUs);
        const uint64_t expected = CountSentBetween(*times, from, end_us);
        r.expected_packets += expected;
        r.lost_packets += static_cast<int64_t>(expected);
        if (group) {
          group->expected_packets += expected;
          group->lost_packets += static_cast<int64_t>(expected);
        }
      }
    }
  }
}

void Runner::CountChurn(Results& r) const {
  r.churn = true;
  ChurnResults& c = r.churn_results;
  const int64_t end_us = NowUs();
  c.leaves_by_message = stats_.leaves_by_message;
  c.leaves_by_close = stats_.leaves_by_close;
  c.leaves_by_drop = stats_.leaves_by_drop;
  c.stayers.stats = stayers_group_;
  c.churners.stats = churners_group_;
  for (const Member& m : members_) {
    if (m.incarnation == 0) ++(m.churner ? c.churner_count : c.stayer_count);
    ++(m.churner ? c.churners.participants : c.stayers.participants);
    c.newcomers += m.newcomer ? 1 : 0;
  }
  for (const Member& stayer : members_) {
    if (stayer.churner) continue;
    // The stayer's earliest first packet and first key frame per (publisher id, kind).
    std::vector<StreamReport> streams;
    stayer.participant->AppendReports(&streams);
    std::map<std::pair<std::string, std::string>, std::pair<int64_t, int64_t>> first;
    for (const StreamReport& s : streams) {
      if (s.first_packet_us < 0) continue;
      auto [it, inserted] =
          first.try_emplace({s.publisher, s.kind}, s.first_packet_us, s.first_keyframe_us);
      if (inserted) continue;
      it->second.first = std::min(it->second.first, s.first_packet_us);
      if (s.first_keyframe_us >= 0 &&
          (it->second.second < 0 || s.first_keyframe_us < it->second.second)) {
        it->second.second = s.first_keyframe_us;
      }
    }
    for (const Member& n : members_) {
      if (!n.newcomer || !n.publishes || n.room != stayer.room) continue;
      const LoadParticipant& p = *n.participant;
      const int64_t joined_us = p.join_sent_us() >= 0 ? p.join_sent_us() : n.started_us;
      const int64_t gone_us = p.left_us() >= 0 ? p.left_us() : end_us;
      const bool long_enough =
          static_cast<double>(gone_us - joined_us) / 1e6 >= scenario_.churn.grace_s;
      for (const char* kind : {"audio", "video"}) {
        if ((kind[0] == 'a' && !scenario_.media.audio) ||
            (kind[0] == 'v' && !scenario_.media.video)) {
          continue;
        }
        auto it = p.joined() ? first.find({p.id(), kind}) : first.end();
        if (it == first.end()) {
          if (!long_enough) {
            ++c.tracks_not_measured;
            continue;
          }
          ++c.tracks_expected;
          ++c.tracks_missing;
          if (c.missing.size() < kMaxListedMissing) {
            c.missing.push_back({stayer.participant->name(), p.name(), kind, "never arrived"});
          }
          continue;
        }
        ++c.tracks_expected;
        ++c.tracks_received;
        c.first_packet_ms.push_back(static_cast<double>(it->second.first - joined_us) / 1000.0);
        if (kind[0] != 'v') continue;
        if (it->second.second >= 0) {
          c.first_keyframe_ms.push_back(static_cast<double>(it->second.second - joined_us) /
                                        1000.0);
        } else if (long_enough) {
          ++c.keyframes_missing;
        }
      }
    }
  }
}

}  // namespace sb::bench
