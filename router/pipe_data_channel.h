// What a data channel across a pipe between routers says about the data producer it copies.
// The router at the origin opens the channel on the pipe's association (DCEP, RFC 8832 5.1)
// with the origin data producer's id as the label, so the far router and its control process
// know which producer the channel copies, and with the origin producer's own label and protocol
// (what subscribers see, set by the participant who opened it) packed into the protocol field:
//
//   "sb-pipe/1 " <label length, decimal, no leading zeros> " " <label> <protocol>
//
// e.g. label "chat" and protocol "bob" give "sb-pipe/1 4 chatbob": no separator after the
// label, its length says where it ends. DCEP limits the field to 65535 bytes (RFC 8832 5.1).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace sb::router {

inline constexpr char kPipeChannelProtocolPrefix[] = "sb-pipe/1 ";

// The origin data producer's channel as its participant opened it.
struct PipeChannelOrigin {
  std::string label;
  std::string protocol;

  bool operator==(const PipeChannelOrigin&) const = default;
};

// The protocol field of a pipe channel; kInvalidArgument past DCEP's 65535 bytes.
absl::StatusOr<std::string> EncodePipeChannelProtocol(const PipeChannelOrigin& origin);
// nullopt unless `protocol` is exactly one encoding (prefix, length in range, label inside).
std::optional<PipeChannelOrigin> DecodePipeChannelProtocol(std::string_view protocol);

}  // namespace sb::router
