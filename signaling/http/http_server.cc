// HttpServer on libwebsockets: the context on the caller's libuv loop, accepting under our
// limits, HTTP requests into routes and static files. WebSockets are in websocket.cc.
#include "signaling/http/http_server.h"

#include <arpa/inet.h>
#include <libwebsockets.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/log.h"
#include "signaling/http/lws_loop.h"
#include "signaling/http/server_connection.h"
#include "signaling/http/text.h"
#include "signaling/http/websocket_frame.h"

namespace sb::signaling::http {

using internal::Connection;
using internal::ServerCore;

namespace {

// How often WebSocket pings and timeouts are checked, at most (more often when the ping
// interval is short, as in tests).
constexpr uint64_t kMaxSweepIntervalMs = 1000;
// libwebsockets' per-connection read size and WebSocket receive buffer: a message larger than
// this reaches us in pieces of it. Also the most it sends in one go before buffering the rest.
constexpr size_t kIoBufferBytes = 64 * 1024;
// Header tables for connections still in their request head, at kMaxHeaderBytes each;
// connections beyond wait for one (libwebsockets' ah pool).
constexpr int kHeaderTablePool = 128;
// Larger static files are refused: the web app is a handful of small files.
constexpr uintmax_t kMaxStaticFileBytes = 64 * 1024 * 1024;

Response TextResponse(int status, std::string_view message) {
  return Response{status, "text/plain; charset=utf-8",
                  absl::StrCat(status, " ", std::string(StatusReason(status)), ": ",
                               std::string(message), "\n")};
}

std::string_view ContentTypeFor(std::string_view path) {
  const size_t dot = path.rfind('.');
  const size_t slash = path.rfind('/');
  if (dot == std::string_view::npos || (slash != std::string_view::npos && dot < slash)) {
    return "application/octet-stream";
  }
  const std::string ext = absl::AsciiStrToLower(std::string(path.substr(dot + 1)));
  if (ext == "html" || ext == "htm") return "text/html; charset=utf-8";
  if (ext == "js" || ext == "mjs") return "text/javascript; charset=utf-8";
  if (ext == "css") return "text/css; charset=utf-8";
  if (ext == "svg") return "image/svg+xml";
  if (ext == "png") return "image/png";
  if (ext == "json" || ext == "map") return "application/json";
  if (ext == "ico") return "image/x-icon";
  if (ext == "txt") return "text/plain; charset=utf-8";
  if (ext == "webmanifest") return "application/manifest+json";
  return "application/octet-stream";
}

std::optional<std::string> RealPath(const std::string& path) {
  char resolved[PATH_MAX];
  if (realpath(path.c_str(), resolved) == nullptr) return std::nullopt;
  return std::string(resolved);
}

bool IsInside(const std::string& root, const std::string& path) {
  return path == root || (absl::StartsWith(path, root) && path.size() > root.size() &&
                          (root.back() == '/' || path[root.size()] == '/'));
}

// The peer's IP and "ip:port" ("[ip]:port" for IPv6).
std::pair<std::string, std::string> PeerAddress(int fd) {
  sockaddr_storage addr{};
  socklen_t len = sizeof(addr);
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return {"?", "?"};
  char ip[INET6_ADDRSTRLEN] = {};
  if (addr.ss_family == AF_INET6) {
    const auto* a6 = reinterpret_cast<const sockaddr_in6*>(&addr);
    inet_ntop(AF_INET6, &a6->sin6_addr, ip, sizeof(ip));
    return {ip, absl::StrCat("[", ip, "]:", ntohs(a6->sin6_port))};
  }
  const auto* a4 = reinterpret_cast<const sockaddr_in*>(&addr);
  inet_ntop(AF_INET, &a4->sin_addr, ip, sizeof(ip));
  return {ip, absl::StrCat(ip, ":", ntohs(a4->sin_port))};
}

// One libwebsockets header, or nullopt when the request did not carry it.
std::optional<std::string> CopyHeader(struct lws* wsi, lws_token_indexes token) {
  const int length = lws_hdr_total_length(wsi, token);
  if (length <= 0) return std::nullopt;
  // Repeated fields come back joined by commas, which lws_hdr_total_length() does not count.
  std::string value(static_cast<size_t>(length) * 2 + 16, '\0');
  const int copied = lws_hdr_copy(wsi, value.data(), static_cast<int>(value.size()), token);
  if (copied < 0) return std::nullopt;
  value.resize(static_cast<size_t>(copied));
  return value;
}

// The method tokens of libwebsockets' header table and the method each stands for.
constexpr std::pair<lws_token_indexes, const char*> kMethods[] = {
    {WSI_TOKEN_GET_URI, "GET"},         {WSI_TOKEN_POST_URI, "POST"},
    {WSI_TOKEN_OPTIONS_URI, "OPTIONS"}, {WSI_TOKEN_PUT_URI, "PUT"},
    {WSI_TOKEN_PATCH_URI, "PATCH"},     {WSI_TOKEN_DELETE_URI, "DELETE"},
    {WSI_TOKEN_HEAD_URI, "HEAD"},       {WSI_TOKEN_CONNECT, "CONNECT"},
};

// What libwebsockets parsed of the current request head, for BuildRequest().
RawRequest ReadRawRequest(struct lws* wsi) {
  RawRequest raw;
  for (const auto& [token, method] : kMethods) {
    if (std::optional<std::string> uri = CopyHeader(wsi, token)) {
      raw.method = method;
      raw.uri = *std::move(uri);
      break;
    }
  }
  // Arguments are stored one fragment each; lws_hdr_copy() would join them with commas.
  char arg[4096];
  for (int i = 0; lws_hdr_copy_fragment(wsi, arg, sizeof(arg), WSI_TOKEN_HTTP_URI_ARGS, i) >= 0;
       ++i) {
    if (!raw.args.empty()) raw.args += '&';
    raw.args += arg;
  }
  raw.version = CopyHeader(wsi, WSI_TOKEN_HTTP).value_or("");
  // Every other token whose name is a header field ("host:"); the method, version, argument
  // and HTTP/2 pseudo-header tokens are not.
  for (int i = 0; i < WSI_TOKEN_COUNT; ++i) {
    const auto token = static_cast<lws_token_indexes>(i);
    if (token == WSI_TOKEN_HTTP || token == WSI_TOKEN_HTTP_URI_ARGS) continue;
    const char* name = reinterpret_cast<const char*>(lws_token_to_string(token));
    if (name == nullptr) continue;
    const std::string_view name_view(name);
    if (name_view.size() < 2 || name_view.front() == ':' || name_view.back() != ':') continue;
    if (std::optional<std::string> value = CopyHeader(wsi, token)) {
      raw.headers.emplace_back(std::string(name_view.substr(0, name_view.size() - 1)),
                               *std::move(value));
    }
  }
  return raw;
}

int LwsCallback(struct lws* wsi, enum lws_callback_reasons reason, void* user, void* in,
                size_t len);

const struct lws_protocols kProtocols[] = {
    // The one protocol: HTTP and WebSockets that ask for no subprotocol (the vhost default).
    {"switchboard", LwsCallback, sizeof(void*), kIoBufferBytes, 0, nullptr, 0},
    {nullptr, nullptr, 0, 0, 0, nullptr, 0},
};

int LwsCallback(struct lws* wsi, enum lws_callback_reasons reason, void* /*user*/, void* in,
                size_t len) {
  struct lws_context* context = lws_get_context(wsi);
  auto* core = context != nullptr ? static_cast<ServerCore*>(lws_context_user(context)) : nullptr;
  return core != nullptr ? core->Dispatch(wsi, static_cast<int>(reason), in, len) : 0;
}

}  // namespace

// --- ServerCore --------------------------------------------------------------------------------

namespace internal {

int ServerCore::Dispatch(struct lws* wsi, int reason, void* in, size_t len) {
  return server != nullptr ? server->OnLwsEvent(wsi, reason, in, len) : 0;
}

void ServerCore::StartSweep(uint64_t delay_ms, uint64_t repeat_ms) {
  uv_timer_start(
      &sweep,
      [](uv_timer_t* t) {
        if (HttpServer* server = static_cast<ServerCore*>(t->data)->server) server->OnSweepTimer();
      },
      delay_ms, repeat_ms);
}

void ServerCore::ScheduleTick(uint64_t delay_ms) {
  if (open_handles == 0 || uv_is_closing(reinterpret_cast<uv_handle_t*>(&tick))) return;
  uv_timer_start(
      &tick, [](uv_timer_t* t) { static_cast<ServerCore*>(t->data)->OnTick(); }, delay_ms, 0);
}

void ServerCore::OnTick() {
  std::vector<std::shared_ptr<WebSocket>> due = std::move(closed);
  closed.clear();
  for (const std::shared_ptr<WebSocket>& socket : due) {
    if (WebSocket::Listener* listener = socket->listener_) listener->OnClose();
  }
  if (!closed.empty()) {
    ScheduleTick(0);
    return;
  }
  CloseHandlesIfDone();
}

void ServerCore::CloseHandlesIfDone() {
  if (finishing || !closed.empty() || open_handles == 0) return;
  if (server != nullptr && server->running_) return;
  auto on_closed = [](uv_handle_t* handle) {
    auto* self = static_cast<ServerCore*>(handle->data);
    if (--self->open_handles == 0 && self->server == nullptr) delete self;
  };
  for (uv_timer_t* timer : {&sweep, &tick}) {
    auto* handle = reinterpret_cast<uv_handle_t*>(timer);
    if (!uv_is_closing(handle)) uv_close(handle, on_closed);
  }
}

}  // namespace internal

// --- HttpServer lifecycle ----------------------------------------------------------------------

HttpServer::HttpServer(uv_loop_t* loop, Options options)
    : loop_(loop), options_(std::move(options)), core_(new ServerCore) {
  core_->server = this;
  core_->loop = loop_;
}

HttpServer::~HttpServer() {
  Stop();
  for (auto& [wsi, connection] : connections_) {
    if (connection->websocket) {
      connection->websocket->connection_ = nullptr;
      connection->websocket->server_ = nullptr;
    }
  }
  connections_.clear();
  core_->server = nullptr;
  if (core_->open_handles == 0) {
    delete core_;
  } else {
    core_->CloseHandlesIfDone();  // or later, from its tick; it frees itself after
  }
}

void HttpServer::Handle(std::string path, Handler handler) {
  routes_[std::move(path)] = std::move(handler);
}

void HttpServer::OnWebSocket(std::string path, WebSocketHandler handler, UpgradeCheck check) {
  websocket_routes_[std::move(path)] = {std::move(handler), std::move(check)};
}

absl::Status HttpServer::Start() {
  if (running_ || context_ != nullptr || core_->open_handles > 0) {
    return absl::FailedPreconditionError("HTTP server already started");
  }
  if (!options_.web_root.empty()) {
    std::optional<std::string> root = RealPath(options_.web_root);
    struct stat st {};
    if (!root || stat(root->c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      return absl::InvalidArgumentError(
          absl::StrCat("web root is not a directory: ", options_.web_root));
    }
    root_real_ = *root;
  }
  // libwebsockets would take anything else for an interface name.
  const bool v6 = options_.listen_ip.find(':') != std::string::npos;
  sockaddr_storage addr{};
  if ((v6 ? uv_ip6_addr(options_.listen_ip.c_str(), 0, reinterpret_cast<sockaddr_in6*>(&addr))
          : uv_ip4_addr(options_.listen_ip.c_str(), 0, reinterpret_cast<sockaddr_in*>(&addr))) !=
      0) {
    return absl::InvalidArgumentError(absl::StrCat("bad listen address: ", options_.listen_ip));
  }
  if (!options_.tls() && (!options_.tls_cert_file.empty() || !options_.tls_key_file.empty() ||
                          !options_.tls_cert_pem.empty() || !options_.tls_key_pem.empty())) {
    return absl::InvalidArgumentError("TLS needs both a certificate and its private key");
  }

  SetLwsErrorsAreOurs(true);
  lws_context_creation_info info{};
  info.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS | LWS_SERVER_OPTION_VALIDATE_UTF8 |
                 (options_.tls() ? LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT : 0);
  info.user = core_;
  info.port = CONTEXT_PORT_NO_LISTEN;
  info.pt_serv_buf_size = kIoBufferBytes;
  info.max_http_header_data = static_cast<unsigned short>(kMaxHeaderBytes);
  info.max_http_header_pool = kHeaderTablePool;
  info.timeout_secs = 10;  // a request head or body that stalls this long is dropped
  info.keepalive_timeout = static_cast<int>(kIdleTimeoutMs / 1000);
  context_ = CreateLwsContextOnLoop(loop_, &info);
  if (context_ == nullptr) {
    SetLwsErrorsAreOurs(false);
    return absl::InternalError("libwebsockets: cannot create its context");
  }
  // From here the libuv handles exist: timers for us, idle and timer handles for the context.
  for (uv_timer_t* timer : {&core_->sweep, &core_->tick}) {
    uv_timer_init(loop_, timer);
    timer->data = core_;
    ++core_->open_handles;
  }
  running_ = true;

  lws_context_creation_info vinfo{};
  vinfo.vhost_name = "switchboard";
  vinfo.protocols = kProtocols;
  vinfo.port = options_.port;
  // "0.0.0.0" and "::" are every interface; another address is bound as given.
  const bool any = options_.listen_ip == "0.0.0.0" || options_.listen_ip == "::";
  vinfo.iface = any ? nullptr : options_.listen_ip.c_str();
  vinfo.options = (v6 ? 0 : LWS_SERVER_OPTION_DISABLE_IPV6) |
                  LWS_SERVER_OPTION_FAIL_UPON_UNABLE_TO_BIND | LWS_SERVER_OPTION_VALIDATE_UTF8 |
                  // libwebsockets reads TLS from the vhost's options too; without it, plain.
                  (options_.tls() ? LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT : 0) |
                  // A TLS vhost also gets a client context loaded with the system's CA store
                  // (about 700 KB), which a server never uses; with a second libwebsockets
                  // context in the process (the load generator's client) 4.1.6 did not free it
                  // (found by LeakSanitizer). Not loaded at all.
                  LWS_SERVER_OPTION_DISABLE_OS_CA_CERTS;
  vinfo.keepalive_timeout = info.keepalive_timeout;
  vinfo.timeout_secs = info.timeout_secs;
  if (options_.tls()) {
    // HTTP/1.1 only: a browser offered h2 would carry the WebSocket over it (RFC 8441), which
    // is not what this server speaks.
    vinfo.alpn = "http/1.1";
    if (!options_.tls_cert_pem.empty()) {
      vinfo.server_ssl_cert_mem = options_.tls_cert_pem.data();
      vinfo.server_ssl_cert_mem_len = static_cast<unsigned int>(options_.tls_cert_pem.size());
      vinfo.server_ssl_private_key_mem = options_.tls_key_pem.data();
      vinfo.server_ssl_private_key_mem_len = static_cast<unsigned int>(options_.tls_key_pem.size());
    } else {
      vinfo.ssl_cert_filepath = options_.tls_cert_file.c_str();
      vinfo.ssl_private_key_filepath = options_.tls_key_file.c_str();
    }
  }
  vhost_ = lws_create_vhost(context_, &vinfo);
  SetLwsErrorsAreOurs(false);
  if (vhost_ == nullptr) {
    Stop();
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", options_.listen_ip, ":", options_.port,
                     options_.tls() ? " (or load the TLS certificate and key)" : "",
                     "; libwebsockets' log says why"));
  }
  bound_port_ = static_cast<uint16_t>(lws_get_vhost_listen_port(vhost_));

