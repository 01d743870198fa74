// WebSocket framing (signaling/http/websocket_frame.h) over what a client sends after the
// upgrade, up to a maximal (1 MiB) message. The server-side parser is fed the input whole and
// again in pieces whose sizes come from the input: same messages, same error. Every message
// keeps RFC 6455's promises (text is UTF-8, control payloads fit 125 bytes, data messages fit
// the limit), and re-encoding it as a masked client frame parses back to the same message.
// The client-side parser, close payloads and close-frame truncation get the input too.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "signaling/http/websocket_frame.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

namespace ws = sb::signaling::http::ws;

// Messages compared per input: a flood of tiny control frames need not all be re-encoded.
constexpr size_t kMaxMessages = 256;

struct Outcome {
  std::vector<ws::Message> messages;
  std::optional<ws::ProtocolError> error;
};

bool SameMessages(const std::vector<ws::Message>& a, const std::vector<ws::Message>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].opcode != b[i].opcode || a[i].payload != b[i].payload) return false;
  }
  return true;
}

Outcome Run(std::string_view input, const std::vector<size_t>& sizes, ws::Role role) {
  ws::FrameParser parser(role);
  Outcome out;
  size_t i = 0;
  size_t next = 0;
  do {
    const size_t n = sizes.empty() ? input.size() : sizes[next++ % sizes.size()];
    const std::string_view piece = input.substr(i, n);
    i += piece.size();
    out.error = parser.Feed(piece, &out.messages);
  } while (!out.error && i < input.size());
  if (out.error) {
    // A failed parser stays failed, with the same error, and yields nothing more.
    std::vector<ws::Message> more;
    const std::optional<ws::ProtocolError> again = parser.Feed("\x81\x80....", &more);
    SB_FUZZ_CHECK(again && again->close_code == out.error->close_code && more.empty());
    SB_FUZZ_CHECK(ws::IsValidCloseCode(out.error->close_code));
    SB_FUZZ_CHECK(!out.error->reason.empty());
  }
  return out;
}

void CheckMessage(const ws::Message& m) {
  switch (m.opcode) {
    case ws::Opcode::kText:
      SB_FUZZ_CHECK(ws::IsValidUtf8(m.payload));
      [[fallthrough]];
    case ws::Opcode::kBinary:
      SB_FUZZ_CHECK(m.payload.size() <= ws::kMaxMessageBytes);
      break;
    case ws::Opcode::kClose:
      SB_FUZZ_CHECK(ws::ParseClosePayload(m.payload).has_value());
      [[fallthrough]];
    case ws::Opcode::kPing:
    case ws::Opcode::kPong:
      SB_FUZZ_CHECK(m.payload.size() <= ws::kMaxControlPayload);
      break;
    case ws::Opcode::kContinuation:
      SB_FUZZ_CHECK(false);  // fragments are reassembled, never handed out
  }
}

// The message as a masked client frame (fragmented in two when it has two bytes or more)
// parses back to itself.
void CheckRoundTrip(const ws::Message& m) {
  std::string wire;
  const bool control = (static_cast<uint8_t>(m.opcode) & 0x8) != 0;
  if (control || m.payload.size() < 2) {
    wire = ws::EncodeClientFrame(m.opcode, m.payload);
  } else {
    const size_t half = m.payload.size() / 2;
    wire =
        ws::EncodeClientFrame(m.opcode, std::string_view(m.payload).substr(0, half), false) +
        ws::EncodeClientFrame(ws::Opcode::kContinuation, std::string_view(m.payload).substr(half));
  }
  ws::FrameParser parser;
  std::vector<ws::Message> back;
  SB_FUZZ_CHECK(!parser.Feed(wire, &back));
  SB_FUZZ_CHECK(back.size() == 1 && back[0].opcode == m.opcode && back[0].payload == m.payload);
}

void CheckCloseFrameTruncation(std::string_view reason) {
  // Our close frames carry at most 125 bytes and never split a UTF-8 character.
  const std::string frame = ws::EncodeCloseFrame(ws::kCloseMessageTooBig, reason);
  ws::FrameParser parser(ws::Role::kClient);
  std::vector<ws::Message> messages;
  const std::optional<ws::ProtocolError> error = parser.Feed(frame, &messages);
  if (!ws::IsValidUtf8(reason)) return;  // the parser would reject the reason; not ours to send
  SB_FUZZ_CHECK(!error && messages.size() == 1);
  const std::optional<ws::ClosePayload> payload = ws::ParseClosePayload(messages[0].payload);
  SB_FUZZ_CHECK(payload && payload->code == ws::kCloseMessageTooBig);
  SB_FUZZ_CHECK(reason.substr(0, payload->reason.size()) == payload->reason);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  const Outcome whole = Run(input, {}, ws::Role::kServer);
  std::vector<size_t> sizes;
  for (size_t i = 0; i < 3 && i < size; ++i) sizes.push_back(1 + data[i] * 7);
  if (sizes.empty()) sizes.push_back(1);
  const Outcome pieces = Run(input, sizes, ws::Role::kServer);
  SB_FUZZ_CHECK(SameMessages(whole.messages, pieces.messages));
  SB_FUZZ_CHECK(whole.error.has_value() == pieces.error.has_value());
  if (whole.error) SB_FUZZ_CHECK(whole.error->close_code == pieces.error->close_code);

  for (size_t i = 0; i < whole.messages.size() && i < kMaxMessages; ++i) {
    CheckMessage(whole.messages[i]);
    CheckRoundTrip(whole.messages[i]);
  }

  // The same bytes as a server's frames, as our client side parses them.
  const Outcome client = Run(input, {}, ws::Role::kClient);
  for (size_t i = 0; i < client.messages.size() && i < kMaxMessages; ++i) {
    CheckMessage(client.messages[i]);
  }

  (void)ws::ParseClosePayload(input.substr(0, ws::kMaxControlPayload));
  CheckCloseFrameTruncation(input.substr(0, 4096));
  (void)ws::IsValidClientKey(input.substr(0, 64));
  return 0;
}
