#include "bench/load/publisher.h"

#include <openssl/rand.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <ctime>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/log.h"
#include "rtp/byte_io.h"
#include "rtp/header_extensions.h"
#include "rtp/rtcp/fir.h"
#include "rtp/rtcp/nack.h"
#include "rtp/rtcp/pli.h"
#include "rtp/rtcp/rtcp_packet.h"
#include "rtp/rtcp/sdes.h"
#include "rtp/rtcp/sender_report.h"
#include "rtp/rtp_builder.h"
#include "rtp/rtx.h"

namespace sb::bench {
namespace {

// Opus at 20 ms frames (Chromium's default): 50 packets/s, 960 samples at 48 kHz (RFC 7587
// 4.1), 60-120 bytes; longer packets (MediaProfile::audio_ptime_ms) carry proportionally more.
constexpr size_t kAudioMinBytes = 60;
constexpr size_t kAudioMaxBytes = 120;
// Opus TOC, mono, one frame (RFC 6716 3.1): config 15 (hybrid fullband 20 ms), or for other
// packet times 14 (hybrid fullband 10 ms) and the SILK wideband 40 and 60 ms configs 10, 11.
uint8_t OpusToc(uint32_t ptime_ms) {
  switch (ptime_ms) {
    case 10:
      return 14 << 3;
    case 40:
      return 10 << 3;
    case 60:
      return 11 << 3;
    default:
      return 15 << 3;
  }
}
// Largest RTP packet we build, as Chromium's default max packet size (1200) does.
constexpr size_t kMaxRtpPacket = 1200;
// Room left in a packet for the RTP header and the extensions we may add (mid and rid of a
// few characters, abs-send-time, transport-cc: 12 + 4 + about 20).
constexpr size_t kRtpHeaderRoom = 40;
// VP8 payload descriptor with a 15-bit picture id: X, I, M (RFC 7741 4.2).
constexpr size_t kVp8DescriptorSize = 4;
constexpr size_t kMaxFrameData = kMaxRtpPacket - kRtpHeaderRoom - kVp8DescriptorSize;
// A key frame costs several delta frames, as encoders at a 1-5 s interval produce.
constexpr double kKeyFrameFactor = 4.0;
// Frame sizes vary by +-20 % around their mean.
constexpr double kFrameJitter = 0.2;
// The video stream without simulcast: 640x360, as the key frames' header says.
constexpr uint16_t kSingleWidth = 640, kSingleHeight = 360;
// Retransmission history per stream: twice the packets of a second at the stream's bitrate
// (a key frame included), 64 to 1024 entries; NACKs for packets older than 1 s are not
// answered (RFC 4588 leaves the depth to the sender; Chromium keeps about 1 s).
constexpr size_t kMinHistory = 64, kMaxHistory = 1024;
constexpr int64_t kHistoryMaxAgeUs = 1'000'000;
// A loop late by more than this skips what it missed instead of sending it in one burst.
constexpr int64_t kMaxCatchUpUs = 100'000;
// RFC 3550 6.3.1: reports at a randomised 0.5-1.5 times the interval; libwebrtc's video
// streams report every second.
constexpr uint64_t kSenderReportIntervalMs = 1000;

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

size_t HistorySize(uint32_t kbps, uint32_t fps) {
  const double avg_frame = kbps * 1000.0 / 8.0 / std::max<uint32_t>(fps, 1);
  const double per_frame = std::ceil(avg_frame * (1 + kFrameJitter) / kMaxFrameData);
  const double key_frame =
      std::ceil(avg_frame * kKeyFrameFactor * (1 + kFrameJitter) / kMaxFrameData);
  const double per_second = fps * per_frame + key_frame;
  return std::clamp(static_cast<size_t>(2 * per_second), kMinHistory, kMaxHistory);
}

}  // namespace

uint32_t SimulcastLayerKbps(size_t index, uint32_t total_kbps) {
  uint32_t sum = 0;
  for (const auto& layer : kSimulcastLayers) sum += layer.reference_kbps;
  const uint64_t share = uint64_t{total_kbps} * kSimulcastLayers[index].reference_kbps / sum;
  return std::max<uint32_t>(1, static_cast<uint32_t>(share));
}

uint32_t MediaTimestamp(uint32_t base, uint32_t clock_rate, int64_t time_us) {
  // Split the product so that it cannot overflow for any time or clock rate.
  const uint64_t t = static_cast<uint64_t>(time_us);
  const uint64_t ticks = (t / 1'000'000) * clock_rate + (t % 1'000'000) * clock_rate / 1'000'000;
  return base + static_cast<uint32_t>(ticks);
}

rtp::NtpTime WallClockNtp() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  const uint64_t us = static_cast<uint64_t>(ts.tv_nsec) / 1000;
  return {static_cast<uint32_t>(static_cast<uint64_t>(ts.tv_sec) + rtp::kNtpUnixOffsetSeconds),
          static_cast<uint32_t>((us << 32) / 1'000'000)};
}

