#include "bench/load/ws_client.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace sb::bench {
namespace ws = signaling::http::ws;

namespace {
// An HTTP upgrade response is a few hundred bytes; anything far larger is not a WebSocket server.
constexpr size_t kMaxHandshakeBytes = 16 * 1024;

struct WriteRequest {
  uv_write_t req;
  std::string bytes;
};

// How long a closed connection waits for the server to close its side.
constexpr uint64_t kLingerMs = 2000;

// A socket handed over by Close(): shut down for writing (FIN after the pending writes), read
// and discarded until the server closes or kLingerMs pass, then closed. Owns itself and frees
// itself once both of its handles are closed.
struct Linger {
  uv_tcp_t* tcp = nullptr;
  uv_timer_t timer;
  uv_shutdown_t shutdown;
  char buffer[4096];
  int open_handles = 2;
  bool closing = false;

  static void Start(uv_loop_t* loop, uv_tcp_t* tcp) {
    auto* l = new Linger;
    l->tcp = tcp;
    tcp->data = l;
    uv_timer_init(loop, &l->timer);
    l->timer.data = l;
    uv_timer_start(
        &l->timer, [](uv_timer_t* t) { static_cast<Linger*>(t->data)->Finish(); }, kLingerMs, 0);
    auto* stream = reinterpret_cast<uv_stream_t*>(tcp);
    l->shutdown.data = l;
    if (uv_shutdown(&l->shutdown, stream, [](uv_shutdown_t* req, int status) {
          if (status != 0) static_cast<Linger*>(req->data)->Finish();
        }) != 0) {
      return l->Finish();
    }
    uv_read_stop(stream);
    uv_read_start(
        stream,
        [](uv_handle_t* h, size_t, uv_buf_t* buf) {
          auto* l = static_cast<Linger*>(h->data);
          *buf = uv_buf_init(l->buffer, sizeof(l->buffer));
        },
        [](uv_stream_t* s, ssize_t nread, const uv_buf_t*) {
          if (nread < 0) static_cast<Linger*>(s->data)->Finish();
        });
  }

  void Finish() {
    if (closing) return;
    closing = true;
    auto closed = [](uv_handle_t* h) {
      auto* l = static_cast<Linger*>(h->data);
      if (h == reinterpret_cast<uv_handle_t*>(l->tcp)) delete l->tcp;
      if (--l->open_handles == 0) delete l;
    };
    uv_close(reinterpret_cast<uv_handle_t*>(tcp), closed);
    uv_close(reinterpret_cast<uv_handle_t*>(&timer), closed);
  }
};
}  // namespace

absl::StatusOr<WsUrl> ParseWsUrl(std::string_view text) {
  constexpr std::string_view kScheme = "ws://";
  if (text.substr(0, kScheme.size()) != kScheme) {
    return absl::InvalidArgumentError("the server URL must start with ws://");
  }
  text.remove_prefix(kScheme.size());
  WsUrl url;
  size_t slash = text.find('/');
  std::string_view authority = text.substr(0, slash);
  if (slash != std::string_view::npos) url.path = std::string(text.substr(slash));
  size_t colon = authority.rfind(':');
  url.host = std::string(authority.substr(0, colon));
  if (colon != std::string_view::npos) {
    uint32_t port = 0;
    std::string_view p = authority.substr(colon + 1);
    if (!absl::SimpleAtoi(absl::string_view(p.data(), p.size()), &port) || port == 0 ||
        port > 65535) {
      return absl::InvalidArgumentError("bad port in the server URL");
    }
    url.port = static_cast<uint16_t>(port);
  }
  sockaddr_in addr;
  if (uv_ip4_addr(url.host.c_str(), url.port, &addr) != 0) {
    return absl::InvalidArgumentError("the server URL needs an IPv4 address as host");
  }
  return url;
}

WsClient::WsClient(uv_loop_t* loop, WsUrl url, Listener* listener)
    : loop_(loop), url_(std::move(url)), listener_(listener) {}

WsClient::~WsClient() {
  listener_ = nullptr;
  CloseHandle(state_ == State::kOpen ? CloseMode::kLinger : CloseMode::kNow);
}

void WsClient::Connect() {
  tcp_ = new uv_tcp_t;
  uv_tcp_init(loop_, tcp_);
  tcp_->data = this;
  uv_tcp_nodelay(tcp_, 1);
  sockaddr_in addr;
  uv_ip4_addr(url_.host.c_str(), url_.port, &addr);
  auto* req = new uv_connect_t;
  req->data = this;
  state_ = State::kConnecting;
  int rc = uv_tcp_connect(req, tcp_, reinterpret_cast<const sockaddr*>(&addr), OnConnect);
  if (rc != 0) {
    delete req;
    Fail(absl::StrCat("connect: ", uv_strerror(rc)));
  }
}

void WsClient::OnConnect(uv_connect_t* req, int status) {
  // The handle may have been closed meanwhile (status UV_ECANCELED): then data is stale.
  uv_stream_t* stream = req->handle;
  delete req;
  if (status == UV_ECANCELED) return;
  auto* self = static_cast<WsClient*>(stream->data);
  if (!self) return;
  if (status != 0) return self->Fail(absl::StrCat("connect: ", uv_strerror(status)));
  self->state_ = State::kUpgrading;
  self->key_ = ws::GenerateClientKey();
  uv_read_start(stream, OnAlloc, OnRead);
  // RFC 6455 section 4.1: the opening handshake.
  self->Write(absl::StrCat(
      "GET ", self->url_.path, " HTTP/1.1\r\nHost: ", self->url_.host, ":", self->url_.port,
      "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Key: ",
      self->key_, "\r\nSec-WebSocket-Version: 13\r\n",
      self->url_.protocol.empty()
          ? std::string()
          : absl::StrCat("Sec-WebSocket-Protocol: ", self->url_.protocol, "\r\n"),
      "\r\n"));
}

