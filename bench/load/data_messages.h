// The messages switchboard-load sends on its data channels (bench/load/data_channels.h): each
// carries its sequence number and send time, and its content follows from them, so that a
// receiver can tell a lost, reordered, repeated, truncated or altered message from the right one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/types/span.h"

namespace sb::bench {

inline constexpr char kChatLabel[] = "chat";
inline constexpr char kFileLabel[] = "file";
// Chat messages: 100-300 bytes of text, a typed line or two.
inline constexpr size_t kChatMinBytes = 100;
inline constexpr size_t kChatMaxBytes = 300;
// File messages: 16-64 KiB chunks, as file transfers over RTCDataChannel cut files (16 KiB
// goes to any browser; larger chunks rely on the peer's a=max-message-size, 256 KiB here).
inline constexpr size_t kFileMinBytes = 16 * 1024;
inline constexpr size_t kFileMaxBytes = 64 * 1024;

// What a received message says about itself.
struct DataMessageHeader {
  uint64_t seq = 0;
  int64_t send_us = 0;
};

// The n-th chat message, sent at `send_us`: "<seq> <send_us> " and filler text whose length
// (kChatMinBytes-kChatMaxBytes in all) and letters follow from seq.
std::string BuildChatMessage(uint64_t seq, int64_t send_us);
// Its header when the text is exactly what BuildChatMessage makes for it; nullopt otherwise.
std::optional<DataMessageHeader> CheckChatMessage(std::string_view text);
// The size of the n-th file message (kFileMinBytes-kFileMaxBytes, spread by seq).
size_t FileMessageSize(uint64_t seq);
// The n-th file message: seq (8 bytes), send time (8), size (4), 4 zero bytes, then a byte
// pattern that depends on seq, FileMessageSize(seq) bytes in all (big-endian fields).
void BuildFileMessage(uint64_t seq, int64_t send_us, std::vector<uint8_t>* out);
std::optional<DataMessageHeader> CheckFileMessage(absl::Span<const uint8_t> data);

}  // namespace sb::bench
