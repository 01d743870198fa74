#include "rtp/rtcp/transport_feedback.h"

#include <algorithm>

#include "rtp/byte_io.h"
#include "rtp/rtcp/rtcp_packet.h"

namespace sb::rtp {
namespace {

constexpr size_t kFixedSize = 20;         // header, two ssrcs, base seq, count, ref time, fb count
constexpr size_t kMaxRunLength = 0x1FFF;  // 13 bits
constexpr size_t kOneBitCapacity = 14;
constexpr size_t kTwoBitCapacity = 7;

// Packet status symbols (draft section 3.1.1).
enum Symbol : uint8_t { kNotReceived = 0, kSmallDelta = 1, kLargeDelta = 2, kReserved = 3 };

uint8_t SymbolOf(const TwccPacketStatus& p) {
  if (!p.received) {
    return kNotReceived;
  }
  return (p.delta_ticks >= 0 && p.delta_ticks <= 0xFF) ? kSmallDelta : kLargeDelta;
}

// Encodes symbols into 16-bit chunks, greedily: a run-length chunk when a run is at least as
// long as the vector chunk that could hold it (or ends the list), else the densest vector.
std::vector<uint16_t> EncodeChunks(const std::vector<uint8_t>& symbols) {
  std::vector<uint16_t> chunks;
  size_t i = 0;
  const size_t n = symbols.size();
  while (i < n) {
    size_t run = 1;
    while (i + run < n && run < kMaxRunLength && symbols[i + run] == symbols[i]) {
      ++run;
    }
    const size_t one_bit_span = std::min(kOneBitCapacity, n - i);
    const bool one_bit_ok = std::all_of(symbols.begin() + static_cast<ptrdiff_t>(i),
                                        symbols.begin() + static_cast<ptrdiff_t>(i + one_bit_span),
                                        [](uint8_t s) { return s <= kSmallDelta; });
    const size_t vector_capacity = one_bit_ok ? kOneBitCapacity : kTwoBitCapacity;
    if (run >= vector_capacity || i + run == n) {
      chunks.push_back(static_cast<uint16_t>((symbols[i] << 13) | run));
      i += run;
    } else if (one_bit_ok) {
      uint16_t chunk = 0x8000;
      for (size_t k = 0; k < one_bit_span; ++k) {
        chunk |= static_cast<uint16_t>(symbols[i + k] << (13 - k));
      }
      chunks.push_back(chunk);
      i += one_bit_span;
    } else {
      const size_t span = std::min(kTwoBitCapacity, n - i);
      uint16_t chunk = 0xC000;
      for (size_t k = 0; k < span; ++k) {
        chunk |= static_cast<uint16_t>(symbols[i + k] << (12 - 2 * k));
      }
      chunks.push_back(chunk);
      i += span;
    }
  }
  return chunks;
}

size_t DeltaBytes(const std::vector<uint8_t>& symbols) {
  size_t bytes = 0;
  for (uint8_t s : symbols) {
    bytes += s;  // small: 1 byte, large: 2 bytes
  }
  return bytes;
}

std::vector<uint8_t> Symbols(const std::vector<TwccPacketStatus>& packets) {
  std::vector<uint8_t> symbols;
  symbols.reserve(packets.size());
  for (const TwccPacketStatus& p : packets) {
    symbols.push_back(SymbolOf(p));
  }
  return symbols;
}

}  // namespace

TransportFeedback TransportFeedback::Build(uint32_t sender_ssrc, uint32_t media_ssrc,
                                           int32_t reference_time, uint8_t feedback_packet_count,
                                           absl::Span<const TwccPacketStatus> packets) {
  TransportFeedback fb;
  fb.sender_ssrc = sender_ssrc;
  fb.media_ssrc = media_ssrc;
  fb.reference_time = reference_time;
  fb.feedback_packet_count = feedback_packet_count;
  if (packets.empty()) {
    return fb;
  }
  fb.base_sequence_number = packets[0].sequence_number;
  for (const TwccPacketStatus& p : packets) {
    const uint16_t offset = static_cast<uint16_t>(p.sequence_number - fb.base_sequence_number);
    if (offset < fb.packets.size()) {
      continue;  // out of order or duplicate: not representable, dropped
    }
    while (fb.packets.size() < offset) {
      fb.packets.push_back(
          {static_cast<uint16_t>(fb.base_sequence_number + fb.packets.size()), false, 0});
    }
    fb.packets.push_back({p.sequence_number, p.received, p.received ? p.delta_ticks : 0});
  }
  return fb;
}

std::optional<TransportFeedback> TransportFeedback::Parse(absl::Span<const uint8_t> packet) {
  absl::StatusOr<RtcpHeader> h = ParseRtcpHeader(packet);
  if (!h.ok() || h->packet_type != kRtcpRtpfb || h->count_or_fmt != kRtpfbTwcc) {
    return std::nullopt;
  }
  const absl::Span<const uint8_t> body = h->body;
  if (body.size() < kFixedSize - kRtcpHeaderSize) {
    return std::nullopt;
  }
  TransportFeedback fb;
  fb.sender_ssrc = ReadU32(body.data());
  fb.media_ssrc = ReadU32(body.data() + 4);
  fb.base_sequence_number = ReadU16(body.data() + 8);
  const size_t count = ReadU16(body.data() + 10);
  fb.reference_time = ReadS24(body.data() + 12);
  fb.feedback_packet_count = body[15];
  if (count == 0) {
    return std::nullopt;
  }
  size_t off = 16;
  // Status chunks until `count` symbols; symbols past the count in the last chunk are unused.
  std::vector<uint8_t> symbols;
  symbols.reserve(count);
  while (symbols.size() < count) {
    if (body.size() - off < 2) {
      return std::nullopt;
    }
    const uint16_t chunk = ReadU16(body.data() + off);
    off += 2;
    const size_t left = count - symbols.size();
    if ((chunk & 0x8000) == 0) {
      const uint8_t s = static_cast<uint8_t>((chunk >> 13) & 0x3);
      const size_t run = std::min<size_t>(chunk & 0x1FFF, left);
      symbols.insert(symbols.end(), run, s);
    } else if ((chunk & 0x4000) == 0) {
      for (size_t k = 0; k < std::min(kOneBitCapacity, left); ++k) {
        symbols.push_back(static_cast<uint8_t>((chunk >> (13 - k)) & 0x1));
      }
    } else {
      for (size_t k = 0; k < std::min(kTwoBitCapacity, left); ++k) {
        symbols.push_back(static_cast<uint8_t>((chunk >> (12 - 2 * k)) & 0x3));
      }
    }
  }
  fb.packets.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    TwccPacketStatus p;
    p.sequence_number = static_cast<uint16_t>(fb.base_sequence_number + i);
    switch (symbols[i]) {
      case kNotReceived:
        break;
      case kSmallDelta:
        if (body.size() - off < 1) {
          return std::nullopt;
        }
        p.received = true;
        p.delta_ticks = body[off];
        off += 1;
        break;
      case kLargeDelta:
        if (body.size() - off < 2) {
          return std::nullopt;
        }
        p.received = true;
        p.delta_ticks = static_cast<int16_t>(ReadU16(body.data() + off));
        off += 2;
        break;
      default:
        return std::nullopt;  // reserved symbol
    }
    fb.packets.push_back(p);
  }
  // Up to three bytes of zero padding may follow when the P bit is not used.
  if (body.size() - off > 3) {
    return std::nullopt;
  }
  return fb;
}

