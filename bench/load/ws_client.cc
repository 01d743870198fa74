// WsClient on libwebsockets: one context per loop, shared by every client on it and kept while
// a client or a connection (a closing one too) lives; a connection's state lives as long as
// libwebsockets' connection does, and knows its client only until the client is done with it.
#include "bench/load/ws_client.h"

#include <libwebsockets.h>
#include <sys/socket.h>

#include <deque>
#include <memory>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "base/log.h"
#include "signaling/http/lws_loop.h"

namespace sb::bench {

namespace {

// libwebsockets' per-connection read size and WebSocket receive buffer: a larger message
// reaches us in pieces of it. Also the most it sends in one go before buffering the rest.
constexpr size_t kIoBufferBytes = 64 * 1024;
// A message from the server larger than this fails the connection (1009). Far above what our
// server or Janus send (an offer for a large room is some tens of KiB); a bound all the same.
constexpr size_t kMaxMessageBytes = 16 * 1024 * 1024;
// A connect or upgrade that stalls this long fails (libwebsockets' timeout_secs).
constexpr int kHandshakeTimeoutS = 10;
// RFC 6455 section 7.4.1.
constexpr uint16_t kCloseNormal = 1000;
constexpr uint16_t kCloseMessageTooBig = 1009;
// lws_write()'s value for a close frame: libwebsockets 4.1 frames (and, for a client, masks) it
// like any other, but keeps the name private (LWS_WRITE_CLOSE in private-lib-core.h) and
// offers lws_close_reason() instead, which needs the callback to return -1 (see OnWritable).
constexpr auto kLwsWriteClose = static_cast<enum lws_write_protocol>(4);

int LwsCallback(struct lws* wsi, enum lws_callback_reasons reason, void* user, void* in,
                size_t len);

const struct lws_protocols kProtocols[] = {
    {"switchboard-load", LwsCallback, 0, kIoBufferBytes, 0, nullptr, 0},
    {nullptr, nullptr, 0, 0, 0, nullptr, 0},
};

}  // namespace

namespace internal {

// The libwebsockets context of one loop. Reference-counted by the clients and connections on
// that loop (neither knows which of them is the last); destroyed once none is left.
class WsClientContext {
 public:
  static WsClientContext* Acquire(uv_loop_t* loop) {
    auto [it, inserted] = Instances().try_emplace(loop, nullptr);
    if (inserted) it->second = new WsClientContext(loop);
    ++it->second->references_;
    return it->second;
  }

  // Possibly from inside a libwebsockets callback: the context is destroyed on a later turn.
  void Release() {
    if (--references_ > 0) return;
    Instances().erase(loop_);
    if (context_ != nullptr) {
      signaling::http::DestroyLwsContextOnLoop(loop_, context_, nullptr,
                                               signaling::http::DestroyStart::kNextTurn);
    }
    delete this;
  }

  // Created on first use; null when libwebsockets cannot create it.
  struct lws_context* Get() {
    if (context_ != nullptr) return context_;
    lws_context_creation_info info{};
    // TLS for wss://; each connection says whether it checks the certificate.
    info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = kProtocols;
    info.pt_serv_buf_size = kIoBufferBytes;
    info.timeout_secs = kHandshakeTimeoutS;
    signaling::http::SetLwsErrorsAreOurs(true);
    context_ = signaling::http::CreateLwsContextOnLoop(loop_, &info);
    signaling::http::SetLwsErrorsAreOurs(false);
    return context_;
  }

 private:
  explicit WsClientContext(uv_loop_t* loop) : loop_(loop) {}

  static absl::flat_hash_map<uv_loop_t*, WsClientContext*>& Instances() {
    static auto* instances = new absl::flat_hash_map<uv_loop_t*, WsClientContext*>;
    return *instances;
  }

  uv_loop_t* const loop_;
  struct lws_context* context_ = nullptr;
  int references_ = 0;
};

// One libwebsockets client connection. Freed when libwebsockets frees the connection
// (LWS_CALLBACK_WSI_DESTROY); holds a reference to the context until then.
struct WsConnection {
  WsClientContext* context = nullptr;
  WsClient* client = nullptr;  // null once the client is done with it
  struct lws* wsi = nullptr;
  std::deque<std::string> outbox;  // text messages, each behind LWS_PRE spare bytes
  std::string message;             // a fragmented message being reassembled
  bool close_wanted = false;       // Close(): the outbox, then our close frame
  bool close_sent = false;

