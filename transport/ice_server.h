// ICE-lite agent (RFC 8445 sections 2.5 and 7.3): answers connectivity checks, tracks the
// validated and nominated tuples, and keeps consent freshness (RFC 7675).
#pragma once

#include <sys/socket.h>
#include <uv.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "transport/transport_types.h"
#include "transport/uv_timer.h"

namespace sb::transport {

// RFC 7675 section 5.1: consent expires 30 s after the last authenticated check.
inline constexpr uint64_t kConsentTimeoutMs = 30000;

class IceServer {
 public:
  class Listener {
   public:
    virtual ~Listener() = default;
    virtual void OnIceSendStun(const uint8_t* data, size_t len, const sockaddr* to) = 0;
    virtual void OnIceStateChange(IceState state) = 0;
    // nullptr when the selected tuple is cleared (consent lost).
    virtual void OnIceSelectedTuple(const sockaddr* tuple) = 0;
  };

  struct Stats {
    uint64_t requests_received = 0;
    uint64_t responses_sent = 0;
    uint64_t malformed = 0;
    uint64_t auth_failures = 0;  // Bad USERNAME, MESSAGE-INTEGRITY or FINGERPRINT: dropped.
    uint64_t role_conflicts = 0;
    uint64_t ignored = 0;  // Indications, responses, non-Binding methods.
  };

  IceServer(uv_loop_t* loop, Listener* listener, uint64_t consent_timeout_ms = kConsentTimeoutMs);
  ~IceServer();
  IceServer(const IceServer&) = delete;
  IceServer& operator=(const IceServer&) = delete;

  // Local credentials, random from a CSPRNG: 16 and 32 characters of the ice-char set.
  const std::string& ufrag() const { return ufrag_; }
  const std::string& pwd() const { return pwd_; }

  void ProcessStunPacket(const uint8_t* data, size_t len, const sockaddr* from);
  // True if a valid check came from this address (non-STUN packets are accepted only then).
  bool IsValidTuple(const sockaddr* address) const;
  // Where to send: the nominated tuple, else the most recently validated one; nullptr if none.
  const sockaddr* selected_tuple() const;
  IceState state() const { return state_; }
  const Stats& stats() const { return stats_; }
  // State becomes kClosed; no listener calls after it.
  void Close();

 private:
  void OnValidRequest(const sockaddr* from, bool nominated);
  void OnConsentExpired();
  void SetState(IceState state);

  // Passed by argument.
  Listener* listener_;
  // Allocated by this.
  std::unique_ptr<UvTimer> consent_timer_;
  uint64_t consent_timeout_ms_;
  std::string ufrag_;
  std::string pwd_;
  IceState state_ = IceState::kNew;
  std::vector<sockaddr_storage> tuples_;  // Validated, oldest first.
  int selected_ = -1;                     // Index into tuples_.
  bool nominated_ = false;
  Stats stats_;
};

// Compares family, address and port.
bool SameAddress(const sockaddr* a, const sockaddr* b);
std::string AddressToString(const sockaddr* address);

}  // namespace sb::transport
