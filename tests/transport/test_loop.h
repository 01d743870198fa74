// A libuv loop for tests: runs until a condition holds or a deadline passes.
#pragma once

#include <gtest/gtest.h>
#include <uv.h>

#include <functional>

namespace sb::transport::testing {

class TestLoop {
 public:
  TestLoop() { uv_loop_init(&loop_); }
  ~TestLoop() {
    // Let close callbacks of everything the test destroyed run, then check nothing leaked.
    uv_run(&loop_, UV_RUN_DEFAULT);
    EXPECT_EQ(uv_loop_close(&loop_), 0) << "handles left open on the loop";
  }
  uv_loop_t* get() { return &loop_; }

  // Runs the loop until done() is true (returns true) or timeout_ms elapse (returns false).
  // pump() runs every millisecond, e.g. to carry packets between in-memory peers.
  bool RunUntil(const std::function<bool()>& done, uint64_t timeout_ms = 10000,
                std::function<void()> pump = nullptr) {
    struct State {
      std::function<void()> pump;
      uint64_t deadline;
      bool timed_out = false;
    } state{std::move(pump), uv_now(&loop_) + timeout_ms};
    uv_timer_t ticker;
    uv_timer_init(&loop_, &ticker);
    ticker.data = &state;
    uv_timer_start(
        &ticker,
        [](uv_timer_t* t) {
          auto* s = static_cast<State*>(t->data);
          if (s->pump) s->pump();
          if (uv_now(t->loop) >= s->deadline) s->timed_out = true;
        },
        1, 1);
    while (!done() && !state.timed_out) uv_run(&loop_, UV_RUN_ONCE);
    uv_close(reinterpret_cast<uv_handle_t*>(&ticker), nullptr);
    uv_run(&loop_, UV_RUN_NOWAIT);
    return done();
  }

 private:
  uv_loop_t loop_;
};

}  // namespace sb::transport::testing
