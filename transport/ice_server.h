// ICE-lite agent (RFC 8445 sections 2.5 and 7.3): answers connectivity checks, tracks the
// validated and nominated tuples, and keeps consent freshness (RFC 7675).
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>
#include <uv.h>

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "base/uv_timer.h"
#include "transport/transport_types.h"

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
    // A tuple became valid (an authenticated check came from it), or stopped being valid
    // (evicted, removed, consent lost). Not called by Close().
    virtual void OnIceTupleAdded(const sockaddr* /*tuple*/) {}
    virtual void OnIceTupleRemoved(const sockaddr* /*tuple*/) {}
  };

  struct Stats {
    uint64_t requests_received = 0;
    uint64_t responses_sent = 0;
    uint64_t malformed = 0;
    uint64_t auth_failures = 0;  // Bad USERNAME, MESSAGE-INTEGRITY or FINGERPRINT: dropped.
    uint64_t role_conflicts = 0;
    uint64_t ignored = 0;  // Indications, responses, non-Binding methods.
    // An authenticated request whose transaction id was answered for another address: a copy
    // of a peer's check replayed from elsewhere to steer media there. Dropped.
    uint64_t replayed = 0;
  };

  // Authenticated transaction ids remembered to detect replays from another address: a few
  // minutes of consent checks (RFC 7675: one every 5 s or so per candidate pair).
  static constexpr size_t kRecentTransactions = 32;

  IceServer(uv_loop_t* loop, Listener* listener, uint64_t consent_timeout_ms = kConsentTimeoutMs);
  ~IceServer();
  IceServer(const IceServer&) = delete;
  IceServer& operator=(const IceServer&) = delete;

  // Local credentials, random from a CSPRNG: 16 and 32 characters of the ice-char set.
  const std::string& ufrag() const { return ufrag_; }
  const std::string& pwd() const { return pwd_; }
  // The ufrag in use before the last restart while it is still accepted; empty otherwise.
  const std::string& previous_ufrag() const { return previous_ufrag_; }

  // ICE restart (RFC 8445 section 9): fresh local credentials from the same generator. Checks
  // with the credentials in use before are still answered (with their password) until the first
  // check authenticated with the new ones arrives, so media goes on while the peer applies the
  // new answer; then they are dropped. Tuples, nomination and consent are kept: the peer may
  // nominate a new tuple with USE-CANDIDATE. The remote ufrag in USERNAME is not checked, so the
  // peer's new one is accepted. Restarting again before the new credentials were used replaces
  // them and keeps the ones in use.
  absl::Status RestartIce();

  void ProcessStunPacket(const uint8_t* data, size_t len, const sockaddr* from);
  // True if a valid check came from this address (non-STUN packets are accepted only then).
  bool IsValidTuple(const sockaddr* address) const;
  // Forgets a validated tuple whose path is gone (an ICE-TCP connection closed). If it was the
  // selected one, the most recently validated other tuple is selected (nomination is reset);
  // with none left the state becomes kDisconnected and the selected tuple is cleared.
  void RemoveTuple(const sockaddr* address);
  // Where to send: the nominated tuple, else the most recently validated one; nullptr if none.
  const sockaddr* selected_tuple() const;
  IceState state() const { return state_; }
  const Stats& stats() const { return stats_; }
  // State becomes kClosed; no listener calls after it.
  void Close();

 private:
  // The password for a USERNAME naming ufrag_ (or the previous ufrag while it is accepted);
  // nullptr if it names neither. Sets *current when it is ufrag_.
  const std::string* PasswordFor(std::string_view username, bool* current) const;
  void OnValidRequest(const sockaddr* from, bool nominated);
  // True if `transaction_id` was authenticated before from an address other than `from`;
  // otherwise remembers it for `from`.
  bool IsReplayFromElsewhere(absl::Span<const uint8_t> transaction_id, const sockaddr* from);
  void OnConsentExpired();
  void SetState(IceState state);

  // Passed by argument.
  Listener* listener_;
  // Allocated by this.
  std::unique_ptr<UvTimer> consent_timer_;
  uint64_t consent_timeout_ms_;
  std::string ufrag_;
  std::string pwd_;
  // The credentials in use before the last restart, accepted until a check uses ufrag_/pwd_;
  // empty when none.
  std::string previous_ufrag_;
  std::string previous_pwd_;
  // A check was authenticated with ufrag_/pwd_ (true for the ones handed out at creation).
  bool credentials_in_use_ = true;
  IceState state_ = IceState::kNew;
  std::vector<sockaddr_storage> tuples_;  // Validated, oldest first.
  int selected_ = -1;                     // Index into tuples_.
  bool nominated_ = false;
  struct Transaction {
    bool used = false;
    std::array<uint8_t, 12> id{};
    sockaddr_in6 from{};  // holds a sockaddr_in too
  };
  std::array<Transaction, kRecentTransactions> recent_{};
  size_t recent_next_ = 0;
  Stats stats_;
};

// Compares family, address and port.
bool SameAddress(const sockaddr* a, const sockaddr* b);
std::string AddressToString(const sockaddr* address);

}  // namespace sb::transport
