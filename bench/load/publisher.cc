#include "bench/load/publisher.h"

#include <openssl/rand.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/log.h"
#include "rtp/byte_io.h"
#include "rtp/header_extensions.h"
#include "rtp/rtcp/fir.h"
#include "rtp/rtcp/nack.h"
#include "rtp/rtcp/pli.h"
#include "rtp/rtcp/rtcp_packet.h"
#include "rtp/rtp_builder.h"
#include "rtp/rtx.h"

namespace sb::bench {
namespace {

// Opus at 20 ms frames: 50 packets/s, 960 samples at 48 kHz (RFC 7587 4.1).
constexpr uint64_t kAudioIntervalMs = 20;
constexpr uint32_t kAudioSamplesPerPacket = 960;
constexpr size_t kAudioMinBytes = 60;
constexpr size_t kAudioMaxBytes = 120;
// Opus TOC: config 15 (hybrid fullband 20 ms), mono, one frame (RFC 6716 3.1).
constexpr uint8_t kOpusToc = 0x78;
// Largest RTP packet we build, as Chromium's default max packet size (1200) does.
constexpr size_t kMaxRtpPacket = 1200;
// Room left in a packet for the RTP header and the extensions we may add.
constexpr size_t kRtpHeaderRoom = 40;
// VP8 payload descriptor with a 15-bit picture id: X, I, M (RFC 7741 4.2).
constexpr size_t kVp8DescriptorSize = 4;
// A key frame costs several delta frames, as encoders at a 1-5 s interval produce.
constexpr double kKeyFrameFactor = 4.0;
// Retransmission history: 1024 packets cover more than 1 s at 5 Mbit/s; NACKs for older packets
// are not answered (RFC 4588 leaves the depth to the sender; Chromium keeps about 1 s).
constexpr size_t kHistorySize = 1024;
constexpr int64_t kHistoryMaxAgeUs = 1'000'000;
// A loop late by more than this skips what it missed instead of sending it in one burst.
constexpr int64_t kMaxCatchUpUs = 100'000;

uint32_t RandomU32() {
  uint32_t v = 0;
  RAND_bytes(reinterpret_cast<uint8_t*>(&v), sizeof(v));
  return v | 1;  // never 0
}

std::string RandomId(size_t n) {
  static constexpr char kChars[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string out;
  for (size_t i = 0; i < n; ++i) out.push_back(kChars[RandomU32() % 36]);
  return out;
}

}  // namespace

Publisher::Publisher(uv_loop_t* loop, const transport::DtlsCertificate* certificate,
                     const MediaProfile& profile, std::string name, GeneratorStats* stats)
    : loop_(loop),
      certificate_(certificate),
      profile_(profile),
      name_(std::move(name)),
      stats_(stats),
      history_(kHistorySize),
      rng_(RandomU32()) {}

Publisher::~Publisher() { Stop(); }

absl::Status Publisher::Init() {
  std::vector<signaling::sdp::Fingerprint> fps;
  for (const auto& fp : certificate_->Fingerprints()) fps.push_back({fp.algorithm, fp.value});
  local_ = NewClientTransport(std::move(fps));
  auto connection = MediaConnection::Create(loop_, certificate_, local_.ice_ufrag, this);
  if (!connection.ok()) return connection.status();
  connection_ = *std::move(connection);
  connection_->SetLocalPassword(local_.ice_pwd);
  tracks_.audio = profile_.audio;
  tracks_.video = profile_.video;
  tracks_.audio_ssrc = RandomU32();
  tracks_.video_ssrc = RandomU32();
  tracks_.video_rtx_ssrc = RandomU32();
  tracks_.cname = RandomId(16);
  tracks_.stream_id = RandomId(12);
  tracks_.audio_track_id = RandomId(12);
  tracks_.video_track_id = RandomId(12);
  return absl::OkStatus();
}

std::string Publisher::Offer() { return BuildPublishOffer(local_, tracks_, RandomU32()); }

absl::Status Publisher::OnAnswer(const std::string& sdp) {
  auto answer = signaling::sdp::ParseRemoteDescription(sdp);
  if (!answer.ok()) return answer.status();
  auto candidate = FirstUdpCandidate(sdp);
  if (!candidate) return absl::InvalidArgumentError("publish-answer without a UDP candidate");
  for (const auto& m : answer->media) {
    if (m.rejected || m.direction == "inactive") continue;
    const bool audio = m.kind == rtp::MediaKind::kAudio;
    Stream& s = audio ? audio_ : video_;
    const rtp::RtpCodecParameters* codec = m.rtp.MediaCodec();
    if (!codec) continue;
    s.enabled = true;
    s.mid = m.mid;
    s.payload_type = codec->payload_type;
    s.ssrc = audio ? tracks_.audio_ssrc : tracks_.video_ssrc;
    if (const auto* rtx = m.rtp.RtxCodecFor(codec->payload_type)) {
      s.rtx_payload_type = rtx->payload_type;
      s.rtx_ssrc = tracks_.video_rtx_ssrc;
    }
    s.seq = static_cast<uint16_t>(RandomU32());
    s.rtx_seq = static_cast<uint16_t>(RandomU32());
    s.timestamp_base = RandomU32();
    s.ext_mid = m.rtp.HeaderExtensionId(rtp::kUriMid);
    s.ext_abs_send_time = m.rtp.HeaderExtensionId(rtp::kUriAbsSendTime);
    s.ext_transport_cc = m.rtp.HeaderExtensionId(rtp::kUriTransportWideCc);
    s.ext_audio_level = audio ? m.rtp.HeaderExtensionId(rtp::kUriAudioLevel) : 0;
  }
  RemoteEndpoint remote;
  remote.address = *candidate;
  remote.ice_ufrag = answer->ice_ufrag;
  remote.ice_pwd = answer->ice_pwd;
  for (const auto& fp : answer->fingerprints)
    remote.fingerprints.push_back({fp.algorithm, fp.value});
  connection_->Start(std::move(remote));
  return absl::OkStatus();
}

void Publisher::Stop() {
  audio_timer_.reset();
  video_timer_.reset();
  if (connection_) connection_->Close();
}

void Publisher::OnMediaConnected() {
  if (audio_.enabled) {
    next_audio_us_ = NowUs();
    audio_timer_ = std::make_unique<transport::UvTimer>(loop_, [this] { OnAudioTimer(); });
    audio_timer_->Start(0, kAudioIntervalMs);
  }
  if (video_.enabled && profile_.fps > 0) {
    next_video_us_ = NowUs();
    video_timer_ = std::make_unique<transport::UvTimer>(loop_, [this] { OnVideoTimer(); });
    video_timer_->Start(0, std::max<uint64_t>(1, 1000 / profile_.fps));
  }
}

// Timers fire late when the loop is busy and repeat from when they ran, so each tick sends
// whatever is due by the clock: the average rates stay exact, as a real capturer's do.
void Publisher::OnAudioTimer() {
  const int64_t now = NowUs();
  if (now - next_audio_us_ > kMaxCatchUpUs) next_audio_us_ = now;  // stalled: do not burst
  while (next_audio_us_ <= now) {
    SendAudio();
    next_audio_us_ += kAudioIntervalMs * 1000;
  }
}

void Publisher::OnVideoTimer() {
  const int64_t now = NowUs();
  const int64_t interval = 1'000'000 / profile_.fps;
  if (now - next_video_us_ > kMaxCatchUpUs) next_video_us_ = now;
  while (next_video_us_ <= now) {
    SendVideoFrame();
    next_video_us_ += interval;
  }
}

void Publisher::OnMediaFailed(const std::string& reason) {
  SB_LOG_WARN("load", "{}: publishing connection failed: {}", name_, reason);
  failed_ = true;
  ++stats_->connection_failures;
  Stop();
}

void Publisher::OnRtp(uint8_t* /*data*/, size_t /*len*/) {}

void Publisher::OnRtcp(uint8_t* data, size_t len) {
  auto status =
      rtp::ForEachRtcpPacket(absl::Span<const uint8_t>(data, len), [&](const rtp::RtcpHeader& h) {
        if (h.packet_type == rtp::kRtcpPsfb && h.count_or_fmt == rtp::kPsfbPli) {
          auto pli = rtp::Pli::Parse(h.packet);
          if (pli && pli->media_ssrc == video_.ssrc) {
            ++stats_->plis_received;
            keyframe_requested_ = true;
          }
        } else if (h.packet_type == rtp::kRtcpPsfb && h.count_or_fmt == rtp::kPsfbFir) {
          auto fir = rtp::Fir::Parse(h.packet);
          if (!fir) return;
          for (const auto& e : fir->entries) {
            if (e.ssrc == video_.ssrc) {
              ++stats_->firs_received;
              keyframe_requested_ = true;
            }
          }
        } else if (h.packet_type == rtp::kRtcpRtpfb && h.count_or_fmt == rtp::kRtpfbNack) {
          auto nack = rtp::Nack::Parse(h.packet);
          if (!nack || nack->media_ssrc != video_.ssrc) return;
          ++stats_->nacks_received;
          for (uint16_t seq : nack->SequenceNumbers()) Retransmit(seq);
        }
      });
  (void)status;  // Packets before a malformed one were handled; the rest is dropped.
}

size_t Publisher::SendPacket(Stream& s, bool marker, uint32_t timestamp, const uint8_t* payload,
                             size_t payload_len, int64_t now_us, bool audio_voice) {
  uint8_t abs_send_time[rtp::kAbsSendTimeSize];
  uint8_t transport_seq[rtp::kTransportSequenceNumberSize];
  uint8_t audio_level[1];
  rtp::ExtensionValue ext[4];
  size_t n = 0;
  if (s.ext_audio_level) {
    rtp::WriteAudioLevel({audio_voice, static_cast<uint8_t>(audio_voice ? 30 : 90)}, audio_level,
                         sizeof(audio_level));
    ext[n++] = {s.ext_audio_level, absl::Span<const uint8_t>(audio_level, 1)};
  }
  if (s.ext_abs_send_time) {
    rtp::WriteAbsSendTime(rtp::AbsSendTimeFromUs(now_us), abs_send_time, sizeof(abs_send_time));
    ext[n++] = {s.ext_abs_send_time, absl::Span<const uint8_t>(abs_send_time)};
  }
  if (s.ext_transport_cc) {
    rtp::WriteTransportSequenceNumber(transport_seq_++, transport_seq, sizeof(transport_seq));
    ext[n++] = {s.ext_transport_cc, absl::Span<const uint8_t>(transport_seq)};
  }
  if (s.ext_mid) {
    ext[n++] = {s.ext_mid, absl::Span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.mid.data()),
                                                     s.mid.size())};
  }
  rtp::RtpHeaderFields h;
  h.marker = marker;
  h.payload_type = s.payload_type;
  h.sequence_number = s.seq++;
  h.timestamp = timestamp;
  h.ssrc = s.ssrc;
  const size_t len = rtp::BuildRtpPacket(h, absl::Span<const rtp::ExtensionValue>(ext, n),
                                         absl::Span<const uint8_t>(payload, payload_len), 0,
                                         packet_.data(), kMaxRtpPacket);
  if (len == 0) return 0;
  if (&s == &video_ && s.rtx_payload_type != 0) {
    HistoryEntry& e = history_[h.sequence_number % history_.size()];
    e.seq = h.sequence_number;
    e.sent_us = now_us;
    e.len = len;
    std::memcpy(e.data.data(), packet_.data(), len);
  }
  const uint64_t before = connection_->counters().rtp_bytes_sent;
  if (!connection_->SendRtp(packet_.data(), len, packet_.size())) return 0;
  stats_->bytes_sent += connection_->counters().rtp_bytes_sent - before;
  return len;
}