void WsClient::OnAlloc(uv_handle_t* handle, size_t /*suggested*/, uv_buf_t* buf) {
  auto* self = static_cast<WsClient*>(handle->data);
  if (!self) {
    *buf = uv_buf_init(nullptr, 0);
    return;
  }
  buf->base = self->read_buffer_.data();
  buf->len = self->read_buffer_.size();
}

void WsClient::OnRead(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
  auto* self = static_cast<WsClient*>(stream->data);
  if (!self) return;
  if (nread < 0) {
    return self->Fail(nread == UV_EOF
                          ? "server closed the connection"
                          : absl::StrCat("read: ", uv_strerror(static_cast<int>(nread))));
  }
  if (nread > 0) self->OnData(std::string_view(buf->base, static_cast<size_t>(nread)));
}

void WsClient::OnData(std::string_view data) {
  if (state_ == State::kUpgrading) {
    handshake_.append(data);
    size_t end = handshake_.find("\r\n\r\n");
    if (end == std::string::npos) {
      if (handshake_.size() > kMaxHandshakeBytes) Fail("oversized upgrade response");
      return;
    }
    std::string rest = handshake_.substr(end + 4);
    handshake_.resize(end);
    HandleUpgradeResponse();
    if (state_ != State::kOpen) return;
    data = {};
    if (rest.empty()) return;
    handshake_ = std::move(rest);
    data = handshake_;
  }
  if (state_ != State::kOpen) return;
  std::vector<ws::Message> messages;
  auto error = parser_.Feed(data, &messages);
  for (auto& m : messages) {
    if (state_ != State::kOpen) return;
    switch (m.opcode) {
      case ws::Opcode::kText:
        if (listener_) listener_->OnWsMessage(std::move(m.payload));
        break;
      case ws::Opcode::kPing:
        Write(ws::EncodeClientFrame(ws::Opcode::kPong, m.payload));
        break;
      case ws::Opcode::kClose:
        Write(ws::EncodeClientCloseFrame(ws::kCloseNormal, ""));
        return Fail("server sent close");
      default:
        break;
    }
  }
  if (error && state_ == State::kOpen) {
    Write(ws::EncodeClientCloseFrame(error->close_code, error->reason));
    Fail(absl::StrCat("protocol error: ", error->reason));
  }
}

void WsClient::HandleUpgradeResponse() {
  std::vector<absl::string_view> lines = absl::StrSplit(handshake_, "\r\n");
  if (lines.empty() || !absl::StartsWith(lines[0], "HTTP/1.1 101")) {
    return Fail(absl::StrCat("upgrade refused: ", lines.empty() ? "" : lines[0]));
  }
  bool accept_ok = false;
  for (size_t i = 1; i < lines.size(); ++i) {
    size_t colon = lines[i].find(':');
    if (colon == absl::string_view::npos) continue;
    if (absl::EqualsIgnoreCase(lines[i].substr(0, colon), "Sec-WebSocket-Accept")) {
      accept_ok =
          absl::StripAsciiWhitespace(lines[i].substr(colon + 1)) == ws::ComputeAcceptKey(key_);
    }
  }
  if (!accept_ok) return Fail("bad Sec-WebSocket-Accept");
  handshake_.clear();
  state_ = State::kOpen;
  if (listener_) listener_->OnWsOpen();
}

bool WsClient::Send(std::string_view text) {
  if (state_ != State::kOpen) return false;
  Write(ws::EncodeClientFrame(ws::Opcode::kText, text));
  return true;
}

void WsClient::Write(std::string bytes) {
  if (!tcp_) return;
  auto* w = new WriteRequest;
  w->bytes = std::move(bytes);
  uv_buf_t buf = uv_buf_init(w->bytes.data(), static_cast<unsigned>(w->bytes.size()));
  w->req.data = w;
  int rc = uv_write(&w->req, reinterpret_cast<uv_stream_t*>(tcp_), &buf, 1,
                    [](uv_write_t* req, int) { delete static_cast<WriteRequest*>(req->data); });
  if (rc != 0) delete w;
}

void WsClient::Close() {
  const bool open = state_ == State::kOpen;
  if (open) Write(ws::EncodeClientCloseFrame(ws::kCloseNormal, "bye"));
  state_ = State::kClosed;
  listener_ = nullptr;
  CloseHandle(open ? CloseMode::kLinger : CloseMode::kNow);
}

void WsClient::Abort() {
  state_ = State::kClosed;
  listener_ = nullptr;
  CloseHandle(CloseMode::kReset);
}

void WsClient::Fail(const std::string& reason) {
  if (state_ == State::kClosed) return;
  state_ = State::kClosed;
  CloseHandle();
  if (Listener* l = std::exchange(listener_, nullptr)) l->OnWsClosed(reason);
}

void WsClient::CloseHandle(CloseMode mode) {
  if (!tcp_) return;
  uv_tcp_t* tcp = std::exchange(tcp_, nullptr);
  tcp->data = nullptr;
  if (mode == CloseMode::kLinger) return Linger::Start(loop_, tcp);
  // Pending writes complete (with an error) before the close callback runs.
  auto closed = [](uv_handle_t* h) { delete reinterpret_cast<uv_tcp_t*>(h); };
  if (mode == CloseMode::kReset && uv_tcp_close_reset(tcp, closed) == 0) return;
  uv_close(reinterpret_cast<uv_handle_t*>(tcp), closed);
}

}  // namespace sb::bench
