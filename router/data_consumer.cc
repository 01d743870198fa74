#include "router/data_consumer.h"

#include <utility>

namespace sb::router {

absl::Status DataConsumer::Open(transport::SctpAssociation& sctp) {
  if (stream_id_) return absl::OkStatus();
  auto stream = sctp.OpenChannel(params_);
  if (!stream.ok()) return stream.status();
  stream_id_ = *stream;
  Flush(sctp);
  return absl::OkStatus();
}

DataConsumer::Result DataConsumer::Deliver(transport::SctpAssociation* sctp, uint32_t ppid,
                                           absl::Span<const uint8_t> data) {
  // Behind what waits, or before the channel is open: keep the order.
  if (sctp == nullptr || !stream_id_ || !queue_.empty()) return Enqueue(ppid, data);
  switch (Send(*sctp, ppid, data)) {
    case SendResult::kSent:
      return Result::kSent;
    case SendResult::kRefused:
      return params_.reliability.reliable() ? Result::kTooLarge : Result::kDropped;
    case SendResult::kFull:
      break;
  }
  return Enqueue(ppid, data);
}

bool DataConsumer::Flush(transport::SctpAssociation& sctp) {
  if (!stream_id_) return queue_.empty();
  while (!queue_.empty()) {
    Message& m = queue_.front();
    const SendResult sent = Send(sctp, m.ppid, m.data);
    if (sent == SendResult::kFull) return false;
    // A reliable channel cannot skip a message: its owner closes it (too_large()).
    if (sent == SendResult::kRefused && params_.reliability.reliable()) too_large_ = true;
    stats_.queued_bytes -= m.data.size();
    queue_.pop_front();
    if (too_large_) return true;
  }
  return true;
}

DataConsumer::SendResult DataConsumer::Send(transport::SctpAssociation& sctp, uint32_t ppid,
                                            absl::Span<const uint8_t> data) {
  absl::Status status = sctp.Send(*stream_id_, ppid, data);
  if (status.ok()) {
    ++stats_.messages_sent;
    stats_.bytes_sent += data.size();
    return SendResult::kSent;
  }
  if (absl::IsResourceExhausted(status)) return SendResult::kFull;
  // Too large for the subscriber, or the channel is closing: it cannot be sent, ever.
  if (!params_.reliability.reliable()) ++stats_.messages_dropped;
  return SendResult::kRefused;
}

DataConsumer::Result DataConsumer::Enqueue(uint32_t ppid, absl::Span<const uint8_t> data) {
  if (stats_.queued_bytes + data.size() > kMaxQueuedBytes) {
    if (params_.reliability.reliable()) return Result::kOverflow;
    ++stats_.messages_dropped;
    return Result::kDropped;
  }
  queue_.push_back({ppid, std::vector<uint8_t>(data.begin(), data.end())});
  stats_.queued_bytes += data.size();
  return Result::kQueued;
}

}  // namespace sb::router
