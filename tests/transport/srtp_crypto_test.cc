// Our SRTP against the RFC's key-derivation vectors and, byte for byte, against libsrtp2 (the
// implementation browsers and the other WebRTC stacks interoperate with): every profile, RTP
// and RTCP, rollover, CSRCs, extensions, padding, reordering and replays.
#include "transport/srtp_crypto.h"

#include <gtest/gtest.h>
#include <srtp2/srtp.h>

#include <algorithm>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "transport/srtp_replay_window.h"
#include "transport/srtp_session.h"

namespace sb::transport {
namespace {

std::vector<uint8_t> Hex(std::string_view hex) {
  const std::string bytes = absl::HexStringToBytes(std::string(hex));
  return std::vector<uint8_t>(bytes.begin(), bytes.end());
}

// RFC 3711 Appendix B.3.
TEST(SrtpKdfTest, Rfc3711KeyDerivationVectors) {
  const auto key = Hex("E1F97A0D3E018BE0D64FA32C06DE4139");
  const auto salt = Hex("0EC675AD498AFEEBB6960B3AABE6");
  std::vector<uint8_t> cipher_key(16), cipher_salt(14), auth_key(20);
  ASSERT_TRUE(
      DeriveSrtpKey(key, salt, SrtpKeyLabel::kRtpEncryption, absl::MakeSpan(cipher_key)).ok());
  ASSERT_TRUE(DeriveSrtpKey(key, salt, SrtpKeyLabel::kRtpSalt, absl::MakeSpan(cipher_salt)).ok());
  ASSERT_TRUE(DeriveSrtpKey(key, salt, SrtpKeyLabel::kRtpAuth, absl::MakeSpan(auth_key)).ok());
  EXPECT_EQ(cipher_key, Hex("C61E7A93744F39EE10734AFE3FF7A087"));
  EXPECT_EQ(cipher_salt, Hex("30CBBC08863D8C85D49DB34A9AE1"));
  EXPECT_EQ(auth_key, Hex("CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4"));
}

TEST(SrtpKdfTest, RejectsBadSizes) {
  std::vector<uint8_t> out(16);
  EXPECT_FALSE(DeriveSrtpKey(std::vector<uint8_t>(15), std::vector<uint8_t>(14),
                             SrtpKeyLabel::kRtpEncryption, absl::MakeSpan(out))
                   .ok());
  EXPECT_FALSE(DeriveSrtpKey(std::vector<uint8_t>(16), std::vector<uint8_t>(11),
                             SrtpKeyLabel::kRtpEncryption, absl::MakeSpan(out))
                   .ok());
}

TEST(SrtpReplayWindowTest, NewSeenTooOld) {
  SrtpReplayWindow<128> window;
  EXPECT_EQ(window.Check(500), SrtpReplayWindow<128>::Verdict::kNew);
  window.Add(500);
  EXPECT_EQ(window.Check(500), SrtpReplayWindow<128>::Verdict::kSeen);
  EXPECT_EQ(window.Check(499), SrtpReplayWindow<128>::Verdict::kNew);
  EXPECT_EQ(window.Check(373), SrtpReplayWindow<128>::Verdict::kNew);
  EXPECT_EQ(window.Check(372), SrtpReplayWindow<128>::Verdict::kTooOld);
  window.Add(499);
  window.Add(510);  // skips 501..509: they stay receivable
  EXPECT_EQ(window.Check(505), SrtpReplayWindow<128>::Verdict::kNew);
  EXPECT_EQ(window.Check(499), SrtpReplayWindow<128>::Verdict::kSeen);
  EXPECT_EQ(window.Check(500), SrtpReplayWindow<128>::Verdict::kSeen);
  // Positions reused by the ring after an advance read as not received.
  window.Add(510 + 127);
  EXPECT_EQ(window.Check(511), SrtpReplayWindow<128>::Verdict::kNew);
  EXPECT_EQ(window.Check(510), SrtpReplayWindow<128>::Verdict::kSeen);
  EXPECT_EQ(window.Check(509), SrtpReplayWindow<128>::Verdict::kTooOld);
  window.Add(100000);  // a jump past the whole window clears it
  EXPECT_EQ(window.Check(100000 - 127), SrtpReplayWindow<128>::Verdict::kNew);
  EXPECT_EQ(window.Check(100000), SrtpReplayWindow<128>::Verdict::kSeen);
}

// libsrtp2 with the policy switchboard used before it had its own SRTP.
class LibSrtp {
 public:
  LibSrtp(bool outbound, SrtpProfile profile, std::vector<uint8_t> key) : key_(std::move(key)) {
    static const srtp_err_status_t init = srtp_init();
    EXPECT_EQ(init, srtp_err_status_ok);
    srtp_policy_t policy{};
    switch (profile) {
      case SrtpProfile::kAes128CmSha1_80:
        srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtp);
        srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtcp);
        break;
      case SrtpProfile::kAeadAes128Gcm:
        srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtp);
        srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtcp);
        break;
      case SrtpProfile::kAeadAes256Gcm:
        srtp_crypto_policy_set_aes_gcm_256_16_auth(&policy.rtp);
        srtp_crypto_policy_set_aes_gcm_256_16_auth(&policy.rtcp);
        break;
    }
    policy.ssrc.type = outbound ? ssrc_any_outbound : ssrc_any_inbound;
    policy.key = key_.data();
    policy.window_size = kSrtpReplayWindow;
    policy.allow_repeat_tx = outbound ? 1 : 0;
    EXPECT_EQ(srtp_create(&session_, &policy), srtp_err_status_ok);
  }
  ~LibSrtp() { srtp_dealloc(session_); }

  bool Run(std::vector<uint8_t>* packet, bool rtcp, bool protect) {
    const size_t len = packet->size();
    packet->resize(len + SRTP_MAX_TRAILER_LEN + 4);
    int n = static_cast<int>(len);
    srtp_err_status_t err;
    if (protect) {
      err = rtcp ? srtp_protect_rtcp(session_, packet->data(), &n)
                 : srtp_protect(session_, packet->data(), &n);
    } else {
      err = rtcp ? srtp_unprotect_rtcp(session_, packet->data(), &n)
                 : srtp_unprotect(session_, packet->data(), &n);
    }
    packet->resize(err == srtp_err_status_ok ? static_cast<size_t>(n) : len);
    return err == srtp_err_status_ok;
  }

 private:
  std::vector<uint8_t> key_;
  srtp_t session_ = nullptr;
};

