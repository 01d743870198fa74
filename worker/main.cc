// switchboard-worker: one libuv loop serving the routers the control process places here.
// Reads requests on fd 3, writes responses/notifications on fd 4; exits when fd 3 closes.
#include <signal.h>
#include <uv.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "absl/strings/numbers.h"
#include "base/log.h"
#include "worker/request_handler.h"
#include "worker/worker.h"

namespace {

// fds the control process sets up for us (see signaling/workers/worker_process.cc).
constexpr int kControlReadFd = 3;
constexpr int kControlWriteFd = 4;

struct Flags {
  sb::log::Level log_level = sb::log::Level::kInfo;
  int worker_id = 0;
};

bool ParseFlags(int argc, char** argv, Flags* flags) {
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg.starts_with("--log-level=")) {
      if (!sb::log::ParseLevel(arg.substr(12), &flags->log_level)) {
        std::fprintf(stderr, "bad --log-level: %s\n", argv[i]);
        return false;
      }
    } else if (arg.starts_with("--worker-id=")) {
      if (!absl::SimpleAtoi(std::string(arg.substr(12)), &flags->worker_id)) {
        std::fprintf(stderr, "bad --worker-id: %s\n", argv[i]);
        return false;
      }
    } else {
      std::fprintf(stderr, "unknown argument: %s\nusage: %s [--log-level=LEVEL] [--worker-id=N]\n",
                   argv[i], argv[0]);
      return false;
    }
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  Flags flags;
  if (!ParseFlags(argc, argv, &flags)) return 2;
  sb::log::Init("worker " + std::to_string(flags.worker_id), flags.log_level);
  // A write to a control process that died must fail with EPIPE, not kill us.
  signal(SIGPIPE, SIG_IGN);

  uv_loop_t loop;
  if (int rc = uv_loop_init(&loop); rc < 0) {
    SB_LOG_ERROR("worker", "uv_loop_init: {}", uv_strerror(rc));
    return 1;
  }
  auto worker = sb::worker::Worker::Create(&loop, kControlReadFd, kControlWriteFd);
  if (!worker.ok()) {
    SB_LOG_ERROR("worker", "cannot open the control channel: {}", worker.status().ToString());
    return 1;
  }
  // The request handler (router layer) is built here; see worker/default_handler.cc.
  (*worker)->SetRequestHandler(sb::worker::MakeRequestHandler(&loop, worker->get()));
  (*worker)->Start();
  SB_LOG_INFO("worker", "running, pid {}", uv_os_getpid());

  uv_run(&loop, UV_RUN_DEFAULT);

  const int exit_code = (*worker)->closed() ? (*worker)->exit_code() : 1;
  worker->reset();
  // Let close callbacks of the handles just closed run; anything still open dies with us.
  uv_run(&loop, UV_RUN_NOWAIT);
  uv_loop_close(&loop);
  SB_LOG_INFO("worker", "exiting with {}", exit_code);
  return exit_code;
}
