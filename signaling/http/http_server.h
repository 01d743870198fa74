// The one HTTP port of the switchboard process: static files (the web app), API routes and
// WebSocket endpoints, on a libuv loop. Single-threaded: every method must be called on the
// loop's thread, and every callback runs there.
//
// Lifetime: Stop() closes the listener and every connection (WebSockets get a best-effort 1001
// close frame; their listeners hear OnClose from libuv's close callbacks, a loop turn later). libuv
// frees its handles on a later loop turn; that is safe even if the HttpServer is destroyed first,
// but run the loop until it is idle before uv_loop_close().
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "signaling/http/http_request.h"

namespace sb::signaling::http {

class HttpConnection;
class HttpServer;

struct Response {
  Response() = default;
  Response(int status, std::string content_type, std::string body,
           std::vector<std::string> headers = {})
      : status(status),
        content_type(std::move(content_type)),
        body(std::move(body)),
        headers(std::move(headers)) {}

  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  // Further header lines without CRLF, e.g. "WWW-Authenticate: Bearer realm=\"x\"".
  std::vector<std::string> headers;
};

// One accepted WebSocket connection, text messages only.
//
// Shared ownership, on purpose: the application keeps the socket as long as it needs to address
// the peer, and the server keeps it while the TCP connection lives; neither can know when the
// other is done. When the connection is gone the object stays valid and Send() returns false.
class WebSocket {
 public:
  class Listener {
   public:
    virtual ~Listener() = default;
    // One complete text message (valid UTF-8; fragments already reassembled).
    virtual void OnMessage(std::string_view text) = 0;
    // The connection has ended, for whatever reason (peer close, error, Close() finished,
    // server Stop()). Called exactly once; nothing is called after it.
    virtual void OnClose() = 0;
  };

  WebSocket(const WebSocket&) = delete;
  WebSocket& operator=(const WebSocket&) = delete;

  // Unique for the life of the process, never reused.
  uint64_t id() const { return id_; }
  // "ip:port" of the peer.
  const std::string& remote_address() const { return remote_address_; }
  // The request path the client upgraded on, e.g. "/ws".
  const std::string& path() const { return path_; }
  // False once a close has been sent or received, or the connection is gone.
  bool is_open() const;
  // The connection ended with a close frame (RFC 6455 section 5.5.1), sent by the peer (as a
  // browser does when its page closes) or by us; false when it just broke.
  bool closed_cleanly() const { return closed_cleanly_; }

  // Queues one text message. False (and nothing sent) when the socket is not open. If the
  // peer does not read and more than HttpServer::kMaxPendingWriteBytes pile up, the
  // connection is dropped.
  bool Send(std::string_view text);
  // Starts the close handshake (RFC 6455 section 7.1.2). The listener's OnClose follows
  // once the peer answers or after a short timeout; never from inside this call.
  void Close(uint16_t code = 1000, std::string_view reason = {});
  // Not owned; must outlive the socket or be replaced/cleared (nullptr) before it dies.
  void SetListener(Listener* listener) { listener_ = listener; }

 private:
  friend class HttpConnection;
  friend class HttpServer;
  WebSocket(uint64_t id, std::string remote_address, std::string path)
      : id_(id), remote_address_(std::move(remote_address)), path_(std::move(path)) {}

  const uint64_t id_;
  const std::string remote_address_;
  const std::string path_;
  HttpConnection* connection_ = nullptr;  // cleared when the connection goes away
  Listener* listener_ = nullptr;
  bool closed_cleanly_ = false;
};

class HttpServer {
 public:
  struct Options {
    std::string listen_ip = "0.0.0.0";  // IPv4 or IPv6 literal
    uint16_t port = 8080;               // 0 picks a free port; see port()
    std::string web_root;               // static files; empty serves none
    // Connections beyond these are closed as soon as they are accepted. Per address: an
    // office behind one NAT shares it, so this is far above one person's need.
    size_t max_connections = 4096;
    size_t max_connections_per_ip = 256;
    // A WebSocket that has sent nothing for the ping interval gets a ping frame (browsers
    // and WebSocket libraries answer with a pong by themselves); one that has sent nothing
    // for the timeout is dead (a vanished laptop, a dropped network) and is closed without a
    // close frame, so its listener sees a broken connection (closed_cleanly() is false).
    uint64_t websocket_ping_interval_ms = 15'000;
    uint64_t websocket_timeout_ms = 45'000;
  };
  using Handler = std::function<Response(const Request&)>;
  using WebSocketHandler = std::function<void(std::shared_ptr<WebSocket>)>;
  // Decides on a valid WebSocket opening handshake before it is accepted: nullopt accepts it,
  // a response (e.g. 403 for a foreign Origin, RFC 6455 section 4.2.2) refuses it and closes.
  using UpgradeCheck = std::function<std::optional<Response>(const Request&)>;

