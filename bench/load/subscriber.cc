#include "bench/load/subscriber.h"

#include <openssl/rand.h>

#include <array>
#include <limits>
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
// Room for an immediate PLI's compound packet: an RR without report blocks and the PLI.
constexpr size_t kImmediatePliBytes = 8 + rtp::Pli::kSize;
// Latency above this is a clock or payload mismatch, not a measurement.
constexpr int64_t kMaxPlausibleLatencyUs = 10'000'000;

uint32_t RandomU32() {
  uint32_t v = 0;
  RAND_bytes(reinterpret_cast<uint8_t*>(&v), sizeof(v));
  return v | 1;
}

}  // namespace

Subscriber::Subscriber(uv_loop_t* loop, const transport::DtlsCertificate* certificate,
                       std::string name, GeneratorStats* stats, ReceiveGroupStats* group)
    : loop_(loop),
      certificate_(certificate),
      name_(std::move(name)),
      stats_(stats),
      group_(group),
      session_id_(RandomU32()),
      rtcp_ssrc_(RandomU32()) {
  std::vector<signaling::sdp::Fingerprint> fps;
  for (const auto& fp : certificate_->Fingerprints()) fps.push_back({fp.algorithm, fp.value});
  local_ = NewClientTransport(std::move(fps));
}

Subscriber::~Subscriber() { Stop(); }

void Subscriber::Stop() {
  if (stopped_us_ < 0) stopped_us_ = NowUs();
  rtcp_timer_.reset();
  feedback_timer_.reset();
  if (connection_) connection_->Close();
}

absl::StatusOr<std::string> Subscriber::OnOffer(const std::string& sdp,
                                                const nlohmann::json& streams) {
  auto offer = ParseSubscribeOffer(sdp);
  if (!offer.ok()) return offer.status();
  const int64_t now_us = NowUs();
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
  absl::flat_hash_map<std::string, bool> in_offer;
  for (const OfferedSection& m : offer->sections) {
    in_offer[m.mid] = true;
    auto current = by_mid_.find(m.mid);
    Stream* now = current == by_mid_.end() ? nullptr : current->second;
    if (!m.sending() || m.ssrc == 0) {
      // Inactive (port kept) or rejected (port 0): the track ended.
      if (now) EndStream(now, now_us);
      continue;
    }
    // The same track as before on this mid: nothing changes.
    if (now && now->ssrc == m.ssrc && now->track == m.msid_track) continue;
    // A reused mid: the stream it carried ended, another one starts.
    if (now) EndStream(now, now_us);
    auto s = std::make_unique<Stream>();
    s->mid = m.mid;
    s->video = m.media == "video";
    s->kind = s->video ? "video" : "audio";
    auto publisher = publisher_of.find(m.mid);
    s->publisher = publisher != publisher_of.end() ? publisher->second : m.msid_stream;
    s->track = m.msid_track;
    s->ssrc = m.ssrc;
    s->rtx_ssrc = m.rtx_ssrc;
    s->offered_us = now_us;
    for (const OfferedCodec& c : m.codecs) {
      if (c.name != "rtx" && c.name != "red" && c.name != "ulpfec") {
        s->clock_rate = c.clock_rate;
        break;
      }
    }
    // A stream that starts while counting counts from its first packet.
    s->count_armed = counting_from_us_ >= 0;
    by_mid_[s->mid] = s.get();
    by_ssrc_[s->ssrc] = s.get();
    if (s->rtx_ssrc) by_rtx_ssrc_[s->rtx_ssrc] = s.get();
    streams_.push_back(std::move(s));
  }
  // JSEP never removes an m-line; one missing from the offer carries nothing.
  std::vector<Stream*> gone;
  for (const auto& [mid, s] : by_mid_) {
    if (!in_offer.contains(mid)) gone.push_back(s);
  }
  for (Stream* s : gone) EndStream(s, now_us);

  // The answer mirrors the offer's extensions: what it offers is what we will have.
  if (TransportFeedbackOn()) feedback_.OnOffer(*offer);
  std::string answer = BuildSubscribeAnswer(*offer, local_, session_id_, ++version_);
  if (!connection_) {
    auto connection = MediaConnection::Create(loop_, certificate_, local_.ice_ufrag, this);
    if (!connection.ok()) return connection.status();
    connection_ = *std::move(connection);
    connection_->SetLocalPassword(local_.ice_pwd);
    if (TransportFeedbackOn() && KernelArrivalTimes()) connection_->EnableArrivalTimestamps();
  }
  if (!started_ && offer->candidate && !offer->ice_ufrag.empty()) {
    started_ = true;
    RemoteEndpoint remote;
    remote.address = *offer->candidate;
    remote.ice_ufrag = offer->ice_ufrag;
    remote.ice_pwd = offer->ice_pwd;
    for (const auto& fp : offer->fingerprints) {
      remote.fingerprints.push_back({fp.algorithm, fp.value});
    }
    connection_->Start(std::move(remote));
  }
  return answer;
}

