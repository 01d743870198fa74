#include "tools/rtpdump/hex_input.h"

#include <string>

#include "absl/status/status.h"
#include "base/hex.h"

namespace sb::rtpdump {

absl::StatusOr<std::optional<std::vector<uint8_t>>> ParseHexLine(std::string_view line) {
  if (size_t hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
  std::vector<uint8_t> bytes;
  int high = -1;  // the first digit of a byte, while waiting for the second
  for (char c : line) {
    if (c == ' ' || c == '\t' || c == ':' || c == '\r') {
      continue;
    }
    int v = base::HexDigitValue(c);
    if (v < 0) {
      return absl::InvalidArgumentError(std::string("not a hex digit: '") + c + "'");
    }
    if (high < 0) {
      high = v;
    } else {
      bytes.push_back(static_cast<uint8_t>(high << 4 | v));
      high = -1;
    }
  }
  if (high >= 0) return absl::InvalidArgumentError("odd number of hex digits");
  if (bytes.empty()) return std::optional<std::vector<uint8_t>>();
  return std::optional<std::vector<uint8_t>>(std::move(bytes));
}

}  // namespace sb::rtpdump
