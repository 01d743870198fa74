// One SCTP association for WebRTC data channels (RFC 8831), carried over DTLS (RFC 8261) by
// the owner: usrsctp with an AF_CONN socket whose lower layer is the Listener (SendSctpPacket)
// and ProcessSctpPacket (what DTLS delivered). Channels open by DCEP (RFC 8832) from either
// side, or negotiated out of band; they close by stream reset (RFC 8831 6.7). No threads:
// usrsctp's timers run from the loop (UsrsctpRuntime) and every listener call comes from the
// loop thread, outside usrsctp, after the usrsctp call that caused it has returned.
#pragma once

#include <uv.h>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "transport/dcep.h"
#include "transport/usrsctp_runtime.h"

struct socket;    // usrsctp's
struct sctpstat;  // usrsctp's

namespace sb::transport {

// a=sctp-port (RFC 8841 5): the port WebRTC endpoints use on both sides.
inline constexpr uint16_t kSctpPort = 5000;
// What we advertise in a=max-message-size (RFC 8841 6) and accept: Chromium's value, so a
// browser can send us anything it lets its application send.
inline constexpr size_t kSctpMaxMessageSize = 262144;
// The peer's limit when its SDP has no a=max-message-size (RFC 8841 6.1: 64 KiB).
inline constexpr size_t kSctpDefaultRemoteMaxMessageSize = 65536;
// The send buffer: room for four of our largest messages. A send that does not fit is refused
// (back-pressure); it bounds what one association holds for a slow peer.
inline constexpr size_t kSctpSendBufferSize = size_t{1024} * 1024;
inline constexpr size_t kSctpReceiveBufferSize = size_t{1024} * 1024;
// Streams each way asked for in INIT (libwebrtc's and mediasoup's default; RFC 8831 6.2 lets
// the peer grant fewer).
inline constexpr uint16_t kSctpMaxStreams = 1024;
// Largest SCTP packet we emit: one DTLS record of it must fit kDtlsMtu (1200) with the worst
// record overhead of our cipher suites (AES-CBC with HMAC-SHA1: 13-byte header, 16-byte IV,
// 20-byte MAC, up to 16 bytes of padding = 65).
inline constexpr size_t kSctpMtu = 1200 - 65;

enum class SctpState { kNew, kConnecting, kConnected, kFailed, kClosed };
const char* SctpStateName(SctpState state);

struct SctpOptions {
  uint16_t local_port = kSctpPort;
  uint16_t remote_port = kSctpPort;
  // The DTLS role decides the stream ids we pick: even for the DTLS client, odd for the
  // server (RFC 8832 6).
  bool dtls_client = false;
  // Ours (a=max-message-size we advertise): a larger incoming message resets its stream.
  size_t max_message_size = kSctpMaxMessageSize;
  // The peer's a=max-message-size; 0 means it set no limit (RFC 8841 6.1). Sending is also
  // limited by send_buffer_size (a message must fit the send buffer whole).
  size_t remote_max_message_size = kSctpDefaultRemoteMaxMessageSize;
  size_t send_buffer_size = kSctpSendBufferSize;
  size_t receive_buffer_size = kSctpReceiveBufferSize;
  uint16_t max_streams = kSctpMaxStreams;
};

// A channel as the RTCDataChannelInit describes it.
struct DataChannelParams {
  std::string label;
  std::string protocol;
  DataChannelReliability reliability;
  uint16_t priority = kDcepPriorityNormal;
  // Negotiated out of band (RTCDataChannelInit.negotiated): no DCEP; stream_id is required.
  bool negotiated = false;
  // Without it, the lowest free id of our parity.
  std::optional<uint16_t> stream_id;
};

struct DataChannelInfo {
  uint16_t stream_id = 0;
  std::string label;
  std::string protocol;
  DataChannelReliability reliability;
  uint16_t priority = kDcepPriorityNormal;
  bool opened_by_peer = false;
};

class SctpAssociation : public UsrsctpRuntime::Connection {
 public:
  class Listener {
   public:
    virtual ~Listener() = default;
    // One SCTP packet for the DTLS transport to send. It must not destroy the association
    // (usrsctp is on the stack); every other call may destroy or Close() it.
    virtual void SendSctpPacket(const uint8_t* data, size_t len) = 0;
    // kFailed and kClosed are final; the channels end with the association (no
    // OnDataChannelClosed for them).
    virtual void OnSctpStateChange(SctpState state, const std::string& reason) = 0;
    // The peer opened a channel (DATA_CHANNEL_OPEN; we answered with DATA_CHANNEL_ACK), or the
    // peer acknowledged one we opened with DCEP.
    virtual void OnDataChannelOpen(const DataChannelInfo& info) = 0;
    // A whole message: ppid is kPpidString or kPpidBinary (the empty-message PPIDs arrive as
    // these with no bytes).
    virtual void OnDataChannelMessage(uint16_t stream_id, uint32_t ppid,
                                      absl::Span<const uint8_t> data) = 0;
    // Both directions of the channel's stream are reset (by either side), or the channel was
    // refused; its id may be used again.
    virtual void OnDataChannelClosed(uint16_t stream_id) = 0;
    // The channel's buffered amount fell to its threshold (SetBufferedAmountLowThreshold)
    // from above it.
    virtual void OnBufferedAmountLow(uint16_t stream_id) = 0;
    // A send was refused because the send buffer was full, and the buffer has drained to half
    // its size since: sending may resume.
    virtual void OnSctpSendBufferAvailable() = 0;
  };

