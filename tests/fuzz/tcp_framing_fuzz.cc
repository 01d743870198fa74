// RFC 4571 framing: any byte stream cut anywhere yields the same frames as in one piece, every
// frame within the bound, and a rejected stream is rejected either way.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "tests/fuzz/fuzz_check.h"
#include "transport/tcp_framing.h"

namespace {

using sb::transport::kMaxTcpFrameLength;
using sb::transport::TcpFrameDecoder;

struct Run {
  std::vector<std::vector<uint8_t>> frames;
  bool too_long = false;
};

Run Decode(const uint8_t* data, size_t size, size_t chunk) {
  Run run;
  TcpFrameDecoder decoder;
  for (size_t at = 0; at < size && !run.too_long; at += chunk) {
    const size_t n = std::min(chunk, size - at);
    std::vector<uint8_t> piece(data + at, data + at + n);  // ASan sees reads past it.
    const auto result = decoder.Feed(piece.data(), piece.size(), [&](uint8_t* f, size_t len) {
      SB_FUZZ_CHECK(len > 0 && len <= kMaxTcpFrameLength);
      run.frames.emplace_back(f, f + len);
      return true;
    });
    run.too_long = result == TcpFrameDecoder::Result::kTooLong;
    SB_FUZZ_CHECK(decoder.buffered() <= kMaxTcpFrameLength + 2);
  }
  return run;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  // The first byte picks the chunk size of the second decoding.
  const size_t chunk = 1 + data[0] % 61;
  const Run whole = Decode(data + 1, size - 1, size);
  const Run pieces = Decode(data + 1, size - 1, chunk);
  SB_FUZZ_CHECK(whole.too_long == pieces.too_long);
  SB_FUZZ_CHECK(whole.frames == pieces.frames);
  return 0;
}
