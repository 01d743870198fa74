// A synthetic publisher on its own publishing connection: Opus-like audio (50 packets/s) and
// VP8-like video at a configured bitrate, frame rate and key-frame interval, optionally as
// three simulcast layers by rid, shaped as Chromium sends them; an RTCP sender report for
// every sending stream about once a second; answers PLI/FIR with a key frame on the stream
// they name and NACK with RTX from that stream's history (RFC 4588).
#pragma once

#include <uv.h>

#include <array>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "base/uv_timer.h"
#include "bench/load/client_sdp.h"
#include "bench/load/data_channels.h"
#include "bench/load/load_stats.h"
#include "bench/load/media_connection.h"
#include "rtp/ntp.h"
#include "rtp/rtp_packet.h"

namespace sb::bench {

// Where the send time sits in a payload: after Opus's TOC byte, and after the VP8 payload
// descriptor plus the 10 bytes of a key frame's payload header (RFC 6386 9.1) in every video
// packet, so that a receiver finds it at one offset whatever the packet.
inline constexpr size_t kAudioTimeOffset = 1;
inline constexpr size_t kVideoTimeOffset = 10;

// One encoding of Chromium's usual 3-layer sendEncodings [q, h, f] (scaleResolutionDownBy 4,
// 2, 1) for a 1280x720 camera, lowest first as in the offer's a=simulcast line.
struct SimulcastLayerSpec {
  const char* rid;
  uint32_t scale_down;      // scaleResolutionDownBy
  uint16_t width, height;   // of a 1280x720 capture
  uint32_t reference_kbps;  // what libwebrtc gives the layer at full bandwidth
};
// The bitrates are libwebrtc's simulcast table (media/engine/simulcast.cc, kSimulcastFormats,
// unchanged in Chromium since M49): with every layer on, the allocator gives each lower layer
// its target (320x180: 150 kbit/s, 640x360: 500) and the top one up to its max (1280x720:
// 2500). --video-kbps is split in these proportions.
inline constexpr SimulcastLayerSpec kSimulcastLayers[] = {
    {"q", 4, 320, 180, 150}, {"h", 2, 640, 360, 500}, {"f", 1, 1280, 720, 2500}};

// Layer `index`'s share of `total_kbps` in kSimulcastLayers' proportions (at least 1).
uint32_t SimulcastLayerKbps(size_t index, uint32_t total_kbps);

struct MediaProfile {
  bool audio = true;
  bool video = true;
  uint32_t video_kbps = 1000;  // with simulcast, the total of the layers
  uint32_t fps = 30;
  double keyframe_interval_s = 5;
  bool simulcast = false;  // send kSimulcastLayers by rid
  // Opus packet time: 10, 20 (Chromium's default), 40 or 60 ms.
  uint32_t audio_ptime_ms = 20;
  // Data channels on the publishing connection, beside (or without) the media.
  DataOptions data;
};

// A media clock: the RTP timestamp at monotonic time `time_us` of a stream whose clock read
// `base` at time 0. Packets and sender reports of a stream both read it, so the SR's RTP
// timestamp matches its NTP time as RFC 3550 6.4.1 asks.
uint32_t MediaTimestamp(uint32_t base, uint32_t clock_rate, int64_t time_us);

// The wall clock (CLOCK_REALTIME) as an NTP timestamp (RFC 5905 6), microsecond resolution.
rtp::NtpTime WallClockNtp();

struct SenderReportFields {
  uint32_t ssrc = 0;
  rtp::NtpTime ntp;
  uint32_t rtp_timestamp = 0;
  uint32_t packet_count = 0;  // RTP data packets sent (wraps)
  uint32_t octet_count = 0;   // their payload octets (wraps)
  std::string cname;
};

// The compound RTCP packet libwebrtc sends for each of its sending streams: an SR (RFC 3550
// 6.4.1; no report blocks, a publisher receives no RTP) and an SDES with the CNAME (6.5.1;
// every compound carries one, 6.1). Returns bytes written, or 0 when cap is too small.
size_t BuildSenderReport(const SenderReportFields& fields, uint8_t* out, size_t cap);

// What one sent video stream (a simulcast layer, or the single stream) amounted to.
struct SentLayer {
  std::string rid;  // "" without simulcast
  uint32_t target_kbps = 0;
  uint64_t packets = 0, payload_bytes = 0, keyframes = 0;
  double seconds = 0;  // from its first packet to its last
};

class Publisher : public MediaConnection::Listener {
 public:
  Publisher(uv_loop_t* loop, const transport::DtlsCertificate* certificate,
            const MediaProfile& profile, std::string name, GeneratorStats* stats);
  ~Publisher() override;

