#include "bench/load/data_messages.h"

#include <array>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "rtp/byte_io.h"

namespace sb::bench {
namespace {

// File messages: seq, send time, size and 4 reserved bytes before the pattern.
constexpr size_t kFileHeaderBytes = 24;
// The pattern a file message's body is cut from, at an offset that depends on its seq.
constexpr size_t kPatternOffsets = 256;

const std::array<uint8_t, kFileMaxBytes + kPatternOffsets>& Pattern() {
  static const auto pattern = [] {
    std::array<uint8_t, kFileMaxBytes + kPatternOffsets> p{};
    uint32_t x = 0x9e3779b9;
    for (auto& b : p) {
      // xorshift32: bytes without short periods, so a shifted or repeated chunk shows.
      x ^= x << 13;
      x ^= x >> 17;
      x ^= x << 5;
      b = static_cast<uint8_t>(x >> 24);
    }
    return p;
  }();
  return pattern;
}

void AppendChatFiller(uint64_t seq, std::string* text) {
  const size_t length = kChatMinBytes + (seq * 7919) % (kChatMaxBytes - kChatMinBytes + 1);
  for (size_t i = text->size(); i < length; ++i) {
    text->push_back((i + seq) % 7 == 0 ? ' ' : static_cast<char>('a' + (i * 31 + seq) % 26));
  }
}

}  // namespace

std::string BuildChatMessage(uint64_t seq, int64_t send_us) {
  std::string text = absl::StrCat(seq, " ", send_us, " ");
  AppendChatFiller(seq, &text);
  return text;
}

std::optional<DataMessageHeader> CheckChatMessage(std::string_view text) {
  const size_t first = text.find(' ');
  if (first == std::string_view::npos) return std::nullopt;
  const size_t second = text.find(' ', first + 1);
  if (second == std::string_view::npos) return std::nullopt;
  DataMessageHeader h;
  if (!absl::SimpleAtoi(absl::string_view(text.data(), first), &h.seq) ||
      !absl::SimpleAtoi(absl::string_view(text.data() + first + 1, second - first - 1),
                        &h.send_us)) {
    return std::nullopt;
  }
  if (text != BuildChatMessage(h.seq, h.send_us)) return std::nullopt;
  return h;
}

size_t FileMessageSize(uint64_t seq) {
  return kFileMinBytes +
         static_cast<size_t>((seq * 2654435761u) % (kFileMaxBytes - kFileMinBytes + 1));
}

void BuildFileMessage(uint64_t seq, int64_t send_us, std::vector<uint8_t>* out) {
  const size_t size = FileMessageSize(seq);
  out->resize(size);
  uint8_t* p = out->data();
  rtp::WriteU64(p, seq);
  rtp::WriteU64(p + 8, static_cast<uint64_t>(send_us));
  rtp::WriteU32(p + 16, static_cast<uint32_t>(size));
  rtp::WriteU32(p + 20, 0);
  std::memcpy(p + kFileHeaderBytes, Pattern().data() + seq % kPatternOffsets + kFileHeaderBytes,
              size - kFileHeaderBytes);
}

std::optional<DataMessageHeader> CheckFileMessage(absl::Span<const uint8_t> data) {
  if (data.size() < kFileHeaderBytes) return std::nullopt;
  DataMessageHeader h;
  h.seq = rtp::ReadU64(data.data());
  h.send_us = static_cast<int64_t>(rtp::ReadU64(data.data() + 8));
  if (rtp::ReadU32(data.data() + 16) != data.size() || FileMessageSize(h.seq) != data.size() ||
      rtp::ReadU32(data.data() + 20) != 0 ||
      std::memcmp(data.data() + kFileHeaderBytes,
                  Pattern().data() + h.seq % kPatternOffsets + kFileHeaderBytes,
                  data.size() - kFileHeaderBytes) != 0) {
    return std::nullopt;
  }
  return h;
}

}  // namespace sb::bench
