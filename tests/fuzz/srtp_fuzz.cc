// SRTP/SRTCP (transport/srtp_session, transport/srtp_crypto) on any bytes. The first byte picks
// the profile and RTP or RTCP; the rest is a packet. Unprotect of the bytes as they came must
// not crash or read past them and (no key being known to the fuzzer) must not authenticate;
// protect of the bytes as a clear packet, when it succeeds, unprotects back to exactly them,
// and the same protected packet with one byte changed is refused.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "tests/fuzz/fuzz_check.h"
#include "transport/srtp_session.h"

using namespace sb::transport;

namespace {

std::unique_ptr<SrtpSession> Make(SrtpSession::Direction direction, SrtpProfile profile) {
  std::vector<uint8_t> key(SrtpKeyLength(profile) + SrtpSaltLength(profile));
  for (size_t i = 0; i < key.size(); ++i) key[i] = static_cast<uint8_t>(i * 29 + 3);
  auto session = SrtpSession::Create(direction, profile, key);
  SB_FUZZ_CHECK(session.ok());
  return *std::move(session);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const SrtpProfile profile = static_cast<SrtpProfile>(data[0] % 3);
  const bool rtcp = (data[0] & 0x10) != 0;
  const std::vector<uint8_t> clear(data + 1, data + size);
  auto in = Make(SrtpSession::Direction::kInbound, profile);
  auto out = Make(SrtpSession::Direction::kOutbound, profile);

  // Exactly the input's bytes, so that ASan sees any read past them.
  {
    std::vector<uint8_t> raw = clear;
    size_t len = raw.size();
    SrtpError error = SrtpError::kNone;
    const bool ok = rtcp ? in->UnprotectRtcp(raw.data(), &len, &error)
                         : in->UnprotectRtp(raw.data(), &len, &error);
    SB_FUZZ_CHECK(!ok && error != SrtpError::kNone);
  }

  std::vector<uint8_t> packet = clear;
  packet.resize(clear.size() + SrtpMaxOverhead() + 4);
  size_t len = clear.size();
  const bool protected_ok = rtcp ? out->ProtectRtcp(packet.data(), &len, packet.size())
                                 : out->ProtectRtp(packet.data(), &len, packet.size());
  if (!protected_ok) return 0;
  SB_FUZZ_CHECK(len > clear.size() && len <= clear.size() + SrtpMaxOverhead() + 4);
  packet.resize(len);

  std::vector<uint8_t> tampered = packet;
  tampered[clear.size() % tampered.size()] ^= 0x01;
  size_t tampered_len = tampered.size();
  SrtpError error = SrtpError::kNone;
  const bool tampered_ok = rtcp ? in->UnprotectRtcp(tampered.data(), &tampered_len, &error)
                                : in->UnprotectRtp(tampered.data(), &tampered_len, &error);
  SB_FUZZ_CHECK(!tampered_ok);

  size_t back = packet.size();
  const bool ok = rtcp ? in->UnprotectRtcp(packet.data(), &back, &error)
                       : in->UnprotectRtp(packet.data(), &back, &error);
  SB_FUZZ_CHECK(ok && error == SrtpError::kNone);
  SB_FUZZ_CHECK(back == clear.size());
  packet.resize(back);
  SB_FUZZ_CHECK(packet == clear);
  return 0;
}
