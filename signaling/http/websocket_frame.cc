#include "signaling/http/websocket_frame.h"

#include "absl/strings/escaping.h"

namespace sb::signaling::http::ws {
namespace {

// A close frame's payload: 2-byte code then the reason, truncated so the payload fits a control
// frame without splitting a character.
std::string ClosePayloadBytes(uint16_t code, std::string_view reason) {
  size_t n = std::min(reason.size(), kMaxControlPayload - 2);
  while (n > 0 && n < reason.size() && (static_cast<uint8_t>(reason[n]) & 0xc0) == 0x80) --n;
  std::string payload;
  payload.push_back(static_cast<char>(code >> 8));
  payload.push_back(static_cast<char>(code & 0xff));
  payload.append(reason.substr(0, n));
  return payload;
}

}  // namespace

std::string EncodeFrame(Opcode opcode, std::string_view payload, bool fin,
                        const std::optional<std::array<uint8_t, 4>>& mask) {
  std::string out;
  out.reserve(payload.size() + 14);
  out.push_back(static_cast<char>((fin ? 0x80 : 0x00) | static_cast<uint8_t>(opcode)));
  const uint8_t mask_bit = mask ? 0x80 : 0x00;
  const uint64_t length = payload.size();
  if (length < 126) {
    out.push_back(static_cast<char>(mask_bit | length));
  } else if (length <= 0xffff) {
    out.push_back(static_cast<char>(mask_bit | 126));
    out.push_back(static_cast<char>(length >> 8));
    out.push_back(static_cast<char>(length & 0xff));
  } else {
    out.push_back(static_cast<char>(mask_bit | 127));
    for (int shift = 56; shift >= 0; shift -= 8) {
      out.push_back(static_cast<char>((length >> shift) & 0xff));
    }
  }
  if (!mask) {
    out.append(payload);
    return out;
  }
  for (uint8_t b : *mask) out.push_back(static_cast<char>(b));
  for (size_t i = 0; i < payload.size(); ++i) {
    out.push_back(static_cast<char>(static_cast<uint8_t>(payload[i]) ^ (*mask)[i & 3]));
  }
  return out;
}

std::string EncodeCloseFrame(uint16_t code, std::string_view reason) {
  return EncodeFrame(Opcode::kClose, ClosePayloadBytes(code, reason));
}

bool IsValidCloseCode(uint16_t code) {
  if (code >= 3000 && code <= 4999) return true;  // registered and private use
  switch (code) {
    case 1000:
    case 1001:
    case 1002:
    case 1003:
    case 1007:
    case 1008:
    case 1009:
    case 1010:
    case 1011:
      return true;
    default:
      return false;  // includes 1004-1006 and 1015, which must never be sent
  }
}

bool IsValidClientKey(std::string_view client_key) {
  if (client_key.size() != 24) return false;
  std::string decoded;
  return absl::Base64Unescape(absl::string_view(client_key.data(), client_key.size()), &decoded) &&
         decoded.size() == 16;
}

}  // namespace sb::signaling::http::ws
