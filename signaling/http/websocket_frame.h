// What of WebSocket framing (RFC 6455) the server does itself beside libwebsockets: the close
// frame it writes as bytes on shutdown, the checks of a handshake's key and of close codes, and
// the limits. Pure code, no I/O. (A frame parser and a client's frames, for tests that play a
// hostile client, are in tests/signaling/http/websocket_test_codec.h.)
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sb::signaling::http::ws {

// RFC 6455 section 5.2 opcodes.
enum class Opcode : uint8_t {
  kContinuation = 0x0,
  kText = 0x1,
  kBinary = 0x2,
  kClose = 0x8,
  kPing = 0x9,
  kPong = 0xA,
};

// RFC 6455 section 7.4.1 status codes we send or check.
inline constexpr uint16_t kCloseNormal = 1000;
inline constexpr uint16_t kCloseGoingAway = 1001;
inline constexpr uint16_t kCloseProtocolError = 1002;
inline constexpr uint16_t kCloseUnsupportedData = 1003;
inline constexpr uint16_t kCloseNoStatus = 1005;  // never sent on the wire
inline constexpr uint16_t kCloseInvalidPayload = 1007;
inline constexpr uint16_t kClosePolicyViolation = 1008;
inline constexpr uint16_t kCloseMessageTooBig = 1009;
inline constexpr uint16_t kCloseInternalError = 1011;

// Signaling messages are small JSON; 1 MiB leaves room for large SDPs with many m-lines.
inline constexpr size_t kMaxMessageBytes = 1024 * 1024;
// Control frames carry at most 125 bytes (RFC 6455 section 5.5).
inline constexpr size_t kMaxControlPayload = 125;

// One frame. Servers never mask; a mask is only for tests that play the client.
std::string EncodeFrame(Opcode opcode, std::string_view payload, bool fin = true,
                        const std::optional<std::array<uint8_t, 4>>& mask = std::nullopt);
// A close frame: 2-byte code then the reason, truncated to fit 125 bytes on a UTF-8 boundary.
std::string EncodeCloseFrame(uint16_t code, std::string_view reason);

// Codes a peer may send in a close frame (RFC 6455 section 7.4).
bool IsValidCloseCode(uint16_t code);

// A Sec-WebSocket-Key must be the base64 of 16 bytes (RFC 6455 section 4.1).
bool IsValidClientKey(std::string_view client_key);

}  // namespace sb::signaling::http::ws
