// The pipe's SCTP-in-RTCP framing (transport/sctp_app_packet.h) as a hostile peer or a broken
// path drives it: any datagram is classified and parsed; what parses is an SCTP packet inside
// the datagram, of at least a common header, and writing it again gives back the same bytes
// (the length, padding count and padding checked on the way in leave nothing to choose). Every
// input is also framed as an SCTP packet and parsed back whole. Nothing reads past the input.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "tests/fuzz/fuzz_check.h"
#include "transport/sctp_app_packet.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sb::transport;
  const absl::Span<const uint8_t> input(data, size);
  const bool is_sctp = IsSctpAppPacket(input);
  auto parsed = ParseSctpAppPacket(input);
  if (parsed.ok()) {
    SB_FUZZ_CHECK(is_sctp);
    SB_FUZZ_CHECK(parsed->size() >= 12);
    SB_FUZZ_CHECK(parsed->data() >= data && parsed->data() + parsed->size() <= data + size);
    std::vector<uint8_t> again(SctpAppPacketSize(parsed->size()));
    const uint32_t ssrc =
        (uint32_t{data[4]} << 24) | (uint32_t{data[5]} << 16) | (uint32_t{data[6]} << 8) | data[7];
    SB_FUZZ_CHECK(WriteSctpAppPacket(ssrc, *parsed, absl::MakeSpan(again)) == again.size());
    SB_FUZZ_CHECK(again.size() == size);
    SB_FUZZ_CHECK(std::equal(again.begin(), again.end(), data));
  }
  // The other way: the input as the SCTP packet a pipe sends.
  std::vector<uint8_t> framed(SctpAppPacketSize(size));
  const size_t written = WriteSctpAppPacket(0x12345678, input, absl::MakeSpan(framed));
  if (written == 0) return 0;
  SB_FUZZ_CHECK(written == framed.size());
  SB_FUZZ_CHECK(IsSctpAppPacket(framed));
  auto back = ParseSctpAppPacket(framed);
  SB_FUZZ_CHECK(back.ok() == (size >= 12));
  if (back.ok()) SB_FUZZ_CHECK(std::equal(back->begin(), back->end(), data, data + size));
  return 0;
}
