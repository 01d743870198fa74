#include "transport/usrsctp_runtime.h"

#include <usrsctp.h>

#include <cassert>
#include <memory>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "base/log.h"
#include "base/uv_timer.h"

namespace sb::transport {

namespace {

// Chunks one association may queue for sending before usrsctp refuses more (its default, 512,
// is fewer than a 1 MiB send buffer of 256 KiB messages needs: about 950 chunks of 1100 bytes).
// It also bounds what a flood of tiny messages costs: each queued chunk has a header and an
// mbuf of its own, whatever its payload.
constexpr uint32_t kMaxChunksOnQueue = 8192;
// Timer rounds run when the last association is gone so that usrsctp frees the sockets it
// still holds (a closed socket's endpoint is freed from a timer), then finishes.
constexpr int kFinishAttempts = 100;

struct Runtime {
  bool initialized = false;
  uv_loop_t* loop = nullptr;
  std::unique_ptr<UvTimer> timer;
  uint64_t last_tick_ms = 0;
  uintptr_t next_address = 1;
  absl::flat_hash_map<uintptr_t, UsrsctpRuntime::Connection*> connections;
  std::vector<uintptr_t> pending;
};

Runtime& runtime() {
  static Runtime* r = new Runtime();  // never destroyed: usrsctp may call back at exit
  return *r;
}

// usrsctp's AF_CONN output: addr is the sconn_addr the association bound to.
int OnOutput(void* addr, void* buffer, size_t length, uint8_t /*tos*/, uint8_t /*set_df*/) {
  Runtime& r = runtime();
  auto it = r.connections.find(reinterpret_cast<uintptr_t>(addr));
  if (it == r.connections.end()) return 0;  // the association is gone: drop
  it->second->OnUsrsctpOutput(static_cast<const uint8_t*>(buffer), length);
  return 0;
}

void OnTick() {
  Runtime& r = runtime();
  const uint64_t now = uv_now(r.loop);
  const auto elapsed = static_cast<uint32_t>(now - r.last_tick_ms);
  r.last_tick_ms = now;
  usrsctp_handle_timers(elapsed);
  if (r.pending.empty()) return;
  std::vector<uintptr_t> pending;
  pending.swap(r.pending);
  for (uintptr_t address : pending) {
    // A connection earlier in the list may have destroyed this one.
    auto it = r.connections.find(address);
    if (it != r.connections.end()) it->second->OnUsrsctpPending();
  }
}

void Initialize() {
  // Port 0: no UDP encapsulation; no threads: we drive the timers.
  usrsctp_init_nothreads(0, &OnOutput, nullptr);
  usrsctp_sysctl_set_sctp_max_chunks_on_queue(kMaxChunksOnQueue);
  // Partial reliability (RFC 3758) and stream reconfiguration (RFC 6525) are what WebRTC
  // data channels need (RFC 8831 6.2); usrsctp enables both by default, say so anyway.
  usrsctp_sysctl_set_sctp_pr_enable(1);
  usrsctp_sysctl_set_sctp_reconfig_enable(1);
  // ECN means nothing over DTLS/UDP without access to the IP header (libwebrtc turns it off).
  usrsctp_sysctl_set_sctp_ecn_enable(0);
  // One association per socket, never ASCONF or AUTH over DTLS (RFC 8261 does not use them).
  usrsctp_sysctl_set_sctp_asconf_enable(0);
  usrsctp_sysctl_set_sctp_auth_enable(0);
}

}  // namespace

uintptr_t UsrsctpRuntime::Register(uv_loop_t* loop, Connection* connection) {
  Runtime& r = runtime();
  if (!r.initialized) {
    Initialize();
    r.initialized = true;
  }
  if (r.connections.empty()) {
    r.loop = loop;
    r.last_tick_ms = uv_now(loop);
    r.timer = std::make_unique<UvTimer>(loop, &OnTick);
    r.timer->Start(kUsrsctpTimerTickMs, kUsrsctpTimerTickMs);
  }
  assert(loop == r.loop && "every SCTP association must run on one loop");
  const uintptr_t address = r.next_address++;
  r.connections[address] = connection;
  usrsctp_register_address(reinterpret_cast<void*>(address));
  return address;
}

void UsrsctpRuntime::Unregister(uintptr_t address) {
  Runtime& r = runtime();
  if (r.connections.erase(address) == 0) return;
  usrsctp_deregister_address(reinterpret_cast<void*>(address));
  if (!r.connections.empty()) return;
  r.timer.reset();
  r.loop = nullptr;
  r.pending.clear();
  int attempts = 0;
  while (usrsctp_finish() != 0) {
    if (++attempts == kFinishAttempts) {
      SB_LOG_WARN("sctp", "usrsctp still holds sockets; it stays initialized");
      return;
    }
    usrsctp_handle_timers(static_cast<uint32_t>(kUsrsctpTimerTickMs * 10));
  }
  r.initialized = false;
}

void UsrsctpRuntime::MarkPending(uintptr_t address) { runtime().pending.push_back(address); }

size_t UsrsctpRuntime::connections() { return runtime().connections.size(); }

bool UsrsctpRuntime::initialized() { return runtime().initialized; }

}  // namespace sb::transport
