// RFC 4571 framing: RTP, RTCP, STUN and DTLS over a TCP stream, each packet preceded by its
// length as a 16-bit big-endian integer (RFC 4571 section 2; used by ICE-TCP, RFC 6544 3).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/functional/function_ref.h"

namespace sb::transport {

// The longest frame accepted. No packet a WebRTC peer sends over ICE-TCP is longer than a
// DTLS ciphertext record can be (2^14 + 2048, RFC 6347 4.1 after RFC 5246 6.2.3); STUN and
// SRTP packets fit in a path MTU. A length above it is garbage (or an attack on memory): the
// stream is rejected. The 16-bit field itself allows 65535 (RFC 4571 2).
inline constexpr size_t kMaxTcpFrameLength = (1u << 14) + 2048;
inline constexpr size_t kTcpFrameHeaderSize = 2;

// Splits a byte stream into frames. Frames that arrive whole in one read are handed out in
// place (no copy); only a frame split across reads is gathered in a buffer, bounded by
// kTcpFrameHeaderSize + kMaxTcpFrameLength.
class TcpFrameDecoder {
 public:
  enum class Result {
    kOk,       // Everything consumed (a partial frame is kept for the next call).
    kStopped,  // The callback returned false; the rest of the input was not looked at.
    kTooLong,  // A frame announced more than kMaxTcpFrameLength: the stream is unusable.
  };
  // data points into the caller's buffer or ours; mutable so SRTP can decrypt in place; valid
  // only during the call. Returning false stops decoding (e.g. the connection was closed: the
  // decoder may already be destroyed, and is not touched again).
  using FrameFn = absl::FunctionRef<bool(uint8_t* data, size_t len)>;

  Result Feed(uint8_t* data, size_t len, FrameFn on_frame);

  // Bytes of an incomplete frame held since the last Feed (header included).
  size_t buffered() const { return partial_.size(); }
  // Zero-length frames carry no packet: skipped and counted.
  uint64_t empty_frames() const { return empty_frames_; }

 private:
  std::vector<uint8_t> partial_;
  uint64_t empty_frames_ = 0;
};

// Writes the 2-byte RFC 4571 header for a frame of `len` bytes (len <= 65535).
void WriteTcpFrameHeader(size_t len, uint8_t out[kTcpFrameHeaderSize]);

}  // namespace sb::transport
