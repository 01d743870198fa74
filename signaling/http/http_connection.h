// One accepted TCP connection of HttpServer: HTTP/1.1 requests with keep-alive, and after an
// upgrade a WebSocket. Internal to signaling/http; the application only sees WebSocket.
#pragma once

#include <uv.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "signaling/http/http_request.h"
#include "signaling/http/http_server.h"
#include "signaling/http/websocket_frame.h"

namespace sb::signaling::http {

class HttpConnection {
 public:
  HttpConnection(HttpServer* server, uint64_t id);
  ~HttpConnection();
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  uint64_t id() const { return id_; }
  // The peer's IP once it was admitted under the per-address limit; empty otherwise.
  const std::string& admitted_ip() const { return admitted_ip_; }
  uv_tcp_t* tcp() { return &tcp_; }
  // Accepts the pending connection on `listener` and starts reading.
  void Start(uv_stream_t* listener);
  // Server Stop(): a best-effort 1001 close frame to WebSockets, then close now.
  void CloseForShutdown();
  // The server is going away while our close is pending: we free ourselves in OnClosed.
  void Orphan() { server_ = nullptr; }
  // Sweep timer: closes the connection when a deadline passed.
  void CheckTimeouts(uint64_t now_ms);

  // WebSocket side, called through WebSocket.
  bool IsWebSocketOpen() const { return mode_ == Mode::kWebSocket && phase_ == Phase::kOpen; }
  bool SendWebSocketText(std::string_view text);
  void CloseWebSocket(uint16_t code, std::string_view reason);

  // From the libuv write callback.
  void OnWriteDone(size_t bytes, int status);

 private:
  enum class Mode { kHttp, kWebSocket };
  enum class Phase {
    kOpen,
    kCloseSent,  // our close frame is out; waiting for the peer's (WebSocket only)
    kFlushing,   // nothing more to read or send: flushing, then closing
    kClosing,    // uv_close() called
  };

  static void AllocCallback(uv_handle_t* handle, size_t suggested, uv_buf_t* buf);
  static void ReadCallback(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf);
  static void CloseCallback(uv_handle_t* handle);

  void OnRead(std::string_view data);
  void HandleHttpBytes(std::string_view data);
  void HandleRequest(const Request& request);
  bool TryUpgrade(const Request& request, const HttpServer::WebSocketHandler& handler,
                  const HttpServer::UpgradeCheck& check);
  void SendResponse(const Request* request, const Response& response, bool keep_alive,
                    const std::vector<std::string>& extra_headers);
  void SendError(int status, std::string_view message,
                 const std::vector<std::string>& extra_headers = {});
  void HandleWebSocketBytes(std::string_view data);
  void HandleWebSocketMessage(ws::Message message);
  void FailWebSocket(uint16_t code, std::string_view reason);

  void Write(std::string data);
  // Flushes what is queued, then closes (uv_shutdown, then uv_close).
  void FlushAndClose();
  // Closes now; the listener hears OnClose from the close callback, never from here.
  void CloseNow();
  void OnClosed();

  HttpServer* server_;  // null once orphaned
  const uint64_t id_;
  uv_tcp_t tcp_;
  std::string remote_address_;
  Mode mode_ = Mode::kHttp;
  Phase phase_ = Phase::kOpen;
  RequestParser parser_;
  ws::FrameParser frames_;
  std::shared_ptr<WebSocket> websocket_;
  size_t pending_write_bytes_ = 0;
  uint64_t last_activity_ms_ = 0;
  uint64_t last_ping_ms_ = 0;  // WebSocket keepalive
  std::string admitted_ip_;
  uint64_t close_deadline_ms_ = 0;  // in kCloseSent / kFlushing
};

}  // namespace sb::signaling::http
