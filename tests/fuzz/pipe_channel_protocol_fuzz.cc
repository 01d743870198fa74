// The protocol field of a data channel across a pipe (router/pipe_data_channel.h), as another
// worker or node sends it in DCEP: anything decodes or is refused; what decodes encodes back to
// the same bytes (one encoding per origin), and every label/protocol split of the input encodes
// and decodes back unchanged (or is refused past DCEP's 65535 bytes).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "router/pipe_data_channel.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sb::router;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  if (auto origin = DecodePipeChannelProtocol(input)) {
    auto again = EncodePipeChannelProtocol(*origin);
    SB_FUZZ_CHECK(again.ok());
    SB_FUZZ_CHECK(*again == input);
  }
  // The input's first byte picks where it splits into a label and a protocol.
  if (size == 0) return 0;
  const size_t cut = std::min<size_t>(data[0], size - 1);
  const PipeChannelOrigin origin{std::string(input.substr(1, cut)),
                                 std::string(input.substr(1 + cut))};
  auto encoded = EncodePipeChannelProtocol(origin);
  if (!encoded.ok()) return 0;
  SB_FUZZ_CHECK(encoded->size() <= 65535);
  auto decoded = DecodePipeChannelProtocol(*encoded);
  SB_FUZZ_CHECK(decoded.has_value());
  SB_FUZZ_CHECK(*decoded == origin);
  return 0;
}
