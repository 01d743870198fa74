#include "bench/load/subscriber.h"

#include <openssl/rand.h>

#include <array>
#include <utility>

#include "base/log.h"
#include "bench/load/publisher.h"
#include "rtp/byte_io.h"
#include "rtp/codecs/vp8.h"
#include "rtp/rtcp/pli.h"
#include "rtp/rtcp/receiver_report.h"
#include "rtp/rtp_packet.h"

namespace sb::bench {
namespace {

// RFC 3550 6.2 with a handful of streams: about one report a second, as browsers send.
constexpr uint64_t kRtcpIntervalMs = 1000;
// A video stream that shows no key frame this long after the answer is asked for one again,
// and then at most this often (Chromium repeats PLI on a similar period while frozen).
constexpr int64_t kPliAfterUs = 2'000'000;
// Latency above this is a clock or payload mismatch, not a measurement.
constexpr int64_t kMaxPlausibleLatencyUs = 10'000'000;

uint32_t RandomU32() {
  uint32_t v = 0;
  RAND_bytes(reinterpret_cast<uint8_t*>(&v), sizeof(v));
  return v | 1;
}

}  // namespace

Subscriber::Subscriber(uv_loop_t* loop, const transport::DtlsCertificate* certificate,
                       std::string name, GeneratorStats* stats)
    : loop_(loop),
      certificate_(certificate),
      name_(std::move(name)),
      stats_(stats),
      session_id_(RandomU32()),
      rtcp_ssrc_(RandomU32()) {
  std::vector<signaling::sdp::Fingerprint> fps;
  for (const auto& fp : certificate_->Fingerprints()) fps.push_back({fp.algorithm, fp.value});
  local_ = NewClientTransport(std::move(fps));
}

Subscriber::~Subscriber() { Stop(); }

void Subscriber::Stop() {
  rtcp_timer_.reset();
  if (connection_) connection_->Close();
}

absl::StatusOr<std::string> Subscriber::OnOffer(const std::string& sdp,
                                                const nlohmann::json& streams) {
  auto offer = signaling::sdp::ParseRemoteDescription(sdp);
  if (!offer.ok()) return offer.status();
  // Which participant each mid comes from (the offer's msid says it too; the list is simpler).
  absl::flat_hash_map<std::string, std::string> publisher_of;
  if (streams.is_array()) {
    for (const auto& s : streams) {
      if (s.contains("mid") && s.contains("participantId") && s["mid"].is_string() &&
          s["participantId"].is_string()) {
        publisher_of[s["mid"].get<std::string>()] = s["participantId"].get<std::string>();
      }
    }
  }
  for (auto& s : streams_) s->live = false;
  for (const auto& m : offer->media) {
    if (m.rejected || m.rtp.encodings.empty() || m.rtp.encodings[0].ssrc == 0) continue;
    const auto& enc = m.rtp.encodings[0];
    auto it = by_ssrc_.find(enc.ssrc);
    if (it != by_ssrc_.end()) {
      it->second->live = true;
      continue;
    }
    auto s = std::make_unique<Stream>();
    s->mid = m.mid;
    s->video = m.kind == rtp::MediaKind::kVideo;
    s->kind = s->video ? "video" : "audio";
    s->publisher = publisher_of.contains(m.mid) ? publisher_of[m.mid] : m.msid_stream;
    s->ssrc = enc.ssrc;
    s->rtx_ssrc = enc.rtx_ssrc;
    if (const auto* codec = m.rtp.MediaCodec()) s->clock_rate = codec->clock_rate;
    by_ssrc_[s->ssrc] = s.get();
    if (s->rtx_ssrc) by_rtx_ssrc_[s->rtx_ssrc] = s.get();
    streams_.push_back(std::move(s));
  }
  std::string answer = BuildSubscribeAnswer(*offer, local_, session_id_, ++version_);
  if (!connection_) {
    auto connection = MediaConnection::Create(loop_, certificate_, local_.ice_ufrag, this);
    if (!connection.ok()) return connection.status();
    connection_ = *std::move(connection);
    connection_->SetLocalPassword(local_.ice_pwd);
  }
  if (!started_) {
    auto candidate = FirstUdpCandidate(sdp);
    if (candidate) {
      started_ = true;
      RemoteEndpoint remote;
      remote.address = *candidate;
      remote.ice_ufrag = offer->ice_ufrag;
      remote.ice_pwd = offer->ice_pwd;
      for (const auto& fp : offer->fingerprints) {
        remote.fingerprints.push_back({fp.algorithm, fp.value});
      }
      connection_->Start(std::move(remote));
    }
  }
  return answer;
}

void Subscriber::OnAnswerSent() {
  const int64_t now = NowUs();
  for (auto& s : streams_) {
    if (s->answered_us < 0) s->answered_us = now;
  }
}

size_t Subscriber::live_streams() const {
  size_t n = 0;
  for (const auto& s : streams_) n += s->live && s->stats.packets() > 0 ? 1 : 0;
  return n;
}

void Subscriber::OnMediaConnected() {
  rtcp_timer_ = std::make_unique<transport::UvTimer>(loop_, [this] { OnTimer(); });
  rtcp_timer_->Start(kRtcpIntervalMs, kRtcpIntervalMs);
}

void Subscriber::OnMediaFailed(const std::string& reason) {
  SB_LOG_WARN("load", "{}: subscribing connection failed: {}", name_, reason);
  failed_ = true;
  ++stats_->connection_failures;
  Stop();
}

bool Subscriber::OnSrtpPacket(const uint8_t* data, size_t len) {
  // The fixed header is in the clear (RFC 3711 3.1): sequence number, timestamp and ssrc are
  // all the statistics need. Nothing past the fixed 12 bytes is trusted before decryption.
  if (len < 12) return false;
  const int64_t now_us = NowUs();
  ++stats_->packets_received;
  stats_->bytes_received += len;
  const uint32_t ssrc = rtp::ReadU32(data + 8);
  auto it = by_ssrc_.find(ssrc);
  if (it == by_ssrc_.end()) {
    if (auto rtx = by_rtx_ssrc_.find(ssrc); rtx != by_rtx_ssrc_.end()) {
      ++rtx->second->rtx_packets;  // RFC 4588: a repair, not part of the stream's sequence
    }
    return false;
  }
  Stream* s = it->second;
  s->stats.OnPacket(rtp::ReadU16(data + 2), rtp::ReadU32(data + 4), now_us / 1000, s->clock_rate,
                    len);
  // Every packet until a video stream's first key frame, so that its time is exact.
  if (s->video && s->first_keyframe_us < 0) return true;
  if (s->until_decrypt > 0) {
    --s->until_decrypt;
    return false;
  }
  s->until_decrypt = DecryptOneIn() - 1;
  return true;
}

void Subscriber::OnRtp(uint8_t* data, size_t len) {
  const int64_t now_us = NowUs();
  ++stats_->packets_decrypted;
  auto packet = rtp::RtpPacket::Parse(data, len);
  if (!packet) return;
  auto it = by_ssrc_.find(packet->ssrc());
  if (it == by_ssrc_.end()) return;
  Stream* s = it->second;
  absl::Span<const uint8_t> payload = packet->payload();
  size_t time_offset = kAudioTimeOffset;
  if (s->video) {
    auto d = rtp::Vp8Descriptor::Parse(payload);
    if (!d) return;
    time_offset = d->size + kVideoTimeOffset;
    if (rtp::Vp8IsKeyFrame(payload)) {
      ++s->keyframes;
      if (s->first_keyframe_us < 0) {
        s->first_keyframe_us = now_us;
        if (s->answered_us >= 0) {
          stats_->time_to_first_keyframe_ms.push_back(static_cast<double>(now_us - s->answered_us) /
                                                      1000.0);
        }
      }
    }
  }
  if (payload.size() < time_offset + 8) return;
  const int64_t sent_us = static_cast<int64_t>(rtp::ReadU64(payload.data() + time_offset));
  const int64_t latency = now_us - sent_us;
  if (latency < 0 || latency > kMaxPlausibleLatencyUs) {
    ++stats_->latency_outliers;
    return;
  }
  stats_->latency.Add(latency);
}

void Subscriber::OnRtcp(uint8_t* /*data*/, size_t /*len*/) {}

void Subscriber::OnTimer() {
  if (!connection_ || !connection_->connected()) return;
  const int64_t now_us = NowUs();
  std::array<uint8_t, 1500 + MediaConnection::kSrtpRoom> buffer;
  size_t len = 0;
  // RFC 3550 6.1: a compound starts with a report; RR blocks for up to 31 sources at once.
  rtp::ReceiverReport rr;
  rr.sender_ssrc = rtcp_ssrc_;
  for (auto& s : streams_) {
    if (!s->live || !s->stats.started()) continue;
    if (rr.report_blocks.size() == rtp::kMaxReportBlocks) break;
    rr.report_blocks.push_back(s->stats.MakeReportBlock(s->ssrc, now_us / 1000));
  }
  len += rr.Serialize(buffer.data(), 1200);
  ++stats_->rrs_sent;
  for (auto& s : streams_) {
    if (!s->live || !s->video || s->first_keyframe_us >= 0 || s->answered_us < 0) continue;
    if (now_us - s->answered_us < kPliAfterUs) continue;
    if (s->last_pli_us >= 0 && now_us - s->last_pli_us < kPliAfterUs) continue;
    if (len + rtp::Pli::kSize > 1200) break;
    rtp::Pli pli;
    pli.sender_ssrc = rtcp_ssrc_;
    pli.media_ssrc = s->ssrc;
    len += pli.Serialize(buffer.data() + len, 1200 - len);
    s->last_pli_us = now_us;
    ++stats_->plis_sent;
  }
  if (len > 0) connection_->SendRtcp(buffer.data(), len, buffer.size());
}

void Subscriber::AppendReports(std::vector<StreamReport>* out) const {
  for (const auto& s : streams_) {
    StreamReport r;
    r.subscriber = name_;
    r.publisher = s->publisher;
    r.kind = s->kind;
    r.packets = s->stats.packets();
    r.bytes = s->stats.bytes();
    r.expected = s->stats.started() ? s->stats.expected() : 0;
    r.lost = s->stats.started() ? s->stats.cumulative_lost() : 0;
    r.keyframes = s->keyframes;
    r.rtx_packets = s->rtx_packets;
    r.jitter_ms = s->clock_rate ? s->stats.jitter() * 1000.0 / s->clock_rate : 0;
    if (s->first_keyframe_us >= 0 && s->answered_us >= 0) {
      r.time_to_first_keyframe_ms =
          static_cast<double>(s->first_keyframe_us - s->answered_us) / 1000.0;
    }
    out->push_back(std::move(r));
  }
}

}  // namespace sb::bench