size_t TransportFeedback::Size() const {
  const std::vector<uint8_t> symbols = Symbols(packets);
  const size_t unpadded = kFixedSize + 2 * EncodeChunks(symbols).size() + DeltaBytes(symbols);
  return (unpadded + 3) & ~size_t{3};
}

size_t TransportFeedback::Serialize(uint8_t* out, size_t cap) const {
  if (out == nullptr || packets.empty() || packets.size() > kMaxPackets ||
      reference_time > kMaxReferenceTime || reference_time < kMinReferenceTime) {
    return 0;
  }
  for (size_t i = 0; i < packets.size(); ++i) {
    const TwccPacketStatus& p = packets[i];
    if (p.sequence_number != static_cast<uint16_t>(base_sequence_number + i) ||
        (p.received && (p.delta_ticks < INT16_MIN || p.delta_ticks > INT16_MAX))) {
      return 0;
    }
  }
  const std::vector<uint8_t> symbols = Symbols(packets);
  const std::vector<uint16_t> chunks = EncodeChunks(symbols);
  const size_t unpadded = kFixedSize + 2 * chunks.size() + DeltaBytes(symbols);
  const size_t size = (unpadded + 3) & ~size_t{3};
  if (cap < size || size / 4 - 1 > 0xFFFF) {
    return 0;
  }
  WriteRtcpHeader(out, kRtpfbTwcc, kRtcpRtpfb, size);
  WriteU32(out + 4, sender_ssrc);
  WriteU32(out + 8, media_ssrc);
  WriteU16(out + 12, base_sequence_number);
  WriteU16(out + 14, static_cast<uint16_t>(packets.size()));
  WriteS24(out + 16, reference_time);
  out[19] = feedback_packet_count;
  uint8_t* p = out + kFixedSize;
  for (uint16_t c : chunks) {
    WriteU16(p, c);
    p += 2;
  }
  for (size_t i = 0; i < packets.size(); ++i) {
    if (symbols[i] == kSmallDelta) {
      *p++ = static_cast<uint8_t>(packets[i].delta_ticks);
    } else if (symbols[i] == kLargeDelta) {
      WriteU16(p, static_cast<uint16_t>(static_cast<int16_t>(packets[i].delta_ticks)));
      p += 2;
    }
  }
  // RFC 3550 6.4.1 padding: zeros, the last byte counts them, P bit set.
  const size_t pad = size - unpadded;
  if (pad > 0) {
    for (size_t k = 0; k + 1 < pad; ++k) {
      *p++ = 0;
    }
    *p = static_cast<uint8_t>(pad);
    out[0] |= 0x20;
  }
  return size;
}

std::vector<int64_t> TransportFeedback::ArrivalTimesUs() const {
  std::vector<int64_t> times;
  int64_t t = int64_t{reference_time} * kReferenceTimeUnitUs;
  for (const TwccPacketStatus& p : packets) {
    if (p.received) {
      t += int64_t{p.delta_ticks} * kDeltaTickUs;
      times.push_back(t);
    }
  }
  return times;
}

}  // namespace sb::rtp
