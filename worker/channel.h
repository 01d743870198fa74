// The worker's end of the control pipe: reads frames on one fd, writes frames on another.
// Every received message is verified; a bad one is counted, logged and answered, never trusted.
#pragma once

#include <uv.h>

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "fbs/message_generated.h"
#include "worker/fbs/frame_codec.h"

namespace sb::worker {

class Channel {
 public:
  class Listener {
   public:
    virtual void OnChannelRequest(const fbs::Request& request) = 0;
    virtual void OnChannelNotification(const fbs::Notification& notification) = 0;
    // EOF (OK status) or a read error / broken framing (error status). Called once; the channel
    // reads nothing more afterwards. The worker should exit.
    virtual void OnChannelClosed(const absl::Status& reason) = 0;

   protected:
    ~Listener() = default;
  };

  // Opens `read_fd` and `write_fd` (normally 3 and 4) as libuv pipes and starts reading.
  static absl::StatusOr<std::unique_ptr<Channel>> Open(uv_loop_t* loop, int read_fd, int write_fd,
                                                       Listener* listener);
  ~Channel();
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;

  // Frames and writes the finished buffer of `fbb`. Writes after the peer went away are dropped.
  void Send(const flatbuffers::FlatBufferBuilder& fbb);
  void SendLog(fbs::LogLevel level, std::string_view text);

  // Messages dropped for failing verification or carrying an unexpected body.
  uint64_t malformed_count() const { return malformed_count_; }

 private:
  explicit Channel(Listener* listener);
  static void OnAlloc(uv_handle_t* handle, size_t suggested, uv_buf_t* buf);
  static void OnRead(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf);
  void HandleFrame(absl::Span<const uint8_t> payload);
  void RejectMalformed(absl::Span<const uint8_t> payload, std::string_view why);
  void WriteFrame(absl::Span<const uint8_t> frame);
  void CloseRead(const absl::Status& reason);

  // Passed by argument.
  Listener* const listener_;
  // Allocated by this; libuv frees them in their close callbacks (see ClosePipe in channel.cc).
  uv_pipe_t* read_pipe_ = nullptr;
  uv_pipe_t* write_pipe_ = nullptr;

  ipc::FrameDecoder decoder_;
  std::vector<uint8_t> read_buffer_;
  bool reading_ = false;
  bool write_failed_ = false;
  uint64_t malformed_count_ = 0;
};

}  // namespace sb::worker
