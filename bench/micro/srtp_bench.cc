// SRTP protect (RFC 3711, RFC 7714) of a 1200-byte RTP packet, per profile: the per-packet
// crypto cost of every packet sent to a subscriber. Ours (transport/srtp_session, OpenSSL) and
// Debian's libsrtp2 (NSS underneath), which switchboard used before, side by side in one run;
// with one session, and round-robin over 1,000 sessions as a worker with 1,000 subscribers
// protects (NSS's cost per packet grew with the number of keys the process held).
#include <benchmark/benchmark.h>
#include <srtp2/srtp.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "bench/micro/test_packets.h"
#include "transport/srtp_session.h"

namespace sb::bench {
namespace {

constexpr size_t kPacketSize = 1200;

std::vector<uint8_t> KeySalt(transport::SrtpProfile profile, size_t session) {
  std::vector<uint8_t> key_salt(transport::SrtpKeyLength(profile) +
                                transport::SrtpSaltLength(profile));
  for (size_t i = 0; i < key_salt.size(); ++i) {
    key_salt[i] = static_cast<uint8_t>(i * 7 + 1 + session * 13);
  }
  return key_salt;
}

// One libsrtp2 outbound session with the policy switchboard had.
struct LibSrtpSession {
  LibSrtpSession(transport::SrtpProfile profile, std::vector<uint8_t> key) : key_salt(key) {
    static const srtp_err_status_t init = srtp_init();
    (void)init;
    srtp_policy_t policy{};
    switch (profile) {
      case transport::SrtpProfile::kAes128CmSha1_80:
        srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtp);
        srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtcp);
        break;
      case transport::SrtpProfile::kAeadAes128Gcm:
        srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtp);
        srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtcp);
        break;
      case transport::SrtpProfile::kAeadAes256Gcm:
        srtp_crypto_policy_set_aes_gcm_256_16_auth(&policy.rtp);
        srtp_crypto_policy_set_aes_gcm_256_16_auth(&policy.rtcp);
        break;
    }
    policy.ssrc.type = ssrc_any_outbound;
    policy.key = key_salt.data();
    policy.window_size = 1024;
    policy.allow_repeat_tx = 1;
    ok = srtp_create(&session, &policy) == srtp_err_status_ok;
  }
  ~LibSrtpSession() {
    if (ok) srtp_dealloc(session);
  }
  bool Protect(uint8_t* data, size_t* len, size_t /*capacity*/) {
    int n = static_cast<int>(*len);
    const bool done = srtp_protect(session, data, &n) == srtp_err_status_ok;
    *len = static_cast<size_t>(n);
    return done;
  }
  std::vector<uint8_t> key_salt;
  srtp_t session = nullptr;
  bool ok = false;
};

// state.range(0): profile; range(1): sessions, protected round-robin.
template <typename Session, typename MakeSession>
void Protect(benchmark::State& state, MakeSession make) {
  const auto profile = static_cast<transport::SrtpProfile>(state.range(0));
  const size_t count = static_cast<size_t>(state.range(1));
  state.SetLabel(std::string(transport::SrtpProfileName(profile)));
  std::vector<std::unique_ptr<Session>> sessions;
  for (size_t i = 0; i < count; ++i) {
    auto session = make(profile, KeySalt(profile, i));
    if (!session) {
      state.SkipWithError("session not created");
      return;
    }
    sessions.push_back(std::move(session));
  }
  // Header + extensions as Chromium sends them, payload to make 1200 bytes.
  std::vector<uint8_t> packet = ChromiumRtpPacket(1, 0);
  packet.resize(kPacketSize, 0x5A);
  std::vector<uint8_t> buf = packet;
  buf.resize(kPacketSize + 256);
  uint16_t seq = 1;
  size_t next = 0;
  for (auto _ : state) {
    // In place: the header is not encrypted, so only the sequence number and length change.
    if (next == 0) ++seq;
    buf[2] = static_cast<uint8_t>(seq >> 8);
    buf[3] = static_cast<uint8_t>(seq);
    size_t len = kPacketSize;
    bool ok = sessions[next]->Protect(buf.data(), &len, buf.size());
    next = next + 1 == count ? 0 : next + 1;
    benchmark::DoNotOptimize(ok);
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(kPacketSize));
}

struct OurSession {
  std::unique_ptr<transport::SrtpSession> session;
  bool Protect(uint8_t* data, size_t* len, size_t capacity) {
    return session->ProtectRtp(data, len, capacity);
  }
};

void BM_SrtpProtect(benchmark::State& state) {
  Protect<OurSession>(state, [](transport::SrtpProfile profile, std::vector<uint8_t> key) {
    auto session =
        transport::SrtpSession::Create(transport::SrtpSession::Direction::kOutbound, profile, key);
    return session.ok() ? std::make_unique<OurSession>(OurSession{*std::move(session)}) : nullptr;
  });
}

void BM_LibSrtpProtect(benchmark::State& state) {
  Protect<LibSrtpSession>(state, [](transport::SrtpProfile profile, std::vector<uint8_t> key) {
    auto session = std::make_unique<LibSrtpSession>(profile, std::move(key));
    return session->ok ? std::move(session) : nullptr;
  });
}

void Profiles(benchmark::internal::Benchmark* b) {
  for (auto profile :
       {transport::SrtpProfile::kAeadAes128Gcm, transport::SrtpProfile::kAeadAes256Gcm,
        transport::SrtpProfile::kAes128CmSha1_80}) {
    for (int sessions : {1, 1000}) b->Args({static_cast<int>(profile), sessions});
  }
}
BENCHMARK(BM_SrtpProtect)->Apply(Profiles);
BENCHMARK(BM_LibSrtpProtect)->Apply(Profiles);

}  // namespace
}  // namespace sb::bench