  const uint64_t sweep_ms = std::max<uint64_t>(
      10, std::min(kMaxSweepIntervalMs, options_.websocket_ping_interval_ms / 2));
  core_->StartSweep(sweep_ms, sweep_ms);
  sweep_due_ms_ = uv_now(loop_) + sweep_ms;

  SB_LOG_INFO("http", "listening on {}:{} ({}){}", options_.listen_ip, bound_port_,
              options_.tls() ? "HTTPS and WSS" : "HTTP and WS",
              root_real_.empty() ? "" : absl::StrCat(", serving ", root_real_));
  return absl::OkStatus();
}

void HttpServer::Stop() {
  if (context_ == nullptr) return;
  if (running_) SB_LOG_INFO("http", "stopping; closing {} connections", connections_.size());
  running_ = false;
  uv_timer_stop(&core_->sweep);
  // Best effort, as the loop may be about to stop: a 1001 close frame to every open WebSocket
  // whose socket takes it now, then everything closes without waiting for answers.
  for (auto& [wsi, connection] : connections_) {
    if (connection->ws_state != Connection::WsState::kOpen &&
        connection->ws_state != Connection::WsState::kClosing) {
      continue;
    }
    if (lws_send_pipe_choked(wsi)) continue;
    // The frame as bytes (LWS_WRITE_HTTP writes raw on a WebSocket too): libwebsockets'
    // own close path would wait for a writable turn that will not come.
    std::string frame = ws::EncodeCloseFrame(ws::kCloseGoingAway, "server shutting down");
    lws_write(wsi, reinterpret_cast<unsigned char*>(frame.data()), frame.size(), LWS_WRITE_HTTP);
  }
  // Closes every connection now (WebSockets hear LWS_CALLBACK_CLOSED, their OnClose is
  // queued) and the listener; the libuv handles close on later loop turns, and the tick
  // finishes the context after them.
  struct lws_context* context = context_;
  context_ = nullptr;
  vhost_ = nullptr;
  core_->finishing = true;
  DestroyLwsContextOnLoop(loop_, context, [core = core_] {
    core->finishing = false;
    core->ScheduleTick(0);
  });
}

