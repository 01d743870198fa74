#include "signaling/cluster/resp.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace sb::signaling::cluster {
namespace {

// Everything the parser returns for `bytes` fed in pieces of `piece` bytes (all at once for 0),
// and whether it ended in an error.
struct Parsed {
  std::vector<Reply> replies;
  bool error = false;
  size_t buffered = 0;
};

Parsed Parse(std::string_view bytes, size_t piece = 0, ParserLimits limits = {}) {
  ReplyParser parser(limits);
  Parsed out;
  auto drain = [&] {
    while (true) {
      absl::StatusOr<std::optional<Reply>> next = parser.Next();
      if (!next.ok()) {
        out.error = true;
        return;
      }
      if (!next->has_value()) return;
      out.replies.push_back(std::move(**next));
    }
  };
  if (piece == 0) piece = bytes.size() + 1;
  for (size_t at = 0; at < bytes.size() && !out.error; at += piece) {
    parser.Feed(bytes.substr(at, piece));
    drain();
  }
  if (bytes.empty()) drain();
  out.buffered = parser.buffered();
  return out;
}

std::string Encode(const Reply& reply) {
  std::string out;
  AppendReply(reply, &out);
  return out;
}

TEST(RespTest, EncodesCommandsAsArraysOfBulkStrings) {
  EXPECT_EQ(EncodeCommand({"SET", "key", "value"}),
            "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n");
  EXPECT_EQ(EncodeCommand({"PING"}), "*1\r\n$4\r\nPING\r\n");
  // Binary safe: lengths, not delimiters, frame the arguments.
  EXPECT_EQ(EncodeCommand({"SET", "", std::string("a\r\n\0b", 5)}),
            std::string("*3\r\n$3\r\nSET\r\n$0\r\n\r\n$5\r\na\r\n\0b\r\n", 30));
  EXPECT_EQ(EncodeCommand({}), "*0\r\n");
}

TEST(RespTest, ParsesEveryType) {
  const struct {
    std::string bytes;
    Reply reply;
  } cases[] = {
      {"+OK\r\n", Reply::Simple("OK")},
      {"+\r\n", Reply::Simple("")},
      {"-ERR unknown command 'FOO'\r\n", Reply::Error("ERR unknown command 'FOO'")},
      {":0\r\n", Reply::Integer(0)},
      {":-42\r\n", Reply::Integer(-42)},
      {":9223372036854775807\r\n", Reply::Integer(INT64_MAX)},
      {":-9223372036854775808\r\n", Reply::Integer(INT64_MIN)},
      {"$5\r\nhello\r\n", Reply::Bulk("hello")},
      {"$0\r\n\r\n", Reply::Bulk("")},
      {std::string("$4\r\n\r\n\0\n\r\n", 10), Reply::Bulk(std::string("\r\n\0\n", 4))},
      {"$-1\r\n", Reply::NullBulk()},
      {"*0\r\n", Reply::Array({})},
      {"*-1\r\n", Reply::NullArray()},
      {"*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$3\r\nhi!\r\n",
       Reply::Array({Reply::Bulk("message"), Reply::Bulk("ch"), Reply::Bulk("hi!")})},
      {"*3\r\n:1\r\n*2\r\n+a\r\n*0\r\n$-1\r\n",
       Reply::Array({Reply::Integer(1), Reply::Array({Reply::Simple("a"), Reply::Array({})}),
                     Reply::NullBulk()})},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.bytes);
    Parsed parsed = Parse(c.bytes);
    ASSERT_FALSE(parsed.error);
    ASSERT_EQ(parsed.replies.size(), 1u);
    EXPECT_EQ(parsed.replies[0], c.reply) << parsed.replies[0].DebugString();
    EXPECT_EQ(parsed.buffered, 0u);
    // Canonical input encodes back to the same bytes.
    EXPECT_EQ(Encode(parsed.replies[0]), c.bytes);
  }
}

