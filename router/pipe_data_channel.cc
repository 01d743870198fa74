#include "router/pipe_data_channel.h"

#include <cstddef>
#include <cstdint>

#include "absl/strings/str_cat.h"

namespace sb::router {
namespace {

// DCEP's Protocol Length is 16 bits (RFC 8832 5.1).
constexpr size_t kMaxDcepField = 65535;

}  // namespace

absl::StatusOr<std::string> EncodePipeChannelProtocol(const PipeChannelOrigin& origin) {
  std::string out = absl::StrCat(kPipeChannelProtocolPrefix, origin.label.size(), " ", origin.label,
                                 origin.protocol);
  if (out.size() > kMaxDcepField) {
    return absl::InvalidArgumentError(
        absl::StrCat("label and protocol too long for a pipe channel: ", out.size(), " bytes"));
  }
  return out;
}

std::optional<PipeChannelOrigin> DecodePipeChannelProtocol(std::string_view protocol) {
  constexpr std::string_view kPrefix = kPipeChannelProtocolPrefix;
  if (protocol.size() > kMaxDcepField || !protocol.starts_with(kPrefix)) return std::nullopt;
  protocol.remove_prefix(kPrefix.size());
  // The label's length: 1 to 5 digits, no leading zero (but "0" itself), then a space.
  size_t digits = 0;
  uint32_t length = 0;
  while (digits < protocol.size() && protocol[digits] >= '0' && protocol[digits] <= '9') {
    if (digits == 5) return std::nullopt;
    length = length * 10 + static_cast<uint32_t>(protocol[digits] - '0');
    ++digits;
  }
  if (digits == 0 || (digits > 1 && protocol[0] == '0')) return std::nullopt;
  if (digits >= protocol.size() || protocol[digits] != ' ') return std::nullopt;
  protocol.remove_prefix(digits + 1);
  if (length > protocol.size()) return std::nullopt;
  return PipeChannelOrigin{std::string(protocol.substr(0, length)),
                           std::string(protocol.substr(length))};
}

}  // namespace sb::router
