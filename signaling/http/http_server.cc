#include "signaling/http/http_server.h"

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
#include "signaling/http/http_connection.h"
#include "signaling/http/text.h"

namespace sb::signaling::http {

struct HttpServer::ListenHandle {
  uv_tcp_t tcp;
};
struct HttpServer::TimerHandle {
  uv_timer_t timer;
};

namespace {

// How often idle and closing connections are checked, at most (more often when the WebSocket
// ping interval is short, as in tests).
constexpr uint64_t kMaxSweepIntervalMs = 1000;
// Reads are at most this big; a WebSocket message spans several reads if larger.
constexpr size_t kReadBufferBytes = 64 * 1024;
// Larger static files are refused: the web app is a handful of small files.
constexpr uintmax_t kMaxStaticFileBytes = 64 * 1024 * 1024;

// Hands a heap-allocated handle wrapper to libuv, which frees it once closed.
template <typename Wrapper>
void CloseAndFree(Wrapper* wrapper, uv_handle_t* handle) {
  handle->data = wrapper;
  uv_close(handle,
           [](uv_handle_t* h) { std::unique_ptr<Wrapper> owned(static_cast<Wrapper*>(h->data)); });
}

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

}  // namespace

HttpServer::HttpServer(uv_loop_t* loop, Options options)
    : loop_(loop), options_(std::move(options)), read_buffer_(kReadBufferBytes) {}

HttpServer::~HttpServer() {
  Stop();
  // Their close callbacks are still pending: let each free itself there.
  for (auto& [id, connection] : connections_) {
    connection->Orphan();
    connection.release();
  }
  connections_.clear();
}

void HttpServer::Handle(std::string path, Handler handler) {
  routes_[std::move(path)] = std::move(handler);
}

void HttpServer::OnWebSocket(std::string path, WebSocketHandler handler, UpgradeCheck check) {
  websocket_routes_[std::move(path)] = {std::move(handler), std::move(check)};
}

absl::Status HttpServer::Start() {
  if (running_) return absl::FailedPreconditionError("HTTP server already started");
  if (!options_.web_root.empty()) {
    std::optional<std::string> root = RealPath(options_.web_root);
    struct stat st {};
    if (!root || stat(root->c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      return absl::InvalidArgumentError(
          absl::StrCat("web root is not a directory: ", options_.web_root));
    }
    root_real_ = *root;
  }

  sockaddr_storage addr{};
  const bool v6 = options_.listen_ip.find(':') != std::string::npos;
  const int parse_rc = v6 ? uv_ip6_addr(options_.listen_ip.c_str(), options_.port,
                                        reinterpret_cast<sockaddr_in6*>(&addr))
                          : uv_ip4_addr(options_.listen_ip.c_str(), options_.port,
                                        reinterpret_cast<sockaddr_in*>(&addr));
  if (parse_rc != 0) {
    return absl::InvalidArgumentError(absl::StrCat("bad listen address: ", options_.listen_ip));
  }

  auto listener = std::make_unique<ListenHandle>();
  uv_tcp_init(loop_, &listener->tcp);
  listener->tcp.data = this;
  int rc = uv_tcp_bind(&listener->tcp, reinterpret_cast<const sockaddr*>(&addr), 0);
  if (rc == 0) {
    rc = uv_listen(reinterpret_cast<uv_stream_t*>(&listener->tcp), 128,
                   [](uv_stream_t* server, int status) {
                     static_cast<HttpServer*>(server->data)->OnNewConnection(status);
                   });
  }
  if (rc != 0) {
    ListenHandle* raw = listener.release();
    CloseAndFree(raw, reinterpret_cast<uv_handle_t*>(&raw->tcp));
    return absl::UnavailableError(absl::StrCat("cannot listen on ", options_.listen_ip, ":",
                                               options_.port, ": ", uv_strerror(rc)));
  }
  sockaddr_storage bound{};
  int len = sizeof(bound);
  uv_tcp_getsockname(&listener->tcp, reinterpret_cast<sockaddr*>(&bound), &len);
  bound_port_ =
      ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<const sockaddr_in6*>(&bound)->sin6_port
                                        : reinterpret_cast<const sockaddr_in*>(&bound)->sin_port);
  listener_ = listener.release();

  const uint64_t sweep_ms = std::max<uint64_t>(
      10, std::min(kMaxSweepIntervalMs, options_.websocket_ping_interval_ms / 2));
  auto timer = std::make_unique<TimerHandle>();
  uv_timer_init(loop_, &timer->timer);
  timer->timer.data = this;
  uv_timer_start(
      &timer->timer, [](uv_timer_t* t) { static_cast<HttpServer*>(t->data)->OnSweepTimer(); },
      sweep_ms, sweep_ms);
  sweep_timer_ = timer.release();

  running_ = true;
  SB_LOG_INFO("http", "listening on {}:{}{}", options_.listen_ip, bound_port_,
              root_real_.empty() ? "" : absl::StrCat(", serving ", root_real_));
  return absl::OkStatus();
}

void HttpServer::Stop() {
  if (listener_ != nullptr) {
    CloseAndFree(listener_, reinterpret_cast<uv_handle_t*>(&listener_->tcp));
    listener_ = nullptr;
  }
  if (sweep_timer_ != nullptr) {
    uv_timer_stop(&sweep_timer_->timer);
    CloseAndFree(sweep_timer_, reinterpret_cast<uv_handle_t*>(&sweep_timer_->timer));
    sweep_timer_ = nullptr;
  }
  if (running_) SB_LOG_INFO("http", "stopping; closing {} connections", connections_.size());
  running_ = false;
  std::vector<HttpConnection*> live;
  live.reserve(connections_.size());
  for (auto& [id, connection] : connections_) live.push_back(connection.get());
  for (HttpConnection* connection : live) connection->CloseForShutdown();
}

void HttpServer::OnNewConnection(int status) {
  if (status < 0) {
    SB_LOG_WARN("http", "accept failed: {}", uv_strerror(status));
    return;
  }
  const uint64_t id = next_connection_id_++;
  auto connection = std::make_unique<HttpConnection>(this, id);
  HttpConnection* raw = connection.get();
  connections_.emplace(id, std::move(connection));
  raw->Start(reinterpret_cast<uv_stream_t*>(&listener_->tcp));
}

void HttpServer::OnSweepTimer() {
  const uint64_t now = uv_now(loop_);
  std::vector<HttpConnection*> live;
  live.reserve(connections_.size());
  for (auto& [id, connection] : connections_) live.push_back(connection.get());
  for (HttpConnection* connection : live) connection->CheckTimeouts(now);
}

bool HttpServer::Admit(const std::string& ip) {
  size_t& from_ip = connections_per_ip_[ip];
  // connections_ already holds this one.
  if (connections_.size() > options_.max_connections ||
      from_ip >= options_.max_connections_per_ip) {
    if (from_ip == 0) connections_per_ip_.erase(ip);
    ++counters_.connections_refused;
    return false;
  }
  ++from_ip;
  return true;
}

void HttpServer::OnConnectionClosed(uint64_t id) {
  auto it = connections_.find(id);
  if (it == connections_.end()) return;
  if (const std::string& ip = it->second->admitted_ip(); !ip.empty()) {
    if (auto count = connections_per_ip_.find(ip);
        count != connections_per_ip_.end() && --count->second == 0) {
      connections_per_ip_.erase(count);
    }
  }
  connections_.erase(it);
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
  // Refuse anything that could climb out of the root before touching the file system; the
  // realpath check below also catches symlinks that point outside.
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
