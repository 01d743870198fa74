// A libuv timer owned through a unique_ptr: the uv_timer_t lives on the heap and is freed by
// its close callback, so the owner may be destroyed at any time (even inside the callback).
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>

namespace sb {

class UvTimer {
 public:
  UvTimer(uv_loop_t* loop, std::function<void()> on_timeout);
  ~UvTimer();
  UvTimer(const UvTimer&) = delete;
  UvTimer& operator=(const UvTimer&) = delete;

  // Fires once after timeout_ms, then every repeat_ms if non-zero. Restarts if running.
  void Start(uint64_t timeout_ms, uint64_t repeat_ms = 0);
  void Stop();
  bool active() const;

 private:
  static void OnTimer(uv_timer_t* handle);

  uv_timer_t* handle_ = nullptr;  // Freed by the close callback.
  std::function<void()> on_timeout_;
};

}  // namespace sb
