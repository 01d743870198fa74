// A load scenario on one libuv loop: rooms × participants joined at a ramp-up rate, a
// measurement window once everyone is connected, then the results. In churn mode some of each
// room's participants leave and join again (as new participants) during the window while the
// others stay, and the results tell the two groups apart.
#pragma once

#include <uv.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/uv_timer.h"
#include "bench/load/load_stats.h"
#include "bench/load/participant.h"
#include "bench/load/ws_client.h"
#include "transport/dtls_certificate.h"

namespace sb::bench {

// Churn: in each room, `fraction` of the participants (the churners) leave and rejoin during the
// window, one every `interval_s` per room; the others (the stayers) stay from the start to the
// end.
struct ChurnOptions {
  double fraction = 0;
  double interval_s = 0;
  // Of the leaves, the share done by closing the WebSocket (a close frame, no `leave`), and the
  // share done by dropping it (reset, no close frame: the server may hold the participant for
  // a resume grace period); each spread evenly, the rest send `leave`.
  double close_fraction = 0.5;
  double drop_fraction = 0;
  // A churner that left joins again, as a new participant, this long after.
  double rejoin_delay_s = 1;
  // No churner leaves in the window's last seconds, so that the last newcomers' tracks have
  // time to reach everyone before the results are taken.
  double quiet_s = 5;
  // A newcomer that stayed at least this long after sending `join` must have reached every
  // stayer (its tracks count as missing otherwise); one that left sooner is not counted.
  double grace_s = 3;
  // Initial joins: churners first (default: every stayer's first m-lines then carry tracks
  // that will end, the hard case for a server's m-line reuse), or stayers first.
  bool stayers_first = false;
  bool enabled() const { return fraction > 0 && interval_s > 0; }
};

struct Scenario {
  // One signaling URL, or several separated by commas (a cluster's nodes): participant i of
  // each room joins through URL i modulo their number.
  std::string server = "ws://127.0.0.1:8080/ws";
  int rooms = 1;
  int participants = 3;  // per room
  int publishers = -1;   // per room; -1 = all
  MediaProfile media;
  double duration_s = 10;
  double ramp_up_per_s = 20;
  // Longest wait for everyone to be connected before the window starts anyway.
  double setup_timeout_s = 20;
  // Once everyone is connected, the window waits this long more (e.g. for the server's
  // bandwidth estimates to reach what its subscribers receive, which takes a few seconds with
  // transport-cc feedback); 0: it starts at once.
  double settle_s = 0;
  std::string room_prefix;  // default: "load-<pid>"
  // Server processes (e.g. the worker) whose CPU and memory the report shows for the window.
  std::vector<int> watch_pids;
  // 0: the loop blocks in epoll. Otherwise it polls (zero-timeout epoll) and sleeps this many
  // microseconds between polls, so that the server's sends do not pay for waking us
  // (TESTING.md, Measuring); bench/capacity uses it for every server it compares.
  int poll_us = 0;
  // `server` is Janus's WebSocket API (videoroom plugin) instead of ours.
  bool janus = false;
  // Subscribers decrypt one in this many packets of a stream (Subscriber::SetDecryptOneIn),
  // and, for tests of the instrument, break one in this many decryptions (0: none).
  uint32_t decrypt_one_in = 1;
  uint32_t break_decryption_one_in = 0;
  // Subscribers send transport-cc feedback (Subscriber::SetTransportFeedback), with the kernel's
  // arrival times or the loop's read times (Subscriber::SetKernelArrivalTimes).
  bool transport_feedback = true;
  bool kernel_arrival_times = true;
  // wss:// without checking the server's certificate (a self-signed server).
  bool insecure_tls = false;
  ChurnOptions churn;
};

// A (subscriber, publisher, kind) that should have been received and was not, or stopped
// arriving before the end of the window.
struct MissingTrack {
  std::string subscriber, publisher, kind;
  std::string reason;  // "never arrived", "silent for the last 3.2 s", ...
};

// What one group of subscribers received (churn mode: stayers or churners).
struct GroupResults {
  uint64_t participants = 0;  // incarnations: a churner that rejoined counts again
  uint64_t streams = 0, streams_with_loss = 0;
  uint64_t expected_packets = 0;
  int64_t lost_packets = 0;
  ReceiveGroupStats stats;
};

struct ChurnResults {
  uint64_t stayer_count = 0, churner_count = 0;  // over all rooms, at the start
  uint64_t newcomers = 0;                        // churners that joined during the window
  uint64_t leaves_by_message = 0, leaves_by_close = 0, leaves_by_drop = 0;
  // From a newcomer's `join` to each stayer's first packet of each of its tracks, and to the
  // first key frame of its video.
  std::vector<double> first_packet_ms, first_keyframe_ms;
  // Newcomer tracks (stayer × newcomer × kind) that had to reach the stayer: the newcomer
  // stayed at least ChurnOptions::grace_s; those that did, those that did not, the video ones that
  // came without a key frame, and the pairs of newcomers that left sooner (not counted).
  uint64_t tracks_expected = 0, tracks_received = 0, tracks_missing = 0;
  uint64_t keyframes_missing = 0, tracks_not_measured = 0;
  std::vector<MissingTrack> missing;  // the first kMaxListedMissing
  GroupResults stayers, churners;
};

// The video streams publishers sent with one rid ("" without simulcast), over the whole run.
struct SentLayerTotals {
  std::string rid;
  uint32_t target_kbps = 0;  // of one publisher's stream
  uint64_t streams = 0, packets = 0, payload_bytes = 0, keyframes = 0;
  double stream_seconds = 0;  // summed over the streams
};

// What one kind of data channel ("chat" or "file") carried in the window, over all senders and
// receivers: each sender's messages sent in the window (counted once), what every receiver
// should have received of them (a message to a room of N is expected N-1 times), what arrived
// intact by the end of the drain, and what did not.
struct DataLabelResults {
  uint64_t sent_messages = 0, sent_bytes = 0;
  uint64_t expected_messages = 0, expected_bytes = 0;
  uint64_t received_messages = 0, received_bytes = 0;
  uint64_t missing_messages = 0;
  // Over the whole run: messages out of sequence, or not what the sender sent; sends the
  // sender's SCTP buffer refused (retried).
  uint64_t sequence_errors = 0, corrupt = 0, sends_refused = 0;
};

// One participant's data traffic over the whole run, per label.
struct DataParticipantTotals {
  std::string name;
  struct Counts {
    uint64_t sent_messages = 0, sent_bytes = 0, received_messages = 0, received_bytes = 0;
  };
  Counts chat, file;
};

struct DataResults {
  // Channels (receiver x sender x label) present members should have open at the end, those
  // open, those the server closed.
  uint64_t channels_expected = 0, channels_open = 0, channels_closed = 0;
  std::vector<MissingTrack> missing_channels;  // kind = the label; the first kMaxListedMissing
  DataLabelResults chat, file;
  std::vector<DataParticipantTotals> participants;
};

struct Results {
  Scenario scenario;
  double setup_s = 0;  // first join to all connected (or the timeout)
  bool all_ready = false;
  double window_s = 0;                         // the measurement window
  double cpu_s = 0;                            // generator CPU over the window
  double server_cpu_s = 0, server_rss_mb = 0;  // the watched pids, summed
  // The same per watched pid, in --watch-pid's order: a room spread over two workers reports
  // each worker's share (bench/capacity webinar).
  std::vector<double> server_cpu_s_each, server_rss_mb_each;
  // The highest RSS and open-fd counts of the watched pids (summed), sampled every second.
  double server_peak_rss_mb = 0;
  int server_peak_fds = 0, server_peak_threads = 0;
  double machine_busy_s = 0;  // every core, every process, over the window
  uint64_t sent_packets = 0, sent_bytes = 0;
  uint64_t received_packets = 0, received_bytes = 0;
  // Streams every present subscriber should receive from every present publisher; those
  // that had a packet in the window's last second (kAliveWithinUs); those live with packets
  // but silent for that second.
  uint64_t streams_expected = 0, streams_received = 0, streams_silent_at_end = 0;
  uint64_t video_streams_without_keyframe = 0;
  // Loss against what the publishers sent (Runner::CountStreams): packets expected, counted
  // on arrival, lost. Streams with no per-packet send record (simulcast video) count by
  // sequence numbers instead: `sequence_only_streams` of them.
  uint64_t expected_packets = 0, counted_packets = 0, sequence_only_streams = 0;
  int64_t lost_packets = 0;
  // RFC 3550 A.3 over every stream's received sequence range, for comparison: blind to a
  // stream that stops or never arrives.
  uint64_t sequence_expected_packets = 0;
  int64_t sequence_lost_packets = 0;
  double drain_s = 0;  // how long arrivals were still counted after the publishers stopped
  std::vector<MissingTrack> missing_streams;  // the first kMaxListedMissing
  GeneratorStats totals;                      // over the whole run
  std::vector<SentLayerTotals> video_layers;  // lowest layer first
  std::vector<StreamReport> streams;
  bool churn = false;
  ChurnResults churn_results;
  DataResults data;  // with Scenario::media.data.enabled
};

// Missing tracks listed by name in a report (the counts cover them all).
inline constexpr size_t kMaxListedMissing = 20;

class Runner {
 public:
  Runner(uv_loop_t* loop, Scenario scenario);
  ~Runner();
  // Runs the loop until the scenario is over; fills the results.
  absl::Status Run(Results* results);