  // Counters for what the association refused or dropped, and its traffic.
  struct Stats {
    uint64_t packets_received = 0;
    uint64_t packets_sent = 0;
    // Shorter than an SCTP common header (RFC 9260 3.1), or dropped by usrsctp for a bad
    // checksum, a wrong verification tag or no association (its global counters, read around
    // our call).
    uint64_t packets_invalid = 0;
    uint64_t messages_sent = 0;
    uint64_t bytes_sent = 0;
    uint64_t messages_received = 0;
    uint64_t bytes_received = 0;
    // Sends refused: the send buffer was full (back-pressure), the message exceeded the
    // peer's max-message-size (or our send buffer).
    uint64_t sends_refused_buffer_full = 0;
    uint64_t sends_refused_too_large = 0;
    // Incoming messages past our max-message-size: dropped, their stream reset.
    uint64_t messages_too_large = 0;
    // DCEP messages that did not parse; OPENs on a stream in use or of our parity, ACKs with
    // no OPEN of ours waiting. A refused OPEN closes its stream (RFC 8832 6).
    uint64_t dcep_malformed = 0;
    uint64_t dcep_unexpected = 0;
    // Data on a stream with no open channel; data with a PPID that is not a WebRTC one (the
    // deprecated partial PPIDs 52 and 54 included).
    uint64_t messages_unknown_stream = 0;
    uint64_t messages_unknown_ppid = 0;
  };

  static absl::StatusOr<std::unique_ptr<SctpAssociation>> Create(uv_loop_t* loop,
                                                                 Listener* listener,
                                                                 const SctpOptions& options);
  // Aborts the association without telling the peer (the listener hears nothing more).
  ~SctpAssociation() override;
  SctpAssociation(const SctpAssociation&) = delete;
  SctpAssociation& operator=(const SctpAssociation&) = delete;

  // Starts the association (INIT) once DTLS is connected. Both WebRTC peers do this; SCTP
  // resolves the simultaneous open (RFC 9260 5.2.1).
  absl::Status Connect();
  // One SCTP packet DTLS delivered.
  void ProcessSctpPacket(const uint8_t* data, size_t len);
  // Sends an ABORT to the peer and stops: state kClosed, no listener call after it but the
  // SendSctpPacket that carries the ABORT. Idempotent.
  void Close();

  // The peer's a=max-message-size (0: no limit), e.g. from a later SDP answer.
  void SetRemoteMaxMessageSize(size_t bytes) { options_.remote_max_message_size = bytes; }
  // What one Send may carry now: the peer's limit and our send buffer.
  size_t max_send_message_size() const;

  // Opens a channel while connected; returns its stream id. With DCEP the OPEN is sent at
  // once and messages may follow it before the ACK (RFC 8832 6).
  absl::StatusOr<uint16_t> OpenChannel(const DataChannelParams& params);
  // Resets the channel's outgoing stream; the peer resets its own in answer (RFC 8831 6.7) and
  // OnDataChannelClosed follows. Messages already sent are delivered first.
  absl::Status CloseChannel(uint16_t stream_id);

  // One message on an open channel: ppid kPpidString or kPpidBinary (empty data goes under the
  // empty-message PPIDs). kResourceExhausted when the send buffer cannot take it now
  // (OnSctpSendBufferAvailable follows), kInvalidArgument when it is larger than
  // max_send_message_size(), kFailedPrecondition when not connected or the channel is not
  // open.
  absl::Status Send(uint16_t stream_id, uint32_t ppid, absl::Span<const uint8_t> data);

  // Bytes waiting in usrsctp's send buffer (unsent or unacknowledged), SCTP chunk headers
  // included.
  size_t buffered_amount() const { return buffered_total_; }
  // A channel's part of it, attributed in the order messages were sent (usrsctp reports only
  // the total): exact when one channel sends, an estimate when several interleave; 0 once
  // the association's buffer is empty.
  size_t buffered_amount(uint16_t stream_id) const;
  void SetBufferedAmountLowThreshold(uint16_t stream_id, size_t bytes);

  // Back-pressure toward the peer: while paused, nothing more is read from the association
  // (messages and notifications wait in usrsctp's receive buffer, then in the peer's send buffer
  // once our window is full). Resume reads again, within a timer tick. Sending is unaffected.
  void PauseReceiving() { receive_paused_ = true; }
  void ResumeReceiving();
  bool receive_paused() const { return receive_paused_; }

