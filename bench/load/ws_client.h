// A WebSocket client (RFC 6455) on the libuv loop: TCP connect, the HTTP upgrade with key
// check, then text messages in and out through the project's frame codec in client mode.
#pragma once

#include <uv.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "signaling/http/websocket_frame.h"

namespace sb::bench {

// ws://IP:PORT/PATH split into its parts; only literal IPv4 hosts (the generator runs on
// loopback and resolving names would block the loop).
struct WsUrl {
  std::string host;
  uint16_t port = 80;
  std::string path = "/";
  // Sec-WebSocket-Protocol to ask for ("" for none; Janus wants "janus-protocol").
  std::string protocol;
};
absl::StatusOr<WsUrl> ParseWsUrl(std::string_view url);

class WsClient {
 public:
  class Listener {
   public:
    virtual ~Listener() = default;
    virtual void OnWsOpen() = 0;
    virtual void OnWsMessage(std::string text) = 0;
    // Connect, upgrade or protocol failure, or the server closed. Called once.
    virtual void OnWsClosed(const std::string& reason) = 0;
  };

  WsClient(uv_loop_t* loop, WsUrl url, Listener* listener);
  ~WsClient();
  WsClient(const WsClient&) = delete;
  WsClient& operator=(const WsClient&) = delete;

  void Connect();
  // One text frame; false when not open.
  bool Send(std::string_view text);
  // Sends a close frame (when open) and closes as RFC 6455 7.1.1 asks: our FIN after the close
  // frame, then the socket closes once the server has closed its side (or after 2 s), so that
  // the server reads the close frame: closing a socket with unread data resets it, and the
  // server would see a broken connection instead. No listener calls after it.
  void Close();
  // Drops the connection without a close frame, as a lost network or a killed browser does:
  // the socket is reset (RST). No listener calls after it.
  void Abort();
  bool open() const { return state_ == State::kOpen; }

 private:
  enum class State { kNew, kConnecting, kUpgrading, kOpen, kClosed };
  static void OnConnect(uv_connect_t* req, int status);
  static void OnAlloc(uv_handle_t* handle, size_t suggested, uv_buf_t* buf);
  static void OnRead(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf);
  void Write(std::string bytes);
  void OnData(std::string_view data);
  void HandleUpgradeResponse();
  void Fail(const std::string& reason);
  enum class CloseMode { kNow, kLinger, kReset };
  void CloseHandle(CloseMode mode = CloseMode::kNow);

  // Passed by argument.
  uv_loop_t* loop_;
  WsUrl url_;
  Listener* listener_;
  // Allocated by this; the handle is freed by its close callback.
  uv_tcp_t* tcp_ = nullptr;
  State state_ = State::kNew;
  std::string key_;
  std::string handshake_;  // response bytes until the blank line
  signaling::http::ws::FrameParser parser_{signaling::http::ws::Role::kClient};
  std::vector<char> read_buffer_ = std::vector<char>(64 * 1024);
};

}  // namespace sb::bench
