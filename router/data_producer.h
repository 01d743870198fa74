// A data channel a participant opened on its transport (DCEP from the peer, RFC 8832): what it
// sends goes to the router, which hands each message to the producer's data consumers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "transport/sctp_association.h"

namespace sb::router {

class DataProducer {
 public:
  struct Stats {
    uint64_t messages_received = 0;
    uint64_t bytes_received = 0;
  };

  DataProducer(std::string id, transport::DataChannelInfo info)
      : id_(std::move(id)), info_(std::move(info)) {}
  DataProducer(const DataProducer&) = delete;
  DataProducer& operator=(const DataProducer&) = delete;

  const std::string& id() const { return id_; }
  uint16_t stream_id() const { return info_.stream_id; }
  // The channel as the sender opened it: label, protocol, reliability, priority.
  const transport::DataChannelInfo& info() const { return info_; }
  const Stats& stats() const { return stats_; }

  void CountMessage(size_t bytes) {
    ++stats_.messages_received;
    stats_.bytes_received += bytes;
  }

 private:
  const std::string id_;
  const transport::DataChannelInfo info_;
  Stats stats_;
};

}  // namespace sb::router
