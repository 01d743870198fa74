// A synthetic publisher on its own publishing connection: Opus-like audio (50 packets/s) and
// VP8-like video at a configured bitrate, frame rate and key-frame interval, shaped as
// Chromium sends them; answers PLI/FIR with a key frame and NACK with RTX (RFC 4588).
#pragma once

#include <uv.h>

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "bench/load/client_sdp.h"
#include "bench/load/load_stats.h"
#include "bench/load/media_connection.h"
#include "transport/uv_timer.h"

namespace sb::bench {

// Where the send time sits in a payload: after Opus's TOC byte, and after the VP8 payload
// descriptor plus the 10 bytes of a key frame's payload header (RFC 6386 9.1) in every video
// packet, so that a receiver finds it at one offset whatever the packet.
inline constexpr size_t kAudioTimeOffset = 1;
inline constexpr size_t kVideoTimeOffset = 10;

struct MediaProfile {
  bool audio = true;
  bool video = true;
  uint32_t video_kbps = 1000;
  uint32_t fps = 30;
  double keyframe_interval_s = 5;
};

class Publisher : public MediaConnection::Listener {
 public:
  Publisher(uv_loop_t* loop, const transport::DtlsCertificate* certificate,
            const MediaProfile& profile, std::string name, GeneratorStats* stats);
  ~Publisher() override;

  absl::Status Init();
  std::string Offer();
  // The server's publish-answer: starts ICE/DTLS; media flows once connected.
  absl::Status OnAnswer(const std::string& sdp);
  void Stop();
  bool connected() const { return connection_ && connection_->connected(); }
  bool failed() const { return failed_; }
  // The local UDP port of the connection (0 before there is one).
  uint16_t local_port() const { return connection_ ? connection_->local_port() : 0; }

 private:
  struct Stream {
    bool enabled = false;
    uint8_t payload_type = 0;
    uint32_t ssrc = 0;
    uint8_t rtx_payload_type = 0;  // 0: no RTX negotiated
    uint32_t rtx_ssrc = 0;
    uint16_t seq = 0, rtx_seq = 0;
    uint32_t timestamp_base = 0;
    std::string mid;
    // Negotiated extension ids, 0 when absent.
    uint8_t ext_mid = 0, ext_abs_send_time = 0, ext_transport_cc = 0, ext_audio_level = 0;
  };
  // One sent packet kept for retransmission (plain RTP).
  struct HistoryEntry {
    uint16_t seq = 0;
    int64_t sent_us = -1;
    size_t len = 0;
    std::array<uint8_t, 1200> data{};
  };

  // MediaConnection::Listener
  void OnMediaConnected() override;
  void OnMediaFailed(const std::string& reason) override;
  void OnRtp(uint8_t* data, size_t len) override;
  void OnRtcp(uint8_t* data, size_t len) override;

  void OnAudioTimer();
  void OnVideoTimer();
  void SendAudio();
  void SendVideoFrame();
  // Builds and sends one packet of `s`; returns the plain RTP size or 0.
  size_t SendPacket(Stream& s, bool marker, uint32_t timestamp, const uint8_t* payload,
                    size_t payload_len, int64_t now_us, bool audio_voice);
  void Retransmit(uint16_t seq);

  // Passed by argument.
  uv_loop_t* loop_;
  const transport::DtlsCertificate* certificate_;
  MediaProfile profile_;
  std::string name_;
  GeneratorStats* stats_;
  // Allocated by this.
  std::unique_ptr<MediaConnection> connection_;
  std::unique_ptr<transport::UvTimer> audio_timer_, video_timer_;
  ClientTransport local_;
  PublishTracks tracks_;
  Stream audio_, video_;
  std::vector<HistoryEntry> history_;  // indexed by seq % size
  std::mt19937 rng_;
  uint16_t transport_seq_ = 0;
  uint16_t picture_id_ = 0;
  uint64_t frame_index_ = 0;
  bool keyframe_requested_ = true;  // the first frame is a key frame
  int64_t last_keyframe_us_ = 0;
  int64_t next_audio_us_ = 0, next_video_us_ = 0;
  bool failed_ = false;
  std::array<uint8_t, 1500 + MediaConnection::kSrtpRoom> packet_{};
  std::array<uint8_t, 1500> payload_{};
};

}  // namespace sb::bench