// A stream with every type, nesting and several replies: any split gives the same replies.
TEST(RespTest, SameRepliesWhateverTheSplit) {
  const std::string stream =
      "+OK\r\n-WRONGTYPE Operation against a key\r\n:1234567\r\n$12\r\nhello\r\nworld\r\n"
      "$-1\r\n*-1\r\n*0\r\n*2\r\n*2\r\n:1\r\n$1\r\na\r\n*1\r\n*1\r\n*0\r\n"
      "*4\r\n$8\r\npmessage\r\n$4\r\nsb:*\r\n$7\r\nsb:room\r\n$0\r\n\r\n";
  const Parsed whole = Parse(stream);
  ASSERT_FALSE(whole.error);
  ASSERT_EQ(whole.replies.size(), 9u);
  EXPECT_EQ(whole.replies[3], Reply::Bulk("hello\r\nworld"));
  std::string encoded;
  for (const Reply& r : whole.replies) AppendReply(r, &encoded);
  EXPECT_EQ(encoded, stream);
  // Two pieces, split at every byte boundary.
  for (size_t split = 0; split <= stream.size(); ++split) {
    SCOPED_TRACE(split);
    ReplyParser parser;
    std::vector<Reply> replies;
    for (std::string_view piece :
         {std::string_view(stream).substr(0, split), std::string_view(stream).substr(split)}) {
      parser.Feed(piece);
      while (true) {
        absl::StatusOr<std::optional<Reply>> next = parser.Next();
        ASSERT_TRUE(next.ok()) << next.status();
        if (!next->has_value()) break;
        replies.push_back(std::move(**next));
      }
    }
    EXPECT_EQ(replies, whole.replies);
    EXPECT_EQ(parser.buffered(), 0u);
  }
  // One byte at a time, and in pieces of every size up to 17.
  for (size_t piece = 1; piece <= 17; ++piece) {
    SCOPED_TRACE(piece);
    Parsed parsed = Parse(stream, piece);
    EXPECT_FALSE(parsed.error);
    EXPECT_EQ(parsed.replies, whole.replies);
  }
}

TEST(RespTest, WaitsForIncompleteReplies) {
  for (const std::string prefix : {"", "+OK", "+OK\r", ":12", "$5\r\nhel", "$5\r\nhello",
                                   "$5\r\nhello\r", "*2\r\n:1\r\n", "*2\r\n*1\r\n", "$-1\r"}) {
    SCOPED_TRACE(prefix);
    Parsed parsed = Parse(prefix);
    EXPECT_FALSE(parsed.error);
    EXPECT_TRUE(parsed.replies.empty());
  }
}

TEST(RespTest, RejectsMalformedReplies) {
  const std::string malformed[] = {
      "?\r\n",                      // Unknown type byte.
      "_\r\n",                      // RESP3 null: we speak RESP2.
      "%1\r\n+a\r\n+b\r\n",         // RESP3 map.
      "+O\nK\r\n",                  // LF without CR.
      "+O\rK\r\n",                  // CR without LF.
      ":\r\n",                      // Empty integer.
      ":12a\r\n",                   // Not a number.
      ":+5\r\n",                    // Not canonical.
      ":007\r\n",                   // Leading zeros.
      ":-0\r\n",                    // Negative zero.
      ":9223372036854775808\r\n",   // Past INT64_MAX.
      ":-9223372036854775809\r\n",  // Past INT64_MIN.
      ":99999999999999999999\r\n",  // 20 digits.
      "$-2\r\n",                    // Negative length other than -1.
      "$3\r\nabcd\r\n",             // Longer than announced.
      "$3\r\nab\r\n\r\n",           // Shorter than announced.
      "$01\r\na\r\n",               // Leading zero in a length.
      "*-2\r\n",                    // Negative count other than -1.
      "*1\r\n?\r\n",                // Bad element inside an array.
      "$ 1\r\na\r\n",               // Space in a length.
  };
  for (const std::string& bytes : malformed) {
    SCOPED_TRACE(bytes);
    EXPECT_TRUE(Parse(bytes).error);
    // The same verdict one byte at a time.
    EXPECT_TRUE(Parse(bytes, 1).error);
  }
}

