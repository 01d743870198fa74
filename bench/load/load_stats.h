// What the load generator counts, shared by every participant of one run (one loop, no
// threads, so plain counters), and a fixed-bucket histogram for latency percentiles.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace sb::bench {

// Buckets of `bucket_us` up to `max_us`; larger values land in the last bucket.
class Histogram {
 public:
  Histogram(uint64_t bucket_us, uint64_t max_us)
      : bucket_us_(bucket_us), buckets_(max_us / bucket_us + 1, 0) {}
  void Add(int64_t value_us);
  uint64_t count() const { return count_; }
  // The value (upper edge of its bucket) below which `fraction` of the samples are; 0 if empty.
  double PercentileMs(double fraction) const;
  double MaxMs() const { return static_cast<double>(max_us_) / 1000.0; }

 private:
  uint64_t bucket_us_;
  std::vector<uint32_t> buckets_;
  uint64_t count_ = 0;
  int64_t max_us_ = 0;
};

// One received stream as a subscriber saw it, for the report. A stream is one track on one
// m-line for as long as the server's offers keep it there: when the track ends, or the m-line
// is reused for another one, the stream ends and a new one starts.
struct StreamReport {
  std::string subscriber, publisher, kind, mid;
  std::string role;  // churn mode: the subscriber's, "stayer" or "churner"; "" otherwise
  uint64_t packets = 0, bytes = 0;
  // Loss against what the publisher sent (Runner::CountStreams fills expected and lost):
  // `counted` packets arrived from the first one the publisher sent at or after
  // `expect_from_us` (its send time; -1: counting never started on this stream).
  uint64_t counted = 0, expected = 0;
  int64_t lost = 0;
  int64_t expect_from_us = -1;
  // RFC 3550 A.3 over the received sequence range: blind to packets after the last one that
  // arrived (a stream that stops), kept for comparison only.
  uint64_t sequence_expected = 0;
  int64_t sequence_lost = 0;
  // The last packet's arrival, and when the subscriber stopped (left); -1 when not.
  int64_t last_packet_us = -1, subscriber_stopped_us = -1;
  uint64_t keyframes = 0, rtx_packets = 0;
  double jitter_ms = 0;
  double time_to_first_keyframe_ms = -1;  // -1: none (or audio)
  // Monotonic times (NowUs), -1 when it did not happen: the offer that brought the stream
  // arrived, its first packet, its first key frame (video), the offer that ended it.
  int64_t offered_us = -1, first_packet_us = -1, first_keyframe_us = -1, ended_us = -1;
  bool live() const { return ended_us < 0; }
};

// What one group of subscribers measured (in churn mode: the stayers, or the churners).
struct ReceiveGroupStats {
  Histogram latency{50, 2'000'000};
  std::vector<double> time_to_first_keyframe_ms;
};

struct GeneratorStats {
  // Publishers.
  uint64_t audio_packets_sent = 0, video_packets_sent = 0, rtx_packets_sent = 0;
  uint64_t bytes_sent = 0;  // SRTP bytes on the wire
  uint64_t video_frames_sent = 0, keyframes_sent = 0;
  uint64_t plis_received = 0, firs_received = 0, nacks_received = 0;
  uint64_t srs_sent = 0;
  // Subscribers.
  // Packets whose ssrc is one of a live stream's (media or RTX), SRTP bytes on the wire.
  uint64_t packets_received = 0, bytes_received = 0;
  // Packets whose ssrc matches no stream the offers announced: not counted as received.
  uint64_t packets_unmatched = 0, bytes_unmatched = 0;
  uint64_t packets_decrypted = 0;
  uint64_t plis_sent = 0, rrs_sent = 0;
  // Transport-cc feedback packets sent, and received packets that carried the transport-wide
  // sequence number the answer negotiated (each reported in one of them).
  uint64_t transport_feedbacks_sent = 0, transport_cc_packets = 0;
  uint64_t unprotect_failures = 0, latency_outliers = 0;
  // Signaling and connections.
  uint64_t joins = 0, signaling_errors = 0, connection_failures = 0;
  // Churn: participants that left during the window, by `leave`, by closing the WebSocket, or
  // by dropping it (reset, no close frame).
  uint64_t leaves_by_message = 0, leaves_by_close = 0, leaves_by_drop = 0;

  // Data channels (bench/load/data_channels.h): associations that failed or were aborted by
  // the server, sends that failed other than for a full buffer, and channels the server opened
  // to us then closed; the server's data-channel-closed messages; messages on a stream with no
  // channel we know.
  uint64_t data_sctp_failures = 0, data_channels_closed_by_server = 0, data_unknown_messages = 0;
  // Chat messages not sent because the loop stalled past DataChannels' catch-up limit.
  uint64_t chat_messages_skipped = 0;
  // One-way latency of chat and file messages sent in the window (from the sender's send call
  // to the receiver's delivery, SCTP buffering included).
  Histogram chat_latency{100, 10'000'000};
  Histogram file_latency{1000, 30'000'000};

  // One-way latency over every media packet whose payload carried a send time.
  Histogram latency{50, 2'000'000};
  std::vector<double> time_to_first_keyframe_ms;
};

// Microseconds on the monotonic clock (uv_hrtime): the time carried in payloads.
int64_t NowUs();
// How many of `sent_us` (ascending send times) fall in [from_us, to_us]; 0 when to < from.
uint64_t CountSentBetween(const std::vector<int64_t>& sent_us, int64_t from_us, int64_t to_us);
// utime + stime in seconds from /proc/<pid>/stat (0: this process); -1 when unreadable.
double ProcessCpuSeconds(int pid = 0);
// Busy CPU seconds of the whole machine, all cores (/proc/stat: all but idle and iowait);
// -1 when unreadable.
double MachineBusySeconds();
// Resident set size in MiB from /proc/<pid>/status (VmRSS); -1 when unreadable.
double ProcessRssMb(int pid);
// Threads of a process (Threads: in /proc/<pid>/status); -1 when unreadable.
int ProcessThreadCount(int pid);
// Open file descriptors of a process (entries of /proc/<pid>/fd); -1 when unreadable.
int ProcessFdCount(int pid);

}  // namespace sb::bench