void Publisher::SendAudio() {
  if (!connection_->connected()) return;
  const int64_t now_us = NowUs();
  std::uniform_int_distribution<size_t> size(kAudioMinBytes, kAudioMaxBytes);
  const size_t len = size(rng_);
  payload_[0] = kOpusToc;
  rtp::WriteU64(&payload_[kAudioTimeOffset], static_cast<uint64_t>(now_us));
  for (size_t i = kAudioTimeOffset + 8; i < len; ++i) payload_[i] = static_cast<uint8_t>(rng_());
  const uint32_t ts = audio_.timestamp_base;
  audio_.timestamp_base += kAudioSamplesPerPacket;
  // Voice activity in bursts of about a second, so audio-level observers see speech change.
  const bool voice = (now_us / 1'000'000) % 3 != 0;
  // RFC 3551 4.1: the marker starts a talkspurt; Opus with DTX off never sets it after the first.
  if (SendPacket(audio_, false, ts, payload_.data(), len, now_us, voice) > 0) {
    ++stats_->audio_packets_sent;
  }
}

void Publisher::SendVideoFrame() {
  if (!connection_->connected()) return;
  const int64_t now_us = NowUs();
  const double interval_us = profile_.keyframe_interval_s * 1e6;
  const bool key =
      keyframe_requested_ ||
      (interval_us > 0 && static_cast<double>(now_us - last_keyframe_us_) >= interval_us);
  keyframe_requested_ = false;
  if (key) last_keyframe_us_ = now_us;

  // Average frame size for the bitrate; key frames larger and delta frames smaller so that the
  // average over one key-frame interval stays at the configured bitrate.
  const double avg = profile_.video_kbps * 1000.0 / 8.0 / profile_.fps;
  const double frames = std::max(2.0, profile_.keyframe_interval_s * profile_.fps);
  const double delta = std::max(avg / 4, avg * (frames - kKeyFrameFactor) / (frames - 1));
  std::uniform_real_distribution<double> jitter(0.8, 1.2);
  const size_t frame_bytes = std::max<size_t>(
      64, static_cast<size_t>((key ? avg * kKeyFrameFactor : delta) * jitter(rng_)));

  const size_t max_data = kMaxRtpPacket - kRtpHeaderRoom - kVp8DescriptorSize;
  const size_t packets = (frame_bytes + max_data - 1) / max_data;
  const uint32_t ts =
      video_.timestamp_base + static_cast<uint32_t>(static_cast<uint64_t>(now_us) * 90 / 1000);
  const uint16_t picture_id = picture_id_++ & 0x7fff;
  size_t remaining = frame_bytes;
  for (size_t i = 0; i < packets; ++i) {
    const size_t data_len = std::max<size_t>(kVideoTimeOffset + 8, remaining / (packets - i));
    remaining -= std::min(remaining, data_len);
    uint8_t* p = payload_.data();
    // RFC 7741 4.2: X=1, S on the first packet, PID 0; I=1 with a 15-bit picture id (M=1).
    p[0] = static_cast<uint8_t>(0x80 | (i == 0 ? 0x10 : 0x00));
    p[1] = 0x80;
    p[2] = static_cast<uint8_t>(0x80 | (picture_id >> 8));
    p[3] = static_cast<uint8_t>(picture_id & 0xff);
    uint8_t* d = p + kVp8DescriptorSize;
    for (size_t j = 0; j < data_len; ++j) d[j] = static_cast<uint8_t>(rng_());
    if (i == 0) {
      // RFC 6386 9.1 frame tag: P (0 = key frame), version 0, show_frame 1, first partition size.
      const uint32_t first_part = static_cast<uint32_t>(std::min<size_t>(frame_bytes / 2, 0x7ffff));
      const uint32_t tag = (key ? 0u : 1u) | (1u << 4) | (first_part << 5);
      d[0] = static_cast<uint8_t>(tag);
      d[1] = static_cast<uint8_t>(tag >> 8);
      d[2] = static_cast<uint8_t>(tag >> 16);
      if (key) {
        // Start code and 640x360, no scaling (RFC 6386 9.1).
        const uint8_t header[] = {0x9d, 0x01, 0x2a, 0x80, 0x02, 0x68, 0x01};
        std::memcpy(d + 3, header, sizeof(header));
      }
    }
    rtp::WriteU64(d + kVideoTimeOffset, static_cast<uint64_t>(now_us));
    const bool last = i + 1 == packets;
    if (SendPacket(video_, last, ts, p, kVp8DescriptorSize + data_len, now_us, false) > 0) {
      ++stats_->video_packets_sent;
    }
  }
  ++stats_->video_frames_sent;
  if (key) ++stats_->keyframes_sent;
}

void Publisher::Retransmit(uint16_t seq) {
  if (video_.rtx_payload_type == 0) return;
  HistoryEntry& e = history_[seq % history_.size()];
  const int64_t now_us = NowUs();
  if (e.sent_us < 0 || e.seq != seq || now_us - e.sent_us > kHistoryMaxAgeUs) return;
  std::array<uint8_t, 1200> copy;
  std::memcpy(copy.data(), e.data.data(), e.len);
  auto original = rtp::RtpPacket::Parse(copy.data(), e.len);
  if (!original) return;
  // RFC 4588 4: same header, RTX payload type/ssrc/sequence, the OSN before the payload.
  const size_t len = rtp::RtxEncapsulate(*original, video_.rtx_payload_type, video_.rtx_ssrc,
                                         video_.rtx_seq++, packet_.data(), 1500);
  if (len == 0) return;
  const uint64_t before = connection_->counters().rtp_bytes_sent;
  if (connection_->SendRtp(packet_.data(), len, packet_.size())) {
    ++stats_->rtx_packets_sent;
    stats_->bytes_sent += connection_->counters().rtp_bytes_sent - before;
  }
}

}  // namespace sb::bench
