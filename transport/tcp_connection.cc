#include "transport/tcp_connection.h"

#include <cstring>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "base/log.h"

namespace sb::transport {
namespace {

// One read buffer for every connection (one thread): a read of up to this many bytes is split
// into frames in place; only a frame cut by the end of a read is copied.
constexpr size_t kReadBufferSize = 65536;

void CloseAndFree(uv_tcp_t* handle) {
  handle->data = nullptr;
  uv_close(reinterpret_cast<uv_handle_t*>(handle),
           [](uv_handle_t* h) { std::unique_ptr<uv_tcp_t> owned(reinterpret_cast<uv_tcp_t*>(h)); });
}

}  // namespace

// A frame (or the rest of one) that the kernel would not take at once. The request outlives
// the connection if it is closed first: libuv then completes it with UV_ECANCELED.
struct TcpConnection::WriteRequest {
  uv_write_t req;
  std::vector<uint8_t> bytes;
};

TcpConnection::TcpConnection(uv_loop_t* loop)
    : loop_(loop), fail_timer_(std::make_unique<UvTimer>(loop, [this] {
        std::string reason = std::move(fail_reason_);
        Fail(reason);
      })) {}

absl::StatusOr<std::unique_ptr<TcpConnection>> TcpConnection::Accept(uv_loop_t* loop,
                                                                     uv_stream_t* server) {
  std::unique_ptr<TcpConnection> c(new TcpConnection(loop));
  auto handle = std::make_unique<uv_tcp_t>();
  if (int err = uv_tcp_init(loop, handle.get()); err != 0) {
    return absl::InternalError(absl::StrCat("tcp: init: ", uv_strerror(err)));
  }
  uv_tcp_t* raw = handle.release();
  raw->data = nullptr;
  if (int err = uv_accept(server, reinterpret_cast<uv_stream_t*>(raw)); err != 0) {
    CloseAndFree(raw);
    return absl::UnavailableError(absl::StrCat("tcp: accept: ", uv_strerror(err)));
  }
  c->handle_ = raw;
  raw->data = c.get();
  // Media is latency-bound: no Nagle delay on small frames (audio, RTCP, STUN).
  uv_tcp_nodelay(raw, 1);
  int len = sizeof(c->remote_address_);
  uv_tcp_getpeername(raw, reinterpret_cast<sockaddr*>(&c->remote_address_), &len);
  return c;
}

TcpConnection::~TcpConnection() { Close(); }

void TcpConnection::Start(Listener* listener) {
  listener_ = listener;
  if (handle_ == nullptr) return;
  if (int err = uv_read_start(reinterpret_cast<uv_stream_t*>(handle_), &OnAlloc, &OnRead);
      err != 0 && err != UV_EALREADY) {
    FailLater(absl::StrCat("read: ", uv_strerror(err)));
  }
}

void TcpConnection::Close() {
  fail_timer_->Stop();
  if (handle_ == nullptr) return;
  uv_read_stop(reinterpret_cast<uv_stream_t*>(handle_));
  CloseAndFree(handle_);
  handle_ = nullptr;
}

void TcpConnection::Fail(std::string_view reason) {
  Close();
  Listener* listener = listener_;
  listener_ = nullptr;
  if (listener != nullptr) listener->OnTcpClosed(this, reason);
}

void TcpConnection::FailLater(std::string reason) {
  if (fail_timer_->active()) return;
  fail_reason_ = std::move(reason);
  fail_timer_->Start(0);
}

bool TcpConnection::Send(const uint8_t* data, size_t len) {
  if (handle_ == nullptr || len == 0 || len > 0xFFFF) return false;
  const size_t frame = kTcpFrameHeaderSize + len;
  if (queued_bytes_ + frame > kMaxTcpSendQueueBytes) {
    ++stats_.send_queue_drops;
    const uint64_t now = uv_now(loop_);
    if (blocked_since_ms_ == 0) {
      blocked_since_ms_ = now;
    } else if (now - blocked_since_ms_ >= kMaxTcpSendBlockedMs) {
      FailLater("send queue full for too long");
    }
    return false;
  }
  uint8_t header[kTcpFrameHeaderSize];
  WriteTcpFrameHeader(len, header);
  size_t written = 0;
  // Straight to the kernel when nothing is queued (order: queued bytes go first).
  if (queued_bytes_ == 0) {
    uv_buf_t bufs[2] = {uv_buf_init(reinterpret_cast<char*>(header), sizeof(header)),
                        uv_buf_init(const_cast<char*>(reinterpret_cast<const char*>(data)),
                                    static_cast<unsigned>(len))};
    const int n = uv_try_write(reinterpret_cast<uv_stream_t*>(handle_), bufs, 2);
    if (n > 0) {
      written = static_cast<size_t>(n);
    } else if (n != UV_EAGAIN && n != UV_ENOSYS) {
      FailLater(absl::StrCat("write: ", uv_strerror(n)));
      return false;
    }
  }
  stats_.bytes_sent += frame;
  ++stats_.frames_sent;
  if (written == frame) return true;
  // The rest of the frame must follow, whatever the bound: a half-written frame would break
  // the stream. Copied once, only while the peer is slow.
  auto request = std::make_unique<WriteRequest>();
  request->bytes.reserve(frame - written);
  for (size_t i = written; i < kTcpFrameHeaderSize; ++i) request->bytes.push_back(header[i]);
  const size_t data_from = written > kTcpFrameHeaderSize ? written - kTcpFrameHeaderSize : 0;
  request->bytes.insert(request->bytes.end(), data + data_from, data + len);
  uv_buf_t buf = uv_buf_init(reinterpret_cast<char*>(request->bytes.data()),
                             static_cast<unsigned>(request->bytes.size()));
  const size_t queued = request->bytes.size();
  const int err = uv_write(&request->req, reinterpret_cast<uv_stream_t*>(handle_), &buf, 1,
                           &TcpConnection::OnWritten);
  if (err != 0) {
    FailLater(absl::StrCat("write: ", uv_strerror(err)));
    return false;
  }
  request.release();  // Owned by libuv until OnWritten.
  queued_bytes_ += queued;
  return true;
}

void TcpConnection::OnWritten(uv_write_t* req, int status) {
  std::unique_ptr<WriteRequest> request(reinterpret_cast<WriteRequest*>(req));
  auto* self = static_cast<TcpConnection*>(req->handle->data);
  if (self == nullptr) return;  // Closed (UV_ECANCELED): nothing to account for.
  self->queued_bytes_ -= std::min(self->queued_bytes_, request->bytes.size());
  // The peer is reading again once half the queue is gone.
  if (self->queued_bytes_ <= kMaxTcpSendQueueBytes / 2) self->blocked_since_ms_ = 0;
  if (status != 0) self->FailLater(absl::StrCat("write: ", uv_strerror(status)));
}

void TcpConnection::OnAlloc(uv_handle_t*, size_t, uv_buf_t* buf) {
  static thread_local char buffer[kReadBufferSize];
  *buf = uv_buf_init(buffer, sizeof(buffer));
}

void TcpConnection::OnRead(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
  auto* self = static_cast<TcpConnection*>(stream->data);
  if (self == nullptr || nread == 0) return;
  if (nread < 0) {
    self->Fail(nread == UV_EOF ? std::string("closed by peer")
                               : absl::StrCat("read: ", uv_strerror(static_cast<int>(nread))));
    return;
  }
  self->stats_.bytes_received += static_cast<size_t>(nread);
  // `stream` outlives this call even if the listener destroys the connection (the handle is
  // freed by its close callback, later): its data pointer says whether `self` is still there.
  const auto result =
      self->decoder_.Feed(reinterpret_cast<uint8_t*>(buf->base), static_cast<size_t>(nread),
                          [self, stream](uint8_t* data, size_t len) {
                            ++self->stats_.frames_received;
                            if (self->listener_ != nullptr)
                              self->listener_->OnTcpFrame(self, data, len);
                            return stream->data != nullptr;
                          });
  if (result == TcpFrameDecoder::Result::kTooLong) {
    self->Fail(absl::StrCat("frame longer than ", kMaxTcpFrameLength, " bytes"));
  }
}

}  // namespace sb::transport
