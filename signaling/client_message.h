// The edge of the signaling protocol: a client's text message becomes a JSON object the
// Conference may handle, or a rejection with the error to send back. The limits are enforced
// by a linear scan of the text before nlohmann builds a tree, because nlohmann copies and
// dumps values recursively: a ping whose requestId nests a few hundred KB of '[' overflowed
// the stack when the reply copied it. Nothing a client sends is echoed unbounded: requestId
// and type are checked here, before the Conference copies them into its replies.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "signaling/http/http_server.h"
#include "signaling/metrics_text.h"

namespace sb::signaling {

// The WebSocket message limit (signaling/http/websocket_frame.h, kMaxMessageBytes): the SDP of
// a room of 100 participants is about 400 KB. Other transports get no more than that.
inline constexpr size_t kMaxClientMessageBytes = 1024 * 1024;
// Our messages nest at most 5 levels (join → rtpCapabilities → video → codecs → a codec); 32
// is generous and keeps every recursive walk over a message a few KB of stack.
inline constexpr size_t kMaxJsonDepth = 32;
// Arrays, objects and commas outside strings, which bounds the values in the tree. A join's
// rtpCapabilities (Chromium: ~40 codecs, ~15 header extensions) has under 1,000; an SDP is one
// string. 10,000 keeps a parsed message within a few MB of memory.
inline constexpr size_t kMaxJsonValues = 10'000;
// requestId is copied into replies: an opaque short id (web/lib uses a counter).
inline constexpr size_t kMaxRequestIdBytes = 64;
// type is echoed in inReplyTo and in unknown-type errors; ours are at most 16 characters.
inline constexpr size_t kMaxTypeBytes = 64;

// Why a message was refused; each is a label of switchboard_messages_rejected_total.
enum class Rejection : uint8_t {
  kTooLarge,       // over kMaxClientMessageBytes (on a WebSocket: closed with 1009 instead)
  kTooDeep,        // arrays/objects nested deeper than kMaxJsonDepth
  kTooManyValues,  // more than kMaxJsonValues
  kBadJson,        // not JSON, or JSON but not an object
  kBadRequestId,   // requestId neither a number nor a string of at most kMaxRequestIdBytes
  kBadType,        // type a string longer than kMaxTypeBytes
  kRateLimited,    // over the connection's messages per second (Config::messages_per_second)
};
inline constexpr size_t kRejectionCount = 7;
// The metrics label: "too_large", "too_deep", "too_many_values", "bad_json",
// "bad_request_id", "bad_type", "rate_limited".
const char* RejectionLabel(Rejection reason);

struct RejectedMessage {
  Rejection reason;
  std::string code;     // the protocol error code: "bad-json" or "bad-message"
  std::string message;  // why, for people: "nesting deeper than 32"
  // What of the request an error reply may echo: "type" and "requestId" when they passed
  // their checks, nothing for bad-json. Always an object, always small.
  nlohmann::json context = nlohmann::json::object();
};

// The scan alone: size, depth and value count of JSON text, outside strings. Malformed JSON
// passes when within the bounds (the parser rejects it next); an unterminated string or
// unbalanced brackets cannot make it read past `text`.
std::optional<RejectedMessage> CheckJsonLimits(std::string_view text);

// The checks on a parsed message before the Conference sees it: an object, requestId and type
// bounded as above. `message` must have passed CheckJsonLimits.
std::optional<RejectedMessage> CheckClientMessage(const nlohmann::json& message);

// Both, with the parse in between: the one entry point for client text. On success the
// result is an object that passed CheckClientMessage.
struct ParsedClientMessage {
  nlohmann::json message;  // discarded when rejected
  std::optional<RejectedMessage> rejected;
};
ParsedClientMessage ParseClientMessage(std::string_view text);

// Counts of rejections by reason, for /metrics.
class RejectionCounters {
 public:
  void Count(Rejection reason) { ++counts_[static_cast<size_t>(reason)]; }
  uint64_t count(Rejection reason) const { return counts_[static_cast<size_t>(reason)]; }

 private:
  std::array<uint64_t, kRejectionCount> counts_{};
};

// For /metrics: switchboard_messages_rejected_total{reason=...} (too_large adds the WebSocket
// messages closed with 1009), and the HTTP server's refusals: protocol errors, rejected
// requests, refused connections and timed-out WebSockets.
void RejectionMetrics(const RejectionCounters& rejections, const http::HttpServer::Counters& http,
                      MetricsText& out);

}  // namespace sb::signaling