bool RunOurs(SrtpSession* session, std::vector<uint8_t>* packet, bool rtcp, bool protect,
             SrtpError* error = nullptr) {
  size_t len = packet->size();
  packet->resize(len + SrtpMaxOverhead() + 4);
  bool ok;
  if (protect) {
    ok = rtcp ? session->ProtectRtcp(packet->data(), &len, packet->size())
              : session->ProtectRtp(packet->data(), &len, packet->size());
  } else {
    ok = rtcp ? session->UnprotectRtcp(packet->data(), &len, error)
              : session->UnprotectRtp(packet->data(), &len, error);
  }
  packet->resize(len);
  return ok;
}

// An RTP packet of every shape browsers send: CSRCs, a one-byte-header extension, padding.
std::vector<uint8_t> MakeRtp(uint32_t ssrc, uint16_t seq, int shape, size_t payload) {
  std::vector<uint8_t> p = {0x80,
                            96,
                            static_cast<uint8_t>(seq >> 8),
                            static_cast<uint8_t>(seq),
                            0x12,
                            0x34,
                            0x56,
                            static_cast<uint8_t>(seq),
                            static_cast<uint8_t>(ssrc >> 24),
                            static_cast<uint8_t>(ssrc >> 16),
                            static_cast<uint8_t>(ssrc >> 8),
                            static_cast<uint8_t>(ssrc)};
  if (shape % 3 == 1) {  // two CSRCs
    p[0] |= 2;
    for (int i = 0; i < 8; ++i) p.push_back(static_cast<uint8_t>(0xC0 + i));
  }
  if (shape % 2 == 1) {  // RFC 8285 one-byte header, two words
    p[0] |= 0x10;
    const uint8_t ext[] = {0xBE, 0xDE, 0x00, 0x02, 0x10, 0xFF, 0x22, 0x01, 0x02, 0x03, 0x00, 0x00};
    p.insert(p.end(), std::begin(ext), std::end(ext));
  }
  for (size_t i = 0; i < payload; ++i) p.push_back(static_cast<uint8_t>(i * 31 + seq));
  if (shape % 5 == 4) {  // 4 bytes of padding
    p[0] |= 0x20;
    p.insert(p.end(), {0, 0, 0, 4});
  }
  return p;
}

