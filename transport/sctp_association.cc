#include "transport/sctp_association.h"

#include <arpa/inet.h>
#include <usrsctp.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "base/log.h"

namespace sb::transport {

namespace {

// One read from usrsctp; a longer message arrives in pieces and is gathered (Drain).
constexpr size_t kReadChunk = size_t{64} * 1024;
// SCTP common header (RFC 9260 3.1): ports, verification tag, checksum.
constexpr size_t kSctpCommonHeaderSize = 12;
// Retransmission timeouts. Initial: RFC 6298's 1 s. Max: usrsctp's default (60 s) is far too
// long for an interactive channel to notice a dead path; 10 s. Min: 400 ms, below usrsctp's
// 1 s, so a loss recovers in well under a second on a short path.
constexpr uint32_t kRtoInitialMs = 1000;
constexpr uint32_t kRtoMaxMs = 10000;
constexpr uint32_t kRtoMinMs = 400;
// Notifications we act on.
constexpr uint16_t kEvents[] = {SCTP_ASSOC_CHANGE, SCTP_STREAM_RESET_EVENT,
                                SCTP_PARTIAL_DELIVERY_EVENT, SCTP_SHUTDOWN_EVENT};

// Counts a usrsctp call of ours, so the upcall knows whether its caller reads the socket next.
class CallScope {
 public:
  explicit CallScope(int& depth) : depth_(depth) { ++depth_; }
  ~CallScope() { --depth_; }

