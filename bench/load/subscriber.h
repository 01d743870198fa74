// A synthetic subscriber on its own subscribing connection: answers the server's offers and
// measures per stream packets, loss (sequence numbers), jitter, one-way latency (the send time
// in the payload, from every packet or a decrypted sample) and time to the first key frame;
// sends receiver reports, PLI while a video stream has not shown a key frame, and transport-cc
// feedback for every packet that arrives (bench/load/transport_feedback.h). Each offer
// says which stream every mid carries now (bench/load/subscribe_sdp.h): a mid that turns
// inactive or rejected ends its stream, and one reused for another track (a new ssrc or msid)
// ends the old stream and starts a new one.
#pragma once

#include <uv.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "base/uv_timer.h"
#include "bench/load/client_sdp.h"
#include "bench/load/load_stats.h"
#include "bench/load/media_connection.h"
#include "bench/load/subscribe_sdp.h"
#include "bench/load/transport_feedback.h"
#include "nlohmann/json.hpp"
#include "rtp/receive_stats.h"

namespace sb::bench {

class Subscriber : public MediaConnection::Listener {
 public:
  // Decrypt one in `n` packets of a stream (1: all, the default) once the stream has shown
  // its first key frame; set before any subscriber exists. Loss, jitter and bitrate come from
  // every packet's clear header (RFC 3711 3.1); latency and key-frame counts from the
  // decrypted sample, so a CPU-bound generator spends less per packet than the server.
  static void SetDecryptOneIn(uint32_t n) { DecryptOneIn() = n < 1 ? 1 : n; }
  // Whether subscribers send transport-cc feedback when the answer negotiated the
  // transport-wide sequence number (default on, as Chromium does); set before any subscriber
  // exists. Off, the server's estimator has nothing to work with.
  static void SetTransportFeedback(bool on) { TransportFeedbackOn() = on; }
  // The feedback's arrival times: the kernel's timestamp of each datagram (default; one more
  // system call per datagram), or the time the generator's loop read it, which also carries
  // the generator's own lag (one loop serves every subscriber) into the server's estimate.
  static void SetKernelArrivalTimes(bool on) { KernelArrivalTimes() = on; }

  // `group`, when not null, receives this subscriber's latency and first-key-frame samples
  // besides `stats` (churn mode keeps stayers' and churners' apart).
  Subscriber(uv_loop_t* loop, const transport::DtlsCertificate* certificate, std::string name,
             GeneratorStats* stats, ReceiveGroupStats* group = nullptr);
  ~Subscriber() override;

  // A subscribe-offer: returns the answer to send. The first offer also starts ICE/DTLS.
  absl::StatusOr<std::string> OnOffer(const std::string& sdp, const nlohmann::json& streams);
  // Call right after the answer went out: the time to the first key frame starts here.
  void OnAnswerSent();
  // Starts counting each stream's packets against what its publisher sends (the runner's
  // measurement window opened at `window_start_us`). A stream live now counts from the first
  // packet its publisher sent at or after that time, and is expected to have received every
  // packet sent since; a stream that starts later counts from its first packet. Until counting
  // has started on a stream, every one of its packets is decrypted to read its send time.
  void StartCounting(int64_t window_start_us);
  void Stop();

  bool connected() const { return connection_ && connection_->connected(); }
  bool failed() const { return failed_; }
  // The local UDP port of the connection (0 before there is one).
  uint16_t local_port() const { return connection_ ? connection_->local_port() : 0; }
  // Streams the server sends now (their m-line is sendonly) that have had packets.
  size_t live_streams() const;
  // Streams of this subscriber for the report, ended ones too; participant ids name the
  // publishers.
  void AppendReports(std::vector<StreamReport>* out) const;

 private:
  struct Stream {
    std::string mid, publisher, kind, track;
    bool video = false;
    uint32_t ssrc = 0, rtx_ssrc = 0;
    uint32_t clock_rate = 90000;
    rtp::ReceiveStats stats;
    int64_t offered_us = -1;   // the offer that brought it arrived
    int64_t answered_us = -1;  // the answer to that offer went out
    int64_t ended_us = -1;     // the offer that ended it arrived
    int64_t first_packet_us = -1;
    int64_t first_keyframe_us = -1;
    int64_t last_pli_us = -1;
    int64_t last_packet_us = -1;
    uint64_t keyframes = 0, rtx_packets = 0;
    uint32_t until_decrypt = 0;  // packets to pass before the next sampled decryption
    // Counting against what the publisher sent (StartCounting): armed, packets sent from
    // `count_threshold_us` on start it, and from then on every packet counts.
    bool count_armed = false, counting = false;
    int64_t count_threshold_us = 0;
    int64_t expect_from_us = -1;  // send time from which the publisher's packets are expected
    uint64_t counted = 0;
  };

  static uint32_t& DecryptOneIn() {
    static uint32_t n = 1;
    return n;
  }
  static bool& KernelArrivalTimes() {
    static bool on = true;
    return on;
  }
  static bool& TransportFeedbackOn() {
    static bool on = true;
    return on;
  }

  // MediaConnection::Listener
  void OnMediaConnected() override;
  void OnMediaFailed(const std::string& reason) override;
  bool OnSrtpPacket(const uint8_t* data, size_t len) override;
  void OnRtp(uint8_t* data, size_t len) override;
  void OnRtcp(uint8_t* data, size_t len) override;
  void OnUnprotectFailure() override { ++stats_->unprotect_failures; }

  void OnTimer();
  // Sends the transport-cc feedback that is pending (every TransportFeedbackSender::kIntervalMs,
  // and at once when enough packets wait).
  void SendTransportFeedback();
  // Sends a PLI for `s` now (a compound of an empty RR and the PLI).
  void SendPli(Stream* s, int64_t now_us);
  // The offer no longer sends `s` on its mid: stop counting its packets.
  void EndStream(Stream* s, int64_t now_us);
  // The send time a media packet's payload carries (bench/load/publisher.h), or -1.
  static int64_t PayloadSendTime(const Stream& s, absl::Span<const uint8_t> payload);

  // Passed by argument.
  uv_loop_t* loop_;
  const transport::DtlsCertificate* certificate_;
  std::string name_;
  GeneratorStats* stats_;
  ReceiveGroupStats* group_;
  // Allocated by this.
  std::unique_ptr<MediaConnection> connection_;
  std::unique_ptr<UvTimer> rtcp_timer_;
  std::unique_ptr<UvTimer> feedback_timer_;
  TransportFeedbackSender feedback_;
  ClientTransport local_;
  uint64_t session_id_ = 0, version_ = 0;
  uint32_t rtcp_ssrc_ = 0;
  std::vector<std::unique_ptr<Stream>> streams_;        // every stream, ended ones too
  absl::flat_hash_map<std::string, Stream*> by_mid_;    // the live stream each mid carries now
  absl::flat_hash_map<uint32_t, Stream*> by_ssrc_;      // media ssrc
  absl::flat_hash_map<uint32_t, Stream*> by_rtx_ssrc_;  // rtx ssrc
  int64_t counting_from_us_ = -1;                       // StartCounting's window start; -1 before
  int64_t stopped_us_ = -1;
  bool started_ = false;
  bool failed_ = false;
};

}  // namespace sb::bench