std::vector<uint8_t> MakeRtcp(uint32_t ssrc, int n) {
  // A receiver report with one block and an SDES chunk: 32 + 12 bytes.
  std::vector<uint8_t> p = {0x81,
                            201,
                            0x00,
                            0x07,
                            static_cast<uint8_t>(ssrc >> 24),
                            static_cast<uint8_t>(ssrc >> 16),
                            static_cast<uint8_t>(ssrc >> 8),
                            static_cast<uint8_t>(ssrc)};
  for (int i = 0; i < 24; ++i) p.push_back(static_cast<uint8_t>(i + n));
  const uint8_t sdes[] = {0x81, 202, 0x00, 0x02, p[4], p[5], p[6], p[7], 0x01, 0x01, 'a', 0x00};
  p.insert(p.end(), std::begin(sdes), std::end(sdes));
  return p;
}

struct Sent {
  std::vector<uint8_t> clear;
  std::vector<uint8_t> protected_bytes;
  bool rtcp;
};

class SrtpAgainstLibSrtpTest : public ::testing::TestWithParam<SrtpProfile> {
 protected:
  std::vector<uint8_t> Key(uint8_t seed) const {
    std::vector<uint8_t> key(SrtpKeyLength(GetParam()) + SrtpSaltLength(GetParam()));
    for (size_t i = 0; i < key.size(); ++i) key[i] = static_cast<uint8_t>(seed * 13 + i * 7);
    return key;
  }
  std::unique_ptr<SrtpSession> Ours(SrtpSession::Direction direction) const {
    auto session = SrtpSession::Create(direction, GetParam(), Key(5));
    EXPECT_TRUE(session.ok()) << session.status();
    return session.ok() ? *std::move(session) : nullptr;
  }

  // Three SSRCs: one through a rollover from 65,500, one from 100, one from 40,000 (above the
  // median from its first packet); RTCP between; a resend of a recent packet.
  std::vector<Sent> Protect(SrtpSession* ours, LibSrtp* theirs) {
    std::vector<Sent> sent;
    const auto send = [&](std::vector<uint8_t> clear, bool rtcp) {
      std::vector<uint8_t> a = clear, b = clear;
      EXPECT_TRUE(RunOurs(ours, &a, rtcp, true));
      EXPECT_TRUE(theirs->Run(&b, rtcp, true));
      EXPECT_EQ(absl::BytesToHexString(std::string(a.begin(), a.end())),
                absl::BytesToHexString(std::string(b.begin(), b.end())))
          << (rtcp ? "rtcp " : "rtp ") << sent.size();
      sent.push_back({std::move(clear), std::move(a), rtcp});
    };
    for (int i = 0; i < 300; ++i) {
      send(MakeRtp(0x1111, static_cast<uint16_t>(65500 + i), i, static_cast<size_t>(i * 4)), false);
      send(MakeRtp(0x2222, static_cast<uint16_t>(100 + i), i + 1, 160), false);
      send(MakeRtp(0x3333, static_cast<uint16_t>(40000 + 7 * i), i + 2, 1100), false);
      if (i % 25 == 0) {
        send(MakeRtcp(0x1111, i), true);
        send(MakeRtcp(0x4444, i), true);
      }
      if (i == 200) send(MakeRtp(0x1111, static_cast<uint16_t>(65500 + 190), 190, 760), false);
    }
    return sent;
  }
};

TEST_P(SrtpAgainstLibSrtpTest, ProtectIsByteIdenticalAndEachUnprotectsTheOther) {
  auto ours_out = Ours(SrtpSession::Direction::kOutbound);
  LibSrtp theirs_out(true, GetParam(), Key(5));
  const std::vector<Sent> sent = Protect(ours_out.get(), &theirs_out);
  ASSERT_GT(sent.size(), 900u);

  auto ours_in = Ours(SrtpSession::Direction::kInbound);
  LibSrtp theirs_in(false, GetParam(), Key(5));
  size_t resends = 0;
  for (const Sent& s : sent) {
    std::vector<uint8_t> a = s.protected_bytes, b = s.protected_bytes;
    SrtpError error = SrtpError::kNone;
    const bool ours_ok = RunOurs(ours_in.get(), &a, s.rtcp, false, &error);
    const bool theirs_ok = theirs_in.Run(&b, s.rtcp, false);
    EXPECT_EQ(ours_ok, theirs_ok);
    if (ours_ok) {
      EXPECT_EQ(a, s.clear);
      EXPECT_EQ(b, s.clear);
    } else {
      EXPECT_EQ(error, SrtpError::kReplay);  // only the resend
      ++resends;
    }
  }
  EXPECT_EQ(resends, 1u);
}

