#include "worker/channel.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/log.h"
#include "worker/fbs/message_builder.h"
#include "worker/fbs/pipe_writer.h"

namespace sb::worker {
namespace {

// One read's worth; frames larger than this are reassembled by the FrameDecoder.
constexpr size_t kReadBufferSize = 64 * 1024;

void OnQueuedWriteFailed(int status) {
  SB_LOG_WARN("channel", "write failed: {}", uv_strerror(status));
}

// libuv may only free a handle in its close callback.
void ClosePipe(uv_pipe_t* pipe) {
  if (pipe == nullptr) return;
  pipe->data = nullptr;
  uv_close(reinterpret_cast<uv_handle_t*>(pipe), [](uv_handle_t* handle) {
    std::unique_ptr<uv_pipe_t>(reinterpret_cast<uv_pipe_t*>(handle));
  });
}

absl::StatusOr<uv_pipe_t*> OpenPipe(uv_loop_t* loop, int fd) {
  auto pipe = std::make_unique<uv_pipe_t>();
  if (int rc = uv_pipe_init(loop, pipe.get(), /*ipc=*/0); rc < 0) {
    return absl::InternalError(absl::StrCat("uv_pipe_init: ", uv_strerror(rc)));
  }
  uv_pipe_t* raw = pipe.release();  // from here on freed by ClosePipe
  if (int rc = uv_pipe_open(raw, fd); rc < 0) {
    ClosePipe(raw);
    return absl::InternalError(absl::StrCat("uv_pipe_open(", fd, "): ", uv_strerror(rc)));
  }
  return raw;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Channel>> Channel::Open(uv_loop_t* loop, int read_fd, int write_fd,
                                                       Listener* listener) {
  std::unique_ptr<Channel> channel(new Channel(listener));
  absl::StatusOr<uv_pipe_t*> read_pipe = OpenPipe(loop, read_fd);
  if (!read_pipe.ok()) return read_pipe.status();
  channel->read_pipe_ = *read_pipe;
  channel->read_pipe_->data = channel.get();
  absl::StatusOr<uv_pipe_t*> write_pipe = OpenPipe(loop, write_fd);
  if (!write_pipe.ok()) return write_pipe.status();
  channel->write_pipe_ = *write_pipe;
  channel->write_pipe_->data = channel.get();
  if (int rc = uv_read_start(reinterpret_cast<uv_stream_t*>(channel->read_pipe_), &Channel::OnAlloc,
                             &Channel::OnRead);
      rc < 0) {
    return absl::InternalError(absl::StrCat("uv_read_start: ", uv_strerror(rc)));
  }
  channel->reading_ = true;
  return channel;
}

Channel::Channel(Listener* listener) : listener_(listener), read_buffer_(kReadBufferSize) {}

Channel::~Channel() {
  ClosePipe(read_pipe_);
  ClosePipe(write_pipe_);
}

void Channel::OnAlloc(uv_handle_t* handle, size_t /*suggested*/, uv_buf_t* buf) {
  auto* self = static_cast<Channel*>(handle->data);
  // Reads are delivered one at a time and consumed before the next alloc, so one buffer serves.
  *buf = uv_buf_init(reinterpret_cast<char*>(self->read_buffer_.data()),
                     static_cast<unsigned int>(self->read_buffer_.size()));
}

void Channel::OnRead(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
  auto* self = static_cast<Channel*>(stream->data);
  if (self == nullptr || !self->reading_) return;
  if (nread == UV_EOF) {
    self->CloseRead(absl::OkStatus());
    return;
  }
  if (nread < 0) {
    self->CloseRead(absl::UnavailableError(absl::StrCat("read: ", uv_strerror(nread))));
    return;
  }
  absl::Status status = self->decoder_.Feed(
      reinterpret_cast<const uint8_t*>(buf->base), static_cast<size_t>(nread),
      [self](absl::Span<const uint8_t> payload) { self->HandleFrame(payload); });
  if (!status.ok()) {
    // The length prefix cannot be trusted any more, so neither can anything after it.
    ++self->malformed_count_;
    self->SendLog(fbs::LogLevel::ERROR, "control stream broken: " + std::string(status.message()));
    self->CloseRead(status);
  }
}

void Channel::CloseRead(const absl::Status& reason) {
  if (!reading_) return;
  reading_ = false;
  uv_read_stop(reinterpret_cast<uv_stream_t*>(read_pipe_));
  if (reason.ok()) {
    SB_LOG_INFO("channel", "control pipe closed");
  } else {
    SB_LOG_ERROR("channel", "control pipe failed: {}", std::string(reason.message()));
  }
  listener_->OnChannelClosed(reason);
}

void Channel::HandleFrame(absl::Span<const uint8_t> payload) {
  if (!reading_) return;  // a previous frame in this read closed the channel
  absl::StatusOr<const fbs::Message*> message = ipc::VerifyMessage(payload);
  if (!message.ok()) {
    RejectMalformed(payload, std::string(message.status().message()));
    return;
  }
  switch ((*message)->body_type()) {
    case fbs::Body::Request:
      listener_->OnChannelRequest(*(*message)->body_as_Request());
      return;
    case fbs::Body::Notification:
      listener_->OnChannelNotification(*(*message)->body_as_Notification());
      return;
    default:
      RejectMalformed(payload, absl::StrCat("unexpected body type ",
                                            fbs::EnumNameBody((*message)->body_type())));
      return;
  }
}

void Channel::RejectMalformed(absl::Span<const uint8_t> payload, std::string_view why) {
  ++malformed_count_;
  std::optional<uint32_t> id = ipc::RecoverId(payload, fbs::Body::Request);
  SB_LOG_WARN("channel", "dropped malformed message ({} bytes, request id {}): {}", payload.size(),
              id ? std::to_string(*id) : std::string("unknown"), why);
  if (id.has_value()) {
    flatbuffers::FlatBufferBuilder fbb;
    ipc::BuildResponseError(fbb, *id, ipc::error::kMalformed, why);
    Send(fbb);
  } else {
    SendLog(fbs::LogLevel::ERROR, "dropped malformed message: " + std::string(why));
  }
}

void Channel::Send(const flatbuffers::FlatBufferBuilder& fbb) {
  if (fbb.GetSize() > ipc::kMaxFrameSize) {
    // The peer would reject it and lose framing; better one lost message than a broken pipe.
    SB_LOG_ERROR("channel", "outgoing message of {} bytes exceeds the frame limit; dropped",
                 fbb.GetSize());
    return;
  }
  WriteFrame(ipc::EncodeFrame(fbb));
}

void Channel::SendLog(fbs::LogLevel level, std::string_view text) {
  flatbuffers::FlatBufferBuilder fbb;
  ipc::BuildLog(fbb, level, text);
  Send(fbb);
}

void Channel::WriteFrame(absl::Span<const uint8_t> frame) {
  if (write_failed_) return;
  const int rc =
      ipc::WriteInOrder(reinterpret_cast<uv_stream_t*>(write_pipe_), frame, OnQueuedWriteFailed);
  if (rc == 0) return;
  write_failed_ = true;
  // EPIPE: the control process closed its end (it is shutting down); EOF on fd 3 follows.
  if (rc == UV_EPIPE) {
    SB_LOG_WARN("channel", "control stopped reading; dropping further output");
  } else {
    SB_LOG_ERROR("channel", "write to control failed: {}", uv_strerror(rc));
  }
}

}  // namespace sb::worker
