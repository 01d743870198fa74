// The --hex input format: one UDP payload per line as hex digits, optionally separated by
// spaces, tabs or colons; '#' starts a comment that runs to the end of the line.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace sb::rtpdump {

// The packet on `line`; nullopt for a blank or comment-only line; InvalidArgument for a
// character that is not hex or an odd number of digits.
absl::StatusOr<std::optional<std::vector<uint8_t>>> ParseHexLine(std::string_view line);

}  // namespace sb::rtpdump
