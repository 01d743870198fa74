// Builders for the common IPC messages. Each finishes `fbb` with a `Message` root; the caller
// built any body into the same builder first. EncodeFrame() turns a finished builder into the
// bytes written on the pipe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fbs/message_generated.h"

namespace sb::ipc {

// Error codes carried in Response.error; both processes match on these strings.
namespace error {
inline constexpr std::string_view kNotFound = "NotFound";
inline constexpr std::string_view kInvalidArgument = "InvalidArgument";
inline constexpr std::string_view kMalformed = "Malformed";
inline constexpr std::string_view kNotImplemented = "NotImplemented";
inline constexpr std::string_view kAlreadyExists = "AlreadyExists";
inline constexpr std::string_view kFailedPrecondition =
    "FailedPrecondition";  // e.g. codec mismatch
inline constexpr std::string_view kInternal = "Internal";
inline constexpr std::string_view kTimeout = "Timeout";        // synthesized by the control side
inline constexpr std::string_view kWorkerDied = "WorkerDied";  // synthesized by the control side
}  // namespace error

// A string field's value; "" when absent (an optional field).
inline std::string Str(const flatbuffers::String* s) { return s ? s->str() : std::string(); }

void BuildRequest(flatbuffers::FlatBufferBuilder& fbb, uint32_t id, fbs::Method method,
                  std::string_view handler_id, fbs::RequestBody body_type = fbs::RequestBody::NONE,
                  flatbuffers::Offset<void> body = 0);

void BuildResponseOk(flatbuffers::FlatBufferBuilder& fbb, uint32_t id,
                     fbs::ResponseBody body_type = fbs::ResponseBody::NONE,
                     flatbuffers::Offset<void> body = 0);

void BuildResponseError(flatbuffers::FlatBufferBuilder& fbb, uint32_t id, std::string_view error,
                        std::string_view reason);

void BuildNotification(flatbuffers::FlatBufferBuilder& fbb, std::string_view handler_id,
                       fbs::Event event,
                       fbs::NotificationBody body_type = fbs::NotificationBody::NONE,
                       flatbuffers::Offset<void> body = 0);

void BuildLog(flatbuffers::FlatBufferBuilder& fbb, fbs::LogLevel level, std::string_view text);

// The finished buffer of `fbb` as one frame (length prefix + payload).
std::vector<uint8_t> EncodeFrame(const flatbuffers::FlatBufferBuilder& fbb);

}  // namespace sb::ipc
