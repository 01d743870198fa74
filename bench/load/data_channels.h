// Data channels on a synthetic participant's publishing connection, as the web app uses them
// (docs/protocol.md, "Data channels"): a reliable ordered "chat" channel carrying short text
// messages at a set rate, and a reliable ordered "file" channel carrying 16-64 KiB binary
// messages paced by a rate and by SCTP back-pressure (what bufferedAmount does for a browser).
// The server opens, on the same association, a channel for every channel another participant
// opened (label = the sender's, protocol = the sender's participant id); what arrives on them
// is checked: every message carries its sequence number and send time, and its content can be
// rebuilt from them, so a lost, reordered, duplicated or altered message is counted, and chat
// messages give a one-way latency (every participant lives in this process: one clock).
#pragma once

#include <uv.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "base/uv_timer.h"
#include "bench/load/data_messages.h"
#include "bench/load/load_stats.h"
#include "transport/sctp_association.h"

namespace sb::bench {

struct DataOptions {
  bool enabled = false;
  // Chat messages per second per participant (0: the channel is opened, nothing is sent).
  double chat_rate = 0;
  // The file channel: its sending rate (0 with file_bytes: as fast as back-pressure lets it)
  // and the bytes each participant sends in all (0: no end, for the window).
  uint32_t file_kbps = 0;
  uint64_t file_bytes = 0;
  bool file() const { return file_kbps > 0 || file_bytes > 0; }
};

// One channel a participant opened, as it sent on it.
struct DataSentCounts {
  uint64_t messages = 0, bytes = 0;
  // From the start of counting (StartCounting) on: what receivers must have received.
  uint64_t counted_messages = 0, counted_bytes = 0;
  // Sends refused for a full SCTP send buffer (retried once it drains).
  uint64_t refused = 0;
};

// One channel the server opened to us for another participant's channel.
struct DataFlowReport {
  std::string receiver;  // our name
  std::string sender;    // the sender's participant id (the channel's protocol)
  std::string label;
  uint64_t messages = 0, bytes = 0;
  // Received with a send time at or after the start of counting.
  uint64_t counted_messages = 0, counted_bytes = 0;
  // Messages whose sequence number was not the next one (lost, reordered or repeated), or
  // whose content or PPID was not what the sender sent.
  uint64_t sequence_errors = 0, corrupt = 0;
  bool closed = false;
  // The server said it closed the channel (data-channel-closed), with this reason.
  std::string closed_reason;
};

class DataChannels : public transport::SctpAssociation::Listener {
 public:
  // Sends one SCTP packet as DTLS application data on the publishing connection.
  using SendPacket = std::function<void(const uint8_t* data, size_t len)>;

  DataChannels(uv_loop_t* loop, const DataOptions& options, std::string name, GeneratorStats* stats,
               SendPacket send);
  ~DataChannels() override;

  // DTLS is connected: the association starts (the peer's a=max-message-size given).
  absl::Status Start(size_t remote_max_message_size);
  // DTLS application data from the server.
  void ProcessSctpPacket(const uint8_t* data, size_t len) {
    if (sctp_) sctp_->ProcessSctpPacket(data, len);
  }
  // Messages sent from `from_us` on must reach every receiver; received ones sent from then on
  // are counted, and chat latency is sampled.
  void StartCounting(int64_t from_us) { counting_from_us_ = from_us; }
  // No more messages (the end of the window); the channels stay open.
  void StopSending();
  // Aborts the association.
  void Close();
  // The server closed one of the channels it opened to us (data-channel-closed).
  void OnClosedByServer(const std::string& from, const std::string& label,
                        const std::string& reason);

  bool connected() const { return sctp_ && sctp_->state() == transport::SctpState::kConnected; }
  // Our channels are open (the server acknowledged them) and `peer_channels` channels from
  // others are open to us.
  bool Ready(size_t peer_channels) const;
  size_t open_peer_channels() const;
  const DataSentCounts& sent(const std::string& label) const;
  void AppendReports(std::vector<DataFlowReport>* out) const;

 private:
  struct OwnChannel {
    std::string label;
    uint16_t stream_id = 0;
    bool acked = false;
    uint64_t next_seq = 0;
    DataSentCounts counts;
  };
  struct PeerChannel {
    DataFlowReport report;
    std::optional<uint64_t> next_seq;
  };

  // transport::SctpAssociation::Listener
  void SendSctpPacket(const uint8_t* data, size_t len) override { send_(data, len); }
  void OnSctpStateChange(transport::SctpState state, const std::string& reason) override;
  void OnDataChannelOpen(const transport::DataChannelInfo& info) override;
  void OnDataChannelMessage(uint16_t stream_id, uint32_t ppid,
                            absl::Span<const uint8_t> data) override;
  void OnDataChannelClosed(uint16_t stream_id) override;
  void OnBufferedAmountLow(uint16_t stream_id) override;
  void OnSctpSendBufferAvailable() override;

  void OpenOwn(const char* label, std::optional<OwnChannel>* out);
  void OnTick();
  void SendChat(int64_t now_us);
  void SendFile(int64_t now_us);
  // Sends one message on `c`; false when the buffer refused it (or the association failed).
  bool SendOn(OwnChannel& c, uint32_t ppid, absl::Span<const uint8_t> data, int64_t now_us);

  // Passed by argument.
  uv_loop_t* loop_;
  DataOptions options_;
  std::string name_;
  GeneratorStats* stats_;
  SendPacket send_;
  // Allocated by this.
  std::unique_ptr<transport::SctpAssociation> sctp_;
  std::unique_ptr<UvTimer> timer_;
  std::optional<OwnChannel> chat_, file_;
  std::map<uint16_t, PeerChannel> peers_;  // by stream id
  // Peer channels that closed, kept for the report.
  std::vector<DataFlowReport> closed_peers_;
  int64_t counting_from_us_ = -1;
  int64_t sending_since_us_ = -1;
  // Chat messages due since sending_since_us_ that were sent or skipped.
  uint64_t chat_slots_ = 0;
  // File pacing: bytes the rate allows now (a token bucket of one largest message).
  double file_allowance_ = 0;
  int64_t file_allowance_us_ = 0;
  bool buffer_full_ = false;  // a send was refused: wait for OnSctpSendBufferAvailable
  bool sending_ = false;
  bool closing_ = false;  // Close() was called: the association's end is ours
  std::vector<uint8_t> file_buffer_;
};

}  // namespace sb::bench
