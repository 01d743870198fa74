// One data producer's messages sent to one subscriber, on a channel we open on the
// subscriber's association (DCEP, odd stream ids as DTLS server) with the producer's label and
// reliability. A message the association cannot take now (its send buffer is full) waits
// here, up to kMaxQueuedBytes: past that, an unreliable channel drops it (its sender accepted
// loss), a reliable one cannot keep its promise and its owner closes it (Deliver says so).
// So a slow subscriber costs the worker at most the association's send buffer plus this.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "transport/sctp_association.h"

namespace sb::router {

class DataConsumer {
 public:
  // Four of the largest messages we take (kSctpMaxMessageSize, 256 KiB) plus room for a burst
  // of a file transfer while the association's own 1 MiB buffer drains.
  static constexpr size_t kMaxQueuedBytes = size_t{4} * 1024 * 1024;
  // Back-pressure on the sender (router/router.h, DataEndpoint::HoldReceiving): a reliable
  // consumer with more than kHighWaterBytes queued holds its producer's association paused until
  // it is under kLowWaterBytes, so a sender that paces itself by its bufferedAmount follows what
  // its receivers take. A few hundred milliseconds of a fast link, each.
  static constexpr size_t kHighWaterBytes = size_t{1024} * 1024;
  static constexpr size_t kLowWaterBytes = size_t{256} * 1024;

  enum class Result {
    kSent,      // in the association's send buffer
    kQueued,    // waiting here for room (or for the channel to open)
    kDropped,   // unreliable channel, queue full: dropped and counted
    kOverflow,  // reliable channel, queue full: not taken; the channel must be closed
    kTooLarge,  // reliable channel, larger than the receiver takes: the channel must be closed
  };

  struct Stats {
    uint64_t messages_sent = 0;
    uint64_t bytes_sent = 0;
    // Unreliable: dropped for a full queue, or refused by the association (larger than the
    // subscriber's max-message-size).
    uint64_t messages_dropped = 0;
    size_t queued_bytes = 0;
  };

  DataConsumer(std::string id, std::string data_producer_id, transport::DataChannelParams params)
      : id_(std::move(id)),
        data_producer_id_(std::move(data_producer_id)),
        params_(std::move(params)) {}
  DataConsumer(const DataConsumer&) = delete;
  DataConsumer& operator=(const DataConsumer&) = delete;

  const std::string& id() const { return id_; }
  const std::string& data_producer_id() const { return data_producer_id_; }
  const transport::DataChannelParams& params() const { return params_; }
  // The channel's stream on the subscriber's association, once opened.
  std::optional<uint16_t> stream_id() const { return stream_id_; }
  const Stats& stats() const { return stats_; }
  // A reliable channel's queued message was refused as larger than the receiver takes: the
  // channel must be closed (message-too-large).
  bool too_large() const { return too_large_; }
  // Holding its producer's sender paused (DataEndpoint decides).
  bool holding() const { return holding_; }
  void set_holding(bool holding) { holding_ = holding; }

  // Opens the channel (DCEP) on a connected association and sends what waited for it.
  absl::Status Open(transport::SctpAssociation& sctp);
  // One message of the producer. `sctp` may be null (association not up yet): it waits.
  Result Deliver(transport::SctpAssociation* sctp, uint32_t ppid, absl::Span<const uint8_t> data);
  // Sends what waits while the association takes it; true when nothing is left.
  bool Flush(transport::SctpAssociation& sctp);

 private:
  struct Message {
    uint32_t ppid;
    std::vector<uint8_t> data;
  };
  enum class SendResult { kSent, kFull, kRefused };
  SendResult Send(transport::SctpAssociation& sctp, uint32_t ppid, absl::Span<const uint8_t> data);
  Result Enqueue(uint32_t ppid, absl::Span<const uint8_t> data);

  const std::string id_;
  const std::string data_producer_id_;
  const transport::DataChannelParams params_;
  std::optional<uint16_t> stream_id_;
  std::deque<Message> queue_;
  bool holding_ = false;
  bool too_large_ = false;
  Stats stats_;
};

}  // namespace sb::router
