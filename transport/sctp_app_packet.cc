#include "transport/sctp_app_packet.h"

#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace sb::transport {
namespace {

constexpr uint8_t kName[4] = {'S', 'C', 'T', 'P'};
// RFC 9260 3.1: ports, verification tag, checksum.
constexpr size_t kSctpCommonHeaderSize = 12;
// RFC 3550 6.4.1: the length field counts 32-bit words minus one in 16 bits.
constexpr size_t kMaxRtcpPacketSize = (size_t{0xFFFF} + 1) * 4;

}  // namespace

size_t WriteSctpAppPacket(uint32_t ssrc, absl::Span<const uint8_t> sctp, absl::Span<uint8_t> out) {
  const size_t size = SctpAppPacketSize(sctp.size());
  if (out.size() < size || size > kMaxRtcpPacketSize) return 0;
  const size_t padding = size - kSctpAppHeaderSize - sctp.size();
  const size_t words = size / 4 - 1;
  uint8_t* p = out.data();
  p[0] = static_cast<uint8_t>(0x80 | padding);  // V=2, P=0, subtype = padding count
  p[1] = kRtcpTypeApp;
  p[2] = static_cast<uint8_t>(words >> 8);
  p[3] = static_cast<uint8_t>(words);
  p[4] = static_cast<uint8_t>(ssrc >> 24);
  p[5] = static_cast<uint8_t>(ssrc >> 16);
  p[6] = static_cast<uint8_t>(ssrc >> 8);
  p[7] = static_cast<uint8_t>(ssrc);
  std::memcpy(p + 8, kName, sizeof(kName));
  if (!sctp.empty()) std::memcpy(p + kSctpAppHeaderSize, sctp.data(), sctp.size());
  std::memset(p + kSctpAppHeaderSize + sctp.size(), 0, padding);
  return size;
}

bool IsSctpAppPacket(absl::Span<const uint8_t> rtcp) {
  return rtcp.size() >= kSctpAppHeaderSize && rtcp[1] == kRtcpTypeApp &&
         std::memcmp(rtcp.data() + 8, kName, sizeof(kName)) == 0;
}

absl::StatusOr<absl::Span<const uint8_t>> ParseSctpAppPacket(absl::Span<const uint8_t> rtcp) {
  if (!IsSctpAppPacket(rtcp)) return absl::InvalidArgumentError("not an APP packet named SCTP");
  if ((rtcp[0] & 0xC0) != 0x80) return absl::InvalidArgumentError("RTCP version is not 2");
  if ((rtcp[0] & 0x20) != 0) return absl::InvalidArgumentError("P bit set");
  const size_t words = (size_t{rtcp[2]} << 8) | rtcp[3];
  if ((words + 1) * 4 != rtcp.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("length field says ", (words + 1) * 4, " bytes, datagram has ", rtcp.size()));
  }
  const size_t padding = rtcp[0] & 0x1F;
  if (padding > 3) return absl::InvalidArgumentError(absl::StrCat("padding count ", padding));
  const size_t data_len = rtcp.size() - kSctpAppHeaderSize;
  if (data_len < padding + kSctpCommonHeaderSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("SCTP packet of ", data_len, " bytes with ", padding, " of padding"));
  }
  const size_t sctp_len = data_len - padding;
  for (size_t i = kSctpAppHeaderSize + sctp_len; i < rtcp.size(); ++i) {
    if (rtcp[i] != 0) return absl::InvalidArgumentError("padding bytes are not zero");
  }
  return rtcp.subspan(kSctpAppHeaderSize, sctp_len);
}

}  // namespace sb::transport
