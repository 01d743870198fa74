#include "transport/ice_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "base/log.h"
#include "transport/stun_message.h"

namespace sb::transport {
namespace {

// Validated tuples kept per transport; peers offer a handful of candidates at most.
constexpr size_t kMaxTuples = 8;
// RFC 8445 section 5.3 asks for at least 24 bits of ufrag and 128 bits of password; 16 and 32
// ice-chars carry 96 and 192.
constexpr size_t kUfragLength = 16;
constexpr size_t kPwdLength = 32;

// RFC 8445 section 5.3: ice-chars are ALPHA / DIGIT / "+" / "/".
absl::StatusOr<std::string> RandomIceString(size_t length) {
  static constexpr char kChars[] =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/";
  std::vector<unsigned char> random(length);
  if (RAND_bytes(random.data(), static_cast<int>(length)) != 1) {
    return absl::InternalError("RAND_bytes failed");
  }
  std::string out(length, 'a');
  // 64 symbols: the low 6 bits of each byte are uniform.
  for (size_t i = 0; i < length; ++i) out[i] = kChars[random[i] & 0x3F];
  return out;
}

// At construction there is no caller to fail to: log, as before, and go on.
std::string RandomIceStringOrLog(size_t length) {
  auto s = RandomIceString(length);
  if (s.ok()) return *std::move(s);
  SB_LOG_ERROR("ice", "{}", std::string(s.status().message()));
  return std::string(length, 'a');
}

// RFC 8445 7.3 + RFC 8489 9.1.3: short-term credentials, "localUfrag:remoteUfrag". The remote
// part is not checked: the peer's ufrag is not known here, and it changes on an ICE restart.
bool UsernameNames(std::string_view username, const std::string& ufrag) {
  return !ufrag.empty() && username.size() > ufrag.size() &&
         username.substr(0, ufrag.size()) == ufrag && username[ufrag.size()] == ':';
}

size_t AddressSize(const sockaddr* address) {
  return address->sa_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
}

}  // namespace

bool SameAddress(const sockaddr* a, const sockaddr* b) {
  if (a->sa_family != b->sa_family) return false;
  if (a->sa_family == AF_INET) {
    const auto* x = reinterpret_cast<const sockaddr_in*>(a);
    const auto* y = reinterpret_cast<const sockaddr_in*>(b);
    return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
  }
  if (a->sa_family == AF_INET6) {
    const auto* x = reinterpret_cast<const sockaddr_in6*>(a);
    const auto* y = reinterpret_cast<const sockaddr_in6*>(b);
    return x->sin6_port == y->sin6_port &&
           std::memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(in6_addr)) == 0;
  }
  return false;
}

std::string AddressToString(const sockaddr* address) {
  char ip[INET6_ADDRSTRLEN] = {};
  if (address->sa_family == AF_INET) {
    const auto* sin = reinterpret_cast<const sockaddr_in*>(address);
    inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof(ip));
    return absl::StrCat(ip, ":", ntohs(sin->sin_port));
  }
  if (address->sa_family == AF_INET6) {
    const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(address);
    inet_ntop(AF_INET6, &sin6->sin6_addr, ip, sizeof(ip));
    return absl::StrCat("[", ip, "]:", ntohs(sin6->sin6_port));
  }
  return "?";
}

IceServer::IceServer(uv_loop_t* loop, Listener* listener, uint64_t consent_timeout_ms)
    : listener_(listener),
      consent_timer_(std::make_unique<UvTimer>(loop, [this] { OnConsentExpired(); })),
      consent_timeout_ms_(consent_timeout_ms),
      ufrag_(RandomIceStringOrLog(kUfragLength)),
      pwd_(RandomIceStringOrLog(kPwdLength)) {}

IceServer::~IceServer() { Close(); }

void IceServer::Close() {
  if (state_ == IceState::kClosed) return;
  consent_timer_->Stop();
  tuples_.clear();
  selected_ = -1;
  previous_ufrag_.clear();
  previous_pwd_.clear();
  state_ = IceState::kClosed;
  listener_ = nullptr;
}

absl::Status IceServer::RestartIce() {
  if (state_ == IceState::kClosed) return absl::FailedPreconditionError("ICE server closed");
  auto ufrag = RandomIceString(kUfragLength);
  if (!ufrag.ok()) return ufrag.status();
  auto pwd = RandomIceString(kPwdLength);
  if (!pwd.ok()) return pwd.status();
  // Credentials never used by a check are not what the peer sends today: keep the previous ones.
  if (credentials_in_use_) {
    previous_ufrag_ = std::move(ufrag_);
    previous_pwd_ = std::move(pwd_);
  }
  ufrag_ = *std::move(ufrag);
  pwd_ = *std::move(pwd);
  credentials_in_use_ = false;
  SB_LOG_INFO("ice", "ICE restart: new local credentials, previous ones accepted until used");
  return absl::OkStatus();
}

