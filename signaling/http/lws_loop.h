// A libwebsockets (Debian's 4.1.6) context on a libuv loop the caller owns (a "foreign" loop),
// for the server (http_server.cc) and the load generator's client (bench/load/ws_client.cc).
//
// With a foreign loop, lws_context_destroy() closes every connection and starts closing the
// context's libuv handles, but frees the context only when called a second time after those
// handles are closed (lib/event-libs/libuv/libuv.c frees it by itself only on its own loop).
// DestroyLwsContextOnLoop() does both calls, so the loop runs to idle and LSan stays quiet.
#pragma once

#include <uv.h>

#include <functional>

struct lws_context;
struct lws_context_creation_info;

namespace sb::signaling::http {

// Creates the context on `loop`: adds the libuv and foreign-loop settings (one service thread)
// to what `info` asks for, and routes libwebsockets' log lines to ours. Null on failure
// (libwebsockets' log says why).
struct lws_context* CreateLwsContextOnLoop(uv_loop_t* loop, lws_context_creation_info* info);

// When to make the first lws_context_destroy(), which closes every connection (the protocol
// callbacks hear them close from inside it).
enum class DestroyStart {
  kNow,       // inside DestroyLwsContextOnLoop()
  kNextTurn,  // on the next loop turn: for a caller inside one of the context's callbacks
};
// Destroys `context`, and frees it once libwebsockets' libuv handles are closed, on later loop
// turns; runs `done` after that (may be empty).
void DestroyLwsContextOnLoop(uv_loop_t* loop, struct lws_context* context,
                             std::function<void()> done = nullptr,
                             DestroyStart start = DestroyStart::kNow);

// While true, libwebsockets' errors are logged as warnings (a certificate it cannot load, a
// port in use); otherwise all its lines are debug lines (peers can make it log at will).
void SetLwsErrorsAreOurs(bool ours);

}  // namespace sb::signaling::http