TEST(RespTest, EnforcesItsLimits) {
  ParserLimits limits;
  limits.max_depth = 3;
  limits.max_bulk_bytes = 10;
  limits.max_elements = 5;
  limits.max_line_bytes = 8;
  limits.max_reply_bytes = 40;
  // At the limits: accepted.
  EXPECT_FALSE(Parse("*1\r\n*1\r\n*1\r\n:1\r\n", 0, limits).error);
  EXPECT_FALSE(Parse("$10\r\n0123456789\r\n", 0, limits).error);
  EXPECT_FALSE(Parse("*4\r\n:1\r\n:2\r\n:3\r\n:4\r\n", 0, limits).error);
  EXPECT_FALSE(Parse("+12345678\r\n", 0, limits).error);
  // Past them: refused, from the header alone where the header says it.
  EXPECT_TRUE(Parse("*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n", 0, limits).error);
  EXPECT_TRUE(Parse("$11\r\n", 0, limits).error);
  EXPECT_TRUE(Parse("*5\r\n", 0, limits).error);
  EXPECT_TRUE(Parse("*2\r\n*2\r\n:1\r\n:2\r\n*2\r\n:1\r\n", 0, limits).error);  // 6 elements.
  EXPECT_TRUE(Parse("+123456789", 0, limits).error);  // No CRLF needed to know.
  // A third bulk string would take the reply past 40 bytes: refused at its header.
  EXPECT_FALSE(Parse("*3\r\n$10\r\n0123456789\r\n$10\r\n0123456789\r\n", 0, limits).error);
  EXPECT_TRUE(Parse("*3\r\n$10\r\n0123456789\r\n$10\r\n0123456789\r\n$10\r\n", 0, limits).error);
  // A huge announced bulk string is refused before anything is buffered for it.
  EXPECT_TRUE(Parse("$67108865\r\n").error);
  EXPECT_FALSE(Parse("$67108864\r\n").error);
  EXPECT_TRUE(Parse("*1048577\r\n").error);
  // Default depth: 8 arrays nested are fine, 9 are not.
  std::string deep;
  for (int i = 0; i < 8; ++i) deep += "*1\r\n";
  EXPECT_FALSE(Parse(deep + ":1\r\n").error);
  EXPECT_TRUE(Parse("*1\r\n" + deep + ":1\r\n").error);
}

TEST(RespTest, StaysBrokenAfterAnError) {
  ReplyParser parser;
  parser.Feed("+OK\r\n:x\r\n+OK\r\n");
  absl::StatusOr<std::optional<Reply>> first = parser.Next();
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(**first, Reply::Simple("OK"));
  EXPECT_FALSE(parser.Next().ok());
  parser.Feed("+OK\r\n");
  EXPECT_FALSE(parser.Next().ok());
}

TEST(RespTest, KeepsLargeRepliesAcrossManyReads) {
  // A 1 MiB bulk string and an array of 10,000 elements, fed in 4 KiB reads.
  std::string big(1 << 20, 'x');
  std::vector<Reply> members;
  for (int i = 0; i < 10000; ++i) members.push_back(Reply::Bulk("node-" + std::to_string(i)));
  const Reply array = Reply::Array(members);
  std::string stream = Encode(Reply::Bulk(big)) + Encode(array);
  Parsed parsed = Parse(stream, 4096);
  ASSERT_FALSE(parsed.error);
  ASSERT_EQ(parsed.replies.size(), 2u);
  EXPECT_EQ(parsed.replies[0].str, big);
  EXPECT_EQ(parsed.replies[1], array);
}

TEST(RespTest, DebugString) {
  EXPECT_EQ(Reply::Array({Reply::Simple("OK"), Reply::Error("ERR x"), Reply::Integer(3),
                          Reply::Bulk("a\n"), Reply::NullBulk(), Reply::NullArray()})
                .DebugString(),
            "[+OK, -ERR x, :3, \"a\\n\", nil, nil-array]");
}

}  // namespace
}  // namespace sb::signaling::cluster