size_t BuildSenderReport(const SenderReportFields& f, uint8_t* out, size_t cap) {
  rtp::SenderReport sr;
  sr.sender_ssrc = f.ssrc;
  sr.ntp_seconds = f.ntp.seconds;
  sr.ntp_fraction = f.ntp.fraction;
  sr.rtp_timestamp = f.rtp_timestamp;
  sr.packet_count = f.packet_count;
  sr.octet_count = f.octet_count;
  rtp::Sdes sdes;
  sdes.chunks.push_back({f.ssrc, f.cname, {}});
  const size_t len = sr.Serialize(out, cap);
  if (len == 0) return 0;
  const size_t sdes_len = sdes.Serialize(out + len, cap - len);
  return sdes_len == 0 ? 0 : len + sdes_len;
}

Publisher::Publisher(uv_loop_t* loop, const transport::DtlsCertificate* certificate,
                     const MediaProfile& profile, std::string name, GeneratorStats* stats)
    : loop_(loop),
      certificate_(certificate),
      profile_(profile),
      name_(std::move(name)),
      stats_(stats),
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
  tracks_.data = profile_.data.enabled;
  if (profile_.simulcast) {
    for (const auto& layer : kSimulcastLayers) tracks_.video_rids.emplace_back(layer.rid);
  }
  return absl::OkStatus();
}

std::string Publisher::Offer() { return BuildPublishOffer(local_, tracks_, RandomU32()); }