// Packets around a rollover, delivered reordered and some twice: both implementations accept
// and refuse the same ones.
TEST_P(SrtpAgainstLibSrtpTest, ReorderedAndReplayedAcrossRolloverAgree) {
  auto ours_out = Ours(SrtpSession::Direction::kOutbound);
  std::vector<std::vector<uint8_t>> stream;
  for (int i = 0; i < 3000; ++i) {
    auto p = MakeRtp(0xABCD, static_cast<uint16_t>(64000 + i), i, 50);
    ASSERT_TRUE(RunOurs(ours_out.get(), &p, false, true));
    stream.push_back(std::move(p));
  }
  std::mt19937 rng(7);
  std::vector<size_t> order;
  for (size_t i = 0; i < stream.size(); ++i) order.push_back(i);
  for (size_t i = 0; i + 20 < order.size(); i += 20) {
    std::shuffle(order.begin() + i, order.begin() + i + 20, rng);
  }
  for (int i = 0; i < 200; ++i) order.push_back(order[rng() % order.size()]);  // replays
  order.push_back(5);  // far older than the window by the end

  auto ours_in = Ours(SrtpSession::Direction::kInbound);
  LibSrtp theirs_in(false, GetParam(), Key(5));
  size_t accepted = 0;
  for (size_t i : order) {
    std::vector<uint8_t> a = stream[i], b = stream[i];
    const bool ours_ok = RunOurs(ours_in.get(), &a, false, false);
    const bool theirs_ok = theirs_in.Run(&b, false, false);
    ASSERT_EQ(ours_ok, theirs_ok) << "packet " << i;
    if (ours_ok) {
      ASSERT_EQ(a, b);
      ++accepted;
    }
  }
  EXPECT_EQ(accepted, stream.size());
}

TEST_P(SrtpAgainstLibSrtpTest, ForgedPacketsOfUnknownSsrcsMakeNoState) {
  auto ours_in = Ours(SrtpSession::Direction::kInbound);
  for (uint32_t ssrc = 0; ssrc < 3 * kMaxSrtpStreams; ssrc += 3) {
    auto p = MakeRtp(ssrc, 1, 0, 100);
    p.resize(p.size() + 16, 0xEE);  // a tag that cannot verify
    SrtpError error = SrtpError::kNone;
    EXPECT_FALSE(RunOurs(ours_in.get(), &p, false, false, &error));
    ASSERT_EQ(error, SrtpError::kAuth);
  }
  // A genuine packet of a new SSRC still gets through: no stream slot was used up.
  auto ours_out = Ours(SrtpSession::Direction::kOutbound);
  auto p = MakeRtp(0x77, 9, 1, 100);
  ASSERT_TRUE(RunOurs(ours_out.get(), &p, false, true));
  EXPECT_TRUE(RunOurs(ours_in.get(), &p, false, false));
}

TEST_P(SrtpAgainstLibSrtpTest, MalformedHeadersAreRefused) {
  auto ours_in = Ours(SrtpSession::Direction::kInbound);
  auto ours_out = Ours(SrtpSession::Direction::kOutbound);
  // The extension's length says 200 words; the packet has 20 bytes after the header.
  std::vector<uint8_t> p = MakeRtp(1, 1, 3, 20);
  p[14] = 0x00;
  p[15] = 200;
  SrtpError error = SrtpError::kNone;
  auto q = p;
  EXPECT_FALSE(RunOurs(ours_in.get(), &q, false, false, &error));
  EXPECT_EQ(error, SrtpError::kMalformed);
  q = p;
  EXPECT_FALSE(RunOurs(ours_out.get(), &q, false, true));
  // 15 CSRCs announced in a 40-byte packet; version 1.
  q = MakeRtp(1, 1, 0, 28);
  q[0] = 0x8F;
  EXPECT_FALSE(RunOurs(ours_in.get(), &q, false, false, &error));
  EXPECT_EQ(error, SrtpError::kMalformed);
  q = MakeRtp(1, 1, 0, 28);
  q[0] = 0x40;
  EXPECT_FALSE(RunOurs(ours_in.get(), &q, false, false, &error));
  EXPECT_EQ(error, SrtpError::kMalformed);
}

INSTANTIATE_TEST_SUITE_P(AllProfiles, SrtpAgainstLibSrtpTest,
                         ::testing::Values(SrtpProfile::kAes128CmSha1_80,
                                           SrtpProfile::kAeadAes128Gcm,
                                           SrtpProfile::kAeadAes256Gcm),
                         [](const auto& info) { return std::string(SrtpProfileName(info.param)); });

}  // namespace
}  // namespace sb::transport