 private:
  // One participant as the runner drives it; a churner that rejoins is a new Member.
  struct Member {
    std::unique_ptr<LoadParticipant> participant;
    int room = 0, index = 0, incarnation = 0;
    bool publishes = false;
    bool churner = false;
    bool present = true;    // has not left
    bool newcomer = false;  // joined during the window
    int64_t started_us = -1;
  };
  struct Rejoin {
    int64_t due_us;
    int room, index, incarnation;
    bool publishes;
  };

  std::unique_ptr<LoadParticipant> NewParticipant(int room, int index, int incarnation,
                                                  bool publishes, bool churner);
  void StartNext();
  void CheckReady();
  void StartWindow();
  // The window's end: rates and CPU are taken, publishers stop, and packets in flight have
  // kDrainMs to arrive before Finish counts what arrived.
  void EndWindow();
  void Finish();
  void OnChurnTick();
  void ChurnOne(int room);
  void SampleServer();
  bool Ready(const LoadParticipant& p) const;
  size_t ExpectedStreams(const LoadParticipant& p) const;
  // Streams expected and received by present members, by kind of publisher present, and
  // every stream's loss against what its publisher sent.
  void CountStreams(Results& r) const;
  void CountChurn(Results& r) const;
  // Data channels every present member should have from every other, what was sent on them in
  // the window and what arrived.
  void CountData(Results& r) const;
  // Channels (sender x label) each participant of a room should receive.
  size_t ExpectedDataChannels() const;

