// The process-wide part of usrsctp: one initialization shared by every association of the
// process (usrsctp_init_nothreads: usrsctp starts no threads of its own), its timers driven by
// a libuv timer on the worker's loop, and the table that maps usrsctp's AF_CONN addresses back
// to the associations, so a packet usrsctp emits for an association that is gone is dropped.
// Single-threaded: every call comes from the one loop thread.
#pragma once

#include <uv.h>

#include <cstddef>
#include <cstdint>

namespace sb::transport {

// usrsctp's own timer thread ticks every 10 ms (SCTP_TIMER_TICK in user_recv_thread.c); ours
// does the same, so retransmission and SACK timers keep usrsctp's resolution.
inline constexpr uint64_t kUsrsctpTimerTickMs = 10;

class UsrsctpRuntime {
 public:
  // What an association gives the runtime.
  class Connection {
   public:
    virtual ~Connection() = default;
    // A packet usrsctp built for this connection's peer (the AF_CONN output callback).
    virtual void OnUsrsctpOutput(const uint8_t* data, size_t len) = 0;
    // usrsctp signalled the connection's socket (MarkPending) while its timers ran: read it.
    virtual void OnUsrsctpPending() = 0;
  };

  // Registers a connection and returns its AF_CONN address (never 0). The first registration
  // initializes usrsctp and starts the timer on `loop`; every connection must use that loop.
  static uintptr_t Register(uv_loop_t* loop, Connection* connection);
  // After this nothing reaches the connection. The last one stops the timer and, once usrsctp
  // has freed its sockets, finishes usrsctp (a later Register initializes it again).
  static void Unregister(uintptr_t address);
  // A connection whose socket was signalled outside a call of its own (from a timer): the
  // runtime calls OnUsrsctpPending after the timers have run.
  static void MarkPending(uintptr_t address);
  // Connections registered now, and whether usrsctp is initialized (tests).
  static size_t connections();
  static bool initialized();
};

}  // namespace sb::transport