const std::string* IceServer::PasswordFor(std::string_view username, bool* current) const {
  *current = UsernameNames(username, ufrag_);
  if (*current) return &pwd_;
  if (UsernameNames(username, previous_ufrag_)) return &previous_pwd_;
  return nullptr;
}

void IceServer::ProcessStunPacket(const uint8_t* data, size_t len, const sockaddr* from) {
  if (state_ == IceState::kClosed) return;
  auto parsed = StunMessage::Parse({data, len});
  if (!parsed.ok()) {
    ++stats_.malformed;
    SB_LOG_DEBUG("ice", "malformed STUN from {}: {}", AddressToString(from),
                 std::string(parsed.status().message()));
    return;
  }
  const StunMessage& msg = *parsed;
  if (msg.method() != kStunMethodBinding || msg.message_class() != StunClass::kRequest) {
    ++stats_.ignored;  // Binding indications are keepalives; lite agents send no requests.
    return;
  }
  ++stats_.requests_received;

  // RFC 8489 section 6.3: a bad FINGERPRINT means this is not STUN: drop silently.
  if (msg.has_fingerprint() && !msg.CheckFingerprint()) {
    ++stats_.auth_failures;
    return;
  }
  // Unauthenticated requests are dropped without an answer (DESIGN: no reply without valid MI).
  bool current = false;
  const std::string* pwd = msg.username() ? PasswordFor(*msg.username(), &current) : nullptr;
  if (pwd == nullptr || !msg.has_message_integrity() ||
      !msg.CheckIntegrity(std::string_view(*pwd))) {
    ++stats_.auth_failures;
    SB_LOG_DEBUG("ice", "unauthenticated Binding request from {}", AddressToString(from));
    return;
  }
  // MESSAGE-INTEGRITY does not cover the source address: a check copied by someone on the path
  // and sent from elsewhere would authenticate, and its USE-CANDIDATE move media there.
  if (IsReplayFromElsewhere(msg.transaction_id(), from)) {
    ++stats_.replayed;
    SB_LOG_DEBUG("ice", "replayed Binding request from {} dropped", AddressToString(from));
    return;
  }
  // RFC 8445 section 9: the peer has the new credentials; the previous ones are done with.
  if (current && !credentials_in_use_) {
    credentials_in_use_ = true;
    if (!previous_ufrag_.empty()) {
      SB_LOG_INFO("ice", "ICE restart: peer uses the new credentials, previous ones dropped");
    }
    previous_ufrag_.clear();
    previous_pwd_.clear();
  }

  // We are lite, hence always controlled (RFC 8445 6.1.1); a controlled peer is in conflict.
  if (msg.ice_controlled() || !msg.ice_controlling()) {
    ++stats_.role_conflicts;
    auto response = msg.ice_controlled() ? BuildErrorResponse(msg, 487, "Role Conflict", *pwd)
                                         : BuildErrorResponse(msg, 400, "Bad Request", *pwd);
    listener_->OnIceSendStun(response.data(), response.size(), from);
    ++stats_.responses_sent;
    return;
  }

  // Signed with the password the request used: the peer checks it with the same one.
  auto response = BuildBindingSuccessResponse(msg, from, *pwd);
  listener_->OnIceSendStun(response.data(), response.size(), from);
  ++stats_.responses_sent;
  if (listener_ != nullptr) OnValidRequest(from, msg.use_candidate());
}

bool IceServer::IsReplayFromElsewhere(absl::Span<const uint8_t> transaction_id,
                                      const sockaddr* from) {
  if (transaction_id.size() != kStunTransactionIdSize) return false;
  for (const Transaction& t : recent_) {
    if (!t.used || std::memcmp(t.id.data(), transaction_id.data(), t.id.size()) != 0) continue;
    // The same id from the same address is a retransmission (RFC 8489 6.2.1): answer it again.
    return !SameAddress(reinterpret_cast<const sockaddr*>(&t.from), from);
  }
  Transaction& slot = recent_[recent_next_];
  recent_next_ = (recent_next_ + 1) % recent_.size();
  slot.used = true;
  std::memcpy(slot.id.data(), transaction_id.data(), slot.id.size());
  slot.from = {};
  std::memcpy(&slot.from, from, std::min(AddressSize(from), sizeof(slot.from)));
  return false;
}