// --- Accepting ---------------------------------------------------------------------------------

bool HttpServer::Admit(int fd) {
  auto [ip, address] = PeerAddress(fd);
  const auto it = connections_per_ip_.find(ip);
  const size_t from_ip = it == connections_per_ip_.end() ? 0 : it->second;
  if (!running_ || connections_.size() >= options_.max_connections ||
      from_ip >= options_.max_connections_per_ip) {
    ++counters_.connections_refused;
    SB_LOG_INFO("http", "connection from {} refused: too many connections", address);
    return false;
  }
  return true;
}

void HttpServer::OnConnectionCreated(struct lws* wsi) {
  auto connection = std::make_unique<Connection>();
  connection->id = next_connection_id_++;
  connection->wsi = wsi;
  auto [ip, address] = PeerAddress(lws_get_socket_fd(wsi));
  connection->ip = std::move(ip);
  connection->remote_address = std::move(address);
  ++connections_per_ip_[connection->ip];
  SB_LOG_DEBUG("http", "connection {} from {}", connection->id, connection->remote_address);
  lws_set_opaque_user_data(wsi, connection.get());
  connections_.emplace(wsi, std::move(connection));
}

void HttpServer::OnConnectionDestroyed(struct lws* wsi) {
  auto it = connections_.find(wsi);
  if (it == connections_.end()) return;
  Connection* connection = it->second.get();
  SB_LOG_DEBUG("http", "connection {} closed", connection->id);
  if (connection->websocket) OnWebSocketClosed(connection);  // in case CLOSED never came
  if (auto count = connections_per_ip_.find(connection->ip);
      count != connections_per_ip_.end() && --count->second == 0) {
    connections_per_ip_.erase(count);
  }
  lws_set_opaque_user_data(wsi, nullptr);
  connections_.erase(it);
}

