// WebSockets of HttpServer: libwebsockets does the handshake, framing, masking, UTF-8 checks,
// pongs and the close handshake; we reassemble messages under our size bound, queue what is
// sent under our backlog bound, ping and time out silent peers, and tell listeners once.
#include <libwebsockets.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <utility>

#include "base/log.h"
#include "signaling/http/http_server.h"
#include "signaling/http/server_connection.h"
#include "signaling/http/websocket_frame.h"

namespace sb::signaling::http {

using internal::Connection;
using WsState = Connection::WsState;

int HttpServer::OnWebSocketEstablished(Connection* connection, struct lws* wsi) {
  auto route = connection->upgrade ? websocket_routes_.find(connection->upgrade->path)
                                   : websocket_routes_.end();
  if (route == websocket_routes_.end()) return -1;
  const WebSocketHandler handler = route->second.handler;  // a copy: it may change the routes
  static std::atomic<uint64_t> next_websocket_id{1};
  // The constructor is private to this library, hence no make_shared.
  connection->websocket = std::shared_ptr<WebSocket>(new WebSocket(
      next_websocket_id.fetch_add(1), connection->remote_address, connection->upgrade->path));
  connection->upgrade.reset();
  connection->websocket->connection_ = connection;
  connection->websocket->server_ = this;
  connection->ws_state = WsState::kOpen;
  connection->last_heard_ms = uv_now(loop_);
  lws_set_timeout(wsi, NO_PENDING_TIMEOUT, 0);  // ours from here: pings and the sweep
  SB_LOG_DEBUG("http", "connection {}: WebSocket {} on {}", connection->id,
               connection->websocket->id(), connection->websocket->path());
  const std::shared_ptr<WebSocket> socket = connection->websocket;
  handler(socket);
  return 0;
}

int HttpServer::OnWebSocketReceive(Connection* connection, struct lws* wsi, const char* data,
                                   size_t len) {
  connection->last_heard_ms = uv_now(loop_);
  // After our close request the peer's data is of no use (it has not seen our close yet).
  if (connection->ws_state != WsState::kOpen) return 0;
  auto fail = [&](uint16_t code, const char* reason) {
    SB_LOG_INFO("http", "WebSocket {} from {} failed: {} ({})", connection->websocket->id(),
                connection->remote_address, code, reason);
    if (code == ws::kCloseMessageTooBig) {
      ++counters_.websocket_messages_too_big;
    } else {
      ++counters_.websocket_protocol_errors;
    }
    connection->websocket->closed_cleanly_ = true;
    connection->ws_state = WsState::kCloseSent;
    connection->kill_at_ms = uv_now(loop_) + kFailLingerMs;
    ArmSweep(connection->kill_at_ms);
    lws_close_reason(wsi, static_cast<lws_close_status>(code),
                     reinterpret_cast<unsigned char*>(const_cast<char*>(reason)), strlen(reason));
    return -1;  // libwebsockets sends our close frame
  };
  if (lws_is_first_fragment(wsi)) {
    connection->message.clear();
    if (lws_frame_is_binary(wsi)) {
      return fail(ws::kCloseUnsupportedData, "binary messages are not supported");
    }
  }
  // The frame's announced length counts before its payload has arrived.
  if (connection->message.size() + len + lws_remaining_packet_payload(wsi) > ws::kMaxMessageBytes) {
    return fail(ws::kCloseMessageTooBig, "message too big");
  }
  connection->message.append(data, len);
  if (!lws_is_final_fragment(wsi)) return 0;
  const std::string message = std::move(connection->message);
  connection->message.clear();
  // Keep the socket alive even if the listener drops its reference.
  const std::shared_ptr<WebSocket> socket = connection->websocket;
  if (WebSocket::Listener* listener = socket->listener_) listener->OnMessage(message);
  return 0;
}

int HttpServer::OnWebSocketWritable(Connection* connection, struct lws* wsi) {
  // Called only once libwebsockets has sent all it had buffered.
  connection->in_flight_bytes = 0;
  if (connection->ws_state != WsState::kOpen && connection->ws_state != WsState::kClosing) {
    return 0;
  }
  if (connection->ping_due) {
    connection->ping_due = false;
    // With a payload: libwebsockets tells us of a pong only when it carries data, and a pong
    // echoes the ping's (RFC 6455 section 5.5.3).
    unsigned char ping[LWS_PRE + 4] = {};
    std::memcpy(ping + LWS_PRE, "sbpg", 4);
    if (lws_write(wsi, ping + LWS_PRE, 4, LWS_WRITE_PING) < 0) return -1;
    if (!connection->outbox.empty() || connection->ws_state == WsState::kClosing) {
      lws_callback_on_writable(wsi);
    }
    return 0;
  }
  if (!connection->outbox.empty()) {
    std::string frame = std::move(connection->outbox.front());
    connection->outbox.pop_front();
    const size_t size = frame.size() - LWS_PRE;
    connection->outbox_bytes -= size;
    connection->in_flight_bytes = size;
    if (lws_write(wsi, reinterpret_cast<unsigned char*>(frame.data()) + LWS_PRE, size,
                  LWS_WRITE_TEXT) < 0) {
      return -1;
    }
    if (!connection->outbox.empty() || connection->ws_state == WsState::kClosing) {
      lws_callback_on_writable(wsi);
    }
    return 0;
  }
  if (connection->ws_state == WsState::kClosing) {
    // Everything queued is out: now our close frame, as bytes (LWS_WRITE_HTTP is a raw write
    // on a WebSocket too). Not lws_close_reason() and -1: Debian's build of libwebsockets 4.1
    // (with _DEBUG) closes a connection twice when a writable callback fails, and the second
    // close cuts it before the close frame is out (lib/core-net/service.c, "uv repeat test").
    // The peer's answering close ends it (LWS_CALLBACK_WS_PEER_INITIATED_CLOSE), or the sweep
    // at the deadline Close() set.
    connection->ws_state = WsState::kCloseSent;
    std::string frame = ws::EncodeCloseFrame(connection->close_code, connection->close_reason);
    if (lws_write(wsi, reinterpret_cast<unsigned char*>(frame.data()), frame.size(),
                  LWS_WRITE_HTTP) < 0) {
      return -1;
    }
  }
  return 0;
}

void HttpServer::OnWebSocketDropped(Connection* connection, struct lws* wsi) {
  // The close has started. When libwebsockets itself failed the connection (bad framing,
  // invalid UTF-8, RFC 6455 section 7.1.7), it has set a close code we did not ask for.
  if (connection->ws_state != WsState::kOpen || connection->peer_sent_close || connection->killed ||
      lws_get_close_length(wsi) < 2) {
    return;
  }
  const unsigned char* payload = lws_get_close_payload(wsi);
  const auto code = static_cast<uint16_t>((payload[0] << 8) | payload[1]);
  SB_LOG_INFO("http", "WebSocket {} from {} failed: {} (framing)",
              connection->websocket ? connection->websocket->id() : 0, connection->remote_address,
              code);
  if (code == ws::kCloseMessageTooBig) {
    ++counters_.websocket_messages_too_big;
  } else {
    ++counters_.websocket_protocol_errors;
  }
  if (connection->websocket) connection->websocket->closed_cleanly_ = true;
  connection->ws_state = WsState::kCloseSent;
  connection->kill_at_ms = uv_now(loop_) + kFailLingerMs;
  ArmSweep(connection->kill_at_ms);
}

void HttpServer::OnWebSocketClosed(Connection* connection) {
  connection->ws_state = WsState::kDone;
  connection->outbox.clear();
  connection->outbox_bytes = 0;
  connection->kill_at_ms = 0;
  std::shared_ptr<WebSocket> socket = std::move(connection->websocket);
  connection->websocket.reset();
  if (!socket) return;
  socket->connection_ = nullptr;
  socket->server_ = nullptr;
  // Never from inside libwebsockets (or Stop()): the tick tells the listener.
  core_->closed.push_back(std::move(socket));
  core_->ScheduleTick(0);
}

bool HttpServer::SendText(Connection* connection, std::string_view text) {
  if (connection->ws_state != WsState::kOpen) return false;
  if (connection->outbox_bytes + connection->in_flight_bytes + text.size() >
      kMaxPendingWriteBytes) {
    SB_LOG_WARN("http", "connection {} from {}: peer not reading, {} bytes queued; dropping it",
                connection->id, connection->remote_address,
                connection->outbox_bytes + connection->in_flight_bytes);
    Kill(connection);
    return false;
  }
  std::string frame(LWS_PRE, '\0');
  frame.append(text);
  connection->outbox.push_back(std::move(frame));
  connection->outbox_bytes += text.size();
  lws_callback_on_writable(connection->wsi);
  return true;
}

void HttpServer::CloseWebSocket(Connection* connection, uint16_t code, std::string_view reason) {
  if (connection->ws_state != WsState::kOpen) return;
  if (!ws::IsValidCloseCode(code)) code = ws::kCloseNormal;
  connection->ws_state = WsState::kClosing;
  connection->close_code = code;
  // A close frame carries at most 123 bytes of reason (RFC 6455 section 5.5); cut on a UTF-8
  // character boundary.
  size_t cut = std::min<size_t>(reason.size(), ws::kMaxControlPayload - 2);
  while (cut > 0 && cut < reason.size() && (static_cast<uint8_t>(reason[cut]) & 0xc0) == 0x80) {
    --cut;
  }
  connection->close_reason = std::string(reason.substr(0, cut));
  if (connection->websocket) connection->websocket->closed_cleanly_ = true;
  connection->kill_at_ms = uv_now(loop_) + kCloseTimeoutMs;
  ArmSweep(connection->kill_at_ms);
  lws_callback_on_writable(connection->wsi);
}

void HttpServer::Kill(Connection* connection) {
  if (connection->killed) return;
  connection->killed = true;
  if (connection->ws_state == WsState::kOpen || connection->ws_state == WsState::kClosing) {
    connection->ws_state = WsState::kCloseSent;  // is_open() is false from here
  }
  // libwebsockets' timeout machinery closes it without a close frame, from its own timer; the
  // event-pipe nudge makes its libuv timer see the new deadline now.
  lws_set_timeout(connection->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
  if (context_ != nullptr) lws_cancel_service(context_);
}

void HttpServer::ArmSweep(uint64_t deadline_ms) {
  if (!running_ || deadline_ms >= sweep_due_ms_) return;
  const uint64_t now = uv_now(loop_);
  const uint64_t delay = deadline_ms > now ? deadline_ms - now : 0;
  core_->StartSweep(delay, uv_timer_get_repeat(&core_->sweep));
  sweep_due_ms_ = now + delay;
}

void HttpServer::OnSweepTimer() {
  const uint64_t now = uv_now(loop_);
  sweep_due_ms_ = now + uv_timer_get_repeat(&core_->sweep);
  for (auto& [wsi, owned] : connections_) {
    Connection* connection = owned.get();
    if (connection->killed) continue;
    if (connection->kill_at_ms != 0 && now >= connection->kill_at_ms) {
      Kill(connection);
      continue;
    }
    if (connection->kill_at_ms != 0) ArmSweep(connection->kill_at_ms);
    if (connection->ws_state != WsState::kOpen) continue;
    const uint64_t idle = now - connection->last_heard_ms;
    if (idle >= options_.websocket_timeout_ms) {
      // No pong, no message: the peer is gone. No close frame: to the listener this is a
      // broken connection, not a goodbye.
      ++counters_.websockets_timed_out;
      SB_LOG_INFO("http", "WebSocket {} from {}: nothing heard for {} ms; closing",
                  connection->websocket ? connection->websocket->id() : 0,
                  connection->remote_address, idle);
      Kill(connection);
    } else if (idle >= options_.websocket_ping_interval_ms &&
               now - connection->last_ping_ms >= options_.websocket_ping_interval_ms) {
      connection->last_ping_ms = now;
      connection->ping_due = true;
      lws_callback_on_writable(wsi);
    }
  }
}

// --- WebSocket ---------------------------------------------------------------------------------

bool WebSocket::is_open() const {
  return connection_ != nullptr && connection_->ws_state == WsState::kOpen;
}

bool WebSocket::Send(std::string_view text) {
  return connection_ != nullptr && server_ != nullptr && server_->SendText(connection_, text);
}

void WebSocket::Close(uint16_t code, std::string_view reason) {
  if (connection_ != nullptr && server_ != nullptr)
    server_->CloseWebSocket(connection_, code, reason);
}

}  // namespace sb::signaling::http
