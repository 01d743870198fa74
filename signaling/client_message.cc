#include "signaling/client_message.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "signaling/http/websocket_frame.h"

namespace sb::signaling {

static_assert(kMaxClientMessageBytes == http::ws::kMaxMessageBytes,
              "a client message is one WebSocket message");

namespace {

RejectedMessage Reject(Rejection reason, const char* code, std::string message,
                       nlohmann::json context = nlohmann::json::object()) {
  return RejectedMessage{reason, code, std::move(message), std::move(context)};
}

bool ValidRequestId(const nlohmann::json& id) {
  if (id.is_number()) return true;
  return id.is_string() && id.get_ref<const std::string&>().size() <= kMaxRequestIdBytes;
}

}  // namespace

const char* RejectionLabel(Rejection reason) {
  switch (reason) {
    case Rejection::kTooLarge:
      return "too_large";
    case Rejection::kTooDeep:
      return "too_deep";
    case Rejection::kTooManyValues:
      return "too_many_values";
    case Rejection::kBadJson:
      return "bad_json";
    case Rejection::kBadRequestId:
      return "bad_request_id";
    case Rejection::kBadType:
      return "bad_type";
    case Rejection::kRateLimited:
      return "rate_limited";
  }
  return "unknown";
}

std::optional<RejectedMessage> CheckJsonLimits(std::string_view text) {
  if (text.size() > kMaxClientMessageBytes) {
    return Reject(Rejection::kTooLarge, "bad-json",
                  absl::StrCat("a message may have at most ", kMaxClientMessageBytes, " bytes"));
  }
  // JSON's structure outside strings (RFC 8259 section 2): brackets nest, commas separate
  // values. Inside a string only '\\' (which escapes the next character) and '"' matter.
  size_t depth = 0;
  size_t values = 0;  // containers and commas: at least the number of values in the tree
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    switch (c) {
      case '"':
        in_string = true;
        break;
      case '[':
      case '{':
        if (++depth > kMaxJsonDepth) {
          return Reject(Rejection::kTooDeep, "bad-json",
                        absl::StrCat("nesting deeper than ", kMaxJsonDepth));
        }
        [[fallthrough]];
      case ',':
        if (++values > kMaxJsonValues) {
          return Reject(Rejection::kTooManyValues, "bad-json",
                        absl::StrCat("more than ", kMaxJsonValues, " values"));
        }
        break;
      case ']':
      case '}':
        // Unbalanced input is the parser's to reject; the depth only has to bound what it
        // builds before it notices.
        if (depth > 0) --depth;
        break;
      default:
        break;
    }
  }
  return std::nullopt;
}

std::optional<RejectedMessage> CheckClientMessage(const nlohmann::json& message) {
  if (!message.is_object()) {
    return Reject(Rejection::kBadJson, "bad-json", "a message must be one JSON object");
  }
  // What an error reply may echo: only the fields that pass their checks.
  nlohmann::json context = nlohmann::json::object();
  const auto type = message.find("type");
  const bool type_too_long = type != message.end() && type->is_string() &&
                             type->get_ref<const std::string&>().size() > kMaxTypeBytes;
  if (type != message.end() && type->is_string() && !type_too_long) context["type"] = *type;
  const auto request_id = message.find("requestId");
  const bool request_id_ok = request_id == message.end() || ValidRequestId(*request_id);
  if (request_id != message.end() && request_id_ok) context["requestId"] = *request_id;

  if (!request_id_ok) {
    return Reject(Rejection::kBadRequestId, "bad-message",
                  absl::StrCat("\"requestId\" must be a number or a string of at most ",
                               kMaxRequestIdBytes, " bytes"),
                  std::move(context));
  }
  if (type_too_long) {
    return Reject(Rejection::kBadType, "bad-message",
                  absl::StrCat("\"type\" may have at most ", kMaxTypeBytes, " bytes"),
                  std::move(context));
  }
  return std::nullopt;
}

ParsedClientMessage ParseClientMessage(std::string_view text) {
  ParsedClientMessage out;
  out.rejected = CheckJsonLimits(text);
  if (out.rejected) {
    out.message = nlohmann::json(nlohmann::json::value_t::discarded);
    return out;
  }
  out.message = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (out.message.is_discarded()) {
    out.rejected = Reject(Rejection::kBadJson, "bad-json", "a message must be one JSON object");
    return out;
  }
  out.rejected = CheckClientMessage(out.message);
  if (out.rejected) out.message = nlohmann::json(nlohmann::json::value_t::discarded);
  return out;
}

void RejectionMetrics(const RejectionCounters& rejections, const http::HttpServer::Counters& h,
                      MetricsText& out) {
  std::vector<std::pair<std::string, uint64_t>> samples;
  for (size_t i = 0; i < kRejectionCount; ++i) {
    const auto reason = static_cast<Rejection>(i);
    uint64_t value = rejections.count(reason);
    if (reason == Rejection::kTooLarge) value += h.websocket_messages_too_big;
    samples.emplace_back(RejectionLabel(reason), value);
  }
  out.LabeledCounter("switchboard_messages_rejected_total",
                     "Client messages refused before the conference saw them, by reason "
                     "(too_large: the WebSocket was closed with 1009).",
                     "reason", samples);
  out.Counter("switchboard_websocket_protocol_errors_total",
              "WebSockets closed for a framing error other than size (1002, 1003, 1007).",
              h.websocket_protocol_errors);
  out.Counter("switchboard_http_requests_rejected_total",
              "HTTP requests refused by the parser (malformed; header, header count or body over "
              "the limits).",
              h.requests_rejected);
  out.Counter("switchboard_connections_refused_total",
              "TCP connections closed at once: over the total or per-address limit.",
              h.connections_refused);
  out.Counter("switchboard_websockets_timed_out_total",
              "WebSockets closed because nothing (not even a pong) came for the timeout.",
              h.websockets_timed_out);
}

}  // namespace sb::signaling