// --- The libwebsockets callback ----------------------------------------------------------------

int HttpServer::OnLwsEvent(struct lws* wsi, int reason_int, void* in, size_t len) {
  const auto reason = static_cast<lws_callback_reasons>(reason_int);
  if (reason == LWS_CALLBACK_FILTER_NETWORK_CONNECTION) {
    // `in` is the accepted socket: refused here, it never gets a libwebsockets handle.
    return Admit(static_cast<int>(reinterpret_cast<intptr_t>(in))) ? 0 : 1;
  }
  if (reason == LWS_CALLBACK_SERVER_NEW_CLIENT_INSTANTIATED) {
    OnConnectionCreated(wsi);
    return 0;
  }
  auto* connection = static_cast<Connection*>(lws_get_opaque_user_data(wsi));
  if (connection == nullptr) return 0;  // the listener, libwebsockets' event pipe
  switch (reason) {
    case LWS_CALLBACK_WSI_DESTROY:
      OnConnectionDestroyed(wsi);
      return 0;
    case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
      return OnUpgradeRequest(connection, wsi, in != nullptr ? static_cast<const char*>(in) : "");
    case LWS_CALLBACK_HTTP:
      return OnHttpRequest(connection, wsi);
    case LWS_CALLBACK_HTTP_BODY:
      if (connection->request) connection->body.append(static_cast<const char*>(in), len);
      return 0;
    case LWS_CALLBACK_HTTP_BODY_COMPLETION: {
      if (!connection->request) return -1;
      Request request = *std::move(connection->request);
      connection->request.reset();
      request.body = std::move(connection->body);
      connection->body.clear();
      return RespondToRequest(connection, wsi, request);
    }
    case LWS_CALLBACK_ESTABLISHED:
      return OnWebSocketEstablished(connection, wsi);
    case LWS_CALLBACK_RECEIVE:
      return OnWebSocketReceive(connection, wsi, static_cast<const char*>(in), len);
    case LWS_CALLBACK_RECEIVE_PONG:
      connection->last_heard_ms = uv_now(loop_);
      return 0;
    case LWS_CALLBACK_SERVER_WRITEABLE:
      return OnWebSocketWritable(connection, wsi);
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
      connection->peer_sent_close = true;
      if (connection->websocket) connection->websocket->closed_cleanly_ = true;
      // RFC 6455 section 5.5.1: libwebsockets answers it with a close of its own, unless ours
      // is out already (then this is the answer, and the connection just ends).
      return connection->ws_state == Connection::WsState::kCloseSent ? -1 : 0;
    case LWS_CALLBACK_WS_SERVER_DROP_PROTOCOL:
      OnWebSocketDropped(connection, wsi);
      return 0;
    case LWS_CALLBACK_CLOSED:
      OnWebSocketClosed(connection);
      return 0;
    default:
      return 0;
  }
}

