// Internal to signaling/http: what HttpServer keeps per libwebsockets connection, and the part
// of the server that outlives it by some loop turns. Not for use outside this folder.
#pragma once

#include <uv.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "signaling/http/http_request.h"
#include "signaling/http/http_server.h"

namespace sb::signaling::http::internal {

struct Connection {
  enum class WsState {
    kNone,       // plain HTTP (or an upgrade not yet established)
    kOpen,       // established; Send() queues
    kClosing,    // Close() asked: the queue drains, then our close frame goes
    kCloseSent,  // libwebsockets sends (or sent) a close frame and waits for the answer
    kDone,       // closed; OnClose is due or delivered
  };

  uint64_t id = 0;
  struct lws* wsi = nullptr;
  std::string ip;              // the peer's address, the key of the per-address limit
  std::string remote_address;  // "ip:port", "[ip]:port" for IPv6

  // HTTP: a request whose body is still arriving, and the body so far.
  std::optional<Request> request;
  std::string body;
  // The accepted upgrade request, until the WebSocket is established.
  std::optional<Request> upgrade;

  // WebSocket.
  WsState ws_state = WsState::kNone;
  std::shared_ptr<WebSocket> websocket;
  std::deque<std::string> outbox;  // text messages, each behind LWS_PRE spare bytes
  size_t outbox_bytes = 0;
  size_t in_flight_bytes = 0;  // the last message handed to libwebsockets, until it drained
  std::string message;         // a fragmented message being reassembled
  uint16_t close_code = 0;     // what Close() asked for
  std::string close_reason;
  bool ping_due = false;
  bool peer_sent_close = false;
  bool killed = false;
  uint64_t last_heard_ms = 0;
  uint64_t last_ping_ms = 0;
  uint64_t kill_at_ms = 0;  // 0: none; otherwise cut the connection then (close timeouts)
};

// The libwebsockets context's user data. It outlives the HttpServer when it has to: a context
// on a foreign libuv loop is freed some loop turns after Stop() (lws_loop.h), and the OnClose
// notifications of a Stop() are delivered a loop turn later. `server` is null
// once the HttpServer is gone; the core then frees itself when its work is done.
struct ServerCore {
  HttpServer* server = nullptr;
  uv_loop_t* loop = nullptr;
  uv_timer_t sweep{};  // HttpServer's per-connection deadlines and pings
  uv_timer_t tick{};   // OnClose notifications
  int open_handles = 0;
  bool finishing = false;  // the context is being destroyed (DestroyLwsContextOnLoop)
  std::vector<std::shared_ptr<WebSocket>> closed;  // OnClose due

  // A libwebsockets callback, for the server while it lives.
  int Dispatch(struct lws* wsi, int reason, void* in, size_t len);
  // (Re)starts the sweep timer, which calls HttpServer::OnSweepTimer().
  void StartSweep(uint64_t delay_ms, uint64_t repeat_ms);
  // Runs the tick soon (OnClose due).
  void ScheduleTick(uint64_t delay_ms);
  void OnTick();
  // Closes the timers once nothing is left to do; frees this when orphaned.
  void CloseHandlesIfDone();
};

}  // namespace sb::signaling::http::internal
