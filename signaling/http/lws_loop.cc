#include "signaling/http/lws_loop.h"

#include <libwebsockets.h>

#include <string_view>
#include <utility>

#include "base/log.h"

namespace sb::signaling::http {

namespace {

// While a destroyed context finishes closing, how often we look whether it is done.
constexpr uint64_t kFinishPollMs = 2;

bool g_lws_errors_are_ours = false;

void LwsLog(int level, const char* line) {
  std::string_view text(line);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
  if (text.empty()) return;
  if (g_lws_errors_are_ours && (level & LLL_ERR)) {
    SB_LOG_WARN("lws", "{}", text);
  } else {
    SB_LOG_DEBUG("lws", "{}", text);
  }
}

// Polls the loop until none of the context's libuv handles is left (its idle and timer handles
// carry the context as their data), then makes the second destroy. Frees itself.
struct ContextFinisher {
  uv_timer_t timer{};
  struct lws_context* context = nullptr;
  std::function<void()> done;
  bool destroyed_once = false;

  void Poll() {
    if (!destroyed_once) {
      destroyed_once = true;
      lws_context_destroy(context);
      return;
    }
    struct Search {
      void* context;
      bool found = false;
    } search{context};
    uv_walk(
        timer.loop,
        [](uv_handle_t* handle, void* arg) {
          auto* s = static_cast<Search*>(arg);
          if (handle->data == s->context) s->found = true;
        },
        &search);
    if (search.found) return;  // the repeating timer looks again
    uv_timer_stop(&timer);
    lws_context_destroy(context);  // the second call frees it
    context = nullptr;
    if (done) std::exchange(done, nullptr)();
    uv_close(reinterpret_cast<uv_handle_t*>(&timer),
             [](uv_handle_t* handle) { delete static_cast<ContextFinisher*>(handle->data); });
  }
};

}  // namespace

void SetLwsErrorsAreOurs(bool ours) { g_lws_errors_are_ours = ours; }

struct lws_context* CreateLwsContextOnLoop(uv_loop_t* loop, lws_context_creation_info* info) {
  lws_set_log_level(LLL_ERR | LLL_WARN | LLL_NOTICE, LwsLog);
  void* foreign_loops[1] = {loop};
  info->options |= LWS_SERVER_OPTION_LIBUV;
  info->foreign_loops = foreign_loops;
  info->count_threads = 1;
  struct lws_context* context = lws_create_context(info);
  info->foreign_loops = nullptr;
  return context;
}

void DestroyLwsContextOnLoop(uv_loop_t* loop, struct lws_context* context,
                             std::function<void()> done, DestroyStart start) {
  auto* finisher = new ContextFinisher;
  if (start == DestroyStart::kNow) {
    lws_context_destroy(context);
    finisher->destroyed_once = true;
  }
  finisher->context = context;
  finisher->done = std::move(done);
  uv_timer_init(loop, &finisher->timer);
  finisher->timer.data = finisher;
  uv_timer_start(
      &finisher->timer, [](uv_timer_t* t) { static_cast<ContextFinisher*>(t->data)->Poll(); }, 0,
      kFinishPollMs);
}

}  // namespace sb::signaling::http