// --- HTTP --------------------------------------------------------------------------------------

int HttpServer::OnHttpRequest(Connection* connection, struct lws* wsi) {
  RequestError error;
  std::optional<Request> request = BuildRequest(ReadRawRequest(wsi), &error);
  if (!request) {
    SB_LOG_DEBUG("http", "connection {}: {} ({})", connection->id, error.status, error.message);
    ++counters_.requests_rejected;
    return Reject(connection, wsi, error.status, error.message);
  }
  // The path only: a query may carry a token (a call's link, docs/security.md).
  SB_LOG_DEBUG("http", "connection {}: {} {}", connection->id, request->method, request->path);
  if (websocket_routes_.contains(request->path)) {
    return Reject(connection, wsi, 426, "this endpoint speaks WebSocket only",
                  {"Upgrade: websocket"});
  }
  const bool has_body = DeclaredBodyLength(*request) > 0;
  if (has_body) {
    connection->body.clear();
    connection->body.reserve(DeclaredBodyLength(*request));
    connection->request = std::move(request);
    return 0;  // LWS_CALLBACK_HTTP_BODY..., then LWS_CALLBACK_HTTP_BODY_COMPLETION
  }
  // libwebsockets waits for a body on these methods when no Content-Length says there is none:
  // answer, then close.
  const bool body_method =
      request->method == "POST" || request->method == "PUT" || request->method == "PATCH";
  if (body_method && !request->Header("Content-Length")) {
    std::vector<std::string> extra_headers;
    Response response = Route(*request, &extra_headers);
    extra_headers.insert(extra_headers.end(), response.headers.begin(), response.headers.end());
    response.headers = std::move(extra_headers);
    return Respond(connection, wsi, &*request, response, /*keep_alive=*/false);
  }
  return RespondToRequest(connection, wsi, *request);
}

