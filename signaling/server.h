// The switchboard control process in one object: the worker pool, the conference (rooms and
// the signaling protocol), and the HTTP server with the web app, the WebSocket endpoint, the
// admin API and metrics.
#pragma once

#include <uv.h>

#include <functional>
#include <memory>
#include <optional>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "signaling/auth.h"
#include "signaling/client_message.h"
#include "signaling/cluster_node.h"
#include "signaling/conference.h"
#include "signaling/config.h"
#include "signaling/http/http_server.h"
#include "signaling/workers/worker_pool.h"

namespace sb::signaling {

class Server : public WorkerPool::Listener {
 public:
  Server(uv_loop_t* loop, Config config);
  ~Server();

  absl::Status Start();
  // Stops accepting, closes every connection and worker; `done` runs when all have exited.
  void Stop(std::function<void()> done);
  uint16_t port() const;

  // WorkerPool::Listener: forwarded to the conference.
  void OnWorkerDied(int index) override;
  void OnWorkerNotification(int index, const fbs::Notification& notification) override;

 private:
  class Session;

  void OnWebSocket(std::shared_ptr<http::WebSocket> socket);
  // The Origin check of the WebSocket upgrade (signaling/origin.h): nullopt lets it through.
  std::optional<http::Response> CheckOrigin(const http::Request& request);
  // `handler` behind an admin token when the server has a secret (RFC 6750 bearer tokens).
  http::HttpServer::Handler AdminOnly(http::HttpServer::Handler handler);
  std::string Metrics() const;

  uv_loop_t* const loop_;
  const Config config_;
  std::unique_ptr<WorkerPool> pool_;
  std::unique_ptr<Conference> conference_;
  std::unique_ptr<http::HttpServer> http_;
  std::unique_ptr<ClusterNode> cluster_;  // with --redis only
  absl::flat_hash_map<uint64_t, std::unique_ptr<Session>> sessions_;
  RejectionCounters rejections_;
  AuthCounters http_auth_failures_;  // /api/*, /metrics and the WebSocket's Origin
};

// Where the bundled web app and the worker binary are when no flag says.
std::string DefaultWebRoot(const char* argv0);
std::string DefaultWorkerBinary(const char* argv0);

}  // namespace sb::signaling