  // Passed by argument.
  uv_loop_t* loop_;
  Scenario scenario_;
  // Allocated by this.
  std::unique_ptr<transport::DtlsCertificate> certificate_;
  std::vector<WsUrl> urls_;  // Scenario::server, a comma-separated list
  GeneratorStats stats_;
  std::vector<Member> members_;  // every participant, the left ones too, in start order
  size_t initial_ = 0;           // members_[0, initial_) join in the ramp
  std::unique_ptr<UvTimer> ramp_timer_, check_timer_, window_timer_, churn_timer_, sample_timer_,
      drain_timer_;
  size_t next_ = 0;
  // Churn: stayers' and churners' receive samples, rejoins to come, the next event.
  ReceiveGroupStats stayers_group_, churners_group_;
  std::vector<Rejoin> rejoins_;
  int64_t next_churn_us_ = 0, churn_end_us_ = 0;
  uint64_t churn_events_ = 0, leaves_ = 0;
  int64_t first_start_us_ = 0;
  int64_t window_start_us_ = 0, window_end_us_ = 0;
  int64_t ready_us_ = 0;  // everyone was first connected (Scenario::settle_s counts from it)
  double window_cpu_start_ = 0;
  double window_server_cpu_start_ = 0;
  std::vector<double> window_server_cpu_start_each_;  // per watched pid
  double window_machine_busy_start_ = 0;
  GeneratorStats window_start_stats_;
  Results* results_ = nullptr;
  bool done_ = false;
};

}  // namespace sb::bench