int HttpServer::RespondToRequest(Connection* /*connection*/, struct lws* wsi,
                                 const Request& request) {
  std::vector<std::string> extra_headers;
  Response response = Route(request, &extra_headers);
  extra_headers.insert(extra_headers.end(), response.headers.begin(), response.headers.end());
  response.headers = std::move(extra_headers);
  return Respond(nullptr, wsi, &request, response, request.KeepAlive() && running_);
}

int HttpServer::Respond(Connection* /*connection*/, struct lws* wsi, const Request* request,
                        const Response& response, bool keep_alive) {
  std::string out = absl::StrCat(
      "HTTP/1.1 ", response.status, " ", std::string(StatusReason(response.status)),
      "\r\nContent-Type: ", response.content_type, "\r\nContent-Length: ", response.body.size(),
      "\r\nCache-Control: no-cache\r\nX-Content-Type-Options: nosniff"
      "\r\nConnection: ",
      keep_alive ? "keep-alive" : "close", "\r\n");
  for (const std::string& header : response.headers) absl::StrAppend(&out, header, "\r\n");
  out.append("\r\n");
  const bool head = request != nullptr && request->method == "HEAD";
  if (!head) out.append(response.body);
  // Whole: libwebsockets sends what the socket takes and keeps the rest, and finishes the
  // transaction (or the close) once that is out.
  if (lws_write(wsi, reinterpret_cast<unsigned char*>(out.data()), out.size(),
                LWS_WRITE_HTTP_HEADERS) < 0) {
    return -1;
  }
  if (!keep_alive) return -1;  // libwebsockets flushes, then closes
  return lws_http_transaction_completed(wsi) ? -1 : 0;
}

