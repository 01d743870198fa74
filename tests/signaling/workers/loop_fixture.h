// A libuv loop for tests that drive real worker processes.
#pragma once

#include <gtest/gtest.h>
#include <uv.h>

#include <chrono>
#include <csignal>
#include <functional>

namespace sb::signaling::testing {

class LoopTest : public ::testing::Test {
 protected:
  LoopTest() {
    // As switchboard's main does (signaling/main.cc): a write to the pipe of a worker that was
    // just killed must fail with EPIPE, not kill the test process (a SIGPIPE flake seen in CI).
    std::signal(SIGPIPE, SIG_IGN);
    uv_loop_init(&loop_);
    // Wakes the loop regularly so RunUntil can check its condition and deadline.
    uv_timer_init(&loop_, &tick_);
    uv_timer_start(
        &tick_, [](uv_timer_t*) {}, 10, 10);
    uv_unref(reinterpret_cast<uv_handle_t*>(&tick_));
  }
  ~LoopTest() override {
    uv_close(reinterpret_cast<uv_handle_t*>(&tick_), nullptr);
    // Let the children exit and the handles close.
    RunFor(std::chrono::milliseconds(50));
    uv_run(&loop_, UV_RUN_NOWAIT);
    uv_loop_close(&loop_);
  }

  // Runs the loop until `done()` or `timeout`; returns done().
  bool RunUntil(const std::function<bool()>& done,
                std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    const uint64_t deadline = uv_now(&loop_) + static_cast<uint64_t>(timeout.count());
    uv_ref(reinterpret_cast<uv_handle_t*>(&tick_));
    while (!done() && uv_now(&loop_) < deadline) uv_run(&loop_, UV_RUN_ONCE);
    uv_unref(reinterpret_cast<uv_handle_t*>(&tick_));
    return done();
  }
  void RunFor(std::chrono::milliseconds duration) {
    RunUntil([] { return false; }, duration);
  }

  uv_loop_t loop_;
  uv_timer_t tick_;
};

}  // namespace sb::signaling::testing
