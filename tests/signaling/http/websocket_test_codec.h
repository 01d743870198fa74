// A WebSocket codec for tests that play a client, well-behaved or hostile, against our server: a
// frame parser (either role) that yields whole messages or the close code the protocol demands,
// masked client frames and the handshake's keys. Production parses no frame itself (libwebsockets
// does, docs/architecture.md); this extends the namespace of what the server does use
// (signaling/http/websocket_frame.h).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "signaling/http/websocket_frame.h"

namespace sb::signaling::http::ws {

// A complete data message (text/binary, reassembled) or one control frame.
struct Message {
  Opcode opcode = Opcode::kText;
  std::string payload;
};

// Why the connection must be closed: the close code to send and a short reason.
struct ProtocolError {
  uint16_t close_code = kCloseProtocolError;
  std::string reason;
};

// Which end of the connection parses: a server takes masked client frames, a client takes
// unmasked server frames; either fails on the other kind (RFC 6455 section 5.1).
enum class Role : uint8_t { kServer, kClient };

// Parses client-to-server frames (or, constructed with Role::kClient, server-to-client frames).
class FrameParser {
 public:
  explicit FrameParser(size_t max_message_bytes = kMaxMessageBytes)
      : max_message_bytes_(max_message_bytes) {}
  explicit FrameParser(Role role, size_t max_message_bytes = kMaxMessageBytes)
      : max_message_bytes_(max_message_bytes), role_(role) {}

  // Appends `data` and appends every message it completes to `out`. After an error the parser
  // stays failed and returns the same error.
  std::optional<ProtocolError> Feed(std::string_view data, std::vector<Message>* out);

 private:
  // Parses one frame from the front of buffer_; false when more bytes are needed.
  bool ParseOneFrame(std::vector<Message>* out);
  void Fail(uint16_t code, std::string reason);

  const size_t max_message_bytes_;
  const Role role_ = Role::kServer;
  std::string buffer_;
  size_t offset_ = 0;        // consumed bytes at the front of buffer_
  bool in_message_ = false;  // inside a fragmented data message
  Opcode message_opcode_ = Opcode::kText;
  std::string message_;
  std::optional<ProtocolError> error_;
};

// Client side (RFC 6455 section 5.3): every frame a client sends is masked with a fresh key from
// a strong source of randomness.
std::string EncodeClientFrame(Opcode opcode, std::string_view payload, bool fin = true);
std::string EncodeClientCloseFrame(uint16_t code, std::string_view reason);
// A fresh Sec-WebSocket-Key: the base64 of 16 random bytes (RFC 6455 section 4.1).
std::string GenerateClientKey();

// A received close frame's payload (RFC 6455 section 5.5.1). An empty payload means 1005.
struct ClosePayload {
  uint16_t code = kCloseNoStatus;
  std::string reason;
};
std::optional<ClosePayload> ParseClosePayload(std::string_view payload,
                                              ProtocolError* error = nullptr);
// Sec-WebSocket-Accept for a Sec-WebSocket-Key (RFC 6455 section 4.2.2 step 5.4).
std::string ComputeAcceptKey(std::string_view client_key);
// Strict UTF-8 (RFC 3629): no overlongs, no surrogates, nothing above U+10FFFF.
bool IsValidUtf8(std::string_view text);

}  // namespace sb::signaling::http::ws
