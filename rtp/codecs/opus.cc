#include "rtp/codecs/opus.h"

namespace sb::rtp {

std::optional<OpusToc> OpusToc::Parse(absl::Span<const uint8_t> payload) {
  if (payload.empty()) {
    return std::nullopt;
  }
  const uint8_t toc = payload[0];
  return OpusToc{static_cast<uint8_t>(toc >> 3), (toc & 0x04) != 0,
                 static_cast<uint8_t>(toc & 0x03)};
}

OpusToc::Mode OpusToc::mode() const {
  if (config < 12) {
    return Mode::kSilk;
  }
  return config < 16 ? Mode::kHybrid : Mode::kCelt;
}

uint32_t OpusToc::FrameDurationUs() const {
  // RFC 6716 3.1 table 2: SILK cycles 10/20/40/60 ms, hybrid 10/20, CELT 2.5/5/10/20.
  static constexpr uint32_t kSilk[] = {10000, 20000, 40000, 60000};
  static constexpr uint32_t kHybrid[] = {10000, 20000};
  static constexpr uint32_t kCelt[] = {2500, 5000, 10000, 20000};
  switch (mode()) {
    case Mode::kSilk:
      return kSilk[config % 4];
    case Mode::kHybrid:
      return kHybrid[config % 2];
    case Mode::kCelt:
      break;
  }
  return kCelt[config % 4];
}

std::optional<uint8_t> OpusFrameCount(absl::Span<const uint8_t> payload) {
  std::optional<OpusToc> toc = OpusToc::Parse(payload);
  if (!toc) {
    return std::nullopt;
  }
  switch (toc->frame_count_code) {
    case 0:
      return 1;
    case 1:
    case 2:
      return 2;
    default:
      break;
  }
  if (payload.size() < 2 || (payload[1] & 0x3F) == 0) {
    return std::nullopt;
  }
  return static_cast<uint8_t>(payload[1] & 0x3F);
}

}  // namespace sb::rtp
