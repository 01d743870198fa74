// The last packets of one RTP stream as received, for retransmission on a receiver's NACK
// (RFC 4585 6.2.1, RFC 4588). A fixed ring of equal slots, indexed by the extended (unwrapped)
// sequence number: storing never allocates after the first packet, and memory is bounded by
// capacity * max_packet_size. A slot holds the newest packet whose extended number maps to it,
// so a lookup answers only for the exact packet asked for.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/types/span.h"
#include "rtp/seq_num.h"

namespace sb::rtp {

class PacketHistory {
 public:
  // A packet this far behind the newest one means the sender restarted its numbering: the
  // history starts over from it rather than refusing the new stream for half the sequence
  // space. Far beyond any reordering (a few packets) and beyond any capacity we use.
  static constexpr int64_t kRestartDistance = 0x1000;

  PacketHistory(size_t capacity, size_t max_packet_size)
      : capacity_(capacity), max_packet_size_(max_packet_size) {}

  // Stores a copy of `packet` as packet `seq`. False (nothing stored) when the packet is empty,
  // larger than max_packet_size, or older than the ring reaches.
  bool Insert(uint16_t seq, absl::Span<const uint8_t> packet);
  // The stored bytes of packet `seq`; empty when never stored, evicted or refused.
  absl::Span<const uint8_t> Get(uint16_t seq) const;
  void Clear();

  size_t capacity() const { return capacity_; }
  size_t max_packet_size() const { return max_packet_size_; }
  // Bytes reserved for slots (0 until the first packet).
  size_t allocated_bytes() const { return bytes_.size(); }

 private:
  struct Slot {
    int64_t seq = -1;  // extended sequence number; -1 when empty
    uint16_t len = 0;
  };
  size_t SlotIndex(int64_t extended_seq) const;

  const size_t capacity_;
  const size_t max_packet_size_;
  std::vector<Slot> slots_;     // capacity_ entries once allocated
  std::vector<uint8_t> bytes_;  // capacity_ * max_packet_size_ once allocated
  SeqUnwrapper unwrapper_;
};

}  // namespace sb::rtp
