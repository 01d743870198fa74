// One accepted TCP connection carrying RFC 4571 frames (ICE-TCP, RFC 6544): reads frames for a
// listener, writes frames through a bounded queue so that a slow peer costs memory up to a bound
// and never blocks the loop.
#pragma once

#include <sys/socket.h>
#include <uv.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "base/uv_timer.h"
#include "transport/tcp_framing.h"

namespace sb::transport {

// Bytes waiting in user space for a slow TCP peer before media frames are dropped: about a
// second of a 2 Mbit/s video stream. Older media than that is worth less than a key frame
// request; the kernel's socket buffer holds more before this fills.
inline constexpr size_t kMaxTcpSendQueueBytes = 256 * 1024;
// A peer whose queue stays full this long is too slow for the media it asked for: closed, so
// it stops holding memory and the browser falls back to another path or reconnects.
inline constexpr uint64_t kMaxTcpSendBlockedMs = 5000;

class TcpConnection {
 public:
  class Listener {
   public:
    virtual ~Listener() = default;
    // One frame's payload; mutable (SRTP decrypts in place), valid during the call only.
    virtual void OnTcpFrame(TcpConnection* connection, uint8_t* data, size_t len) = 0;
    // The connection is closed (peer closed, read error, bad framing, too slow). The listener
    // may destroy it here; no calls after this one.
    virtual void OnTcpClosed(TcpConnection* connection, std::string_view reason) = 0;
  };

  struct Stats {
    uint64_t bytes_received = 0;
    uint64_t bytes_sent = 0;  // Handed to the kernel or queued.
    uint64_t frames_received = 0;
    uint64_t frames_sent = 0;
    // Frames not sent because the queue was over kMaxTcpSendQueueBytes.
    uint64_t send_queue_drops = 0;
  };

  // Accepts a pending connection on `server` (a listening uv_tcp_t). Reading starts at Start().
  static absl::StatusOr<std::unique_ptr<TcpConnection>> Accept(uv_loop_t* loop,
                                                               uv_stream_t* server);
  ~TcpConnection();
  TcpConnection(const TcpConnection&) = delete;
  TcpConnection& operator=(const TcpConnection&) = delete;

  // Starts (or moves) delivery to `listener`.
  void Start(Listener* listener);
  void set_listener(Listener* listener) { listener_ = listener; }

  // Frames and sends `data`: at once if the kernel takes it, else queued. False when dropped
  // (queue over its bound, closed). A connection whose queue stays over the bound for
  // kMaxTcpSendBlockedMs is closed, from the loop (never inside this call).
  bool Send(const uint8_t* data, size_t len);

  // Closes without telling the listener; idempotent.
  void Close();

  const sockaddr* remote_address() const {
    return reinterpret_cast<const sockaddr*>(&remote_address_);
  }
  size_t queued_bytes() const { return queued_bytes_; }
  bool closed() const { return handle_ == nullptr; }
  const Stats& stats() const { return stats_; }
  const TcpFrameDecoder& decoder() const { return decoder_; }

 private:
  struct WriteRequest;
  explicit TcpConnection(uv_loop_t* loop);
  static void OnAlloc(uv_handle_t* handle, size_t suggested, uv_buf_t* buf);
  static void OnRead(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf);
  static void OnWritten(uv_write_t* req, int status);
  // Closes and tells the listener (which may destroy this): nothing may follow a call.
  void Fail(std::string_view reason);
  void FailLater(std::string reason);

  // Passed by argument.
  uv_loop_t* loop_;
  Listener* listener_ = nullptr;
  // Allocated by this; the handle is freed by its uv_close callback.
  uv_tcp_t* handle_ = nullptr;
  std::unique_ptr<UvTimer> fail_timer_;
  std::string fail_reason_;
  TcpFrameDecoder decoder_;
  sockaddr_storage remote_address_{};
  size_t queued_bytes_ = 0;
  uint64_t blocked_since_ms_ = 0;  // uv_now when the queue first overflowed; 0: not blocked.
  Stats stats_;
};

}  // namespace sb::transport
