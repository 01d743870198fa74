// SctpAssociation, sending side: opening and closing channels, messages, stream resets and
// the buffered amounts (the receiving side is sctp_association.cc).
#include <arpa/inet.h>
#include <usrsctp.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "base/log.h"
#include "transport/sctp_association.h"

namespace sb::transport {

namespace {

// Not in usrsctp.h but handled by usrsctp_getsockopt (netinet/sctp.h and netinet/sctp_uio.h
// of usrsctp 0.9.5): the bytes in an association's send queues, chunk headers included.
constexpr int kSctpGetSndbufUse = 0x00001101;
struct SctpSockstat {
  sctp_assoc_t ss_assoc_id;
  uint32_t ss_total_sndbuf;
  uint32_t ss_total_recv_buf;
};

// The one byte an empty message carries (RFC 8831 6.6).
constexpr uint8_t kEmptyMessageByte = 0;

}  // namespace

size_t SctpAssociation::max_send_message_size() const {
  size_t limit = options_.send_buffer_size;
  if (options_.remote_max_message_size != 0) {
    limit = std::min(limit, options_.remote_max_message_size);
  }
  return limit;
}

std::optional<uint16_t> SctpAssociation::PickStreamId() const {
  for (uint32_t id = options_.dtls_client ? 0 : 1; id < outbound_streams_; id += 2) {
    if (!channels_.contains(static_cast<uint16_t>(id)) &&
        !silent_resets_.contains(static_cast<uint16_t>(id))) {
      return static_cast<uint16_t>(id);
    }
  }
  return std::nullopt;
}

absl::StatusOr<uint16_t> SctpAssociation::OpenChannel(const DataChannelParams& params) {
  if (state_ != SctpState::kConnected) {
    return absl::FailedPreconditionError(
        absl::StrCat("sctp: cannot open a channel in state ", SctpStateName(state_)));
  }
  if (params.reliability.max_retransmits && params.reliability.max_packet_life_time_ms) {
    return absl::InvalidArgumentError(
        "sctp: a channel has maxRetransmits or maxPacketLifeTime, not both (RFC 8831 6.1)");
  }
  if (params.negotiated && !params.stream_id) {
    return absl::InvalidArgumentError("sctp: a negotiated channel needs its stream id");
  }
  std::optional<uint16_t> id = params.stream_id ? params.stream_id : PickStreamId();
  if (!id) return absl::ResourceExhaustedError("sctp: no free stream id");
  const uint16_t stream_id = *id;
  if (stream_id >= outbound_streams_) {
    return absl::InvalidArgumentError(absl::StrCat("sctp: stream id ", stream_id, " is beyond the ",
                                                   outbound_streams_,
                                                   " streams of the association"));
  }
  if (channels_.contains(stream_id) || silent_resets_.contains(stream_id)) {
    return absl::AlreadyExistsError(absl::StrCat("sctp: stream ", stream_id, " is in use"));
  }
  if (!params.negotiated && !OurParity(stream_id)) {
    return absl::InvalidArgumentError(
        absl::StrCat("sctp: stream ", stream_id, " has the peer's parity (RFC 8832 6: the DTLS ",
                     options_.dtls_client ? "client uses even" : "server uses odd", " ids)"));
  }
  Channel ch;
  ch.info.stream_id = stream_id;
  ch.info.label = params.label;
  ch.info.protocol = params.protocol;
  ch.info.reliability = params.reliability;
  ch.info.priority = params.priority;
  if (!params.negotiated) {
    auto open = BuildDcepOpen(
        DcepOpenFor(params.reliability, params.priority, params.label, params.protocol));
    if (!open.ok()) return open.status();
    if (int err = SendRaw(stream_id, kPpidDcep, false, {}, *open); err != 0) {
      if (err == EWOULDBLOCK || err == EAGAIN) {
        ++stats_.sends_refused_buffer_full;
        refused_bytes_ = std::max(refused_bytes_.value_or(0), open->size());
        return absl::ResourceExhaustedError("sctp: send buffer full");
      }
      return absl::InternalError(absl::StrCat("sctp: DATA_CHANNEL_OPEN: ", strerror(err)));
    }
    ch.awaiting_ack = true;
  }
  channels_.emplace(stream_id, std::move(ch));
  buffered_total_ = QuerySendBuffer();
  return stream_id;
}

absl::Status SctpAssociation::CloseChannel(uint16_t stream_id) {
  auto it = channels_.find(stream_id);
  if (it == channels_.end()) {
    return absl::NotFoundError(absl::StrCat("sctp: no channel on stream ", stream_id));
  }
  if (it->second.state == ChannelState::kClosing) return absl::OkStatus();
  it->second.state = ChannelState::kClosing;
  ResetStream(stream_id);
  FlushStreamResets();
  return absl::OkStatus();
}

absl::Status SctpAssociation::Send(uint16_t stream_id, uint32_t ppid,
                                   absl::Span<const uint8_t> data) {
  if (state_ != SctpState::kConnected) {
    return absl::FailedPreconditionError(
        absl::StrCat("sctp: cannot send in state ", SctpStateName(state_)));
  }
  auto it = channels_.find(stream_id);
  if (it == channels_.end() || it->second.state != ChannelState::kOpen) {
    return absl::FailedPreconditionError(
        absl::StrCat("sctp: no open channel on stream ", stream_id));
  }
  if (ppid != kPpidString && ppid != kPpidBinary) {
    return absl::InvalidArgumentError(
        absl::StrCat("sctp: PPID ", ppid, " is not a WebRTC string (51) or binary (53) one"));
  }
  const size_t limit = max_send_message_size();
  if (data.size() > limit) {
    ++stats_.sends_refused_too_large;
    return absl::InvalidArgumentError(
        absl::StrCat("sctp: a message of ", data.size(), " bytes exceeds the limit of ", limit,
                     " bytes (the peer's max-message-size ", options_.remote_max_message_size,
                     ", our send buffer ", options_.send_buffer_size, ")"));
  }
  Channel& ch = it->second;
  absl::Span<const uint8_t> payload = data;
  if (data.empty()) {
    ppid = ppid == kPpidString ? kPpidStringEmpty : kPpidBinaryEmpty;
    payload = absl::Span<const uint8_t>(&kEmptyMessageByte, 1);
  }
  // Until the peer acknowledges our OPEN, messages go ordered so none overtakes it (RFC 8832 6).
  const bool unordered = !ch.info.reliability.ordered && !ch.awaiting_ack;
  const int err = SendRaw(stream_id, ppid, unordered, ch.info.reliability, payload);
  if (err == EWOULDBLOCK || err == EAGAIN) {
    ++stats_.sends_refused_buffer_full;
    refused_bytes_ = std::max(refused_bytes_.value_or(0), payload.size());
    return absl::ResourceExhaustedError(
        absl::StrCat("sctp: send buffer full (", buffered_total_, " of ", options_.send_buffer_size,
                     " bytes): wait for OnSctpSendBufferAvailable"));
  }
  if (err == EMSGSIZE) {
    ++stats_.sends_refused_too_large;
    return absl::InvalidArgumentError(
        absl::StrCat("sctp: a message of ", data.size(), " bytes is too large to send"));
  }
  if (err != 0) return absl::InternalError(absl::StrCat("sctp: send: ", strerror(err)));
  ++stats_.messages_sent;
  stats_.bytes_sent += data.size();
  buffered_total_ = QuerySendBuffer();
  return absl::OkStatus();
}

int SctpAssociation::SendRaw(uint16_t stream_id, uint32_t ppid, bool unordered,
                             const DataChannelReliability& reliability,
                             absl::Span<const uint8_t> data) {
  if (socket_ == nullptr) return ENOTCONN;
  sctp_sendv_spa spa{};
  spa.sendv_flags = SCTP_SEND_SNDINFO_VALID;
  spa.sendv_sndinfo.snd_sid = stream_id;
  spa.sendv_sndinfo.snd_ppid = htonl(ppid);
  spa.sendv_sndinfo.snd_flags = SCTP_EOR | (unordered ? SCTP_UNORDERED : 0);
  // Partial reliability (RFC 3758) per message, as the channel asks (RFC 8831 6.1).
  if (reliability.max_retransmits) {
    spa.sendv_flags |= SCTP_SEND_PRINFO_VALID;
    spa.sendv_prinfo.pr_policy = SCTP_PR_SCTP_RTX;
    spa.sendv_prinfo.pr_value = *reliability.max_retransmits;
  } else if (reliability.max_packet_life_time_ms) {
    spa.sendv_flags |= SCTP_SEND_PRINFO_VALID;
    spa.sendv_prinfo.pr_policy = SCTP_PR_SCTP_TTL;
    spa.sendv_prinfo.pr_value = *reliability.max_packet_life_time_ms;
  }
  ssize_t n;
  {
    ++call_depth_;
    n = usrsctp_sendv(socket_, data.data(), data.size(), nullptr, 0, &spa, sizeof(spa),
                      SCTP_SENDV_SPA, 0);
    --call_depth_;
  }
  const int err = n < 0 ? errno : 0;
  // Whatever usrsctp signalled meanwhile is read on the next timer tick, not from inside the
  // caller's Send.
  if (pending_ && !draining_) UsrsctpRuntime::MarkPending(address_);
  if (err != 0) return err;
  auto it = channels_.find(stream_id);
  if (it != channels_.end()) it->second.buffered += data.size();
  sent_order_.push_back({stream_id, data.size()});
  sent_order_bytes_ += data.size();
  return 0;
}

void SctpAssociation::ResetStream(uint16_t stream_id) {
  if (std::find(resets_pending_.begin(), resets_pending_.end(), stream_id) ==
      resets_pending_.end()) {
    resets_pending_.push_back(stream_id);
  }
}

void SctpAssociation::FlushStreamResets() {
  if (resets_pending_.empty() || socket_ == nullptr || state_ != SctpState::kConnected) return;
  const size_t len = sizeof(sctp_reset_streams) + resets_pending_.size() * sizeof(uint16_t);
  std::vector<uint8_t> storage(len);
  auto* request = reinterpret_cast<sctp_reset_streams*>(storage.data());
  request->srs_assoc_id = SCTP_ALL_ASSOC;
  request->srs_flags = SCTP_STREAM_RESET_OUTGOING;
  request->srs_number_streams = static_cast<uint16_t>(resets_pending_.size());
  std::memcpy(request->srs_stream_list, resets_pending_.data(),
              resets_pending_.size() * sizeof(uint16_t));
  int rc;
  {
    ++call_depth_;
    rc = usrsctp_setsockopt(socket_, IPPROTO_SCTP, SCTP_RESET_STREAMS, request,
                            static_cast<socklen_t>(len));
    --call_depth_;
  }
  if (rc == 0) {
    resets_pending_.clear();
  } else if (errno != EALREADY && errno != EBUSY && errno != EINPROGRESS) {
    // Not a request in flight (tried again later) but a refusal: these streams stay as they are.
    SB_LOG_DEBUG("sctp", "stream reset refused: {}", strerror(errno));
    resets_pending_.clear();
  }
  if (pending_ && !draining_) UsrsctpRuntime::MarkPending(address_);
}

size_t SctpAssociation::QuerySendBuffer() const {
  if (socket_ == nullptr) return 0;
  SctpSockstat stat{};
  socklen_t len = sizeof(stat);
  if (usrsctp_getsockopt(socket_, IPPROTO_SCTP, kSctpGetSndbufUse, &stat, &len) != 0) return 0;
  return stat.ss_total_sndbuf;
}

bool SctpAssociation::UpdateBufferedAmounts() {
  if (socket_ == nullptr) return true;  // closed (perhaps by a listener call just now)
  const size_t total = QuerySendBuffer();
  buffered_total_ = total;
  // The buffer counts chunk headers the sent bytes do not: it drains to a little above our
  // figure, then to 0 (when everything goes).
  size_t drained =
      total == 0 ? sent_order_bytes_ : (sent_order_bytes_ > total ? sent_order_bytes_ - total : 0);
  std::vector<uint16_t> low;
  while (drained > 0 && !sent_order_.empty()) {
    SentBytes& front = sent_order_.front();
    const size_t take = std::min(drained, front.bytes);
    front.bytes -= take;
    drained -= take;
    sent_order_bytes_ -= take;
    auto it = channels_.find(front.stream_id);
    if (it != channels_.end()) {
      Channel& ch = it->second;
      const size_t before = ch.buffered;
      ch.buffered -= std::min(ch.buffered, take);
      if (before > ch.low_threshold && ch.buffered <= ch.low_threshold &&
          std::find(low.begin(), low.end(), front.stream_id) == low.end()) {
        low.push_back(front.stream_id);
      }
    }
    if (front.bytes == 0) sent_order_.pop_front();
  }
  std::weak_ptr<char> alive = alive_;
  for (uint16_t stream_id : low) {
    auto it = channels_.find(stream_id);
    if (it == channels_.end() || it->second.buffered > it->second.low_threshold) continue;
    listener_->OnBufferedAmountLow(stream_id);
    if (alive.expired()) return false;
  }
  if (refused_bytes_ && total <= options_.send_buffer_size / 2 &&
      total + *refused_bytes_ <= options_.send_buffer_size) {
    refused_bytes_.reset();
    listener_->OnSctpSendBufferAvailable();
    if (alive.expired()) return false;
  }
  return true;
}

size_t SctpAssociation::buffered_amount(uint16_t stream_id) const {
  auto it = channels_.find(stream_id);
  return it == channels_.end() ? 0 : it->second.buffered;
}

void SctpAssociation::SetBufferedAmountLowThreshold(uint16_t stream_id, size_t bytes) {
  auto it = channels_.find(stream_id);
  if (it != channels_.end()) it->second.low_threshold = bytes;
}

std::optional<DataChannelInfo> SctpAssociation::channel(uint16_t stream_id) const {
  auto it = channels_.find(stream_id);
  if (it == channels_.end()) return std::nullopt;
  return it->second.info;
}

}  // namespace sb::transport
