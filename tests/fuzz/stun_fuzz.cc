// STUN: StunMessage::Parse, the integrity and fingerprint checks, and the responses ICE-lite
// builds from a parsed request (which must parse back with valid integrity and fingerprint).
// A rebuilt copy of the parsed attributes must parse back to the same values.
#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

#include "tests/fuzz/fuzz_check.h"
#include "transport/stun_message.h"

namespace {

using namespace sb::transport;

constexpr std::string_view kPassword = "fuzz-ice-password-0123";

bool SameId(absl::Span<const uint8_t> a, absl::Span<const uint8_t> b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size()) == 0;
}

void CheckResponses(const StunMessage& request) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(40001);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

  std::vector<uint8_t> ok =
      BuildBindingSuccessResponse(request, reinterpret_cast<const sockaddr*>(&addr), kPassword);
  auto r = StunMessage::Parse(ok);
  SB_FUZZ_CHECK(r.ok());
  SB_FUZZ_CHECK(r->message_class() == StunClass::kSuccessResponse);
  SB_FUZZ_CHECK(r->method() == request.method());
  SB_FUZZ_CHECK(SameId(r->transaction_id(), request.transaction_id()));
  SB_FUZZ_CHECK(r->CheckIntegrity(kPassword) && r->CheckFingerprint());
  SB_FUZZ_CHECK(!r->CheckIntegrity(std::string_view("another-password")));
  SB_FUZZ_CHECK(r->xor_mapped_address().has_value());
  const auto* mapped = reinterpret_cast<const sockaddr_in*>(&*r->xor_mapped_address());
  SB_FUZZ_CHECK(mapped->sin_family == AF_INET && mapped->sin_port == addr.sin_port &&
                mapped->sin_addr.s_addr == addr.sin_addr.s_addr);

  for (std::string_view password : {kPassword, std::string_view()}) {
    std::vector<uint8_t> err = BuildErrorResponse(request, 487, "Role Conflict", password);
    auto e = StunMessage::Parse(err);
    SB_FUZZ_CHECK(e.ok());
    SB_FUZZ_CHECK(e->message_class() == StunClass::kErrorResponse);
    SB_FUZZ_CHECK(e->error_code() == 487 && e->error_reason() == "Role Conflict");
    SB_FUZZ_CHECK(e->CheckFingerprint());
    SB_FUZZ_CHECK(e->has_message_integrity() == !password.empty());
    if (!password.empty()) SB_FUZZ_CHECK(e->CheckIntegrity(password));
  }
}

void CheckRebuild(const StunMessage& m) {
  StunMessageBuilder b(m.method(), m.message_class(), m.transaction_id());
  if (m.username()) b.AddUsername(*m.username());
  if (m.software()) b.AddSoftware(*m.software());
  if (m.priority()) b.AddPriority(*m.priority());
  if (m.use_candidate()) b.AddUseCandidate();
  if (m.ice_controlling()) b.AddIceControlling(*m.ice_controlling());
  if (m.ice_controlled()) b.AddIceControlled(*m.ice_controlled());
  b.AddMessageIntegrity(kPassword).AddFingerprint();
  auto r = StunMessage::Parse(b.bytes());
  SB_FUZZ_CHECK(r.ok());
  SB_FUZZ_CHECK(r->method() == m.method() && r->message_class() == m.message_class());
  SB_FUZZ_CHECK(r->username() == m.username() && r->software() == m.software());
  SB_FUZZ_CHECK(r->priority() == m.priority() && r->use_candidate() == m.use_candidate());
  SB_FUZZ_CHECK(r->ice_controlling() == m.ice_controlling());
  SB_FUZZ_CHECK(r->ice_controlled() == m.ice_controlled());
  SB_FUZZ_CHECK(r->CheckIntegrity(kPassword) && r->CheckFingerprint());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<uint8_t> buf(data, data + size);
  const bool looks_like_stun = IsStunMessage(buf.data(), buf.size());
  auto m = StunMessage::Parse(buf);
  if (!m.ok()) return 0;
  // IsStunMessage is the RFC 7983 demultiplexer (first byte 0..3); Parse takes any method.
  if (buf[0] <= 3) SB_FUZZ_CHECK(looks_like_stun);
  SB_FUZZ_CHECK(m->bytes().size() == size);
  // The checks run over attacker-controlled offsets: ASan watches them.
  (void)m->CheckIntegrity(kPassword);
  (void)m->CheckIntegrity(std::string_view());
  (void)m->CheckIntegritySha256(kPassword);
  (void)m->CheckFingerprint();
  if (!m->has_message_integrity()) SB_FUZZ_CHECK(!m->CheckIntegrity(kPassword));
  if (!m->has_fingerprint()) SB_FUZZ_CHECK(!m->CheckFingerprint());
  if (m->username()) SB_FUZZ_CHECK(m->username()->size() <= 512);
  CheckResponses(*m);
  CheckRebuild(*m);
  return 0;
}
