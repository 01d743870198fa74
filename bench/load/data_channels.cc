#include "bench/load/data_channels.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/log.h"

namespace sb::bench {
namespace {

// How often due chat messages and file bytes go out: a browser app's timers and
// bufferedamountlow events run at about this granularity.
constexpr uint64_t kTickMs = 10;
// A loop late by more than this many chat messages skips them rather than bursting.
constexpr uint64_t kMaxChatCatchUp = 100;
// The file channel keeps at most this much in the SCTP send buffer and resumes when it falls
// to the low mark (bufferedAmount / bufferedAmountLowThreshold as file-transfer apps use them;
// 256 KiB is a quarter of the association's 1 MiB buffer, so chat always finds room).
constexpr size_t kFileBufferHigh = 256 * 1024;
constexpr size_t kFileBufferLow = 128 * 1024;
}  // namespace

DataChannels::DataChannels(uv_loop_t* loop, const DataOptions& options, std::string name,
                           GeneratorStats* stats, SendPacket send)
    : loop_(loop),
      options_(options),
      name_(std::move(name)),
      stats_(stats),
      send_(std::move(send)) {}

DataChannels::~DataChannels() {
  timer_.reset();
  sctp_.reset();
}

absl::Status DataChannels::Start(size_t remote_max_message_size) {
  if (sctp_) return absl::OkStatus();
  transport::SctpOptions o;
  o.dtls_client = true;  // we are the DTLS client: even stream ids (RFC 8832 6)
  o.remote_max_message_size = remote_max_message_size;
  auto sctp = transport::SctpAssociation::Create(loop_, this, o);
  if (!sctp.ok()) return sctp.status();
  sctp_ = *std::move(sctp);
  return sctp_->Connect();
}

void DataChannels::StopSending() {
  sending_ = false;
  timer_.reset();
}

void DataChannels::Close() {
  closing_ = true;
  StopSending();
  if (sctp_) sctp_->Close();
}

void DataChannels::OnSctpStateChange(transport::SctpState state, const std::string& reason) {
  if (state == transport::SctpState::kFailed ||
      (state == transport::SctpState::kClosed && !closing_)) {
    ++stats_->data_sctp_failures;
    SB_LOG_WARN("load", "{}: SCTP association {}: {}", name_, transport::SctpStateName(state),
                reason);
    StopSending();
    return;
  }
  if (state != transport::SctpState::kConnected) return;
  OpenOwn(kChatLabel, &chat_);
  if (options_.file()) OpenOwn(kFileLabel, &file_);
  sending_ = true;
  sending_since_us_ = NowUs();
  file_allowance_us_ = sending_since_us_;
  timer_ = std::make_unique<UvTimer>(loop_, [this] { OnTick(); });
  timer_->Start(kTickMs, kTickMs);
}

void DataChannels::OpenOwn(const char* label, std::optional<OwnChannel>* out) {
  transport::DataChannelParams params;
  params.label = label;  // reliable and ordered, protocol "": to the whole room
  auto id = sctp_->OpenChannel(params);
  if (!id.ok()) {
    ++stats_->data_sctp_failures;
    SB_LOG_WARN("load", "{}: cannot open the {} channel: {}", name_, label,
                std::string(id.status().message()));
    return;
  }
  OwnChannel c;
  c.label = label;
  c.stream_id = *id;
  *out = std::move(c);
  sctp_->SetBufferedAmountLowThreshold(*id, kFileBufferLow);
}

void DataChannels::OnDataChannelOpen(const transport::DataChannelInfo& info) {
  if (!info.opened_by_peer) {
    for (auto* c : {&chat_, &file_}) {
      if (*c && (*c)->stream_id == info.stream_id) (*c)->acked = true;
    }
    return;
  }
  PeerChannel& p = peers_[info.stream_id];
  p = PeerChannel{};
  p.report.receiver = name_;
  p.report.sender = info.protocol;
  p.report.label = info.label;
}

void DataChannels::OnDataChannelMessage(uint16_t stream_id, uint32_t ppid,
                                        absl::Span<const uint8_t> data) {
  auto it = peers_.find(stream_id);
  if (it == peers_.end()) {
    ++stats_->data_unknown_messages;
    return;
  }
  PeerChannel& p = it->second;
  DataFlowReport& r = p.report;
  ++r.messages;
  r.bytes += data.size();
  std::optional<DataMessageHeader> h;
  const bool chat = r.label == kChatLabel;
  if (chat && ppid == transport::kPpidString) {
    h = CheckChatMessage(std::string_view(reinterpret_cast<const char*>(data.data()), data.size()));
  } else if (r.label == kFileLabel && ppid == transport::kPpidBinary) {
    h = CheckFileMessage(data);
  }
  if (!h) {
    ++r.corrupt;
    return;
  }
  // Reliable ordered channels: each message is the one after the last. The first one may be
  // any (the sender may have sent before the server opened this channel to us).
  if (p.next_seq && h->seq != *p.next_seq) ++r.sequence_errors;
  p.next_seq = h->seq + 1;
  if (counting_from_us_ < 0 || h->send_us < counting_from_us_) return;
  ++r.counted_messages;
  r.counted_bytes += data.size();
  (chat ? stats_->chat_latency : stats_->file_latency).Add(NowUs() - h->send_us);
}

void DataChannels::OnDataChannelClosed(uint16_t stream_id) {
  auto it = peers_.find(stream_id);
  if (it == peers_.end()) {
    for (auto* c : {&chat_, &file_}) {
      if (*c && (*c)->stream_id == stream_id) {
        ++stats_->data_sctp_failures;
        SB_LOG_WARN("load", "{}: the server closed our {} channel", name_, (*c)->label);
        c->reset();
      }
    }
    return;
  }
  it->second.report.closed = true;
  closed_peers_.push_back(std::move(it->second.report));
  peers_.erase(it);
}

void DataChannels::OnClosedByServer(const std::string& from, const std::string& label,
                                    const std::string& reason) {
  ++stats_->data_channels_closed_by_server;
  SB_LOG_WARN("load", "{}: the server closed {}'s {} channel to us: {}", name_, from, label,
              reason);
  for (auto& [id, p] : peers_) {
    if (p.report.sender == from && p.report.label == label) p.report.closed_reason = reason;
  }
  for (DataFlowReport& r : closed_peers_) {
    if (r.sender == from && r.label == label) r.closed_reason = reason;
  }
}

void DataChannels::OnBufferedAmountLow(uint16_t stream_id) {
  if (file_ && file_->stream_id == stream_id && sending_) SendFile(NowUs());
}

void DataChannels::OnSctpSendBufferAvailable() {
  buffer_full_ = false;
  if (sending_) OnTick();
}

bool DataChannels::Ready(size_t peer_channels) const {
  return connected() && chat_ && chat_->acked && (!options_.file() || (file_ && file_->acked)) &&
         open_peer_channels() >= peer_channels;
}

size_t DataChannels::open_peer_channels() const { return peers_.size(); }

const DataSentCounts& DataChannels::sent(const std::string& label) const {
  static const DataSentCounts kNone;
  const std::optional<OwnChannel>& c = label == kChatLabel ? chat_ : file_;
  return c ? c->counts : kNone;
}

void DataChannels::AppendReports(std::vector<DataFlowReport>* out) const {
  for (const auto& [id, p] : peers_) out->push_back(p.report);
  out->insert(out->end(), closed_peers_.begin(), closed_peers_.end());
}

void DataChannels::OnTick() {
  if (!sending_ || buffer_full_) return;
  const int64_t now = NowUs();
  SendChat(now);
  SendFile(now);
}

void DataChannels::SendChat(int64_t now_us) {
  if (!chat_ || options_.chat_rate <= 0) return;
  const uint64_t due = static_cast<uint64_t>(static_cast<double>(now_us - sending_since_us_) *
                                             options_.chat_rate / 1e6);
  // Slots skipped by a stalled loop are not sent (the sequence numbers stay consecutive).
  if (due > chat_slots_ + kMaxChatCatchUp) {
    stats_->chat_messages_skipped += due - kMaxChatCatchUp - chat_slots_;
    chat_slots_ = due - kMaxChatCatchUp;
  }
  while (chat_ && chat_slots_ < due && !buffer_full_) {
    const std::string text = BuildChatMessage(chat_->next_seq, now_us);
    if (!SendOn(
            *chat_, transport::kPpidString,
            absl::Span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size()),
            now_us)) {
      return;
    }
    ++chat_slots_;
  }
}