 private:
  int& depth_;
};

template <typename T>
absl::Status SetOption(struct socket* s, int level, int name, const T& value, const char* what) {
  if (usrsctp_setsockopt(s, level, name, &value, sizeof(value)) != 0) {
    return absl::InternalError(absl::StrCat("sctp: setsockopt ", what, ": ", strerror(errno)));
  }
  return absl::OkStatus();
}

}  // namespace

const char* SctpStateName(SctpState state) {
  switch (state) {
    case SctpState::kNew:
      return "new";
    case SctpState::kConnecting:
      return "connecting";
    case SctpState::kConnected:
      return "connected";
    case SctpState::kFailed:
      return "failed";
    case SctpState::kClosed:
      return "closed";
  }
  return "?";
}

absl::StatusOr<std::unique_ptr<SctpAssociation>> SctpAssociation::Create(
    uv_loop_t* loop, Listener* listener, const SctpOptions& options) {
  if (options.max_message_size == 0 || options.send_buffer_size == 0 || options.max_streams == 0) {
    return absl::InvalidArgumentError("sctp: max_message_size, buffers and streams must be set");
  }
  std::unique_ptr<SctpAssociation> a(new SctpAssociation(loop, listener, options));
  if (auto status = a->Init(); !status.ok()) return status;
  return a;
}

SctpAssociation::SctpAssociation(uv_loop_t* loop, Listener* listener, const SctpOptions& options)
    : loop_(loop), listener_(listener), options_(options) {}

absl::Status SctpAssociation::Init() {
  address_ = UsrsctpRuntime::Register(loop_, this);
  socket_ = usrsctp_socket(AF_CONN, SOCK_STREAM, IPPROTO_SCTP, nullptr, nullptr, 0, nullptr);
  if (socket_ == nullptr) {
    return absl::InternalError(absl::StrCat("sctp: usrsctp_socket: ", strerror(errno)));
  }
  usrsctp_set_upcall(socket_, &SctpAssociation::OnUpcall, this);
  if (usrsctp_set_non_blocking(socket_, 1) != 0) {
    return absl::InternalError(absl::StrCat("sctp: non-blocking: ", strerror(errno)));
  }
  const int sndbuf = static_cast<int>(options_.send_buffer_size);
  const int rcvbuf = static_cast<int>(options_.receive_buffer_size);
  const int on = 1;
  sctp_assoc_value reset{SCTP_FUTURE_ASSOC, SCTP_ENABLE_RESET_STREAM_REQ};
  sctp_initmsg init{};
  init.sinit_num_ostreams = options_.max_streams;
  init.sinit_max_instreams = options_.max_streams;
  sctp_rtoinfo rto{};
  rto.srto_assoc_id = SCTP_FUTURE_ASSOC;
  rto.srto_initial = kRtoInitialMs;
  rto.srto_max = kRtoMaxMs;
  rto.srto_min = kRtoMinMs;
  // DTLS carries our packets: no path MTU discovery below it, a fixed size that fits a record.
  sctp_paddrparams paddr{};
  paddr.spp_assoc_id = SCTP_FUTURE_ASSOC;
  paddr.spp_flags = SPP_PMTUD_DISABLE;
  // For AF_CONN usrsctp leaves the common header out of the path MTU (measured with 0.9.5: a
  // path MTU of 1200 gives packets of 1212 bytes).
  paddr.spp_pathmtu = static_cast<uint32_t>(kSctpMtu - kSctpCommonHeaderSize);
  for (auto status :
       {SetOption(socket_, SOL_SOCKET, SO_SNDBUF, sndbuf, "SO_SNDBUF"),
        SetOption(socket_, SOL_SOCKET, SO_RCVBUF, rcvbuf, "SO_RCVBUF"),
        SetOption(socket_, IPPROTO_SCTP, SCTP_NODELAY, on, "SCTP_NODELAY"),
        SetOption(socket_, IPPROTO_SCTP, SCTP_RECVRCVINFO, on, "SCTP_RECVRCVINFO"),
        SetOption(socket_, IPPROTO_SCTP, SCTP_ENABLE_STREAM_RESET, reset,
                  "SCTP_ENABLE_STREAM_RESET"),
        SetOption(socket_, IPPROTO_SCTP, SCTP_INITMSG, init, "SCTP_INITMSG"),
        SetOption(socket_, IPPROTO_SCTP, SCTP_RTOINFO, rto, "SCTP_RTOINFO"),
        SetOption(socket_, IPPROTO_SCTP, SCTP_PEER_ADDR_PARAMS, paddr, "SCTP_PEER_ADDR_PARAMS")}) {
    if (!status.ok()) return status;
  }
  for (uint16_t type : kEvents) {
    sctp_event event{};
    event.se_assoc_id = SCTP_FUTURE_ASSOC;
    event.se_type = type;
    event.se_on = 1;
    if (auto status = SetOption(socket_, IPPROTO_SCTP, SCTP_EVENT, event, "SCTP_EVENT");
        !status.ok()) {
      return status;
    }
  }
  sockaddr_conn local{};
  local.sconn_family = AF_CONN;
  local.sconn_port = htons(options_.local_port);
  local.sconn_addr = reinterpret_cast<void*>(address_);
  if (usrsctp_bind(socket_, reinterpret_cast<sockaddr*>(&local), sizeof(local)) != 0) {
    return absl::InternalError(absl::StrCat("sctp: bind: ", strerror(errno)));
  }
  read_buffer_.resize(kReadChunk);
  return absl::OkStatus();
}

SctpAssociation::~SctpAssociation() {
  if (socket_ != nullptr) {
    silent_ = true;  // the ABORT usrsctp_close builds goes nowhere
    usrsctp_set_upcall(socket_, nullptr, nullptr);
    const linger abort_on_close{1, 0};
    usrsctp_setsockopt(socket_, SOL_SOCKET, SO_LINGER, &abort_on_close, sizeof(abort_on_close));
    usrsctp_close(socket_);
    socket_ = nullptr;
  }
  if (address_ != 0) UsrsctpRuntime::Unregister(address_);
}

void SctpAssociation::Close() {
  if (socket_ == nullptr) return;
  usrsctp_set_upcall(socket_, nullptr, nullptr);
  // Linger 0: usrsctp_close aborts (RFC 9260 9.1) instead of shutting down gracefully, which
  // would keep the association alive inside usrsctp after the socket is gone.
  const linger abort_on_close{1, 0};
  usrsctp_setsockopt(socket_, SOL_SOCKET, SO_LINGER, &abort_on_close, sizeof(abort_on_close));
  {
    CallScope scope(call_depth_);
    usrsctp_close(socket_);
  }
  socket_ = nullptr;
  silent_ = true;
  state_ = SctpState::kClosed;
  channels_.clear();
}

absl::Status SctpAssociation::Connect() {
  if (socket_ == nullptr || state_ != SctpState::kNew) {
    return absl::FailedPreconditionError(
        absl::StrCat("sctp: connect in state ", SctpStateName(state_)));
  }
  sockaddr_conn remote{};
  remote.sconn_family = AF_CONN;
  remote.sconn_port = htons(options_.remote_port);
  remote.sconn_addr = reinterpret_cast<void*>(address_);
  state_ = SctpState::kConnecting;
  int rc;
  {
    CallScope scope(call_depth_);
    rc = usrsctp_connect(socket_, reinterpret_cast<sockaddr*>(&remote), sizeof(remote));
  }
  if (rc != 0 && errno != EINPROGRESS) {
    state_ = SctpState::kFailed;
    return absl::InternalError(absl::StrCat("sctp: connect: ", strerror(errno)));
  }
  if (pending_) UsrsctpRuntime::MarkPending(address_);
  return absl::OkStatus();
}

void SctpAssociation::ProcessSctpPacket(const uint8_t* data, size_t len) {
  if (socket_ == nullptr) return;
  ++stats_.packets_received;
  if (len < kSctpCommonHeaderSize) {
    ++stats_.packets_invalid;
    return;
  }
  ::sctpstat before;
  usrsctp_get_stat(&before);
  {
    CallScope scope(call_depth_);
    usrsctp_conninput(reinterpret_cast<void*>(address_), data, len, 0);
  }
  CountUsrsctpDrops(before);
  // Read what arrived; and with data outstanding a SACK may have drained the send buffer.
  if (pending_ || sent_order_bytes_ > 0 || refused_bytes_) Drain();
}

void SctpAssociation::CountUsrsctpDrops(const ::sctpstat& before) {
  ::sctpstat after;
  usrsctp_get_stat(&after);
  stats_.packets_invalid += (after.sctps_hdrops - before.sctps_hdrops) +
                            (after.sctps_badsum - before.sctps_badsum) +
                            (after.sctps_badvtag - before.sctps_badvtag) +
                            (after.sctps_outoftheblue - before.sctps_outoftheblue);
}

void SctpAssociation::OnUsrsctpOutput(const uint8_t* data, size_t len) {
  if (silent_) return;
  ++stats_.packets_sent;
  listener_->SendSctpPacket(data, len);
}

void SctpAssociation::OnUsrsctpPending() {
  if (pending_ && socket_ != nullptr) Drain();
}

void SctpAssociation::ResumeReceiving() {
  if (!receive_paused_) return;
  receive_paused_ = false;
  // What waited is read from the loop (UsrsctpRuntime), not from inside our caller.
  if (socket_ != nullptr) {
    pending_ = true;
    UsrsctpRuntime::MarkPending(address_);
  }
}

void SctpAssociation::OnUpcall(struct socket* /*sock*/, void* arg, int /*flags*/) {
  auto* self = static_cast<SctpAssociation*>(arg);
  if (self->pending_) return;
  self->pending_ = true;
  // Nobody of ours is inside usrsctp: usrsctp's timers signalled us; read after they ran.
  if (self->call_depth_ == 0 && !self->draining_) UsrsctpRuntime::MarkPending(self->address_);
}

bool SctpAssociation::Drain() {
  if (draining_) return true;  // the outer Drain reads what arrived meanwhile
  draining_ = true;
  std::weak_ptr<char> alive = alive_;
  do {
    pending_ = false;
    while (socket_ != nullptr && !receive_paused_) {
      sctp_rcvinfo info{};
      socklen_t info_len = sizeof(info);
      unsigned int info_type = SCTP_RECVV_NOINFO;
      int flags = 0;
      sockaddr_conn from{};
      socklen_t from_len = sizeof(from);
      ssize_t n;
      {
        CallScope scope(call_depth_);
        n = usrsctp_recvv(socket_, read_buffer_.data(), read_buffer_.size(),
                          reinterpret_cast<sockaddr*>(&from), &from_len, &info, &info_len,
                          &info_type, &flags);
      }
      if (n < 0) {
        if (errno != EWOULDBLOCK && errno != EAGAIN) {
          SB_LOG_DEBUG("sctp", "recvv: {}", strerror(errno));
        }
        break;
      }
      if (n == 0) break;  // no more: the association ended (reported by a notification)
      const auto size = static_cast<size_t>(n);
      const bool eor = (flags & MSG_EOR) != 0;
      bool ok;
      if (flags & MSG_NOTIFICATION) {
        // Notifications are small; one that does not fit a read is not one we use.
        ok = !eor || HandleNotification(read_buffer_.data(), size);
      } else if (info_type != SCTP_RECVV_RCVINFO) {
        SB_LOG_DEBUG("sctp", "data without receive info");
        ok = true;
      } else {
        ok = HandleData(info.rcv_sid, ntohl(info.rcv_ppid), size, eor);
      }
      if (!ok) return false;  // the listener destroyed us
    }
    FlushStreamResets();
    if (!UpdateBufferedAmounts()) return false;
  } while (pending_ && socket_ != nullptr && !receive_paused_);
  if (alive.expired()) return false;
  draining_ = false;
  return true;
}

bool SctpAssociation::HandleData(uint16_t stream_id, uint32_t ppid, size_t size, bool eor) {
  const absl::Span<const uint8_t> piece(read_buffer_.data(), size);
  if (!reassembly_stream_ && eor) {
    if (size > options_.max_message_size) {
      RefuseTooLarge(stream_id);
      return true;
    }
    return HandleMessage(stream_id, ppid, piece);
  }
  if (reassembly_stream_ && *reassembly_stream_ != stream_id) {
    // usrsctp does not interleave partial messages at its default fragment interleave level;
    // if it ever did, the first message is lost rather than mixed with the second.
    SB_LOG_DEBUG("sctp", "partial message on stream {} interrupted by stream {}",
                 *reassembly_stream_, stream_id);
    reassembly_ = {};
    reassembly_stream_.reset();
  }
  if (!reassembly_stream_) {
    reassembly_stream_ = stream_id;
    reassembly_ppid_ = ppid;
    reassembly_discarding_ = false;
  }
  if (!reassembly_discarding_) {
    if (reassembly_.size() + size > options_.max_message_size) {
      reassembly_discarding_ = true;
      reassembly_ = {};
      RefuseTooLarge(stream_id);
    } else {
      reassembly_.insert(reassembly_.end(), piece.begin(), piece.end());
    }
  }
  if (!eor) return true;
  const bool deliver = !reassembly_discarding_;
  std::vector<uint8_t> message = std::move(reassembly_);
  reassembly_ = {};
  reassembly_stream_.reset();
  reassembly_discarding_ = false;
  if (!deliver) return true;
  return HandleMessage(stream_id, reassembly_ppid_, message);
}

void SctpAssociation::RefuseTooLarge(uint16_t stream_id) {
  ++stats_.messages_too_large;
  SB_LOG_DEBUG("sctp", "message on stream {} exceeds our max-message-size {}: resetting", stream_id,
               options_.max_message_size);
  auto it = channels_.find(stream_id);
  if (it == channels_.end()) {
    silent_resets_.insert(stream_id);
    ResetStream(stream_id);
    return;
  }
  if (it->second.state != ChannelState::kClosing) {
    it->second.state = ChannelState::kClosing;
    ResetStream(stream_id);
  }
}

bool SctpAssociation::HandleNotification(const uint8_t* data, size_t len) {
  // The common header (struct sctp_tlv): type, flags, length.
  uint16_t type;
  uint32_t length;
  if (len < 8) return true;
  std::memcpy(&type, data, sizeof(type));
  std::memcpy(&length, data + 4, sizeof(length));
  if (length > len) return true;
  switch (type) {
    case SCTP_ASSOC_CHANGE:
      return HandleAssocChange(data, len);
    case SCTP_STREAM_RESET_EVENT:
      return HandleStreamReset(data, len);
    case SCTP_PARTIAL_DELIVERY_EVENT:
      // The message being gathered will not complete (e.g. abandoned by PR-SCTP).
      reassembly_ = {};
      reassembly_stream_.reset();
      reassembly_discarding_ = false;
      return true;
    case SCTP_SHUTDOWN_EVENT:
      return SetState(SctpState::kClosed, "the peer shut the association down");
    default:
      return true;
  }
}

bool SctpAssociation::HandleAssocChange(const uint8_t* data, size_t len) {
  sctp_assoc_change change;
  if (len < sizeof(change)) return true;
  std::memcpy(&change, data, sizeof(change));
  switch (change.sac_state) {
    case SCTP_COMM_UP:
      outbound_streams_ = change.sac_outbound_streams;
      inbound_streams_ = change.sac_inbound_streams;
      return SetState(SctpState::kConnected, "");
    case SCTP_COMM_LOST:
      return SetState(SctpState::kFailed,
                      "association lost (aborted by the peer, or it "
                      "stopped answering)");
    case SCTP_CANT_STR_ASSOC:
      return SetState(SctpState::kFailed, "association could not be established");
    case SCTP_SHUTDOWN_COMP:
      return SetState(SctpState::kClosed, "association shut down");
    case SCTP_RESTART:
      SB_LOG_DEBUG("sctp", "the peer restarted the association");  // the peer may repeat it
      return true;
    default:
      return true;
  }
}

bool SctpAssociation::HandleStreamReset(const uint8_t* data, size_t len) {
  sctp_stream_reset_event event;
  if (len < sizeof(event)) return true;
  std::memcpy(&event, data, sizeof(event));
  const size_t length = std::min<size_t>(event.strreset_length, len);
  const size_t count = length > sizeof(event) ? (length - sizeof(event)) / 2 : 0;
  std::vector<uint16_t> streams(count);
  std::memcpy(streams.data(), data + sizeof(event), count * 2);
  const uint16_t flags = event.strreset_flags;
  std::vector<uint16_t> closed;
  for (uint16_t stream_id : streams) {
    auto it = channels_.find(stream_id);
    if (it == channels_.end()) {
      silent_resets_.erase(stream_id);
      continue;
    }
    Channel& ch = it->second;
    if (flags & (SCTP_STREAM_RESET_DENIED | SCTP_STREAM_RESET_FAILED)) {
      // The peer refused to reset: the channel cannot be used any more either way.
      SB_LOG_DEBUG("sctp", "reset of stream {} refused by the peer", stream_id);
      ch.outgoing_reset = ch.incoming_reset = true;
    } else if (flags & SCTP_STREAM_RESET_INCOMING_SSN) {
      ch.incoming_reset = true;
      if (reassembly_stream_ == stream_id) {
        reassembly_ = {};
        reassembly_stream_.reset();
      }
      // The peer closed the channel: close our direction too (RFC 8831 6.7).
      if (ch.state != ChannelState::kClosing) {
        ch.state = ChannelState::kClosing;
        ResetStream(stream_id);
      }
    } else if (flags & SCTP_STREAM_RESET_OUTGOING_SSN) {
      ch.outgoing_reset = true;
    }
    if (ch.outgoing_reset && ch.incoming_reset) closed.push_back(stream_id);
  }
  std::weak_ptr<char> alive = alive_;
  for (uint16_t stream_id : closed) {
    channels_.erase(stream_id);
    // Bytes of the closed channel still in the buffer must not count against a channel that
    // reuses the id.
    for (SentBytes& sent : sent_order_) {
      if (sent.stream_id == stream_id) sent.stream_id = kNoStream;
    }
    listener_->OnDataChannelClosed(stream_id);
    if (alive.expired()) return false;
  }
  return true;
}

bool SctpAssociation::HandleMessage(uint16_t stream_id, uint32_t ppid,
                                    absl::Span<const uint8_t> data) {
  ++stats_.messages_received;
  stats_.bytes_received += data.size();
  if (ppid == kPpidDcep) return HandleDcep(stream_id, data);
  auto it = channels_.find(stream_id);
  if (it == channels_.end() || it->second.incoming_reset) {
    ++stats_.messages_unknown_stream;
    return true;
  }
  uint32_t delivered_ppid;
  switch (ppid) {
    case kPpidString:
    case kPpidBinary:
      delivered_ppid = ppid;
      break;
    case kPpidStringEmpty:
      delivered_ppid = kPpidString;
      data = {};
      break;
    case kPpidBinaryEmpty:
      delivered_ppid = kPpidBinary;
      data = {};
      break;
    default:
      ++stats_.messages_unknown_ppid;
      return true;
  }
  std::weak_ptr<char> alive = alive_;
  if (it->second.awaiting_ack) {
    // The peer sends on the stream only after taking our OPEN: its ACK may still be on the
    // way, the channel is open (libwebrtc treats it the same).
    it->second.awaiting_ack = false;
    listener_->OnDataChannelOpen(it->second.info);
    if (alive.expired()) return false;
  }
  listener_->OnDataChannelMessage(stream_id, delivered_ppid, data);
  return !alive.expired();
}

bool SctpAssociation::HandleDcep(uint16_t stream_id, absl::Span<const uint8_t> data) {
  auto type = DcepMessageType(data);
  if (!type.ok()) {
    ++stats_.dcep_malformed;
    SB_LOG_DEBUG("sctp", "stream {}: {}", stream_id, std::string(type.status().message()));
    return true;
  }
  std::weak_ptr<char> alive = alive_;
  if (*type == kDcepMessageAck) {
    if (auto status = ParseDcepAck(data); !status.ok()) {
      ++stats_.dcep_malformed;
      SB_LOG_DEBUG("sctp", "stream {}: {}", stream_id, std::string(status.message()));
      return true;
    }
    auto it = channels_.find(stream_id);
    if (it == channels_.end() || !it->second.awaiting_ack) {
      ++stats_.dcep_unexpected;
      return true;
    }
    it->second.awaiting_ack = false;
    listener_->OnDataChannelOpen(it->second.info);
    return !alive.expired();
  }
  auto open = ParseDcepOpen(data);
  if (!open.ok()) {
    ++stats_.dcep_malformed;
    SB_LOG_DEBUG("sctp", "stream {}: {}", stream_id, std::string(open.status().message()));
    // Refuse the channel by closing it (RFC 8832 6): the peer sees it close instead of waiting
    // for an ACK.
    if (!channels_.contains(stream_id) && stream_id < outbound_streams_) {
      silent_resets_.insert(stream_id);
      ResetStream(stream_id);
    }
    return true;
  }
  // An OPEN on a stream in use, or with our parity (the peer picks the other one), is refused
  // by closing the channel on that stream (RFC 8832 6), the one in use included.
  if (OurParity(stream_id) || channels_.contains(stream_id) || stream_id >= outbound_streams_) {
    ++stats_.dcep_unexpected;
    SB_LOG_DEBUG("sctp", "DATA_CHANNEL_OPEN on stream {} refused (in use or our parity)",
                 stream_id);
    if (stream_id >= outbound_streams_) return true;  // no stream of ours to reset
    auto it = channels_.find(stream_id);
    if (it == channels_.end()) {
      silent_resets_.insert(stream_id);
      ResetStream(stream_id);
    } else if (it->second.state != ChannelState::kClosing) {
      it->second.state = ChannelState::kClosing;
      ResetStream(stream_id);
    }
    return true;
  }
  Channel ch;
  ch.info.stream_id = stream_id;
  ch.info.label = std::string(open->label);
  ch.info.protocol = std::string(open->protocol);
  ch.info.reliability = ReliabilityOf(open->channel_type, open->reliability_parameter);
  ch.info.priority = open->priority;
  ch.info.opened_by_peer = true;
  const std::vector<uint8_t> ack = BuildDcepAck();
  if (int err = SendRaw(stream_id, kPpidDcep, false, {}, ack); err != 0) {
    SB_LOG_DEBUG("sctp", "stream {}: DATA_CHANNEL_ACK not sent: {}", stream_id, strerror(err));
  }
  const DataChannelInfo info = ch.info;
  channels_.emplace(stream_id, std::move(ch));
  listener_->OnDataChannelOpen(info);
  return !alive.expired();
}

bool SctpAssociation::SetState(SctpState state, const std::string& reason) {
  if (state == state_) return true;
  // Closed and failed are final: a late notification does not revive the association.
  if (state_ == SctpState::kFailed || state_ == SctpState::kClosed) return true;
  state_ = state;
  if (!reason.empty()) SB_LOG_DEBUG("sctp", "{}: {}", SctpStateName(state), reason);
  std::weak_ptr<char> alive = alive_;
  listener_->OnSctpStateChange(state, reason);
  return !alive.expired();
}

}  // namespace sb::transport
