#include "transport/tcp_framing.h"

#include <algorithm>

namespace sb::transport {
namespace {

size_t ReadLength(const uint8_t* p) { return (size_t{p[0]} << 8) | p[1]; }

}  // namespace

void WriteTcpFrameHeader(size_t len, uint8_t out[kTcpFrameHeaderSize]) {
  out[0] = static_cast<uint8_t>(len >> 8);
  out[1] = static_cast<uint8_t>(len);
}

TcpFrameDecoder::Result TcpFrameDecoder::Feed(uint8_t* data, size_t len, FrameFn on_frame) {
  // First complete a frame begun in an earlier read.
  if (!partial_.empty()) {
    if (partial_.size() < kTcpFrameHeaderSize) {
      const size_t take = std::min(kTcpFrameHeaderSize - partial_.size(), len);
      partial_.insert(partial_.end(), data, data + take);
      data += take;
      len -= take;
      if (partial_.size() < kTcpFrameHeaderSize) return Result::kOk;
    }
    const size_t frame = ReadLength(partial_.data());
    if (frame > kMaxTcpFrameLength) return Result::kTooLong;
    const size_t missing = kTcpFrameHeaderSize + frame - partial_.size();
    const size_t take = std::min(missing, len);
    partial_.insert(partial_.end(), data, data + take);
    data += take;
    len -= take;
    if (take < missing) return Result::kOk;
    // Moved out first: the callback may destroy this decoder.
    std::vector<uint8_t> whole = std::move(partial_);
    partial_.clear();
    if (frame == 0) {
      ++empty_frames_;
    } else if (!on_frame(whole.data() + kTcpFrameHeaderSize, frame)) {
      return Result::kStopped;
    }
  }
  // Then whole frames straight from the caller's buffer.
  while (len >= kTcpFrameHeaderSize) {
    const size_t frame = ReadLength(data);
    if (frame > kMaxTcpFrameLength) return Result::kTooLong;
    if (len - kTcpFrameHeaderSize < frame) break;
    uint8_t* payload = data + kTcpFrameHeaderSize;
    data += kTcpFrameHeaderSize + frame;
    len -= kTcpFrameHeaderSize + frame;
    if (frame == 0) {
      ++empty_frames_;
      continue;
    }
    if (!on_frame(payload, frame)) return Result::kStopped;
  }
  if (len > 0) {
    // An announced length beyond the bound was rejected above, so this stays bounded.
    partial_.reserve(kTcpFrameHeaderSize + (len >= 2 ? ReadLength(data) : 0));
    partial_.assign(data, data + len);
  }
  return Result::kOk;
}

}  // namespace sb::transport
