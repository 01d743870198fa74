#include "signaling/http/http_connection.h"

#include <atomic>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/log.h"

namespace sb::signaling::http {
namespace {

// A write and the bytes it sends; freed by the write callback.
struct WriteRequest {
  uv_write_t req;
  std::string data;
};

void WriteCallback(uv_write_t* req, int status);

// The peer's IP and "ip:port" ("[ip]:port" for IPv6).
std::pair<std::string, std::string> PeerAddress(const uv_tcp_t* tcp) {
  sockaddr_storage addr{};
  int len = sizeof(addr);
  if (uv_tcp_getpeername(tcp, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return {"?", "?"};
  char ip[64] = {};
  if (addr.ss_family == AF_INET6) {
    const auto* a6 = reinterpret_cast<const sockaddr_in6*>(&addr);
    uv_ip6_name(a6, ip, sizeof(ip));
    return {ip, absl::StrCat("[", ip, "]:", ntohs(a6->sin6_port))};
  }
  const auto* a4 = reinterpret_cast<const sockaddr_in*>(&addr);
  uv_ip4_name(a4, ip, sizeof(ip));
  return {ip, absl::StrCat(ip, ":", ntohs(a4->sin_port))};
}

}  // namespace

HttpConnection::HttpConnection(HttpServer* server, uint64_t id) : server_(server), id_(id) {
  uv_tcp_init(server->loop_, &tcp_);
  tcp_.data = this;
  last_activity_ms_ = uv_now(server->loop_);
}

HttpConnection::~HttpConnection() = default;

void HttpConnection::Start(uv_stream_t* listener) {
  if (uv_accept(listener, reinterpret_cast<uv_stream_t*>(&tcp_)) != 0) {
    CloseNow();
    return;
  }
  uv_tcp_nodelay(&tcp_, 1);  // signaling is small messages; latency matters more than packing
  auto [ip, address] = PeerAddress(&tcp_);
  remote_address_ = std::move(address);
  if (!server_->Admit(ip)) {
    SB_LOG_INFO("http", "connection from {} refused: too many connections", remote_address_);
    CloseNow();
    return;
  }
  admitted_ip_ = std::move(ip);
  SB_LOG_DEBUG("http", "connection {} from {}", id_, remote_address_);
  const int rc = uv_read_start(reinterpret_cast<uv_stream_t*>(&tcp_), AllocCallback, ReadCallback);
  if (rc != 0) CloseNow();
}

void HttpConnection::AllocCallback(uv_handle_t* handle, size_t, uv_buf_t* buf) {
  auto* self = static_cast<HttpConnection*>(handle->data);
  if (self->server_ == nullptr) {
    *buf = uv_buf_init(nullptr, 0);  // libuv then reports UV_ENOBUFS and we close
    return;
  }
  std::vector<char>& buffer = self->server_->read_buffer_;
  *buf = uv_buf_init(buffer.data(), static_cast<unsigned int>(buffer.size()));
}

void HttpConnection::ReadCallback(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
  auto* self = static_cast<HttpConnection*>(stream->data);
  if (nread > 0) {
    self->OnRead(std::string_view(buf->base, static_cast<size_t>(nread)));
  } else if (nread < 0) {
    if (nread != UV_EOF) {
      SB_LOG_DEBUG("http", "connection {} read error: {}", self->id_,
                   uv_strerror(static_cast<int>(nread)));
    }
    self->CloseNow();
  }
}

void HttpConnection::OnRead(std::string_view data) {
  if (server_ == nullptr) return;
  last_activity_ms_ = uv_now(server_->loop_);
  if (phase_ == Phase::kFlushing || phase_ == Phase::kClosing) return;  // we are done listening
  if (mode_ == Mode::kHttp) {
    HandleHttpBytes(data);
  } else {
    HandleWebSocketBytes(data);
  }
}

// --- HTTP -------------------------------------------------------------------------------------

void HttpConnection::HandleHttpBytes(std::string_view data) {
  RequestParser::State state = parser_.Feed(data);
  while (mode_ == Mode::kHttp && phase_ == Phase::kOpen) {
    if (state == RequestParser::State::kIncomplete) return;
    if (state == RequestParser::State::kError) {
      SB_LOG_DEBUG("http", "connection {}: {} ({})", id_, parser_.error_status(),
                   parser_.error_message());
      if (server_ != nullptr) ++server_->counters_.requests_rejected;
      SendError(parser_.error_status(), parser_.error_message());
      return;
    }
    HandleRequest(parser_.TakeRequest());
    state = parser_.Feed({});
  }
  // Frames the client sent right behind its upgrade request.
  if (mode_ == Mode::kWebSocket && phase_ == Phase::kOpen) {
    const std::string rest = parser_.TakeRemainder();
    if (!rest.empty()) HandleWebSocketBytes(rest);
  }
}

void HttpConnection::HandleRequest(const Request& request) {
  if (server_ == nullptr) return;
  // The path only: a query may carry a token (a call's link, docs/security.md).
  SB_LOG_DEBUG("http", "connection {}: {} {}", id_, request.method, request.path);
  if (auto it = server_->websocket_routes_.find(request.path);
      it != server_->websocket_routes_.end()) {
    // A copy: the handler may register or remove routes.
    const HttpServer::WebSocketRoute route = it->second;
    TryUpgrade(request, route.handler, route.check);
    return;
  }
  std::vector<std::string> extra_headers;
  const Response response = server_->Route(request, &extra_headers);
  extra_headers.insert(extra_headers.end(), response.headers.begin(), response.headers.end());
  const bool keep_alive = request.KeepAlive() && server_ != nullptr && server_->running_;
  SendResponse(&request, response, keep_alive, extra_headers);
  if (!keep_alive) FlushAndClose();
}

bool HttpConnection::TryUpgrade(const Request& request, const HttpServer::WebSocketHandler& handler,
                                const HttpServer::UpgradeCheck& check) {
  // RFC 6455 section 4.2.1: what a valid opening handshake must carry.
  if (request.method != "GET") {
    SendError(405, "WebSocket upgrade needs GET", {"Allow: GET"});
    return false;
  }
  if (!request.HeaderHasToken("Upgrade", "websocket")) {
    SendError(426, "this endpoint speaks WebSocket only", {"Upgrade: websocket"});
    return false;
  }
  if (!request.HeaderHasToken("Connection", "upgrade")) {
    SendError(400, "missing Connection: Upgrade");
    return false;
  }
  if (request.Header("Sec-WebSocket-Version").value_or("") != "13") {
    SendError(426, "unsupported WebSocket version", {"Sec-WebSocket-Version: 13"});
    return false;
  }
  const std::string_view key = request.Header("Sec-WebSocket-Key").value_or("");
  if (!ws::IsValidClientKey(key)) {
    SendError(400, "invalid Sec-WebSocket-Key");
    return false;
  }
  if (check) {
    if (std::optional<Response> refusal = check(request)) {
      SendResponse(&request, *refusal, /*keep_alive=*/false, refusal->headers);
      FlushAndClose();
      return false;
    }
  }
  // No subprotocol and no extensions are offered back, so frames carry no RSV bits.
  Write(absl::StrCat("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n",
                     "Connection: Upgrade\r\nSec-WebSocket-Accept: ", ws::ComputeAcceptKey(key),
                     "\r\n\r\n"));
  if (phase_ != Phase::kOpen) return false;
  mode_ = Mode::kWebSocket;
  static std::atomic<uint64_t> next_websocket_id{1};
  // The constructor is private to this library, hence no make_shared.
  websocket_ = std::shared_ptr<WebSocket>(
      new WebSocket(next_websocket_id.fetch_add(1), remote_address_, request.path));
  websocket_->connection_ = this;
  SB_LOG_DEBUG("http", "connection {}: WebSocket {} on {}", id_, websocket_->id(), request.path);
  handler(websocket_);
  return true;
}

void HttpConnection::SendResponse(const Request* request, const Response& response, bool keep_alive,
                                  const std::vector<std::string>& extra_headers) {
  std::string out = absl::StrCat(
      "HTTP/1.1 ", response.status, " ", std::string(StatusReason(response.status)),
      "\r\nContent-Type: ", response.content_type, "\r\nContent-Length: ", response.body.size(),
      "\r\nCache-Control: no-cache\r\nX-Content-Type-Options: nosniff"
      "\r\nConnection: ",
      keep_alive ? "keep-alive" : "close", "\r\n");
  for (const std::string& header : extra_headers) absl::StrAppend(&out, header, "\r\n");
  out.append("\r\n");
  const bool head = request != nullptr && request->method == "HEAD";
  if (!head) out.append(response.body);
  Write(std::move(out));
}

void HttpConnection::SendError(int status, std::string_view message,
                               const std::vector<std::string>& extra_headers) {
  Response response{status, "text/plain; charset=utf-8",
                    absl::StrCat(status, " ", std::string(StatusReason(status)), ": ",
                                 std::string(message), "\n")};
  SendResponse(nullptr, response, /*keep_alive=*/false, extra_headers);
  FlushAndClose();
}

// --- WebSocket --------------------------------------------------------------------------------

void HttpConnection::HandleWebSocketBytes(std::string_view data) {
  std::vector<ws::Message> messages;
  const std::optional<ws::ProtocolError> error = frames_.Feed(data, &messages);
  // Messages that arrived before a bad frame are still delivered, in order.
  for (ws::Message& message : messages) {
    if (phase_ != Phase::kOpen && phase_ != Phase::kCloseSent) return;
    HandleWebSocketMessage(std::move(message));
  }
  if (error && (phase_ == Phase::kOpen || phase_ == Phase::kCloseSent)) {
    FailWebSocket(error->close_code, error->reason);
  }
}

void HttpConnection::HandleWebSocketMessage(ws::Message message) {
  switch (message.opcode) {
    case ws::Opcode::kText: {
      if (phase_ != Phase::kOpen) return;  // the peer has not seen our close yet
      // Keep the socket alive even if the listener drops its reference.
      const std::shared_ptr<WebSocket> socket = websocket_;
      if (socket && socket->listener_) socket->listener_->OnMessage(message.payload);
      return;
    }
    case ws::Opcode::kBinary:
      FailWebSocket(ws::kCloseUnsupportedData, "binary messages are not supported");
      return;
    case ws::Opcode::kPing:
      if (phase_ == Phase::kOpen) Write(ws::EncodeFrame(ws::Opcode::kPong, message.payload));
      return;
    case ws::Opcode::kPong:
      return;
    case ws::Opcode::kClose: {
      if (websocket_) websocket_->closed_cleanly_ = true;
      if (phase_ == Phase::kOpen) {
        // RFC 6455 section 5.5.1: answer with a close, echoing the status code.
        const std::optional<ws::ClosePayload> payload = ws::ParseClosePayload(message.payload);
        const uint16_t code = payload ? payload->code : ws::kCloseNoStatus;
        Write(code == ws::kCloseNoStatus ? ws::EncodeFrame(ws::Opcode::kClose, {})
                                         : ws::EncodeCloseFrame(code, {}));
      }
      // Section 7.1.1: the server closes the TCP connection first.
      FlushAndClose();
      return;
    }
    case ws::Opcode::kContinuation:
      return;  // never produced by the parser
  }
}

void HttpConnection::FailWebSocket(uint16_t code, std::string_view reason) {
  SB_LOG_INFO("http", "WebSocket {} from {} failed: {} ({})", websocket_ ? websocket_->id() : 0,
              remote_address_, code, reason);
  if (server_ != nullptr) {
    if (code == ws::kCloseMessageTooBig) {
      ++server_->counters_.websocket_messages_too_big;
    } else {
      ++server_->counters_.websocket_protocol_errors;
    }
  }
  if (phase_ == Phase::kOpen) Write(ws::EncodeCloseFrame(code, reason));
  if (websocket_) websocket_->closed_cleanly_ = true;
  FlushAndClose();
}

bool HttpConnection::SendWebSocketText(std::string_view text) {
  if (!IsWebSocketOpen()) return false;
  Write(ws::EncodeFrame(ws::Opcode::kText, text));
  return phase_ == Phase::kOpen;
}

void HttpConnection::CloseWebSocket(uint16_t code, std::string_view reason) {
  if (!IsWebSocketOpen() || server_ == nullptr) return;
  if (!ws::IsValidCloseCode(code)) code = ws::kCloseNormal;
  Write(ws::EncodeCloseFrame(code, reason));
  if (websocket_) websocket_->closed_cleanly_ = true;
  if (phase_ != Phase::kOpen) return;
  phase_ = Phase::kCloseSent;
  close_deadline_ms_ = uv_now(server_->loop_) + HttpServer::kCloseTimeoutMs;
}

// --- Writing and closing ----------------------------------------------------------------------

namespace {

void WriteCallback(uv_write_t* req, int status) {
  // `req` is the first member of a standard-layout WriteRequest.
  std::unique_ptr<WriteRequest> request(reinterpret_cast<WriteRequest*>(req));
  // The connection outlives its writes: libuv cancels them before the close callback runs.
  auto* self = static_cast<HttpConnection*>(req->handle->data);
  self->OnWriteDone(request->data.size(), status);
}

}  // namespace

void HttpConnection::OnWriteDone(size_t bytes, int status) {
  pending_write_bytes_ -= bytes;
  if (status < 0 && status != UV_ECANCELED) {
    SB_LOG_DEBUG("http", "connection {} write error: {}", id_, uv_strerror(status));
    CloseNow();
  }
}

void HttpConnection::Write(std::string data) {
  if (phase_ == Phase::kClosing || data.empty()) return;
  if (pending_write_bytes_ + data.size() > HttpServer::kMaxPendingWriteBytes) {
    SB_LOG_WARN("http", "connection {} from {}: peer not reading, {} bytes queued; dropping it",
                id_, remote_address_, pending_write_bytes_);
    CloseNow();
    return;
  }
  auto request = std::make_unique<WriteRequest>();
  request->data = std::move(data);
  uv_buf_t buf = uv_buf_init(request->data.data(), static_cast<unsigned int>(request->data.size()));
  const int rc =
      uv_write(&request->req, reinterpret_cast<uv_stream_t*>(&tcp_), &buf, 1, WriteCallback);
  if (rc != 0) {
    SB_LOG_DEBUG("http", "connection {} write failed: {}", id_, uv_strerror(rc));
    CloseNow();
    return;
  }
  pending_write_bytes_ += request->data.size();
  request.release();  // owned by libuv until WriteCallback
}

void HttpConnection::FlushAndClose() {
  if (phase_ == Phase::kFlushing || phase_ == Phase::kClosing) return;
  phase_ = Phase::kFlushing;
  if (server_ != nullptr) {
    close_deadline_ms_ = uv_now(server_->loop_) + HttpServer::kCloseTimeoutMs;
  }
  auto req = std::make_unique<uv_shutdown_t>();
  const int rc = uv_shutdown(req.get(), reinterpret_cast<uv_stream_t*>(&tcp_),
                             [](uv_shutdown_t* shutdown, int) {
                               std::unique_ptr<uv_shutdown_t> owned(shutdown);
                               static_cast<HttpConnection*>(shutdown->handle->data)->CloseNow();
                             });
  if (rc != 0) {
    CloseNow();
    return;
  }
  req.release();  // owned by libuv until the callback
}

void HttpConnection::CloseNow() {
  if (phase_ == Phase::kClosing) return;
  phase_ = Phase::kClosing;
  uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), CloseCallback);
}

void HttpConnection::CloseCallback(uv_handle_t* handle) {
  static_cast<HttpConnection*>(handle->data)->OnClosed();
}

void HttpConnection::OnClosed() {
  SB_LOG_DEBUG("http", "connection {} closed", id_);
  if (websocket_) {
    const std::shared_ptr<WebSocket> socket = std::move(websocket_);
    socket->connection_ = nullptr;
    if (WebSocket::Listener* listener = socket->listener_) listener->OnClose();
  }
  if (server_ != nullptr) {
    server_->OnConnectionClosed(id_);  // destroys this; nothing may follow
    return;
  }
  // Orphaned by a destroyed server: the handle was the last owner.
  std::unique_ptr<HttpConnection> self(this);
}

void HttpConnection::CloseForShutdown() {
  if (phase_ == Phase::kClosing) return;
  if (mode_ == Mode::kWebSocket && phase_ == Phase::kOpen && pending_write_bytes_ == 0) {
    // Best effort: the loop may be about to stop, so no queued write.
    std::string frame = ws::EncodeCloseFrame(ws::kCloseGoingAway, "server shutting down");
    uv_buf_t buf = uv_buf_init(frame.data(), static_cast<unsigned int>(frame.size()));
    uv_try_write(reinterpret_cast<uv_stream_t*>(&tcp_), &buf, 1);
  }
  CloseNow();
}

void HttpConnection::CheckTimeouts(uint64_t now_ms) {
  switch (phase_) {
    case Phase::kCloseSent:
    case Phase::kFlushing:
      if (now_ms >= close_deadline_ms_) CloseNow();
      return;
    case Phase::kOpen: {
      const uint64_t idle = now_ms - last_activity_ms_;
      if (mode_ == Mode::kHttp) {
        if (idle >= HttpServer::kIdleTimeoutMs) CloseNow();
        return;
      }
      const HttpServer::Options& options = server_->options();
      if (idle >= options.websocket_timeout_ms) {
        // No pong, no message: the peer is gone. No close frame: to the listener this is a
        // broken connection, not a goodbye.
        ++server_->counters_.websockets_timed_out;
        SB_LOG_INFO("http", "WebSocket {} from {}: nothing heard for {} ms; closing",
                    websocket_ ? websocket_->id() : 0, remote_address_, idle);
        CloseNow();
      } else if (idle >= options.websocket_ping_interval_ms &&
                 now_ms - last_ping_ms_ >= options.websocket_ping_interval_ms) {
        last_ping_ms_ = now_ms;
        Write(ws::EncodeFrame(ws::Opcode::kPing, {}));
      }
      return;
    }
    case Phase::kClosing:
      return;
  }
}

// --- WebSocket forwarding ---------------------------------------------------------------------

bool WebSocket::is_open() const { return connection_ != nullptr && connection_->IsWebSocketOpen(); }

bool WebSocket::Send(std::string_view text) {
  return connection_ != nullptr && connection_->SendWebSocketText(text);
}

void WebSocket::Close(uint16_t code, std::string_view reason) {
  if (connection_ != nullptr) connection_->CloseWebSocket(code, reason);
}

}  // namespace sb::signaling::http