void Subscriber::EndStream(Stream* s, int64_t now_us) {
  s->ended_us = now_us;
  if (auto it = by_mid_.find(s->mid); it != by_mid_.end() && it->second == s) by_mid_.erase(it);
  if (auto it = by_ssrc_.find(s->ssrc); it != by_ssrc_.end() && it->second == s) by_ssrc_.erase(it);
  if (auto it = by_rtx_ssrc_.find(s->rtx_ssrc); it != by_rtx_ssrc_.end() && it->second == s) {
    by_rtx_ssrc_.erase(it);
  }
}

void Subscriber::OnAnswerSent() {
  const int64_t now = NowUs();
  for (auto& s : streams_) {
    if (s->answered_us < 0 && s->ended_us < 0) s->answered_us = now;
  }
}

void Subscriber::StartCounting(int64_t window_start_us) {
  if (counting_from_us_ >= 0) return;
  counting_from_us_ = window_start_us;
  for (const auto& [mid, s] : by_mid_) {
    s->count_armed = true;
    s->count_threshold_us = window_start_us;
    s->expect_from_us = window_start_us;
  }
}

size_t Subscriber::live_streams() const {
  size_t n = 0;
  for (const auto& [mid, s] : by_mid_) n += s->stats.packets() > 0 ? 1 : 0;
  return n;
}

void Subscriber::OnMediaConnected() {
  rtcp_timer_ = std::make_unique<UvTimer>(loop_, [this] { OnTimer(); });
  rtcp_timer_->Start(kRtcpIntervalMs, kRtcpIntervalMs);
  if (TransportFeedbackOn()) {
    feedback_timer_ = std::make_unique<UvTimer>(loop_, [this] { SendTransportFeedback(); });
    feedback_timer_->Start(TransportFeedbackSender::kIntervalMs,
                           TransportFeedbackSender::kIntervalMs);
  }
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
  // Every packet the server numbered counts for its estimator, whatever stream it belongs to
  // (probes and padding included). At the kernel's arrival time: the one loop of all the
  // subscribers reads a burst that arrived over milliseconds at once when it is busy (an offer
  // to answer, many packets), and the server's estimator would take that lag for a queue
  // growing on the path, as the worker avoids for its publishers (router/transport.cc).
  if (feedback_.enabled()) {
    const int64_t arrival_us = KernelArrivalTimes() ? connection_->packet_arrival_us() : now_us;
    if (feedback_.OnPacket(absl::Span<const uint8_t>(data, len), arrival_us)) {
      ++stats_->transport_cc_packets;
      if (feedback_.due()) SendTransportFeedback();
    }
  }
  const uint32_t ssrc = rtp::ReadU32(data + 8);
  auto it = by_ssrc_.find(ssrc);
  if (it == by_ssrc_.end()) {
    if (auto rtx = by_rtx_ssrc_.find(ssrc); rtx != by_rtx_ssrc_.end()) {
      ++stats_->packets_received;
      stats_->bytes_received += len;
      ++rtx->second->rtx_packets;  // RFC 4588: a repair, not part of the stream's sequence
    } else {
      // No stream the offers announced: not something this subscriber receives.
      ++stats_->packets_unmatched;
      stats_->bytes_unmatched += len;
    }
    return false;
  }
  ++stats_->packets_received;
  stats_->bytes_received += len;
  Stream* s = it->second;
  if (s->first_packet_us < 0) s->first_packet_us = now_us;
  s->last_packet_us = now_us;
  s->stats.OnPacket(rtp::ReadU16(data + 2), rtp::ReadU32(data + 4), now_us / 1000, s->clock_rate,
                    len);
  if (s->counting) {
    ++s->counted;
  } else if (s->count_armed) {
    return true;  // decrypted: its send time says whether counting starts here (OnRtp)
  }
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
  const int64_t sent_us = PayloadSendTime(*s, payload);
  if (s->count_armed && !s->counting && sent_us >= 0 && sent_us >= s->count_threshold_us) {
    s->counting = true;
    s->counted = 1;
    if (s->expect_from_us < 0) s->expect_from_us = sent_us;
  }
  if (s->video) {
    const bool key = rtp::Vp8IsKeyFrame(payload);
    // libwebrtc (RtpVideoStreamReceiver2) asks for a key frame as soon as a frame arrives
    // before any key frame, since nothing can be decoded until one comes; a server that relies
    // on its subscribers for that (Janus when a renegotiation adds a stream) is then served as
    // browsers serve it.
    if (!key && s->first_keyframe_us < 0 && s->last_pli_us < 0) SendPli(s, now_us);
    if (key) {
      ++s->keyframes;
      if (s->first_keyframe_us < 0) {
        s->first_keyframe_us = now_us;
        if (s->answered_us >= 0) {
          const double ms = static_cast<double>(now_us - s->answered_us) / 1000.0;
          stats_->time_to_first_keyframe_ms.push_back(ms);
          if (group_) group_->time_to_first_keyframe_ms.push_back(ms);
        }
      }
    }
  }
  if (sent_us < 0) return;
  const int64_t latency = now_us - sent_us;
  if (latency < 0 || latency > kMaxPlausibleLatencyUs) {
    ++stats_->latency_outliers;
    return;
  }
  stats_->latency.Add(latency);
  if (group_) group_->latency.Add(latency);
}

