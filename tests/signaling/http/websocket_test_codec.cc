#include "tests/signaling/http/websocket_test_codec.h"

#include <openssl/rand.h>
#include <openssl/sha.h>

#include "absl/strings/escaping.h"

namespace sb::signaling::http::ws {
namespace {

// RFC 6455 section 1.3: the GUID appended to the client's key.
constexpr std::string_view kAcceptGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

bool IsControl(Opcode op) { return (static_cast<uint8_t>(op) & 0x8) != 0; }

bool IsKnownOpcode(uint8_t op) {
  switch (op) {
    case 0x0:
    case 0x1:
    case 0x2:
    case 0x8:
    case 0x9:
    case 0xA:
      return true;
    default:
      return false;
  }
}

}  // namespace

void FrameParser::Fail(uint16_t code, std::string reason) {
  error_ = ProtocolError{code, std::move(reason)};
}

std::optional<ProtocolError> FrameParser::Feed(std::string_view data, std::vector<Message>* out) {
  if (error_) return error_;
  buffer_.append(data);
  while (!error_ && ParseOneFrame(out)) {
  }
  // Drop consumed bytes once in a while rather than on every frame.
  if (offset_ > 0 && (offset_ == buffer_.size() || offset_ > 64 * 1024)) {
    buffer_.erase(0, offset_);
    offset_ = 0;
  }
  return error_;
}

bool FrameParser::ParseOneFrame(std::vector<Message>* out) {
  const auto* p = reinterpret_cast<const uint8_t*>(buffer_.data()) + offset_;
  const size_t available = buffer_.size() - offset_;
  if (available < 2) return false;

  // RFC 6455 section 5.2 base framing.
  const bool fin = (p[0] & 0x80) != 0;
  const uint8_t rsv = p[0] & 0x70;
  const uint8_t raw_opcode = p[0] & 0x0f;
  const bool masked = (p[1] & 0x80) != 0;
  uint64_t length = p[1] & 0x7f;

  // These checks need only the first two bytes, so a bad frame fails before its payload.
  if (rsv != 0) {
    Fail(kCloseProtocolError, "reserved bits set without a negotiated extension");
    return false;
  }
  if (!IsKnownOpcode(raw_opcode)) {
    Fail(kCloseProtocolError, "unknown opcode");
    return false;
  }
  const auto opcode = static_cast<Opcode>(raw_opcode);
  if (role_ == Role::kServer && !masked) {
    Fail(kCloseProtocolError, "client frame not masked");  // section 5.1
    return false;
  }
  if (role_ == Role::kClient && masked) {
    Fail(kCloseProtocolError, "server frame masked");  // section 5.1
    return false;
  }
  if (IsControl(opcode)) {
    if (!fin) {
      Fail(kCloseProtocolError, "fragmented control frame");
      return false;
    }
    if (length > kMaxControlPayload) {
      Fail(kCloseProtocolError, "control frame payload over 125 bytes");
      return false;
    }
  } else if (opcode == Opcode::kContinuation) {
    if (!in_message_) {
      Fail(kCloseProtocolError, "continuation frame without a message to continue");
      return false;
    }
  } else if (in_message_) {
    Fail(kCloseProtocolError, "new data frame inside a fragmented message");
    return false;
  }

  size_t header = 2;
  if (length == 126) {
    if (available < 4) return false;
    length = (uint64_t{p[2]} << 8) | p[3];
    header = 4;
  } else if (length == 127) {
    if (available < 10) return false;
    length = 0;
    for (int i = 0; i < 8; ++i) length = (length << 8) | p[2 + i];
    if (length >> 63) {
      Fail(kCloseProtocolError, "64-bit payload length with the top bit set");
      return false;
    }
    header = 10;
  }
  const size_t so_far = opcode == Opcode::kContinuation ? message_.size() : 0;
  if (!IsControl(opcode) && length > max_message_bytes_ - so_far) {
    Fail(kCloseMessageTooBig, "message too big");
    return false;
  }
  if (masked) header += 4;  // masking key
  if (available < header + length) return false;

  const uint8_t* payload = p + header;
  std::string data(reinterpret_cast<const char*>(payload), static_cast<size_t>(length));
  if (masked) {
    const uint8_t* mask = p + header - 4;
    for (size_t i = 0; i < length; ++i) {
      data[i] = static_cast<char>(payload[i] ^ mask[i & 3]);
    }
  }
  offset_ += header + static_cast<size_t>(length);

  if (IsControl(opcode)) {
    if (opcode == Opcode::kClose) {
      ProtocolError error;
      if (!ParseClosePayload(data, &error)) {
        Fail(error.close_code, error.reason);
        return false;
      }
    }
    out->push_back(Message{opcode, std::move(data)});
    return true;
  }

  if (opcode != Opcode::kContinuation) {
    message_opcode_ = opcode;
    message_ = std::move(data);
  } else {
    message_.append(data);
  }
  in_message_ = !fin;
  if (fin) {
    if (message_opcode_ == Opcode::kText && !IsValidUtf8(message_)) {
      Fail(kCloseInvalidPayload, "text message is not valid UTF-8");
      return false;
    }
    out->push_back(Message{message_opcode_, std::move(message_)});
    message_.clear();
  }
  return true;
}

std::string EncodeClientFrame(Opcode opcode, std::string_view payload, bool fin) {
  std::array<uint8_t, 4> mask;
  RAND_bytes(mask.data(), static_cast<int>(mask.size()));
  return EncodeFrame(opcode, payload, fin, mask);
}

std::string EncodeClientCloseFrame(uint16_t code, std::string_view reason) {
  // The server's close frame, unmasked, has a 2-byte header: its payload is the same.
  return EncodeClientFrame(Opcode::kClose, EncodeCloseFrame(code, reason).substr(2));
}

std::string GenerateClientKey() {
  uint8_t key[16];
  RAND_bytes(key, sizeof(key));
  return absl::Base64Escape(absl::string_view(reinterpret_cast<const char*>(key), sizeof(key)));
}

std::optional<ClosePayload> ParseClosePayload(std::string_view payload, ProtocolError* error) {
  auto fail = [&](uint16_t code, const char* reason) -> std::optional<ClosePayload> {
    if (error) *error = ProtocolError{code, reason};
    return std::nullopt;
  };
  if (payload.empty()) return ClosePayload{};
  if (payload.size() == 1) return fail(kCloseProtocolError, "close payload of one byte");
  ClosePayload out;
  out.code = static_cast<uint16_t>((static_cast<uint8_t>(payload[0]) << 8) |
                                   static_cast<uint8_t>(payload[1]));
  if (!IsValidCloseCode(out.code)) return fail(kCloseProtocolError, "invalid close code");
  out.reason = std::string(payload.substr(2));
  if (!IsValidUtf8(out.reason)) return fail(kCloseInvalidPayload, "close reason not UTF-8");
  return out;
}

std::string ComputeAcceptKey(std::string_view client_key) {
  std::string input(client_key);
  input.append(kAcceptGuid);
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest);
  return absl::Base64Escape(
      absl::string_view(reinterpret_cast<const char*>(digest), sizeof(digest)));
}

bool IsValidUtf8(std::string_view text) {
  const auto* s = reinterpret_cast<const uint8_t*>(text.data());
  const size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    const uint8_t c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t extra;
    uint32_t cp;
    if (c >= 0xc2 && c <= 0xdf) {
      extra = 1;
      cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
      extra = 2;
      cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      extra = 3;
      cp = c & 0x07;
    } else {
      return false;  // continuation byte, overlong lead (C0, C1) or above F4
    }
    if (n - i <= extra) return false;
    for (size_t k = 1; k <= extra; ++k) {
      const uint8_t cc = s[i + k];
      if ((cc & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    if ((extra == 2 && cp < 0x800) || (extra == 3 && cp < 0x10000)) return false;  // overlong
    if (cp >= 0xd800 && cp <= 0xdfff) return false;  // UTF-16 surrogates
    if (cp > 0x10ffff) return false;
    i += extra + 1;
  }
  return true;
}

}  // namespace sb::signaling::http::ws