absl::Status Publisher::OnAnswer(const std::string& sdp) {
  auto answer = signaling::sdp::ParseRemoteDescription(sdp);
  if (!answer.ok()) return answer.status();
  auto candidate = FirstUdpCandidate(sdp);
  if (!candidate) return absl::InvalidArgumentError("publish-answer without a UDP candidate");
  video_.clear();
  bool data_accepted = false;
  for (const auto& m : answer->media) {
    if (m.data_channel && !m.rejected) {
      data_accepted = true;
      remote_max_message_size_ = static_cast<size_t>(m.max_message_size);
      continue;
    }
    if (m.rejected || m.direction == "inactive") continue;
    const rtp::RtpCodecParameters* codec = m.rtp.MediaCodec();
    if (!codec) continue;
    Stream s;
    s.enabled = true;
    s.video = m.kind == rtp::MediaKind::kVideo;
    s.mid = m.mid;
    s.payload_type = codec->payload_type;
    s.clock_rate = codec->clock_rate;
    s.ext_mid = m.rtp.HeaderExtensionId(rtp::kUriMid);
    s.ext_abs_send_time = m.rtp.HeaderExtensionId(rtp::kUriAbsSendTime);
    s.ext_transport_cc = m.rtp.HeaderExtensionId(rtp::kUriTransportWideCc);
    if (!s.video) {
      s.ext_audio_level = m.rtp.HeaderExtensionId(rtp::kUriAudioLevel);
      s.ssrc = tracks_.audio_ssrc;
      s.seq = static_cast<uint16_t>(RandomU32());
      s.timestamp_base = RandomU32();
      audio_ = std::move(s);
      continue;
    }
    if (const auto* rtx = m.rtp.RtxCodecFor(codec->payload_type)) {
      s.rtx_payload_type = rtx->payload_type;
    }
    s.ext_rid = m.rtp.HeaderExtensionId(rtp::kUriRid);
    s.ext_repaired_rid = m.rtp.HeaderExtensionId(rtp::kUriRepairedRid);
    // Each encoding is its own RTP stream: own ssrc and RTX ssrc, sequence numbers, timestamp
    // base, picture ids and history (as libwebrtc keeps one RTP module per simulcast layer).
    auto add_stream = [&](Stream layer, uint32_t ssrc, uint32_t rtx_ssrc) {
      layer.ssrc = ssrc;
      if (layer.rtx_payload_type != 0) {
        layer.rtx_ssrc = rtx_ssrc;
        layer.history.resize(HistorySize(layer.kbps, profile_.fps));
      }
      layer.seq = static_cast<uint16_t>(RandomU32());
      layer.rtx_seq = static_cast<uint16_t>(RandomU32());
      layer.timestamp_base = RandomU32();
      layer.picture_id = static_cast<uint16_t>(RandomU32() & 0x7fff);
      video_.push_back(std::move(layer));
    };
    if (tracks_.video_rids.empty()) {
      s.kbps = profile_.video_kbps;
      s.width = kSingleWidth;
      s.height = kSingleHeight;
      add_stream(std::move(s), tracks_.video_ssrc, tracks_.video_rtx_ssrc);
      continue;
    }
    for (const std::string& rid : SendRidsFromAnswer(tracks_.video_rids, sdp, m.mid)) {
      for (size_t i = 0; i < std::size(kSimulcastLayers); ++i) {
        if (rid != kSimulcastLayers[i].rid) continue;
        Stream layer = s;
        layer.rid = rid;
        // An answer without simulcast leaves the first encoding alone: it keeps its
        // resolution and bitrate (JSEP drops the other encodings, it does not rescale).
        layer.kbps = SimulcastLayerKbps(i, profile_.video_kbps);
        layer.width = kSimulcastLayers[i].width;
        layer.height = kSimulcastLayers[i].height;
        add_stream(std::move(layer), RandomU32(), RandomU32());
      }
    }
  }
  if (tracks_.data && !data_accepted) {
    return absl::FailedPreconditionError("the answer refused the data channels' m=application");
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

void Publisher::StopMedia() {
  audio_timer_.reset();
  video_timer_.reset();
  if (data_) data_->StopSending();
}

const std::vector<int64_t>* Publisher::SentTimes(bool video) const {
  if (!video) return audio_.enabled ? &audio_.sent_us : nullptr;
  if (video_.size() != 1 || !video_[0].rid.empty()) return nullptr;
  return &video_[0].sent_us;
}

void Publisher::Stop() {
  audio_timer_.reset();
  video_timer_.reset();
  sr_timer_.reset();
  // The ABORT goes out on the connection, before it closes.
  if (data_) data_->Close();
  if (connection_) connection_->Close();
}

void Publisher::AppendSentLayers(std::vector<SentLayer>* out) const {
  for (const Stream& s : video_) {
    SentLayer l;
    l.rid = s.rid;
    l.target_kbps = s.kbps;
    l.packets = s.packets_sent;
    l.payload_bytes = s.payload_bytes_sent;
    l.keyframes = s.keyframes_sent;
    if (s.first_sent_us >= 0)
      l.seconds = static_cast<double>(s.last_sent_us - s.first_sent_us) / 1e6;
    out->push_back(std::move(l));
  }
}

void Publisher::OnMediaConnected() {
  if (audio_.enabled) {
    next_audio_us_ = NowUs();
    audio_timer_ = std::make_unique<UvTimer>(loop_, [this] { OnAudioTimer(); });
    audio_timer_->Start(0, profile_.audio_ptime_ms);
  }
  if (!video_.empty() && profile_.fps > 0) {
    next_video_us_ = NowUs();
    video_timer_ = std::make_unique<UvTimer>(loop_, [this] { OnVideoTimer(); });
    video_timer_->Start(0, std::max<uint64_t>(1, 1000 / profile_.fps));
  }
  sr_timer_ = std::make_unique<UvTimer>(loop_, [this] { OnSenderReportTimer(); });
  sr_timer_->Start(kSenderReportIntervalMs);
  if (tracks_.data && !data_) {
    data_ = std::make_unique<DataChannels>(
        loop_, profile_.data, name_, stats_,
        [this](const uint8_t* data, size_t len) { connection_->SendApplicationData(data, len); });
    if (data_counting_from_us_ >= 0) data_->StartCounting(data_counting_from_us_);
    if (auto s = data_->Start(remote_max_message_size_); !s.ok()) {
      ++stats_->data_sctp_failures;
      SB_LOG_WARN("load", "{}: SCTP did not start: {}", name_, std::string(s.message()));
    }
  }
}

// Timers fire late when the loop is busy and repeat from when they ran, so each tick sends
// whatever is due by the clock: the average rates stay exact, as a real capturer's do.
void Publisher::OnAudioTimer() {
  const int64_t now = NowUs();
  if (now - next_audio_us_ > kMaxCatchUpUs) next_audio_us_ = now;  // stalled: do not burst
  while (next_audio_us_ <= now) {
    SendAudio(next_audio_us_);
    next_audio_us_ += static_cast<int64_t>(profile_.audio_ptime_ms) * 1000;
  }
}

void Publisher::OnVideoTimer() {
  const int64_t now = NowUs();
  const int64_t interval = 1'000'000 / profile_.fps;
  if (now - next_video_us_ > kMaxCatchUpUs) next_video_us_ = now;
  while (next_video_us_ <= now) {
    SendVideoFrames();
    next_video_us_ += interval;
  }
}

void Publisher::OnSenderReportTimer() {
  std::uniform_int_distribution<uint64_t> next(kSenderReportIntervalMs / 2,
                                               kSenderReportIntervalMs * 3 / 2);
  sr_timer_->Start(next(rng_));
  if (!connection_->connected()) return;
  // One clock reading for both halves of the mapping.
  const int64_t now_us = NowUs();
  const rtp::NtpTime ntp = WallClockNtp();
  std::array<uint8_t, 256 + MediaConnection::kSrtpRoom> buffer;
  auto report = [&](const Stream& s) {
    if (!s.enabled || s.packets_sent == 0) return;  // RFC 3550 6.4: an SR once it has sent
    SenderReportFields f;
    f.ssrc = s.ssrc;
    f.ntp = ntp;
    f.rtp_timestamp = MediaTimestamp(s.timestamp_base, s.clock_rate, now_us);
    f.packet_count = static_cast<uint32_t>(s.packets_sent);
    f.octet_count = static_cast<uint32_t>(s.payload_bytes_sent);
    f.cname = tracks_.cname;
    const size_t len = BuildSenderReport(f, buffer.data(), 256);
    // Through SRTCP like every RTCP packet of the connection (RFC 3711 3.4).
    if (len > 0 && connection_->SendRtcp(buffer.data(), len, buffer.size())) ++stats_->srs_sent;
  };
  report(audio_);
  for (const Stream& s : video_) report(s);
}

void Publisher::OnMediaFailed(const std::string& reason) {
  SB_LOG_WARN("load", "{}: publishing connection failed: {}", name_, reason);
  failed_ = true;
  ++stats_->connection_failures;
  Stop();
}

void Publisher::OnRtp(uint8_t* /*data*/, size_t /*len*/) {}

Publisher::Stream* Publisher::VideoStreamBySsrc(uint32_t ssrc) {
  for (Stream& s : video_) {
    if (s.ssrc == ssrc) return &s;
  }
  return nullptr;
}

void Publisher::OnRtcp(uint8_t* data, size_t len) {
  auto status =
      rtp::ForEachRtcpPacket(absl::Span<const uint8_t>(data, len), [&](const rtp::RtcpHeader& h) {
        if (h.packet_type == rtp::kRtcpPsfb && h.count_or_fmt == rtp::kPsfbPli) {
          auto pli = rtp::Pli::Parse(h.packet);
          if (!pli) return;
          if (Stream* s = VideoStreamBySsrc(pli->media_ssrc)) {
            ++stats_->plis_received;
            s->keyframe_requested = true;  // that layer only, as libwebrtc does per stream
          }
        } else if (h.packet_type == rtp::kRtcpPsfb && h.count_or_fmt == rtp::kPsfbFir) {
          auto fir = rtp::Fir::Parse(h.packet);
          if (!fir) return;
          for (const auto& e : fir->entries) {
            if (Stream* s = VideoStreamBySsrc(e.ssrc)) {
              ++stats_->firs_received;
              s->keyframe_requested = true;
            }
          }
        } else if (h.packet_type == rtp::kRtcpRtpfb && h.count_or_fmt == rtp::kRtpfbNack) {
          auto nack = rtp::Nack::Parse(h.packet);
          if (!nack) return;
          Stream* s = VideoStreamBySsrc(nack->media_ssrc);
          if (!s) return;
          ++stats_->nacks_received;
          for (uint16_t seq : nack->SequenceNumbers()) Retransmit(*s, seq);
        }
      });
  (void)status;  // Packets before a malformed one were handled; the rest is dropped.
}

size_t Publisher::Extensions(const Stream& s, bool rtx, int64_t now_us, bool audio_voice,
                             rtp::ExtensionValue* values, uint8_t (&storage)[8]) {
  size_t n = 0;
  if (s.ext_audio_level) {
    rtp::WriteAudioLevel({audio_voice, static_cast<uint8_t>(audio_voice ? 30 : 90)}, &storage[0],
                         1);
    values[n++] = {s.ext_audio_level, absl::Span<const uint8_t>(&storage[0], 1)};
  }
  if (s.ext_abs_send_time) {
    rtp::WriteAbsSendTime(rtp::AbsSendTimeFromUs(now_us), &storage[1], rtp::kAbsSendTimeSize);
    values[n++] = {s.ext_abs_send_time,
                   absl::Span<const uint8_t>(&storage[1], rtp::kAbsSendTimeSize)};
  }
  if (s.ext_transport_cc) {
    // Every packet on the wire takes the next number, retransmissions included.
    rtp::WriteTransportSequenceNumber(transport_seq_++, &storage[4],
                                      rtp::kTransportSequenceNumberSize);
    values[n++] = {s.ext_transport_cc,
                   absl::Span<const uint8_t>(&storage[4], rtp::kTransportSequenceNumberSize)};
  }
  auto text = [](const std::string& v) {
    return absl::Span<const uint8_t>(reinterpret_cast<const uint8_t*>(v.data()), v.size());
  };
  // Chromium sends mid, and rid (repaired-rid on RTX, RFC 8852 3.2), on every packet.
  if (s.ext_mid) values[n++] = {s.ext_mid, text(s.mid)};
  if (!s.rid.empty()) {
    const uint8_t id = rtx ? s.ext_repaired_rid : s.ext_rid;
    if (id) values[n++] = {id, text(s.rid)};
  }
  return n;
}

bool Publisher::Send(size_t len) {
  const uint64_t before = connection_->counters().rtp_bytes_sent;
  if (!connection_->SendRtp(packet_.data(), len, packet_.size())) return false;
  stats_->bytes_sent += connection_->counters().rtp_bytes_sent - before;
  return true;
}

size_t Publisher::SendPacket(Stream& s, bool marker, uint32_t timestamp, const uint8_t* payload,
                             size_t payload_len, int64_t now_us, bool audio_voice) {
  uint8_t storage[8];
  rtp::ExtensionValue ext[5];
  const size_t n = Extensions(s, /*rtx=*/false, now_us, audio_voice, ext, storage);
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
  if (!s.history.empty()) {
    HistoryEntry& e = s.history[h.sequence_number % s.history.size()];
    e.seq = h.sequence_number;
    e.sent_us = now_us;
    e.len = len;
    std::memcpy(e.data.data(), packet_.data(), len);
  }
  if (!Send(len)) return 0;
  s.sent_us.push_back(now_us);
  ++s.packets_sent;
  s.payload_bytes_sent += payload_len;
  if (s.first_sent_us < 0) s.first_sent_us = now_us;
  s.last_sent_us = now_us;
  return len;
}

void Publisher::SendAudio(int64_t capture_us) {
  if (!connection_->connected()) return;
  const int64_t now_us = NowUs();
  const size_t scale = std::max<uint32_t>(1, profile_.audio_ptime_ms / 20);
  std::uniform_int_distribution<size_t> size(kAudioMinBytes * scale, kAudioMaxBytes * scale);
  const size_t len = size(rng_);
  payload_[0] = OpusToc(profile_.audio_ptime_ms);
  rtp::WriteU64(&payload_[kAudioTimeOffset], static_cast<uint64_t>(now_us));
  for (size_t i = kAudioTimeOffset + 8; i < len; ++i) payload_[i] = static_cast<uint8_t>(rng_());
  // The capture time on the media clock: 960 samples apart at 20 ms, and a stall's gap shows
  // as a timestamp jump, as a capturer's samples keep counting.
  const uint32_t ts = MediaTimestamp(audio_.timestamp_base, audio_.clock_rate, capture_us);
  // Voice activity in bursts of about a second, so audio-level observers see speech change.
  const bool voice = (now_us / 1'000'000) % 3 != 0;
  // RFC 3551 4.1: the marker starts a talkspurt; Opus with DTX off never sets it after the first.
  if (SendPacket(audio_, false, ts, payload_.data(), len, now_us, voice) > 0) {
    ++stats_->audio_packets_sent;
  }
}

void Publisher::SendVideoFrames() {
  if (!connection_->connected()) return;
  const int64_t now_us = NowUs();
  const double interval_us = profile_.keyframe_interval_s * 1e6;
  // Periodic key frames on every layer at once, as one encoder run produces them; a PLI or
  // FIR adds one on its layer only.
  const bool periodic =
      interval_us > 0 && static_cast<double>(now_us - last_keyframe_us_) >= interval_us;
  bool all_key = true;
  for (Stream& s : video_) {
    const bool key = periodic || s.keyframe_requested;
    s.keyframe_requested = false;
    all_key &= key;
    SendVideoFrame(s, key, now_us);
  }
  if (all_key) last_keyframe_us_ = now_us;
}

void Publisher::SendVideoFrame(Stream& s, bool key, int64_t now_us) {
  // Average frame size for the bitrate; key frames larger and delta frames smaller so that the
  // average over one key-frame interval stays at the configured bitrate.
  const double avg = s.kbps * 1000.0 / 8.0 / profile_.fps;
  const double frames = std::max(2.0, profile_.keyframe_interval_s * profile_.fps);
  const double delta = std::max(avg / 4, avg * (frames - kKeyFrameFactor) / (frames - 1));
  std::uniform_real_distribution<double> jitter(1 - kFrameJitter, 1 + kFrameJitter);
  const size_t frame_bytes = std::max<size_t>(
      64, static_cast<size_t>((key ? avg * kKeyFrameFactor : delta) * jitter(rng_)));

  const size_t packets = (frame_bytes + kMaxFrameData - 1) / kMaxFrameData;
  const uint32_t ts = MediaTimestamp(s.timestamp_base, s.clock_rate, now_us);
  const uint16_t picture_id = s.picture_id++ & 0x7fff;
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
        // Start code, then width and height (14 bits each, little-endian), no scaling.
        d[3] = 0x9d;
        d[4] = 0x01;
        d[5] = 0x2a;
        d[6] = static_cast<uint8_t>(s.width);
        d[7] = static_cast<uint8_t>(s.width >> 8);
        d[8] = static_cast<uint8_t>(s.height);
        d[9] = static_cast<uint8_t>(s.height >> 8);
      }
    }
    rtp::WriteU64(d + kVideoTimeOffset, static_cast<uint64_t>(now_us));
    const bool last = i + 1 == packets;
    if (SendPacket(s, last, ts, p, kVp8DescriptorSize + data_len, now_us, false) > 0) {
      ++stats_->video_packets_sent;
    }
  }
  ++stats_->video_frames_sent;
  if (key) {
    ++stats_->keyframes_sent;
    ++s.keyframes_sent;
  }
}