void DataChannels::SendFile(int64_t now_us) {
  if (!file_ || !sending_) return;
  if (options_.file_kbps > 0) {
    file_allowance_ += static_cast<double>(now_us - file_allowance_us_) * options_.file_kbps / 8e3;
    file_allowance_ = std::min(file_allowance_, static_cast<double>(2 * kFileMaxBytes));
  }
  file_allowance_us_ = now_us;
  while (file_ && !buffer_full_ && sctp_->buffered_amount(file_->stream_id) < kFileBufferHigh) {
    if (options_.file_bytes > 0 && file_->counts.bytes >= options_.file_bytes) return;
    const size_t size = FileMessageSize(file_->next_seq);
    if (options_.file_kbps > 0 && file_allowance_ < static_cast<double>(size)) return;
    BuildFileMessage(file_->next_seq, now_us, &file_buffer_);
    if (!SendOn(*file_, transport::kPpidBinary, file_buffer_, now_us)) return;
    if (options_.file_kbps > 0) file_allowance_ -= static_cast<double>(size);
  }
}

bool DataChannels::SendOn(OwnChannel& c, uint32_t ppid, absl::Span<const uint8_t> data,
                          int64_t now_us) {
  absl::Status s = sctp_->Send(c.stream_id, ppid, data);
  if (absl::IsResourceExhausted(s)) {
    ++c.counts.refused;
    buffer_full_ = true;
    return false;
  }
  if (!s.ok()) {
    ++stats_->data_sctp_failures;
    SB_LOG_WARN("load", "{}: send on {} failed: {}", name_, c.label, std::string(s.message()));
    StopSending();
    return false;
  }
  ++c.next_seq;
  ++c.counts.messages;
  c.counts.bytes += data.size();
  if (counting_from_us_ >= 0 && now_us >= counting_from_us_) {
    ++c.counts.counted_messages;
    c.counts.counted_bytes += data.size();
  }
  return true;
}

}  // namespace sb::bench