int64_t Subscriber::PayloadSendTime(const Stream& s, absl::Span<const uint8_t> payload) {
  size_t offset = kAudioTimeOffset;
  if (s.video) {
    auto d = rtp::Vp8Descriptor::Parse(payload);
    if (!d) return -1;
    offset = d->size + kVideoTimeOffset;
  }
  if (payload.size() < offset + 8) return -1;
  const uint64_t t = rtp::ReadU64(payload.data() + offset);
  return t > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) ? -1
                                                                        : static_cast<int64_t>(t);
}

void Subscriber::OnRtcp(uint8_t* /*data*/, size_t /*len*/) {}

void Subscriber::SendPli(Stream* s, int64_t now_us) {
  if (!connection_ || !connection_->connected()) return;
  std::array<uint8_t, kImmediatePliBytes + MediaConnection::kSrtpRoom> buffer;
  // RFC 3550 6.1: a compound starts with a report, here an RR without blocks.
  rtp::ReceiverReport rr;
  rr.sender_ssrc = rtcp_ssrc_;
  size_t len = rr.Serialize(buffer.data(), kImmediatePliBytes);
  rtp::Pli pli;
  pli.sender_ssrc = rtcp_ssrc_;
  pli.media_ssrc = s->ssrc;
  len += pli.Serialize(buffer.data() + len, kImmediatePliBytes - len);
  s->last_pli_us = now_us;
  ++stats_->plis_sent;
  connection_->SendRtcp(buffer.data(), len, buffer.size());
}

void Subscriber::OnTimer() {
  if (!connection_ || !connection_->connected()) return;
  const int64_t now_us = NowUs();
  std::array<uint8_t, 1500 + MediaConnection::kSrtpRoom> buffer;
  size_t len = 0;
  // RFC 3550 6.1: a compound starts with a report; RR blocks for up to 31 sources at once.
  rtp::ReceiverReport rr;
  rr.sender_ssrc = rtcp_ssrc_;
  for (const auto& [mid, s] : by_mid_) {
    if (!s->stats.started()) continue;
    if (rr.report_blocks.size() == rtp::kMaxReportBlocks) break;
    rr.report_blocks.push_back(s->stats.MakeReportBlock(s->ssrc, now_us / 1000));
  }
  len += rr.Serialize(buffer.data(), 1200);
  ++stats_->rrs_sent;
  for (const auto& [mid, s] : by_mid_) {
    if (!s->video || s->first_keyframe_us >= 0 || s->answered_us < 0) continue;
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

void Subscriber::SendTransportFeedback() {
  if (!connection_ || !connection_->connected()) return;
  std::array<uint8_t, TransportFeedbackSender::kMaxPacketBytes + MediaConnection::kSrtpRoom> buffer;
  feedback_.Flush(rtcp_ssrc_, buffer.data(), [&](size_t len) {
    if (connection_->SendRtcp(buffer.data(), len, buffer.size())) {
      ++stats_->transport_feedbacks_sent;
    }
  });
}

void Subscriber::AppendReports(std::vector<StreamReport>* out) const {
  for (const auto& s : streams_) {
    StreamReport r;
    r.subscriber = name_;
    r.publisher = s->publisher;
    r.kind = s->kind;
    r.mid = s->mid;
    r.packets = s->stats.packets();
    r.bytes = s->stats.bytes();
    r.sequence_expected = s->stats.started() ? s->stats.expected() : 0;
    r.sequence_lost = s->stats.started() ? s->stats.cumulative_lost() : 0;
    r.counted = s->counted;
    r.expect_from_us = s->expect_from_us;
    r.last_packet_us = s->last_packet_us;
    r.subscriber_stopped_us = stopped_us_;
    r.keyframes = s->keyframes;
    r.rtx_packets = s->rtx_packets;
    r.jitter_ms = s->clock_rate ? s->stats.jitter() * 1000.0 / s->clock_rate : 0;
    if (s->first_keyframe_us >= 0 && s->answered_us >= 0) {
      r.time_to_first_keyframe_ms =
          static_cast<double>(s->first_keyframe_us - s->answered_us) / 1000.0;
    }
    r.offered_us = s->offered_us;
    r.first_packet_us = s->first_packet_us;
    r.first_keyframe_us = s->first_keyframe_us;
    r.ended_us = s->ended_us;
    out->push_back(std::move(r));
  }
}

}  // namespace sb::bench
