// A Consumer::Listener for the router tests: keeps every packet a consumer sends (parsed back)
// and every key-frame request with the producer encoding it names.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <utility>
#include <vector>

#include "router/consumer.h"
#include "rtp/rtp_packet.h"

namespace sb::router::testing {

struct SentPacket {
  uint8_t payload_type;
  uint16_t seq;
  uint32_t ts;
  uint32_t ssrc;
  bool marker;
  std::map<uint8_t, std::vector<uint8_t>> extensions;
  std::vector<uint8_t> payload;
  size_t size = 0;  // the whole packet as sent
};

class RecordingListener : public Consumer::Listener {
 public:
  void OnConsumerSendRtp(Consumer* /*consumer*/, uint8_t* data, size_t len,
                         size_t capacity) override {
    EXPECT_GE(capacity, len + 16) << "no room for the SRTP tag";
    std::vector<uint8_t> copy(data, data + len);
    auto packet = rtp::RtpPacket::Parse(copy.data(), copy.size());
    ASSERT_TRUE(packet.has_value()) << "consumer sent a malformed packet";
    SentPacket s{packet->payload_type(),
                 packet->sequence_number(),
                 packet->timestamp(),
                 packet->ssrc(),
                 packet->marker(),
                 {},
                 {},
                 len};
    packet->ForEachExtension([&](uint8_t id, absl::Span<const uint8_t> value) {
      s.extensions[id] = std::vector<uint8_t>(value.begin(), value.end());
    });
    s.payload.assign(packet->payload().begin(), packet->payload().end());
    sent.push_back(std::move(s));
  }
  void OnConsumerKeyFrameNeeded(Consumer* /*consumer*/, size_t encoding) override {
    ++key_frame_requests;
    key_frame_encodings.push_back(encoding);
  }

  std::vector<SentPacket> sent;
  // Transport-wide sequence numbers handed out, 1, 2, 3... as a transport does.
  uint16_t AllocateTransportSequenceNumber() override { return ++transport_seq; }
  uint16_t transport_seq = 0;
  int key_frame_requests = 0;
  std::vector<size_t> key_frame_encodings;
};

}  // namespace sb::router::testing
