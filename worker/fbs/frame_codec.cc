#include "worker/fbs/frame_codec.h"

#include <cstring>
#include <string_view>

#include "absl/strings/str_cat.h"

namespace sb::ipc {
namespace {

uint32_t ReadLe32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 |
         static_cast<uint32_t>(p[2]) << 16 | static_cast<uint32_t>(p[3]) << 24;
}

void WriteLe32(uint32_t v, uint8_t* p) {
  p[0] = static_cast<uint8_t>(v);
  p[1] = static_cast<uint8_t>(v >> 8);
  p[2] = static_cast<uint8_t>(v >> 16);
  p[3] = static_cast<uint8_t>(v >> 24);
}

// flatbuffers fields are read in place; keep 8-byte scalars naturally aligned.
constexpr uintptr_t kPayloadAlignment = 8;

template <typename Enum>
bool InUnionRange(Enum type) {
  return type > Enum::NONE && type <= Enum::MAX;
}

}  // namespace

absl::Status FrameDecoder::Feed(const uint8_t* data, size_t len, const FrameFn& on_frame) {
  if (broken_) return absl::FailedPreconditionError("frame stream already broken");
  if (buffer_.empty()) {
    // Common case: whole frames in this read; parse in place and keep only the tail.
    absl::StatusOr<size_t> used = Drain(absl::MakeConstSpan(data, len), on_frame);
    if (!used.ok()) return used.status();
    buffer_.assign(data + *used, data + len);
    return absl::OkStatus();
  }
  buffer_.insert(buffer_.end(), data, data + len);
  // Drain from a moved-out copy so on_frame may not observe buffer_ being edited under it.
  std::vector<uint8_t> pending = std::move(buffer_);
  buffer_.clear();
  absl::StatusOr<size_t> used = Drain(pending, on_frame);
  if (!used.ok()) return used.status();
  buffer_.assign(pending.begin() + static_cast<ptrdiff_t>(*used), pending.end());
  return absl::OkStatus();
}

absl::StatusOr<size_t> FrameDecoder::Drain(absl::Span<const uint8_t> bytes,
                                           const FrameFn& on_frame) {
  size_t pos = 0;
  while (bytes.size() - pos >= kFrameHeaderSize) {
    const uint32_t length = ReadLe32(bytes.data() + pos);
    if (length > kMaxFrameSize) {
      broken_ = true;
      buffer_.clear();
      return absl::InvalidArgumentError(
          absl::StrCat("frame length ", length, " exceeds limit ", kMaxFrameSize));
    }
    if (bytes.size() - pos - kFrameHeaderSize < length) break;
    const uint8_t* payload = bytes.data() + pos + kFrameHeaderSize;
    if (reinterpret_cast<uintptr_t>(payload) % kPayloadAlignment != 0) {
      aligned_.assign(payload, payload + length);
      on_frame(absl::MakeConstSpan(aligned_.data(), length));
    } else {
      on_frame(absl::MakeConstSpan(payload, length));
    }
    pos += kFrameHeaderSize + length;
  }
  return pos;
}

void AppendFrame(std::vector<uint8_t>* out, absl::Span<const uint8_t> payload) {
  const size_t at = out->size();
  out->resize(at + kFrameHeaderSize + payload.size());
  WriteLe32(static_cast<uint32_t>(payload.size()), out->data() + at);
  if (!payload.empty()) {
    std::memcpy(out->data() + at + kFrameHeaderSize, payload.data(), payload.size());
  }
}

void AppendFrame(std::string* out, absl::Span<const uint8_t> payload) {
  uint8_t header[kFrameHeaderSize];
  WriteLe32(static_cast<uint32_t>(payload.size()), header);
  out->append(reinterpret_cast<const char*>(header), kFrameHeaderSize);
  out->append(reinterpret_cast<const char*>(payload.data()), payload.size());
}

absl::StatusOr<const fbs::Message*> VerifyMessage(absl::Span<const uint8_t> payload) {
  if (payload.size() < sizeof(flatbuffers::uoffset_t) || payload.size() > kMaxFrameSize) {
    return absl::InvalidArgumentError(absl::StrCat("bad message size ", payload.size()));
  }
  flatbuffers::Verifier::Options options;
  options.max_depth = kMaxVerifyDepth;
  options.max_tables = kMaxVerifyTables;
  flatbuffers::Verifier verifier(payload.data(), payload.size(), options);
  if (!fbs::VerifyMessageBuffer(verifier)) {
    return absl::InvalidArgumentError("flatbuffers verification failed");
  }
  const fbs::Message* message = fbs::GetMessage(payload.data());
  // The generated verifier accepts union types it does not know (forward compatibility); we
  // speak one schema version on both ends, so an unknown type is corruption.
  if (!InUnionRange(message->body_type()) || message->body() == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("missing or unknown body type ", static_cast<int>(message->body_type())));
  }
  bool nested_ok = true;
  switch (message->body_type()) {
    case fbs::Body::Request: {
      const auto type = message->body_as_Request()->body_type();
      nested_ok = type == fbs::RequestBody::NONE || InUnionRange(type);
      break;
    }
    case fbs::Body::Response: {
      const auto type = message->body_as_Response()->body_type();
      nested_ok = type == fbs::ResponseBody::NONE || InUnionRange(type);
      break;
    }
    case fbs::Body::Notification: {
      const auto type = message->body_as_Notification()->body_type();
      nested_ok = type == fbs::NotificationBody::NONE || InUnionRange(type);
      break;
    }
    default:
      break;
  }
  if (!nested_ok) return absl::InvalidArgumentError("unknown nested body type");
  return message;
}

std::optional<uint32_t> RecoverId(absl::Span<const uint8_t> payload, fbs::Body expected) {
  if (payload.size() < sizeof(flatbuffers::uoffset_t) || payload.size() > kMaxFrameSize) {
    return std::nullopt;
  }
  flatbuffers::Verifier verifier(payload.data(), payload.size(), kMaxVerifyDepth, kMaxVerifyTables);
  // Same field checks the generated Verify() does, limited to the path root -> body -> id.
  if (verifier.VerifyOffset(0) == 0) return std::nullopt;
  const auto* root =
      reinterpret_cast<const flatbuffers::Table*>(flatbuffers::GetRoot<uint8_t>(payload.data()));
  if (!root->VerifyTableStart(verifier) ||
      !root->VerifyField<uint8_t>(verifier, fbs::Message::VT_BODY_TYPE, 1) ||
      !root->VerifyOffset(verifier, fbs::Message::VT_BODY)) {
    return std::nullopt;
  }
  if (root->GetField<uint8_t>(fbs::Message::VT_BODY_TYPE, 0) != static_cast<uint8_t>(expected)) {
    return std::nullopt;
  }
  const auto* body = root->GetPointer<const flatbuffers::Table*>(fbs::Message::VT_BODY);
  if (body == nullptr || !body->VerifyTableStart(verifier)) return std::nullopt;
  // Request and Response both declare `id: uint` first; an absent field is the default, 0.
  static_assert(static_cast<int>(fbs::Request::VT_ID) == static_cast<int>(fbs::Response::VT_ID));
  if (!body->VerifyField<uint32_t>(verifier, fbs::Request::VT_ID, 4)) return std::nullopt;
  return body->GetField<uint32_t>(fbs::Request::VT_ID, 0);
}

}  // namespace sb::ipc
