// RESP2, the Redis serialization protocol (https://redis.io/docs/reference/protocol-spec/):
// commands encoded as arrays of bulk strings, and an incremental parser for the server's replies.
// Pure code, no I/O. The parser accepts only the canonical form Redis writes (no leading zeros,
// no "-0", no bare CR or LF in a line), so a parsed reply encodes back to exactly its bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace sb::signaling::cluster {

struct Reply {
  enum class Type : uint8_t {
    kSimpleString,    // +OK
    kError,           // -ERR unknown command
    kInteger,         // :42
    kBulkString,      // $3 foo
    kNullBulkString,  // $-1: a missing key
    kArray,           // *2 ...
    kNullArray,       // *-1: e.g. a timed-out BLPOP
  };

  static Reply Simple(std::string text);
  static Reply Error(std::string text);
  static Reply Integer(int64_t value);
  static Reply Bulk(std::string bytes);
  static Reply NullBulk();
  static Reply Array(std::vector<Reply> elements);
  static Reply NullArray();

  bool is_null() const { return type == Type::kNullBulkString || type == Type::kNullArray; }
  bool is_string() const { return type == Type::kSimpleString || type == Type::kBulkString; }
  // "ERR ...", "+OK", ":3", "\"foo\"", "nil", "[...]": for logs and test failure messages.
  std::string DebugString() const;

  bool operator==(const Reply& other) const = default;

  Type type = Type::kNullBulkString;
  std::string str;  // Simple string, error text or bulk bytes.
  int64_t integer = 0;
  std::vector<Reply> elements;
};

// A command as RESP2 sends it: an array of bulk strings ("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n").
void AppendCommand(absl::Span<const std::string> args, std::string* out);
std::string EncodeCommand(absl::Span<const std::string> args);
// A reply in its wire form (what a server writes); the inverse of ReplyParser.
void AppendReply(const Reply& reply, std::string* out);

struct ParserLimits {
  // Arrays inside arrays: Redis's deepest replies to our commands are 2 (SCAN, EXEC of
  // SMEMBERS); 8 leaves room without letting a hostile peer build an unbounded tree.
  int max_depth = 8;
  // One bulk string: our values are small JSON documents; 64 MiB is an eighth of Redis's own
  // proto-max-bulk-len default (512 MB) and far above anything the directory stores.
  size_t max_bulk_bytes = size_t{64} << 20;
  // Elements of one array, and of all arrays of one reply together: 1 Mi elements of ~80 bytes
  // of Reply each keeps one reply's tree under ~100 MB.
  size_t max_elements = size_t{1} << 20;
  // A simple string, error or length line: Redis's own bound on an inline command line
  // (PROTO_INLINE_MAX_SIZE, 64 KiB).
  size_t max_line_bytes = size_t{64} << 10;
  // All bytes of one reply: two maximal bulk strings.
  size_t max_reply_bytes = size_t{128} << 20;
};

// Parses replies from a byte stream fed in pieces of any size. After an error the parser stays
// broken (the connection must be dropped): every later Next() returns the same error.
class ReplyParser {
 public:
  explicit ReplyParser(ParserLimits limits = {});

  void Feed(std::string_view bytes);
  // The next complete reply, nullopt when more bytes are needed, or an error for malformed input.
  absl::StatusOr<std::optional<Reply>> Next();
  // Bytes fed but not yet returned as part of a reply.
  size_t buffered() const { return buffer_.size() - pos_ + reply_bytes_; }

 private:
  // An array being filled: its reply and how many elements are still to come.
  struct Frame {
    Reply array;
    int64_t remaining = 0;
  };
  enum class Step { kDone, kNeedMore };

  // Parses one element at pos_ into `out` (a scalar, or an array header pushed on stack_).
  absl::StatusOr<Step> ParseElement(std::optional<Reply>* out);
  // The line at pos_ without its CRLF; nullopt when the CRLF has not arrived.
  absl::StatusOr<std::optional<std::string_view>> Line();
  absl::Status Fail(absl::Status status);
  void Compact();

  const ParserLimits limits_;
  std::string buffer_;
  size_t pos_ = 0;             // Start of the first byte not yet parsed.
  size_t reply_bytes_ = 0;     // Bytes of the reply being parsed, consumed so far.
  size_t reply_elements_ = 0;  // Elements of the reply being parsed so far.
  std::vector<Frame> stack_;
  absl::Status error_;
};

}  // namespace sb::signaling::cluster
