// Transport-wide congestion control feedback
// (draft-holmer-rmcat-transport-wide-cc-extensions-01 3.1): RTPFB, FMT 15. Reports, for a
// range of transport-wide sequence numbers, which packets arrived and the arrival time of each
// relative to the previous one, in 250 us ticks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "absl/types/span.h"

namespace sb::rtp {

struct TwccPacketStatus {
  uint16_t sequence_number = 0;
  bool received = false;
  // Received packets: arrival time minus the previous received packet's arrival time (the
  // first one: minus the reference time), in 250 us ticks; 16-bit signed on the wire.
  // Lost packets: 0.
  int32_t delta_ticks = 0;
  bool operator==(const TwccPacketStatus&) const = default;
};

struct TransportFeedback {
  static constexpr int64_t kDeltaTickUs = 250;
  static constexpr int64_t kReferenceTimeUnitUs = 64000;
  static constexpr int32_t kMaxReferenceTime = 0x7FFFFF;  // 24-bit signed
  static constexpr int32_t kMinReferenceTime = -0x800000;
  static constexpr size_t kMaxPackets = 0xFFFF;  // 16-bit packet status count

  uint32_t sender_ssrc = 0;
  uint32_t media_ssrc = 0;
  uint16_t base_sequence_number = 0;
  int32_t reference_time = 0;  // 64 ms units
  uint8_t feedback_packet_count = 0;
  // One entry per sequence number, consecutive (modulo 2^16) from base_sequence_number.
  std::vector<TwccPacketStatus> packets;

  // From packets in increasing sequence order (modulo 2^16); the numbers in between that are
  // not listed are reported lost. Base sequence = the first packet's.
  static TransportFeedback Build(uint32_t sender_ssrc, uint32_t media_ssrc, int32_t reference_time,
                                 uint8_t feedback_packet_count,
                                 absl::Span<const TwccPacketStatus> packets);

  // `packet` is one whole RTCP packet. Rejects a zero status count, chunks or deltas past the
  // end, the reserved symbol and more than 3 bytes after the deltas.
  static std::optional<TransportFeedback> Parse(absl::Span<const uint8_t> packet);
  size_t Size() const;
  // Chooses run-length chunks for long runs and 1-bit or 2-bit status vectors otherwise;
  // padded to 32 bits with the P bit. 0 if cap is too small, `packets` is empty or not
  // consecutive from the base, a delta does not fit 16 bits or the reference time 24 bits.
  size_t Serialize(uint8_t* out, size_t cap) const;

  // Arrival time of each received packet, us since the reference time's origin.
  std::vector<int64_t> ArrivalTimesUs() const;

  bool operator==(const TransportFeedback&) const = default;
};

}  // namespace sb::rtp
