// DCEP (RFC 8832): ParseDcepOpen, ParseDcepAck and DcepMessageType on any bytes. An OPEN that
// parses builds back to exactly the input (the parser accepts nothing after the protocol), its
// label and protocol view the input and are UTF-8, and its reliability survives the channel
// type round trip.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "tests/fuzz/fuzz_check.h"
#include "transport/dcep.h"

using namespace sb::transport;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<uint8_t> buf(data, data + size);
  const absl::Span<const uint8_t> input(buf);
  auto type = DcepMessageType(input);
  auto ack = ParseDcepAck(input);
  if (ack.ok()) SB_FUZZ_CHECK(size == 1 && type.ok() && *type == kDcepMessageAck);
  auto open = ParseDcepOpen(input);
  (void)IsValidUtf8(std::string_view(reinterpret_cast<const char*>(buf.data()), size));
  if (!open.ok()) return 0;
  SB_FUZZ_CHECK(type.ok() && *type == kDcepMessageOpen);
  SB_FUZZ_CHECK(size == kDcepOpenHeaderSize + open->label.size() + open->protocol.size());
  const auto* begin = reinterpret_cast<const char*>(buf.data());
  SB_FUZZ_CHECK(open->label.data() >= begin && open->protocol.data() >= begin);
  SB_FUZZ_CHECK(open->protocol.data() + open->protocol.size() == begin + size);
  SB_FUZZ_CHECK(IsValidUtf8(open->label) && IsValidUtf8(open->protocol));

  auto built = BuildDcepOpen(*open);
  SB_FUZZ_CHECK(built.ok());
  SB_FUZZ_CHECK(*built == buf);

  const DataChannelReliability reliability =
      ReliabilityOf(open->channel_type, open->reliability_parameter);
  SB_FUZZ_CHECK(!(reliability.max_retransmits && reliability.max_packet_life_time_ms));
  const DcepOpen again = DcepOpenFor(reliability, open->priority, open->label, open->protocol);
  SB_FUZZ_CHECK(again.channel_type == open->channel_type);
  if (!reliability.reliable()) {
    SB_FUZZ_CHECK(again.reliability_parameter == open->reliability_parameter);
  }
  SB_FUZZ_CHECK(ReliabilityOf(again.channel_type, again.reliability_parameter) == reliability);
  return 0;
}