  SctpState state() const { return state_; }
  const Stats& stats() const { return stats_; }
  // Streams granted each way (after kConnected).
  uint16_t outbound_streams() const { return outbound_streams_; }
  uint16_t inbound_streams() const { return inbound_streams_; }
  std::optional<DataChannelInfo> channel(uint16_t stream_id) const;
  size_t channel_count() const { return channels_.size(); }

 private:
  enum class ChannelState { kOpen, kClosing };
  struct Channel {
    DataChannelInfo info;
    ChannelState state = ChannelState::kOpen;
    // Sent by DCEP and not yet acknowledged: messages go ordered until the ACK (RFC 8832 6).
    bool awaiting_ack = false;
    bool outgoing_reset = false;  // our outgoing stream has been reset
    bool incoming_reset = false;  // the peer's outgoing stream has been reset
    size_t buffered = 0;
    size_t low_threshold = 0;
  };
  // Stream id 65535 is reserved (RFC 8831 6.5): marks bytes of a channel that is gone.
  static constexpr uint16_t kNoStream = 65535;
  // A message as it entered the send buffer, for attributing the buffer's drain to streams.
  struct SentBytes {
    uint16_t stream_id;
    size_t bytes;
  };

  SctpAssociation(uv_loop_t* loop, Listener* listener, const SctpOptions& options);
  absl::Status Init();

  // UsrsctpRuntime::Connection
  void OnUsrsctpOutput(const uint8_t* data, size_t len) override;
  void OnUsrsctpPending() override;
  static void OnUpcall(struct socket* sock, void* arg, int flags);

  // Reads everything usrsctp has queued for us, then updates the buffered amounts; runs the
  // listener calls. Returns false when the listener destroyed this association.
  bool Drain();
  bool HandleNotification(const uint8_t* data, size_t len);
  bool HandleAssocChange(const uint8_t* data, size_t len);
  bool HandleStreamReset(const uint8_t* data, size_t len);
  // One read of data: a whole message, or a piece of one (eor: its last).
  bool HandleData(uint16_t stream_id, uint32_t ppid, size_t size, bool eor);
  bool HandleMessage(uint16_t stream_id, uint32_t ppid, absl::Span<const uint8_t> data);
  // An incoming message past our max-message-size: dropped, its stream reset.
  void RefuseTooLarge(uint16_t stream_id);
  bool HandleDcep(uint16_t stream_id, absl::Span<const uint8_t> data);
  bool UpdateBufferedAmounts();
  bool SetState(SctpState state, const std::string& reason);
  // Sends on usrsctp; returns errno on failure.
  int SendRaw(uint16_t stream_id, uint32_t ppid, bool unordered,
              const DataChannelReliability& reliability, absl::Span<const uint8_t> data);
  // Resets the outgoing streams waiting for it (one request at a time, RFC 6525 5.1.1).
  void FlushStreamResets();
  void ResetStream(uint16_t stream_id);
  size_t QuerySendBuffer() const;
  std::optional<uint16_t> PickStreamId() const;
  bool OurParity(uint16_t stream_id) const { return (stream_id % 2 == 0) == options_.dtls_client; }
  void CountUsrsctpDrops(const ::sctpstat& before);

  // Passed by argument.
  uv_loop_t* loop_;
  Listener* listener_;
  SctpOptions options_;
  // Allocated by this.
  struct socket* socket_ = nullptr;
  uintptr_t address_ = 0;  // our AF_CONN address (UsrsctpRuntime)
  SctpState state_ = SctpState::kNew;
  uint16_t outbound_streams_ = 0;
  uint16_t inbound_streams_ = 0;
  absl::flat_hash_map<uint16_t, Channel> channels_;
  // Outgoing streams to reset: usrsctp takes one request at a time (RFC 6525 5.1.1).
  std::vector<uint16_t> resets_pending_;
  // Stream ids whose incoming side the peer reset before we knew the channel (an OPEN refused
  // by us, a message too large): nothing to report.
  absl::flat_hash_set<uint16_t> silent_resets_;
  // A message usrsctp delivers in pieces (partial delivery), gathered up to our limit.
  std::vector<uint8_t> reassembly_;
  std::optional<uint16_t> reassembly_stream_;
  uint32_t reassembly_ppid_ = 0;
  bool reassembly_discarding_ = false;
  std::vector<uint8_t> read_buffer_;
  size_t buffered_total_ = 0;
  std::deque<SentBytes> sent_order_;
  size_t sent_order_bytes_ = 0;
  // A send was refused for a full buffer: report OnSctpSendBufferAvailable once this many
  // bytes fit again.
  std::optional<size_t> refused_bytes_;
  // Closed or being destroyed: what usrsctp still emits goes nowhere.
  bool silent_ = false;
  // usrsctp signalled the socket; read it when the current call returns.
  bool pending_ = false;
  int call_depth_ = 0;  // inside a usrsctp call of ours
  bool draining_ = false;
  bool receive_paused_ = false;
  // Expires with this object: listener calls check it to learn whether they destroyed us.
  std::shared_ptr<char> alive_ = std::make_shared<char>();
  Stats stats_;
};

}  // namespace sb::transport