  // The client hears that the connection is gone (once), and is detached.
  void Ended(const std::string& reason) {
    WsClient* c = std::exchange(client, nullptr);
    if (c == nullptr) return;
    c->connection_ = nullptr;
    c->open_ = false;
    if (WsClient::Listener* listener = std::exchange(c->listener_, nullptr)) {
      listener->OnWsClosed(reason);
    }
  }

  void Opened() {
    if (client == nullptr) return;
    client->open_ = true;
    if (client->listener_ != nullptr) client->listener_->OnWsOpen();
  }

  // Ends the connection soon, from libwebsockets' own timer, without a close frame.
  void Kill() {
    lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
    lws_cancel_service(lws_get_context(wsi));  // its libuv timer sees the new deadline now
  }

  int OnReceive(const char* data, size_t len) {
    if (client == nullptr || close_sent || lws_frame_is_binary(wsi)) return 0;
    if (message.size() + len > kMaxMessageBytes) {
      lws_close_reason(wsi, static_cast<lws_close_status>(kCloseMessageTooBig), nullptr, 0);
      Ended("message from the server too big");
      return -1;
    }
    message.append(data, len);
    if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi) > 0) return 0;
    std::string text = std::move(message);
    message.clear();
    if (client->listener_ != nullptr) client->listener_->OnWsMessage(std::move(text));
    return 0;
  }

  int OnWritable() {
    if (!outbox.empty()) {
      std::string& front = outbox.front();
      const size_t size = front.size() - LWS_PRE;
      auto* payload = reinterpret_cast<unsigned char*>(front.data()) + LWS_PRE;
      // Whole: libwebsockets sends what the socket takes and keeps the rest.
      if (lws_write(wsi, payload, size, LWS_WRITE_TEXT) < static_cast<int>(size)) return -1;
      outbox.pop_front();
      if (!outbox.empty() || close_wanted) lws_callback_on_writable(wsi);
      return 0;
    }
    if (close_wanted && !close_sent) {
      // Our own close frame, then the server's answer ends the connection: returning -1 here
      // instead would have Debian's _DEBUG build close twice and cut the close frame
      // (docs/architecture.md).
      unsigned char frame[LWS_PRE + 2];
      frame[LWS_PRE] = static_cast<unsigned char>(kCloseNormal >> 8);
      frame[LWS_PRE + 1] = static_cast<unsigned char>(kCloseNormal & 0xff);
      close_sent = true;
      if (lws_write(wsi, frame + LWS_PRE, 2, kLwsWriteClose) < 2) return -1;
      lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, WsClient::kCloseTimeoutS);
    }
    return 0;
  }
};

}  // namespace internal

namespace {

using internal::WsConnection;

int LwsCallback(struct lws* wsi, enum lws_callback_reasons reason, void* /*user*/, void* in,
                size_t len) {
  auto* connection = static_cast<WsConnection*>(lws_get_opaque_user_data(wsi));
  if (connection == nullptr) return 0;
  switch (reason) {
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
      // `in` is libwebsockets' reason, a C string.
      connection->Ended(absl::StrCat("connect or upgrade failed: ",
                                     in != nullptr ? static_cast<const char*>(in) : "unknown"));
      return 0;
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
      connection->Opened();
      return 0;
    case LWS_CALLBACK_CLIENT_RECEIVE:
      return connection->OnReceive(static_cast<const char*>(in), len);
    case LWS_CALLBACK_CLIENT_WRITEABLE:
      return connection->OnWritable();
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
      // The answer to our close ends the connection; otherwise libwebsockets answers the
      // server's close with its own (RFC 6455 section 5.5.1), then closes.
      if (connection->close_sent) return -1;
      connection->Ended("server sent close");
      return 0;
    case LWS_CALLBACK_CLIENT_CLOSED:
      connection->Ended("server closed the connection");
      return 0;
    case LWS_CALLBACK_WSI_DESTROY: {
      connection->Ended("connection closed");
      lws_set_opaque_user_data(wsi, nullptr);
      internal::WsClientContext* context = connection->context;
      delete connection;
      context->Release();
      return 0;
    }
    default:
      return 0;
  }
}

}  // namespace