  // What the server refused, for metrics.
  struct Counters {
    uint64_t requests_rejected = 0;           // malformed or oversized requests (400, 411, 413...)
    uint64_t websocket_messages_too_big = 0;  // closed with 1009 (over ws::kMaxMessageBytes)
    uint64_t websocket_protocol_errors = 0;   // closed for any other framing error (1002, 1003...)
    uint64_t connections_refused = 0;         // over max_connections or max_connections_per_ip
    uint64_t websockets_timed_out = 0;        // nothing heard for websocket_timeout_ms
  };

  // A peer that stops reading while we keep sending is dropped past this much queued output.
  static constexpr size_t kMaxPendingWriteBytes = 8 * 1024 * 1024;
  // An HTTP keep-alive connection idle (or mid-request) this long is closed.
  static constexpr uint64_t kIdleTimeoutMs = 60'000;
  // After we send a WebSocket close frame, how long the peer has to answer it.
  static constexpr uint64_t kCloseTimeoutMs = 3'000;

  HttpServer(uv_loop_t* loop, Options options);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Routes are matched by exact path, before static files; register before Start().
  // The handler sees every method; for HEAD the body it returns is not sent.
  void Handle(std::string path, Handler handler);
  // A WebSocket endpoint. The handler is called once per accepted connection, right after the
  // 101 response is queued; set the listener there, before returning, to see every message.
  // `check`, when given, sees each valid handshake first and may refuse it.
  void OnWebSocket(std::string path, WebSocketHandler handler, UpgradeCheck check = nullptr);

  // Binds and listens. Fails on a bad address, a port in use or an unusable web_root.
  absl::Status Start();
  // Closes the listener and every connection. Idempotent.
  void Stop();

  // The bound port (useful with Options::port == 0); 0 before Start().
  uint16_t port() const { return bound_port_; }
  size_t connection_count() const { return connections_.size(); }
  const Options& options() const { return options_; }
  const Counters& counters() const { return counters_; }

 private:
  friend class HttpConnection;
  struct ListenHandle;
  struct TimerHandle;

  void OnNewConnection(int status);
  // A connection from `ip` was accepted: false (and counted) when it is one too many.
  bool Admit(const std::string& ip);
  void OnSweepTimer();
  // Called from a connection's close callback: drops it from the live set (destroys it).
  void OnConnectionClosed(uint64_t id);
  // Builds the response for a complete request that is not a WebSocket upgrade.
  Response Route(const Request& request, std::vector<std::string>* extra_headers);
  Response ServeStatic(const Request& request, std::vector<std::string>* extra_headers);

  uv_loop_t* const loop_;
  const Options options_;
  std::string root_real_;  // realpath of web_root, empty when not serving files
  absl::flat_hash_map<std::string, Handler> routes_;
  struct WebSocketRoute {
    WebSocketHandler handler;
    UpgradeCheck check;
  };
  absl::flat_hash_map<std::string, WebSocketRoute> websocket_routes_;

  // libuv handles close asynchronously: these are handed to libuv on Stop() and freed by
  // their close callbacks, so they may outlive the server by a loop turn.
  ListenHandle* listener_ = nullptr;
  TimerHandle* sweep_timer_ = nullptr;
  uint16_t bound_port_ = 0;
  uint64_t next_connection_id_ = 1;
  bool running_ = false;
  // Live connections. One whose close is pending stays here until its close callback; if the
  // server dies first, the connection is handed to libuv and frees itself in that callback.
  absl::flat_hash_map<uint64_t, std::unique_ptr<HttpConnection>> connections_;
  absl::flat_hash_map<std::string, size_t> connections_per_ip_;  // admitted ones only
  // Reads are handled synchronously, so every connection can share one read buffer.
  std::vector<char> read_buffer_;
  Counters counters_;
};

}  // namespace sb::signaling::http
