// Framing and verification for the control <-> worker pipe. Pure: no I/O.
// A frame is a 4-byte little-endian payload length followed by one flatbuffers `Message`.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "fbs/message_generated.h"

namespace sb::ipc {

inline constexpr size_t kFrameHeaderSize = 4;
// Largest payload either side accepts. The biggest legitimate messages (a ConsumeResponse with
// every codec, a router dump listing thousands of ids) are tens of KB; 4 MiB leaves two orders of
// magnitude of headroom while bounding what a corrupt length can make us buffer.
inline constexpr size_t kMaxFrameSize = 4 * 1024 * 1024;
// Verifier limits: our schemas nest at most ~6 tables deep; a message holds at most a few
// thousand tables (a dump). Anything beyond is corrupt or hostile.
inline constexpr uint32_t kMaxVerifyDepth = 32;
inline constexpr uint32_t kMaxVerifyTables = 100000;

// Splits a byte stream into frames. Handles partial reads and several frames per read.
class FrameDecoder {
 public:
  using FrameFn = std::function<void(absl::Span<const uint8_t>)>;

  // Calls `on_frame` for every complete frame in the stream so far; the span is valid only during
  // the call and is 8-byte aligned. An oversize length returns an error: the stream can no longer
  // be split and the decoder stays broken (every later call fails too).
  absl::Status Feed(const uint8_t* data, size_t len, const FrameFn& on_frame);

  // Bytes of an incomplete frame waiting for more input.
  size_t buffered() const { return buffer_.size(); }
  bool broken() const { return broken_; }

 private:
  // Consumes whole frames from `bytes`; returns how many bytes were consumed.
  absl::StatusOr<size_t> Drain(absl::Span<const uint8_t> bytes, const FrameFn& on_frame);

  std::vector<uint8_t> buffer_;   // tail of an incomplete frame
  std::vector<uint8_t> aligned_;  // scratch copy for payloads that start unaligned
  bool broken_ = false;
};

// Appends the 4-byte length and `payload`. The caller keeps payload.size() <= kMaxFrameSize.
void AppendFrame(std::vector<uint8_t>* out, absl::Span<const uint8_t> payload);
void AppendFrame(std::string* out, absl::Span<const uint8_t> payload);

// Runs the flatbuffers verifier (bounded depth and table count) and checks that the message
// carries a known body and that nested unions have known types. The result points into `payload`.
absl::StatusOr<const fbs::Message*> VerifyMessage(absl::Span<const uint8_t> payload);

// For a payload that failed VerifyMessage: if it is at least a Message whose body is a table of
// type `expected` (Request or Response) with a readable `id`, returns that id so the peer can be
// answered instead of left waiting. Reads nothing that is not bounds-checked first.
std::optional<uint32_t> RecoverId(absl::Span<const uint8_t> payload, fbs::Body expected);

}  // namespace sb::ipc
