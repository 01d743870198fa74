#include "signaling/cluster/resp.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace sb::signaling::cluster {
namespace {

// Compacting the buffer moves what is left to its front: only worth it once this much was
// consumed (one read of the client is 64 KiB), or when nothing is left.
constexpr size_t kCompactBytes = size_t{64} << 10;
// What an idle parser keeps allocated: a few reads' worth.
constexpr size_t kKeepCapacityBytes = size_t{256} << 10;

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// A canonical decimal int64 as Redis writes it (ll2string): "0", or an optional '-' and digits
// without a leading zero; nullopt for anything else, out-of-range values included.
std::optional<int64_t> ParseCanonicalInteger(std::string_view text) {
  const bool negative = !text.empty() && text[0] == '-';
  std::string_view digits = negative ? text.substr(1) : text;
  if (digits.empty() || digits.size() > 19 || !std::all_of(digits.begin(), digits.end(), IsDigit)) {
    return std::nullopt;
  }
  if (digits[0] == '0' && (digits.size() > 1 || negative)) return std::nullopt;
  uint64_t value = 0;
  for (char c : digits) value = value * 10 + static_cast<uint64_t>(c - '0');  // < 10^19 < 2^64.
  const uint64_t max_magnitude =
      static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) + (negative ? 1 : 0);
  if (value > max_magnitude) return std::nullopt;
  if (negative) return static_cast<int64_t>(0 - value);  // Two's complement, INT64_MIN included.
  return static_cast<int64_t>(value);
}

void AppendLine(char type, std::string_view text, std::string* out) {
  out->push_back(type);
  out->append(text);
  out->append("\r\n");
}

}  // namespace

Reply Reply::Simple(std::string text) {
  Reply r;
  r.type = Type::kSimpleString;
  r.str = std::move(text);
  return r;
}

Reply Reply::Error(std::string text) {
  Reply r;
  r.type = Type::kError;
  r.str = std::move(text);
  return r;
}

Reply Reply::Integer(int64_t value) {
  Reply r;
  r.type = Type::kInteger;
  r.integer = value;
  return r;
}

Reply Reply::Bulk(std::string bytes) {
  Reply r;
  r.type = Type::kBulkString;
  r.str = std::move(bytes);
  return r;
}

Reply Reply::NullBulk() { return Reply(); }

Reply Reply::Array(std::vector<Reply> elements) {
  Reply r;
  r.type = Type::kArray;
  r.elements = std::move(elements);
  return r;
}

Reply Reply::NullArray() {
  Reply r;
  r.type = Type::kNullArray;
  return r;
}

std::string Reply::DebugString() const {
  switch (type) {
    case Type::kSimpleString:
      return "+" + str;
    case Type::kError:
      return "-" + str;
    case Type::kInteger:
      return absl::StrCat(":", integer);
    case Type::kBulkString:
      return absl::StrCat("\"", absl::CHexEscape(str), "\"");
    case Type::kNullBulkString:
      return "nil";
    case Type::kNullArray:
      return "nil-array";
    case Type::kArray: {
      std::string out = "[";
      for (size_t i = 0; i < elements.size(); ++i) {
        absl::StrAppend(&out, i == 0 ? "" : ", ", elements[i].DebugString());
      }
      return out + "]";
    }
  }
  return "?";
}

void AppendCommand(absl::Span<const std::string> args, std::string* out) {
  absl::StrAppend(out, "*", args.size(), "\r\n");
  for (const std::string& arg : args) absl::StrAppend(out, "$", arg.size(), "\r\n", arg, "\r\n");
}

std::string EncodeCommand(absl::Span<const std::string> args) {
  std::string out;
  AppendCommand(args, &out);
  return out;
}

void AppendReply(const Reply& reply, std::string* out) {
  switch (reply.type) {
    case Reply::Type::kSimpleString:
      AppendLine('+', reply.str, out);
      return;
    case Reply::Type::kError:
      AppendLine('-', reply.str, out);
      return;
    case Reply::Type::kInteger:
      AppendLine(':', absl::StrCat(reply.integer), out);
      return;
    case Reply::Type::kBulkString:
      AppendLine('$', absl::StrCat(reply.str.size()), out);
      out->append(reply.str);
      out->append("\r\n");
      return;
    case Reply::Type::kNullBulkString:
      out->append("$-1\r\n");
      return;
    case Reply::Type::kNullArray:
      out->append("*-1\r\n");
      return;
    case Reply::Type::kArray:
      AppendLine('*', absl::StrCat(reply.elements.size()), out);
      for (const Reply& element : reply.elements) AppendReply(element, out);
      return;
  }
}

ReplyParser::ReplyParser(ParserLimits limits) : limits_(limits) {}

void ReplyParser::Feed(std::string_view bytes) {
  if (!error_.ok()) return;
  Compact();
  buffer_.append(bytes);
}

void ReplyParser::Compact() {
  if (pos_ == 0) return;
  if (pos_ == buffer_.size()) {
    buffer_.clear();
    // A large reply (up to max_reply_bytes) should not pin its memory for the connection's life.
    if (buffer_.capacity() > kKeepCapacityBytes) buffer_.shrink_to_fit();
    pos_ = 0;
  } else if (pos_ >= kCompactBytes && pos_ >= buffer_.size() / 2) {
    buffer_.erase(0, pos_);
    pos_ = 0;
  }
}

