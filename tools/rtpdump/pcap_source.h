// Reads a pcap or pcapng file with libpcap (pcap_open_offline reads both) and hands each frame
// to a callback, with its link type and capture time.
#pragma once

#include <cstdint>
#include <string>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/types/span.h"

namespace sb::rtpdump {

struct CapturedFrame {
  uint64_t index = 0;  // 1-based frame number, as Wireshark numbers them
  int64_t seconds = 0;
  int64_t microseconds = 0;
  int link_type = 0;
  size_t original_length = 0;  // on the wire; the bytes may be fewer (snap length)
  absl::Span<const uint8_t> bytes;
};

// NotFound/InvalidArgument when the file cannot be opened as a capture (nothing was read).
// A read error in the middle ends the walk with DataLoss after the frames before it.
absl::Status ForEachCapturedFrame(const std::string& path,
                                  absl::FunctionRef<void(const CapturedFrame&)> fn);

}  // namespace sb::rtpdump
