#include "base/uv_timer.h"

#include <memory>

namespace sb {

UvTimer::UvTimer(uv_loop_t* loop, std::function<void()> on_timeout)
    : on_timeout_(std::move(on_timeout)) {
  auto handle = std::make_unique<uv_timer_t>();
  uv_timer_init(loop, handle.get());
  handle->data = this;
  handle_ = handle.release();
}

UvTimer::~UvTimer() {
  handle_->data = nullptr;
  uv_close(reinterpret_cast<uv_handle_t*>(handle_), [](uv_handle_t* h) {
    std::unique_ptr<uv_timer_t> owned(reinterpret_cast<uv_timer_t*>(h));
  });
}

void UvTimer::Start(uint64_t timeout_ms, uint64_t repeat_ms) {
  uv_timer_start(handle_, &UvTimer::OnTimer, timeout_ms, repeat_ms);
}

void UvTimer::Stop() { uv_timer_stop(handle_); }

bool UvTimer::active() const {
  return uv_is_active(reinterpret_cast<const uv_handle_t*>(handle_)) != 0;
}

void UvTimer::OnTimer(uv_timer_t* handle) {
  auto* self = static_cast<UvTimer*>(handle->data);
  if (self != nullptr) self->on_timeout_();
}

}  // namespace sb