void Publisher::Retransmit(Stream& s, uint16_t seq) {
  if (s.rtx_payload_type == 0 || s.history.empty()) return;
  HistoryEntry& e = s.history[seq % s.history.size()];
  const int64_t now_us = NowUs();
  if (e.sent_us < 0 || e.seq != seq || now_us - e.sent_us > kHistoryMaxAgeUs) return;
  auto original = rtp::RtpPacket::Parse(e.data.data(), e.len);
  if (!original) return;
  // RFC 4588 4: the original's marker and timestamp on the RTX payload type, ssrc and
  // sequence, the OSN before the original payload; fresh send-time and transport-wide
  // numbers, and repaired-rid in place of rid (RFC 8852 3.2), as libwebrtc builds it.
  const absl::Span<const uint8_t> media = original->payload();
  if (rtp::kRtxOsnSize + media.size() > payload_.size()) return;
  rtp::WriteU16(payload_.data(), seq);
  std::memcpy(payload_.data() + rtp::kRtxOsnSize, media.data(), media.size());
  uint8_t storage[8];
  rtp::ExtensionValue ext[5];
  const size_t n = Extensions(s, /*rtx=*/true, now_us, false, ext, storage);
  rtp::RtpHeaderFields h;
  h.marker = original->marker();
  h.payload_type = s.rtx_payload_type;
  h.sequence_number = s.rtx_seq++;
  h.timestamp = original->timestamp();
  h.ssrc = s.rtx_ssrc;
  const size_t len = rtp::BuildRtpPacket(
      h, absl::Span<const rtp::ExtensionValue>(ext, n),
      absl::Span<const uint8_t>(payload_.data(), rtp::kRtxOsnSize + media.size()), 0,
      packet_.data(), 1500);
  if (len > 0 && Send(len)) ++stats_->rtx_packets_sent;
}

}  // namespace sb::bench