int HttpServer::Reject(Connection* connection, struct lws* wsi, int status,
                       std::string_view message, std::vector<std::string> headers) {
  Response response = TextResponse(status, message);
  response.headers = std::move(headers);
  return Respond(connection, wsi, nullptr, response, /*keep_alive=*/false);
}

int HttpServer::OnUpgradeRequest(Connection* connection, struct lws* wsi,
                                 std::string_view protocol) {
  RequestError error;
  std::optional<Request> request = BuildRequest(ReadRawRequest(wsi), &error);
  if (!request) {
    SB_LOG_DEBUG("http", "connection {}: {} ({})", connection->id, error.status, error.message);
    ++counters_.requests_rejected;
    return Reject(connection, wsi, error.status, error.message);
  }
  auto route = websocket_routes_.find(request->path);
  if (route == websocket_routes_.end() || !text::EqualsIgnoreCase(protocol, "websocket")) {
    // Not an upgrade we offer: answered as the plain request it also is, then closed
    // (libwebsockets ends a connection that asked for an upgrade after one response).
    std::vector<std::string> extra_headers;
    Response response = Route(*request, &extra_headers);
    extra_headers.insert(extra_headers.end(), response.headers.begin(), response.headers.end());
    response.headers = std::move(extra_headers);
    return Respond(connection, wsi, &*request, response, /*keep_alive=*/false);
  }
  // RFC 6455 section 4.2.1: what a valid opening handshake must carry. libwebsockets would
  // take any version as 13.
  if (request->method != "GET") {
    return Reject(connection, wsi, 405, "WebSocket upgrade needs GET", {"Allow: GET"});
  }
  if (!request->HeaderHasToken("Connection", "upgrade")) {
    return Reject(connection, wsi, 400, "missing Connection: Upgrade");
  }
  if (request->Header("Sec-WebSocket-Version").value_or("") != "13") {
    return Reject(connection, wsi, 426, "unsupported WebSocket version",
                  {"Sec-WebSocket-Version: 13"});
  }
  if (!ws::IsValidClientKey(request->Header("Sec-WebSocket-Key").value_or(""))) {
    return Reject(connection, wsi, 400, "invalid Sec-WebSocket-Key");
  }
  if (route->second.check) {
    const UpgradeCheck check = route->second.check;  // a copy: it may change the routes
    if (std::optional<Response> refusal = check(*request)) {
      return Respond(connection, wsi, &*request, *refusal, /*keep_alive=*/false);
    }
  }
  connection->upgrade = std::move(request);
  return 0;  // libwebsockets answers 101 and calls LWS_CALLBACK_ESTABLISHED
}

