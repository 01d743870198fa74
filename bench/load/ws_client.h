// A WebSocket client (RFC 6455) on the generator's libuv loop: libwebsockets (Debian's 4.1.6)
// does the connect, TLS, the upgrade and the framing; every client on a loop shares one
// libwebsockets context (ws_client.cc).
#pragma once

#include <uv.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace sb::bench {

namespace internal {
struct WsConnection;
class WsClientContext;
}  // namespace internal

// ws://IP:PORT/PATH or wss://IP:PORT/PATH split into its parts; only literal IPv4 hosts (the
// generator runs on loopback and resolving names would block the loop).
struct WsUrl {
  std::string host;
  uint16_t port = 80;  // 443 for wss:// without a port
  std::string path = "/";
  // Sec-WebSocket-Protocol to ask for ("" for none; Janus wants "janus-protocol").
  std::string protocol;
  bool tls = false;  // wss://
  // With tls: check the server's certificate and name. Off for a self-signed server
  // (switchboard --tls-self-signed; switchboard-load --insecure).
  bool verify_tls = true;
};
absl::StatusOr<WsUrl> ParseWsUrl(std::string_view url);

class WsClient {
 public:
  class Listener {
   public:
    virtual ~Listener() = default;
    virtual void OnWsOpen() = 0;
    virtual void OnWsMessage(std::string text) = 0;
    // Connect, upgrade or protocol failure, or the server closed. Called once.
    virtual void OnWsClosed(const std::string& reason) = 0;
  };

  WsClient(uv_loop_t* loop, WsUrl url, Listener* listener);
  ~WsClient();
  WsClient(const WsClient&) = delete;
  WsClient& operator=(const WsClient&) = delete;

  // Once. A failure to start is told through OnWsClosed, possibly from inside this call.
  void Connect();
  // One text message; false when not open.
  bool Send(std::string_view text);
  // When open: the queued messages, then a close frame (1000), and the connection ends once
  // the server answers with its own (RFC 6455 section 7.1.2), or after kCloseTimeoutS, so the
  // server sees a clean close. The connection outlives this object if need be. No listener
  // calls after it.
  void Close();
  // Drops the connection without a close frame, as a lost network or a killed browser does:
  // the socket is reset (RST) and queued messages are lost. No listener calls after it.
  void Abort();
  bool open() const { return open_; }

  // How long a closing connection waits for the server's close frame.
  static constexpr int kCloseTimeoutS = 2;

 private:
  friend struct internal::WsConnection;
  // Stops hearing about the connection; it closes by itself from then on.
  void Detach();

  // Passed by argument.
  uv_loop_t* loop_;
  WsUrl url_;
  Listener* listener_;
  // Shared by every client on the loop (reference-counted; see ws_client.cc).
  internal::WsClientContext* context_;
  // Owned by the context while libwebsockets' connection lives; null before Connect() and
  // once detached.
  internal::WsConnection* connection_ = nullptr;
  bool open_ = false;
};

}  // namespace sb::bench
