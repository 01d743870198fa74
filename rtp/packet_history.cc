#include "rtp/packet_history.h"

#include <cstring>

namespace sb::rtp {

size_t PacketHistory::SlotIndex(int64_t extended_seq) const {
  const auto cap = static_cast<int64_t>(capacity_);
  // Reordered packets before the first one extend below zero.
  return static_cast<size_t>(((extended_seq % cap) + cap) % cap);
}

bool PacketHistory::Insert(uint16_t seq, absl::Span<const uint8_t> packet) {
  if (capacity_ == 0 || packet.empty() || packet.size() > max_packet_size_ ||
      packet.size() > UINT16_MAX) {
    return false;
  }
  if (slots_.empty()) {
    // Once, on the first packet: a stream that never sends costs nothing.
    slots_.resize(capacity_);
    bytes_.resize(capacity_ * max_packet_size_);
  }
  if (const auto newest = unwrapper_.last()) {
    const int64_t behind = *newest - unwrapper_.Peek(seq);
    if (behind >= kRestartDistance) {
      Clear();
    } else if (behind >= static_cast<int64_t>(capacity_)) {
      return false;  // its slot holds a newer packet
    }
  }
  const int64_t extended = unwrapper_.Unwrap(seq);
  const size_t index = SlotIndex(extended);
  Slot& slot = slots_[index];
  slot.seq = extended;
  slot.len = static_cast<uint16_t>(packet.size());
  std::memcpy(bytes_.data() + index * max_packet_size_, packet.data(), packet.size());
  return true;
}

absl::Span<const uint8_t> PacketHistory::Get(uint16_t seq) const {
  if (slots_.empty() || !unwrapper_.last()) return {};
  const int64_t extended = unwrapper_.Peek(seq);
  const size_t index = SlotIndex(extended);
  const Slot& slot = slots_[index];
  if (slot.seq != extended) return {};
  return absl::Span<const uint8_t>(bytes_.data() + index * max_packet_size_, slot.len);
}

void PacketHistory::Clear() {
  for (Slot& slot : slots_) slot = Slot{};
  unwrapper_.Reset();
}

}  // namespace sb::rtp