  absl::Status Init();
  std::string Offer();
  // The server's answer: decides what is sent (simulcast layers by JSEP's rules, see
  // SendRidsFromAnswer) and starts ICE/DTLS; media flows once connected.
  absl::Status OnAnswer(const std::string& sdp);
  void Stop();
  // Stops sending media (the connection stays up): the end of a measurement window, after
  // which packets still in flight may arrive before the results are taken.
  void StopMedia();
  bool connected() const { return connection_ && connection_->connected(); }
  bool failed() const { return failed_; }
  // The local UDP port of the connection (0 before there is one).
  uint16_t local_port() const { return connection_ ? connection_->local_port() : 0; }
  // The video streams being sent, lowest layer first (empty before the answer).
  void AppendSentLayers(std::vector<SentLayer>* out) const;
  // The send time (NowUs, as written in the payload) of every media packet of the audio, or of
  // the video, stream that went out, in order; RTX not included. Null when the stream is not
  // sent, and for simulcast video: a server forwards one layer of several to a subscriber, and
  // which one may change, so no one layer's packets are what it should receive.
  const std::vector<int64_t>* SentTimes(bool video) const;
  // Data messages sent and received from `from_us` on are counted (DataChannels::
  // StartCounting), also when the channels start later.
  void StartDataCounting(int64_t from_us) {
    data_counting_from_us_ = from_us;
    if (data_) data_->StartCounting(from_us);
  }
  // The data channels (null until DTLS connected, or without MediaProfile::data).
  DataChannels* data() { return data_.get(); }
  const DataChannels* data() const { return data_.get(); }

 private:
  // One sent packet kept for retransmission (plain RTP).
  struct HistoryEntry {
    uint16_t seq = 0;
    int64_t sent_us = -1;
    size_t len = 0;
    std::array<uint8_t, 1200> data{};
  };
  // One RTP stream: the audio, the video, or one simulcast layer of the video.
  struct Stream {
    bool enabled = false;
    bool video = false;
    uint8_t payload_type = 0;
    uint32_t ssrc = 0;
    uint8_t rtx_payload_type = 0;  // 0: no RTX negotiated
    uint32_t rtx_ssrc = 0;
    uint16_t seq = 0, rtx_seq = 0;
    uint32_t timestamp_base = 0;
    uint32_t clock_rate = 0;
    std::string mid, rid;
    // Negotiated extension ids, 0 when absent.
    uint8_t ext_mid = 0, ext_rid = 0, ext_repaired_rid = 0, ext_abs_send_time = 0,
            ext_transport_cc = 0, ext_audio_level = 0;
    // Video: the encoding.
    uint32_t kbps = 0;
    uint16_t width = 0, height = 0;
    uint16_t picture_id = 0;
    bool keyframe_requested = true;     // the first frame is a key frame
    std::vector<HistoryEntry> history;  // indexed by seq % size; empty without RTX
    // What went out, for sender reports and the report.
    uint64_t packets_sent = 0, payload_bytes_sent = 0, keyframes_sent = 0;
    int64_t first_sent_us = -1, last_sent_us = -1;
    // Send time of every media packet sent (what subscribers' loss is counted against).
    std::vector<int64_t> sent_us;
  };

  // MediaConnection::Listener
  void OnMediaConnected() override;
  void OnMediaFailed(const std::string& reason) override;
  void OnRtp(uint8_t* data, size_t len) override;
  void OnRtcp(uint8_t* data, size_t len) override;
  void OnApplicationData(const uint8_t* data, size_t len) override {
    if (data_) data_->ProcessSctpPacket(data, len);
  }

  Stream* VideoStreamBySsrc(uint32_t ssrc);
  void OnAudioTimer();
  void OnVideoTimer();
  void OnSenderReportTimer();
  void SendAudio(int64_t capture_us);
  // One captured frame: encoded and sent on every video stream.
  void SendVideoFrames();
  void SendVideoFrame(Stream& s, bool key, int64_t now_us);
  // Builds and sends one packet of `s`; returns the plain RTP size or 0.
  size_t SendPacket(Stream& s, bool marker, uint32_t timestamp, const uint8_t* payload,
                    size_t payload_len, int64_t now_us, bool audio_voice);
  void Retransmit(Stream& s, uint16_t seq);
  // Writes the header extensions of a packet of `s` (repaired-rid instead of rid on RTX) into
  // `values`, backed by `storage`; returns how many.
  size_t Extensions(const Stream& s, bool rtx, int64_t now_us, bool audio_voice,
                    rtp::ExtensionValue* values, uint8_t (&storage)[8]);
  bool Send(size_t len);

  // Passed by argument.
  uv_loop_t* loop_;
  const transport::DtlsCertificate* certificate_;
  MediaProfile profile_;
  std::string name_;
  GeneratorStats* stats_;
  // Allocated by this.
  std::unique_ptr<MediaConnection> connection_;
  std::unique_ptr<UvTimer> audio_timer_, video_timer_, sr_timer_;
  std::unique_ptr<DataChannels> data_;
  size_t remote_max_message_size_ = 0;  // the answer's, for data channels
  int64_t data_counting_from_us_ = -1;
  ClientTransport local_;
  PublishTracks tracks_;
  Stream audio_;
  std::vector<Stream> video_;  // one per sent encoding, lowest layer first
  std::mt19937 rng_;
  uint16_t transport_seq_ = 0;
  int64_t last_keyframe_us_ = 0;  // the last frame on which every video stream had a key frame
  int64_t next_audio_us_ = 0, next_video_us_ = 0;
  bool failed_ = false;
  std::array<uint8_t, 1500 + MediaConnection::kSrtpRoom> packet_{};
  std::array<uint8_t, 1500> payload_{};
};

}  // namespace sb::bench
