// The one HTTP port of the switchboard process: static files (the web app), API routes and
// WebSocket endpoints, over plain TCP or TLS. HTTP/1.1, WebSocket framing and TLS are
// libwebsockets' (Debian's 4.1), running on the caller's libuv loop as a foreign loop; routing,
// static files, limits and the WebSocket object model are ours (docs/architecture.md).
// Single-threaded: every method must be called on the loop's thread, and every callback runs
// there; not from inside a route handler or a listener callback for Stop() and the destructor.
//
// Lifetime: Stop() closes the listener and every connection (WebSockets get a best-effort 1001
// close frame; their listeners hear OnClose a loop turn later, never from inside Stop()).
// libwebsockets closes its libuv handles on later loop turns and is freed after them, even if
// the HttpServer is destroyed first; run the loop until it is idle before uv_loop_close().
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

// libwebsockets' handles, at global scope as its header declares them.
struct lws;
struct lws_context;
struct lws_vhost;

namespace sb::signaling::http {

class HttpServer;
namespace internal {
struct Connection;
struct ServerCore;
}  // namespace internal

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
  friend class HttpServer;
  friend struct internal::ServerCore;
  WebSocket(uint64_t id, std::string remote_address, std::string path)
      : id_(id), remote_address_(std::move(remote_address)), path_(std::move(path)) {}

  const uint64_t id_;
  const std::string remote_address_;
  const std::string path_;
  HttpServer* server_ = nullptr;  // both cleared when the connection goes away
  internal::Connection* connection_ = nullptr;
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
    // TLS: HTTPS and WSS on the same port when a certificate and its key are given, as PEM
    // files (a chain is fine) or as PEM text (one certificate, e.g. a generated one: text wins).
    // None: plain HTTP and WS.
    std::string tls_cert_file;
    std::string tls_key_file;
    std::string tls_cert_pem;
    std::string tls_key_pem;

    bool tls() const {
      return (!tls_cert_pem.empty() && !tls_key_pem.empty()) ||
             (!tls_cert_file.empty() && !tls_key_file.empty());
    }
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
  // An HTTP keep-alive connection idle (or mid-request) this long is closed (libwebsockets'
  // keepalive_timeout, in whole seconds).
  static constexpr uint64_t kIdleTimeoutMs = 60'000;
  // After we ask for a WebSocket close, how long the peer has to answer it.
  static constexpr uint64_t kCloseTimeoutMs = 3'000;
  // After a WebSocket fails (a protocol error, a message too big), how long its close frame has
  // to leave before the connection is cut (RFC 6455 section 7.1.7: no answer is awaited).
  static constexpr uint64_t kFailLingerMs = 1'000;

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
  friend class WebSocket;
  friend struct internal::ServerCore;
  using Connection = internal::Connection;

  // The libwebsockets protocol callback, per event; see http_server.cc.
  int OnLwsEvent(struct lws* wsi, int reason, void* in, size_t len);
  // HTTP (http_server.cc).
  bool Admit(int fd);
  void OnConnectionCreated(struct lws* wsi);
  void OnConnectionDestroyed(struct lws* wsi);
  int OnHttpRequest(Connection* connection, struct lws* wsi);
  int OnUpgradeRequest(Connection* connection, struct lws* wsi, std::string_view protocol);
  int Respond(Connection* connection, struct lws* wsi, const Request* request,
              const Response& response, bool keep_alive);
  int RespondToRequest(Connection* connection, struct lws* wsi, const Request& request);
  int Reject(Connection* connection, struct lws* wsi, int status, std::string_view message,
             std::vector<std::string> headers = {});
  Response Route(const Request& request, std::vector<std::string>* extra_headers);
  Response ServeStatic(const Request& request, std::vector<std::string>* extra_headers);
  // WebSocket (websocket.cc).
  int OnWebSocketEstablished(Connection* connection, struct lws* wsi);
  int OnWebSocketReceive(Connection* connection, struct lws* wsi, const char* data, size_t len);
  int OnWebSocketWritable(Connection* connection, struct lws* wsi);
  void OnWebSocketDropped(Connection* connection, struct lws* wsi);
  void OnWebSocketClosed(Connection* connection);
  bool SendText(Connection* connection, std::string_view text);
  void CloseWebSocket(Connection* connection, uint16_t code, std::string_view reason);
  // Closes the connection soon, from libwebsockets' own timer: no close frame, and never
  // from inside the caller.
  void Kill(Connection* connection);
  void OnSweepTimer();
  void ArmSweep(uint64_t deadline_ms);

  uv_loop_t* const loop_;
  const Options options_;
  std::string root_real_;  // realpath of web_root, empty when not serving files
  absl::flat_hash_map<std::string, Handler> routes_;
  struct WebSocketRoute {
    WebSocketHandler handler;
    UpgradeCheck check;
  };
  absl::flat_hash_map<std::string, WebSocketRoute> websocket_routes_;

  // What must outlive this object by some loop turns (the libwebsockets context, our timer,
  // OnClose notifications still due): handed to libuv on destruction, frees itself.
  internal::ServerCore* core_;
  struct lws_context* context_ = nullptr;
  struct lws_vhost* vhost_ = nullptr;
  uint16_t bound_port_ = 0;
  uint64_t next_connection_id_ = 1;
  bool running_ = false;
  // Live connections by their libwebsockets handle, from accept until libwebsockets frees it.
  absl::flat_hash_map<struct lws*, std::unique_ptr<Connection>> connections_;
  absl::flat_hash_map<std::string, size_t> connections_per_ip_;
  uint64_t sweep_due_ms_ = 0;  // when the sweep timer fires next
  Counters counters_;
};

}  // namespace sb::signaling::http
