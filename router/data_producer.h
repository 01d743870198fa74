// A data channel a participant opened on its transport (DCEP from the peer, RFC 8832): what it
// sends goes to the router, which hands each message to the producer's data consumers. On a
// pipe between routers, a channel the other router opened as a copy of one of its data
// producers (router/pipe_data_channel.h): its origin is that producer's label and protocol.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "router/pipe_data_channel.h"
#include "transport/sctp_association.h"

namespace sb::router {

class DataProducer {
 public:
  struct Stats {
    uint64_t messages_received = 0;
    uint64_t bytes_received = 0;
  };

  DataProducer(std::string id, transport::DataChannelInfo info,
               std::optional<PipeChannelOrigin> origin = std::nullopt)
      : id_(std::move(id)), info_(std::move(info)), origin_(std::move(origin)) {}
  DataProducer(const DataProducer&) = delete;
  DataProducer& operator=(const DataProducer&) = delete;

  const std::string& id() const { return id_; }
  uint16_t stream_id() const { return info_.stream_id; }
  // The channel as the sender opened it: label, protocol, reliability, priority.
  const transport::DataChannelInfo& info() const { return info_; }
  // A pipe channel's origin (the copied producer's label and protocol); nullopt for a peer's.
  const std::optional<PipeChannelOrigin>& origin() const { return origin_; }
  // What the channel is to its receivers: the origin's label and protocol when piped.
  const std::string& label() const { return origin_ ? origin_->label : info_.label; }
  const std::string& protocol() const { return origin_ ? origin_->protocol : info_.protocol; }
  const Stats& stats() const { return stats_; }

  void CountMessage(size_t bytes) {
    ++stats_.messages_received;
    stats_.bytes_received += bytes;
  }

 private:
  const std::string id_;
  const transport::DataChannelInfo info_;
  const std::optional<PipeChannelOrigin> origin_;
  Stats stats_;
};

}  // namespace sb::router
