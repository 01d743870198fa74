// switchboard: the signaling and control process. See README.md and docs/.
#include <uv.h>

#include <csignal>
#include <cstdio>
#include <string_view>

#include "base/log.h"
#include "signaling/auth.h"
#include "signaling/config.h"
#include "signaling/server.h"
#include "signaling/token_command.h"

namespace {

struct Shutdown {
  sb::signaling::Server* server = nullptr;
  uv_signal_t sigint, sigterm;
  bool stopping = false;
};

void OnSignal(uv_signal_t* handle, int signum) {
  auto* shutdown = static_cast<Shutdown*>(handle->data);
  if (shutdown->stopping) return;
  shutdown->stopping = true;
  SB_LOG_INFO("server", "signal {}: shutting down", signum);
  shutdown->server->Stop([shutdown] {
    uv_close(reinterpret_cast<uv_handle_t*>(&shutdown->sigint), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&shutdown->sigterm), nullptr);
  });
}

}  // namespace

int main(int argc, char** argv) {
  // `switchboard token ...` prints a join or admin token and exits.
  if (argc >= 2 && std::string_view(argv[1]) == "token") {
    return sb::signaling::RunTokenCommand(argc - 1, argv + 1, stdout, stderr,
                                          sb::signaling::NowSeconds());
  }
  auto config = sb::signaling::ParseConfig(argc, argv);
  if (!config.ok()) {
    if (absl::IsNotFound(config.status())) {  // --help
      std::fputs(std::string(config.status().message()).c_str(), stdout);
      return 0;
    }
    std::fprintf(stderr, "switchboard: %s\n(see --help)\n",
                 std::string(config.status().message()).c_str());
    return 2;
  }
  if (config->web_root.empty()) config->web_root = sb::signaling::DefaultWebRoot(argv[0]);
  if (config->worker_binary.empty()) {
    config->worker_binary = sb::signaling::DefaultWorkerBinary(argv[0]);
  }
  sb::log::Init("switchboard", config->log_level);
  std::signal(SIGPIPE, SIG_IGN);

  uv_loop_t* loop = uv_default_loop();
  sb::signaling::Server server(loop, *config);
  if (auto status = server.Start(); !status.ok()) {
    SB_LOG_ERROR("server", "cannot start: {}", status.ToString());
    server.Stop(nullptr);
    uv_run(loop, UV_RUN_DEFAULT);
    return 1;
  }
  Shutdown shutdown;
  shutdown.server = &server;
  uv_signal_init(loop, &shutdown.sigint);
  uv_signal_init(loop, &shutdown.sigterm);
  shutdown.sigint.data = shutdown.sigterm.data = &shutdown;
  uv_signal_start(&shutdown.sigint, OnSignal, SIGINT);
  uv_signal_start(&shutdown.sigterm, OnSignal, SIGTERM);
  uv_run(loop, UV_RUN_DEFAULT);
  return 0;
}
