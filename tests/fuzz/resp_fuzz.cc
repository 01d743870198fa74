// RESP2 replies from a Redis server (signaling/cluster/resp.h), as a byte stream:
// - fed whole and fed in pieces (the first byte picks a size of 1-64 bytes) the parser gives
//   the same replies and the same verdict (an error, or waiting for more);
// - the replies encode back to exactly the bytes they came from (the parser accepts only the
//   canonical form), and parse back to themselves;
// - under much smaller limits (depth 3, 16-byte strings, 8 elements, 16-byte lines, 64-byte
//   replies) the parser returns a prefix of the same replies: a limit only ever refuses, so the
//   refusals are fuzzed without inputs of the production limits' size;
// - the strings of an array reply, sent as a command (EncodeCommand), parse as an array of the
//   same bulk strings.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "signaling/cluster/resp.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using sb::signaling::cluster::ParserLimits;
using sb::signaling::cluster::Reply;
using sb::signaling::cluster::ReplyParser;

struct Outcome {
  std::vector<Reply> replies;
  bool error = false;
  size_t buffered = 0;
};

Outcome Parse(std::string_view bytes, size_t piece, const ParserLimits& limits) {
  ReplyParser parser(limits);
  Outcome out;
  for (size_t at = 0; at < bytes.size() && !out.error; at += piece) {
    parser.Feed(bytes.substr(at, piece));
    while (true) {
      absl::StatusOr<std::optional<Reply>> next = parser.Next();
      if (!next.ok()) {
        out.error = true;
        break;
      }
      if (!next->has_value()) break;
      out.replies.push_back(std::move(**next));
    }
  }
  out.buffered = parser.buffered();
  return out;
}

std::string Encode(const Reply& reply) {
  std::string out;
  sb::signaling::cluster::AppendReply(reply, &out);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t piece = 1 + data[0] % 64;
  const std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);

  const Outcome whole = Parse(bytes, bytes.size() + 1, ParserLimits{});
  const Outcome split = Parse(bytes, piece, ParserLimits{});
  SB_FUZZ_CHECK(whole.error == split.error);
  SB_FUZZ_CHECK(whole.replies == split.replies);

  std::string encoded;
  for (const Reply& reply : whole.replies) {
    const std::string one = Encode(reply);
    encoded += one;
    const Outcome again = Parse(one, one.size() + 1, ParserLimits{});
    SB_FUZZ_CHECK(!again.error && again.replies.size() == 1 && again.replies[0] == reply &&
                  again.buffered == 0);
  }
  SB_FUZZ_CHECK(bytes.substr(0, encoded.size()) == encoded);
  if (!whole.error) SB_FUZZ_CHECK(encoded.size() + whole.buffered == bytes.size());

  ParserLimits small;
  small.max_depth = 3;
  small.max_bulk_bytes = 16;
  small.max_elements = 8;
  small.max_line_bytes = 16;
  small.max_reply_bytes = 64;
  const Outcome limited = Parse(bytes, piece, small);
  SB_FUZZ_CHECK(limited.replies.size() <= whole.replies.size());
  for (size_t i = 0; i < limited.replies.size(); ++i) {
    SB_FUZZ_CHECK(limited.replies[i] == whole.replies[i]);
  }
  if (!limited.error) SB_FUZZ_CHECK(limited.replies == whole.replies && !whole.error);

  for (const Reply& reply : whole.replies) {
    if (reply.type != Reply::Type::kArray) continue;
    std::vector<std::string> args;
    std::vector<Reply> bulks;
    for (const Reply& element : reply.elements) {
      if (!element.is_string()) continue;
      args.push_back(element.str);
      bulks.push_back(Reply::Bulk(element.str));
    }
    const std::string command = sb::signaling::cluster::EncodeCommand(args);
    const Outcome parsed = Parse(command, command.size() + 1, ParserLimits{});
    SB_FUZZ_CHECK(!parsed.error && parsed.replies.size() == 1 &&
                  parsed.replies[0] == Reply::Array(bulks));
  }
  return 0;
}