Response HttpServer::Route(const Request& request, std::vector<std::string>* extra_headers) {
  if (auto it = routes_.find(request.path); it != routes_.end()) {
    const Handler handler = it->second;  // a copy: the handler may change the routes
    return handler(request);
  }
  if (root_real_.empty()) return TextResponse(404, "no such resource");
  return ServeStatic(request, extra_headers);
}

Response HttpServer::ServeStatic(const Request& request, std::vector<std::string>* extra_headers) {
  if (request.method != "GET" && request.method != "HEAD") {
    extra_headers->push_back("Allow: GET, HEAD");
    return TextResponse(405, "static files are read-only");
  }
  // Refuse anything that could climb out of the root before touching the file system (though
  // libwebsockets has folded "/../" already); the realpath check below also catches symlinks
  // that point outside.
  const std::string_view path = request.path;
  if (path.empty() || path[0] != '/' || path.find('\\') != std::string_view::npos) {
    return TextResponse(404, "not found");
  }
  for (std::string_view segment : text::Split(path.substr(1), "/")) {
    if (segment == "..") return TextResponse(404, "not found");
  }
  std::string relative(path);
  if (relative.back() == '/') relative += "index.html";

  std::optional<std::string> resolved = RealPath(root_real_ + relative);
  struct stat st {};
  if (resolved && stat(resolved->c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    resolved = RealPath(*resolved + "/index.html");
  }
  if (!resolved || !IsInside(root_real_, *resolved) || stat(resolved->c_str(), &st) != 0 ||
      !S_ISREG(st.st_mode)) {
    return TextResponse(404, "not found");
  }
  if (static_cast<uintmax_t>(st.st_size) > kMaxStaticFileBytes) {
    return TextResponse(500, "file too large to serve");
  }
  std::ifstream file(*resolved, std::ios::binary);
  std::ostringstream contents;
  contents << file.rdbuf();
  if (!file) {
    SB_LOG_WARN("http", "cannot read {}", *resolved);
    return TextResponse(500, "cannot read file");
  }
  return Response{200, std::string(ContentTypeFor(*resolved)), std::move(contents).str()};
}

}  // namespace sb::signaling::http