void IceServer::OnValidRequest(const sockaddr* from, bool nominated) {
  consent_timer_->Start(consent_timeout_ms_);

  int index = -1;
  for (size_t i = 0; i < tuples_.size(); ++i) {
    if (SameAddress(reinterpret_cast<const sockaddr*>(&tuples_[i]), from)) {
      index = static_cast<int>(i);
      break;
    }
  }
  if (index < 0) {
    if (tuples_.size() == kMaxTuples) {
      // Evict the oldest tuple that is not the selected one.
      const size_t victim = selected_ == 0 ? 1 : 0;
      const sockaddr_storage evicted = tuples_[victim];
      tuples_.erase(tuples_.begin() + static_cast<long>(victim));
      if (selected_ > static_cast<int>(victim)) --selected_;
      if (listener_ != nullptr) {
        listener_->OnIceTupleRemoved(reinterpret_cast<const sockaddr*>(&evicted));
      }
    }
    sockaddr_storage ss{};
    std::memcpy(&ss, from, AddressSize(from));
    tuples_.push_back(ss);
    index = static_cast<int>(tuples_.size()) - 1;
    SB_LOG_DEBUG("ice", "validated tuple {}", AddressToString(from));
    if (listener_ != nullptr) listener_->OnIceTupleAdded(from);
  }

  // Before nomination follow the latest valid check; after it, stick to the nominated tuple
  // unless a later check nominates another one.
  const bool select = nominated || !nominated_ || selected_ < 0;
  const bool changed = select && selected_ != index;
  if (select) selected_ = index;
  if (nominated) nominated_ = true;

  const IceState target = nominated_ ? IceState::kCompleted : IceState::kConnected;
  if (state_ != target) SetState(target);
  if (changed && listener_ != nullptr) {
    SB_LOG_INFO("ice", "selected tuple {}", AddressToString(from));
    listener_->OnIceSelectedTuple(from);
  }
}

void IceServer::OnConsentExpired() {
  if (state_ == IceState::kClosed || state_ == IceState::kNew) return;
  SB_LOG_INFO("ice", "consent expired: no valid check for {} ms", consent_timeout_ms_);
  const std::vector<sockaddr_storage> gone = std::move(tuples_);
  tuples_.clear();
  if (listener_ != nullptr) {
    for (const auto& tuple : gone) {
      listener_->OnIceTupleRemoved(reinterpret_cast<const sockaddr*>(&tuple));
    }
  }
  selected_ = -1;
  nominated_ = false;
  SetState(IceState::kDisconnected);
  if (listener_ != nullptr) listener_->OnIceSelectedTuple(nullptr);
}

void IceServer::SetState(IceState state) {
  state_ = state;
  if (listener_ != nullptr) listener_->OnIceStateChange(state);
}

void IceServer::RemoveTuple(const sockaddr* address) {
  if (state_ == IceState::kClosed) return;
  int index = -1;
  for (size_t i = 0; i < tuples_.size(); ++i) {
    if (SameAddress(reinterpret_cast<const sockaddr*>(&tuples_[i]), address)) {
      index = static_cast<int>(i);
      break;
    }
  }
  if (index < 0) return;
  tuples_.erase(tuples_.begin() + index);
  if (listener_ != nullptr) listener_->OnIceTupleRemoved(address);
  if (selected_ != index) {
    if (selected_ > index) --selected_;
    return;
  }
  nominated_ = false;
  if (tuples_.empty()) {
    selected_ = -1;
    SB_LOG_INFO("ice", "selected tuple {} gone, none left", AddressToString(address));
    SetState(IceState::kDisconnected);
    if (listener_ != nullptr) listener_->OnIceSelectedTuple(nullptr);
    return;
  }
  selected_ = static_cast<int>(tuples_.size()) - 1;
  const sockaddr* next = reinterpret_cast<const sockaddr*>(&tuples_.back());
  SB_LOG_INFO("ice", "selected tuple {} gone, now {}", AddressToString(address),
              AddressToString(next));
  if (state_ != IceState::kConnected) SetState(IceState::kConnected);
  if (listener_ != nullptr) listener_->OnIceSelectedTuple(next);
}

bool IceServer::IsValidTuple(const sockaddr* address) const {
  for (const auto& tuple : tuples_) {
    if (SameAddress(reinterpret_cast<const sockaddr*>(&tuple), address)) return true;
  }
  return false;
}

const sockaddr* IceServer::selected_tuple() const {
  if (selected_ < 0) return nullptr;
  return reinterpret_cast<const sockaddr*>(&tuples_[static_cast<size_t>(selected_)]);
}

}  // namespace sb::transport