absl::Status ReplyParser::Fail(absl::Status status) {
  error_ = std::move(status);
  buffer_.clear();
  pos_ = 0;
  stack_.clear();
  reply_bytes_ = 0;
  reply_elements_ = 0;
  return error_;
}

absl::StatusOr<std::optional<std::string_view>> ReplyParser::Line() {
  const size_t start = pos_ + 1;  // After the type byte.
  // The CR of a line of max_line_bytes is at start + max_line_bytes.
  const size_t limit = std::min(buffer_.size(), start + limits_.max_line_bytes + 1);
  for (size_t i = start; i < limit; ++i) {
    if (buffer_[i] == '\n') return absl::InvalidArgumentError("RESP: LF without CR in a line");
    if (buffer_[i] != '\r') continue;
    if (i + 1 >= buffer_.size()) return std::nullopt;
    if (buffer_[i + 1] != '\n') return absl::InvalidArgumentError("RESP: CR without LF in a line");
    return std::string_view(buffer_).substr(start, i - start);
  }
  if (limit == start + limits_.max_line_bytes + 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("RESP: a line longer than ", limits_.max_line_bytes, " bytes"));
  }
  return std::nullopt;
}

absl::StatusOr<ReplyParser::Step> ReplyParser::ParseElement(std::optional<Reply>* out) {
  if (pos_ >= buffer_.size()) return Step::kNeedMore;
  const char type = buffer_[pos_];
  if (type != '+' && type != '-' && type != ':' && type != '$' && type != '*') {
    return absl::InvalidArgumentError(absl::StrCat(
        "RESP: unsupported type byte 0x", absl::Hex(static_cast<uint8_t>(type), absl::kZeroPad2)));
  }
  absl::StatusOr<std::optional<std::string_view>> line = Line();
  if (!line.ok()) return line.status();
  if (!line->has_value()) return Step::kNeedMore;
  const std::string_view text = **line;
  const size_t after_line = pos_ + 1 + text.size() + 2;
  size_t end = after_line;

  if (++reply_elements_ > limits_.max_elements) {
    return absl::InvalidArgumentError("RESP: too many elements in one reply");
  }
  switch (type) {
    case '+':
      *out = Reply::Simple(std::string(text));
      break;
    case '-':
      *out = Reply::Error(std::string(text));
      break;
    case ':': {
      std::optional<int64_t> value = ParseCanonicalInteger(text);
      if (!value) return absl::InvalidArgumentError("RESP: malformed integer");
      *out = Reply::Integer(*value);
      break;
    }
    case '$': {
      std::optional<int64_t> length = ParseCanonicalInteger(text);
      if (!length || *length < -1) return absl::InvalidArgumentError("RESP: malformed bulk length");
      if (*length == -1) {
        *out = Reply::NullBulk();
        break;
      }
      const auto size = static_cast<uint64_t>(*length);
      if (size > limits_.max_bulk_bytes) {
        return absl::InvalidArgumentError(absl::StrCat(
            "RESP: a bulk string of ", size, " bytes (limit ", limits_.max_bulk_bytes, ")"));
      }
      end = after_line + static_cast<size_t>(size) + 2;
      if (reply_bytes_ + (end - pos_) > limits_.max_reply_bytes) {
        return absl::InvalidArgumentError("RESP: reply too large");
      }
      if (buffer_.size() < end) {
        --reply_elements_;  // Counted again when the rest arrives.
        return Step::kNeedMore;
      }
      if (buffer_[end - 2] != '\r' || buffer_[end - 1] != '\n') {
        return absl::InvalidArgumentError("RESP: bulk string not followed by CRLF");
      }
      *out = Reply::Bulk(buffer_.substr(after_line, static_cast<size_t>(size)));
      break;
    }
    case '*': {
      std::optional<int64_t> count = ParseCanonicalInteger(text);
      if (!count || *count < -1) return absl::InvalidArgumentError("RESP: malformed array length");
      if (*count == -1) {
        *out = Reply::NullArray();
        break;
      }
      if (static_cast<uint64_t>(*count) > limits_.max_elements - reply_elements_) {
        return absl::InvalidArgumentError("RESP: too many elements in one reply");
      }
      if (*count == 0) {
        *out = Reply::Array({});
        break;
      }
      if (stack_.size() >= static_cast<size_t>(limits_.max_depth)) {
        return absl::InvalidArgumentError(
            absl::StrCat("RESP: arrays nested deeper than ", limits_.max_depth));
      }
      stack_.push_back(Frame{Reply::Array({}), *count});
      break;
    }
  }
  reply_bytes_ += end - pos_;
  if (reply_bytes_ > limits_.max_reply_bytes) {
    return absl::InvalidArgumentError("RESP: reply too large");
  }
  pos_ = end;
  return Step::kDone;
}

absl::StatusOr<std::optional<Reply>> ReplyParser::Next() {
  if (!error_.ok()) return error_;
  while (true) {
    std::optional<Reply> element;
    absl::StatusOr<Step> step = ParseElement(&element);
    if (!step.ok()) return Fail(step.status());
    if (*step == Step::kNeedMore) return std::nullopt;
    if (!element) continue;  // An array began: parse its first element.
    while (true) {
      if (stack_.empty()) {
        reply_bytes_ = 0;
        reply_elements_ = 0;
        return element;
      }
      Frame& top = stack_.back();
      top.array.elements.push_back(std::move(*element));
      if (--top.remaining > 0) break;
      element = std::move(top.array);
      stack_.pop_back();
    }
  }
}

}  // namespace sb::signaling::cluster
