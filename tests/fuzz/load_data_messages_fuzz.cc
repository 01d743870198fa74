// switchboard-load's data channel messages (bench/load/data_messages.h) on any bytes: what
// CheckChatMessage or CheckFileMessage accepts is exactly what the builder makes for the
// sequence number and send time it read, and whatever the builder makes for numbers taken from
// the input is accepted back with those numbers.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "bench/load/data_messages.h"
#include "tests/fuzz/fuzz_check.h"

using namespace sb::bench;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<uint8_t> buf(data, data + size);
  const std::string_view text(reinterpret_cast<const char*>(buf.data()), size);
  if (auto h = CheckChatMessage(text)) {
    SB_FUZZ_CHECK(BuildChatMessage(h->seq, h->send_us) == text);
    SB_FUZZ_CHECK(size >= kChatMinBytes && size <= kChatMaxBytes);
  }
  std::vector<uint8_t> built;
  if (auto h = CheckFileMessage(buf)) {
    BuildFileMessage(h->seq, h->send_us, &built);
    SB_FUZZ_CHECK(built == buf);
  }
  // The other way: numbers from the input's first 16 bytes.
  uint64_t seq = 0;
  int64_t send_us = 0;
  if (size > 0) std::memcpy(&seq, buf.data(), std::min<size_t>(size, 8));
  if (size > 8) std::memcpy(&send_us, buf.data() + 8, std::min<size_t>(size - 8, 8));
  auto chat = CheckChatMessage(BuildChatMessage(seq, send_us));
  SB_FUZZ_CHECK(chat && chat->seq == seq && chat->send_us == send_us);
  BuildFileMessage(seq, send_us, &built);
  auto file = CheckFileMessage(built);
  SB_FUZZ_CHECK(file && file->seq == seq && file->send_us == send_us);
  SB_FUZZ_CHECK(built.size() >= kFileMinBytes && built.size() <= kFileMaxBytes);
  return 0;
}