absl::StatusOr<WsUrl> ParseWsUrl(std::string_view text) {
  WsUrl url;
  if (text.substr(0, 6) == "wss://") {
    url.tls = true;
    url.port = 443;
    text.remove_prefix(6);
  } else if (text.substr(0, 5) == "ws://") {
    text.remove_prefix(5);
  } else {
    return absl::InvalidArgumentError("the server URL must start with ws:// or wss://");
  }
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
    : loop_(loop),
      url_(std::move(url)),
      listener_(listener),
      context_(internal::WsClientContext::Acquire(loop)) {}

WsClient::~WsClient() {
  listener_ = nullptr;
  if (open_) {
    Close();
  } else if (connection_ != nullptr) {
    connection_->Kill();
    Detach();
  }
  context_->Release();
}

void WsClient::Connect() {
  if (connection_ != nullptr) return;
  struct lws_context* context = context_->Get();
  if (context == nullptr) {
    if (Listener* l = std::exchange(listener_, nullptr)) {
      l->OnWsClosed("libwebsockets: cannot create its context");
    }
    return;
  }
  auto* connection = new WsConnection;
  connection->context = internal::WsClientContext::Acquire(loop_);
  connection->client = this;
  connection_ = connection;

  const std::string host = absl::StrCat(url_.host, ":", url_.port);
  lws_client_connect_info info{};
  info.context = context;
  info.address = url_.host.c_str();
  info.port = url_.port;
  info.path = url_.path.c_str();
  info.host = host.c_str();  // the Host header; without the port for TLS's server name
  info.protocol = url_.protocol.empty() ? nullptr : url_.protocol.c_str();
  info.local_protocol_name = kProtocols[0].name;
  info.ietf_version_or_minus_one = -1;
  if (url_.tls) {
    info.ssl_connection = LCCSCF_USE_SSL;
    if (!url_.verify_tls) {
      info.ssl_connection |= LCCSCF_ALLOW_SELFSIGNED | LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK |
                             LCCSCF_ALLOW_EXPIRED | LCCSCF_ALLOW_INSECURE;
    }
  }
  info.opaque_user_data = connection;
  info.pwsi = &connection->wsi;
  // A failure may already have been told (LWS_CALLBACK_CLIENT_CONNECTION_ERROR) and the
  // connection freed (LWS_CALLBACK_WSI_DESTROY); then connection_ is null here.
  if (lws_client_connect_via_info(&info) == nullptr && connection_ == connection) {
    // Refused before libwebsockets made a connection of it: nothing will call back.
    connection_ = nullptr;
    internal::WsClientContext* shared = connection->context;
    delete connection;
    shared->Release();
    if (Listener* l = std::exchange(listener_, nullptr)) l->OnWsClosed("cannot connect");
  }
}

bool WsClient::Send(std::string_view text) {
  if (!open_ || connection_ == nullptr) return false;
  std::string message(LWS_PRE, '\0');
  message.append(text);
  connection_->outbox.push_back(std::move(message));
  lws_callback_on_writable(connection_->wsi);
  return true;
}

void WsClient::Close() {
  listener_ = nullptr;
  if (connection_ == nullptr) return;
  if (open_) {
    connection_->close_wanted = true;
    lws_callback_on_writable(connection_->wsi);
  } else {
    connection_->Kill();
  }
  Detach();
}

void WsClient::Abort() {
  listener_ = nullptr;
  if (connection_ == nullptr) return;
  // A close with no lingering time resets the connection (RST) instead of ending it (FIN).
  const int fd = lws_get_socket_fd(connection_->wsi);
  if (fd >= 0) {
    struct linger reset {
      1, 0
    };
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
  }
  connection_->outbox.clear();
  connection_->Kill();
  Detach();
}

void WsClient::Detach() {
  open_ = false;
  if (connection_ != nullptr) std::exchange(connection_, nullptr)->client = nullptr;
}

}  // namespace sb::bench
