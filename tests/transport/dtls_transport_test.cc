// DTLS-SRTP handshakes between two in-memory DtlsTransports on one loop.
#include "transport/dtls_transport.h"

#include <gtest/gtest.h>

#include <deque>
#include <vector>

#include "tests/transport/test_loop.h"
#include "transport/dtls_certificate.h"
#include "transport/srtp_session.h"

namespace sb::transport {
namespace {

struct Endpoint : DtlsTransport::Listener {
  void SendDtlsData(const uint8_t* data, size_t len) override {
    EXPECT_LE(len, kDtlsMtu);
    ++datagrams_sent;
    if (drop_first > 0) {
      --drop_first;
      return;
    }
    if (!drop_output) outbox.emplace_back(data, data + len);
  }
  void OnDtlsStateChange(DtlsState s, const std::string& r) override {
    state = s;
    reason = r;
  }
  void OnDtlsConnected(SrtpProfile p, std::vector<uint8_t> local,
                       std::vector<uint8_t> remote) override {
    profile = p;
    local_key = std::move(local);
    remote_key = std::move(remote);
  }
  void OnDtlsApplicationData(const uint8_t* data, size_t len) override {
    received.emplace_back(data, data + len);
  }

  std::unique_ptr<DtlsCertificate> cert;
  std::unique_ptr<DtlsTransport> dtls;
  std::deque<std::vector<uint8_t>> outbox;
  bool drop_output = false;
  int drop_first = 0;
  int datagrams_sent = 0;
  DtlsState state = DtlsState::kNew;
  std::string reason;
  std::optional<SrtpProfile> profile;
  std::vector<uint8_t> local_key, remote_key;
  std::vector<std::vector<uint8_t>> received;
};

class DtlsTransportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (Endpoint* e : {&client_, &server_}) {
      auto cert = DtlsCertificate::Generate();
      ASSERT_TRUE(cert.ok()) << cert.status();
      e->cert = *std::move(cert);
    }
    for (Endpoint* e : {&client_, &server_}) {
      auto dtls = DtlsTransport::Create(loop_.get(), e->cert.get(), e, 2000);
      ASSERT_TRUE(dtls.ok()) << dtls.status();
      e->dtls = *std::move(dtls);
    }
  }
  void TearDown() override {
    client_.dtls.reset();
    server_.dtls.reset();
  }

  // Carries queued datagrams between the peers outside of their SSL calls.
  void Pump() {
    for (auto [from, to] : {std::pair{&client_, &server_}, std::pair{&server_, &client_}}) {
      auto queue = std::move(from->outbox);
      from->outbox.clear();
      for (const auto& datagram : queue) to->dtls->ProcessPacket(datagram.data(), datagram.size());
    }
  }

  bool Run(const std::function<bool()>& done, uint64_t timeout_ms = 10000) {
    return loop_.RunUntil(done, timeout_ms, [this] { Pump(); });
  }

  static std::vector<Fingerprint> FingerprintsOf(const Endpoint& e) {
    return e.cert->Fingerprints();
  }

  testing::TestLoop loop_;
  Endpoint client_;
  Endpoint server_;
};

TEST_F(DtlsTransportTest, HandshakeExportsMirroredKeys) {
  client_.dtls->SetRemoteFingerprints(FingerprintsOf(server_));
  server_.dtls->SetRemoteFingerprints(FingerprintsOf(client_));
  ASSERT_TRUE(server_.dtls->Start(DtlsRole::kServer).ok());
  ASSERT_TRUE(client_.dtls->Start(DtlsRole::kClient).ok());
  ASSERT_TRUE(Run([&] {
    return client_.state == DtlsState::kConnected && server_.state == DtlsState::kConnected;
  })) << client_.reason
      << " / " << server_.reason;

  ASSERT_TRUE(client_.profile && server_.profile);
  EXPECT_EQ(*client_.profile, SrtpProfile::kAeadAes256Gcm);  // Our first preference.
  EXPECT_EQ(*client_.profile, *server_.profile);
  EXPECT_EQ(client_.local_key.size(), 44u);
  EXPECT_EQ(client_.local_key, server_.remote_key);
  EXPECT_EQ(client_.remote_key, server_.local_key);
  EXPECT_NE(client_.local_key, client_.remote_key);

  // SRTP sessions made from the exported keys interoperate both ways.
  for (auto [sender, receiver] : {std::pair{&client_, &server_}, std::pair{&server_, &client_}}) {
    auto out =
        SrtpSession::Create(SrtpSession::Direction::kOutbound, *sender->profile, sender->local_key);
    auto in = SrtpSession::Create(SrtpSession::Direction::kInbound, *receiver->profile,
                                  receiver->remote_key);
    ASSERT_TRUE(out.ok() && in.ok());
    uint8_t packet[256] = {0x80, 0x6F, 0x00, 0x01, 0, 0, 0, 1, 0x11, 0x22, 0x33, 0x44, 'h', 'i'};
    size_t len = 14;
    ASSERT_TRUE((*out)->ProtectRtp(packet, &len, sizeof(packet)));
    ASSERT_TRUE((*in)->UnprotectRtp(packet, &len));
    EXPECT_EQ(len, 14u);
    EXPECT_EQ(packet[12], 'h');
  }

  // Application data (SCTP later) flows too.
  const uint8_t hello[] = {'s', 'c', 't', 'p'};
  ASSERT_TRUE(client_.dtls->SendApplicationData(hello, sizeof(hello)));
  ASSERT_TRUE(Run([&] { return !server_.received.empty(); }));
  EXPECT_EQ(server_.received[0], std::vector<uint8_t>(hello, hello + 4));

  // close_notify from the client closes the server.
  client_.dtls->Close();
  EXPECT_EQ(client_.dtls->state(), DtlsState::kClosed);
  ASSERT_TRUE(Run([&] { return server_.state == DtlsState::kClosed; }));
}

TEST_F(DtlsTransportTest, WrongFingerprintFails) {
  // The client pins a fingerprint that is not the server's.
  client_.dtls->SetRemoteFingerprints(FingerprintsOf(client_));
  server_.dtls->SetRemoteFingerprints(FingerprintsOf(client_));
  ASSERT_TRUE(server_.dtls->Start(DtlsRole::kServer).ok());
  ASSERT_TRUE(client_.dtls->Start(DtlsRole::kClient).ok());
  ASSERT_TRUE(Run([&] { return client_.state == DtlsState::kFailed; })) << client_.reason;
  EXPECT_NE(client_.reason.find("fingerprint"), std::string::npos) << client_.reason;
  EXPECT_FALSE(client_.profile);
}

TEST_F(DtlsTransportTest, FingerprintComparisonIgnoresCase) {
  auto fps = FingerprintsOf(server_);
  for (auto& fp : fps) {
    for (char& c : fp.value) c = static_cast<char>(std::tolower(c));
    for (char& c : fp.algorithm) c = static_cast<char>(std::toupper(c));
  }
  client_.dtls->SetRemoteFingerprints(fps);
  server_.dtls->SetRemoteFingerprints(FingerprintsOf(client_));
  ASSERT_TRUE(server_.dtls->Start(DtlsRole::kServer).ok());
  ASSERT_TRUE(client_.dtls->Start(DtlsRole::kClient).ok());
  ASSERT_TRUE(Run([&] {
    return client_.state == DtlsState::kConnected && server_.state == DtlsState::kConnected;
  })) << client_.reason
      << " / " << server_.reason;
}

TEST_F(DtlsTransportTest, HandshakeTimesOut) {
  client_.dtls->SetRemoteFingerprints(FingerprintsOf(server_));
  client_.drop_output = true;  // Nothing reaches the server.
  ASSERT_TRUE(client_.dtls->Start(DtlsRole::kClient).ok());
  EXPECT_EQ(client_.state, DtlsState::kConnecting);
  ASSERT_TRUE(Run([&] { return client_.state == DtlsState::kFailed; }, 5000));
  EXPECT_NE(client_.reason.find("timeout"), std::string::npos) << client_.reason;
}

TEST_F(DtlsTransportTest, RetransmitsLostFlight) {
  client_.dtls->SetRemoteFingerprints(FingerprintsOf(server_));
  server_.dtls->SetRemoteFingerprints(FingerprintsOf(client_));
  server_.drop_first = 1;  // The server's first flight is lost once.
  ASSERT_TRUE(server_.dtls->Start(DtlsRole::kServer).ok());
  ASSERT_TRUE(client_.dtls->Start(DtlsRole::kClient).ok());
  ASSERT_TRUE(Run([&] {
    return client_.state == DtlsState::kConnected && server_.state == DtlsState::kConnected;
  })) << client_.reason
      << " / " << server_.reason;
  EXPECT_GT(client_.datagrams_sent, 2);  // The ClientHello went out again.
}

TEST_F(DtlsTransportTest, GarbageDoesNotCrash) {
  server_.dtls->SetRemoteFingerprints(FingerprintsOf(client_));
  ASSERT_TRUE(server_.dtls->Start(DtlsRole::kServer).ok());
  std::vector<uint8_t> garbage(300);
  for (size_t i = 0; i < garbage.size(); ++i) garbage[i] = static_cast<uint8_t>(i * 31 + 22);
  server_.dtls->ProcessPacket(garbage.data(), garbage.size());
  EXPECT_NE(server_.state, DtlsState::kConnected);
}

TEST(DtlsCertificateTest, FingerprintFormat) {
  auto cert = DtlsCertificate::Generate();
  ASSERT_TRUE(cert.ok()) << cert.status();
  auto sha256 = (*cert)->Fingerprint("sha-256");
  ASSERT_TRUE(sha256.ok());
  EXPECT_EQ(sha256->size(), 32u * 3 - 1);
  for (size_t i = 0; i < sha256->size(); ++i) {
    const char c = (*sha256)[i];
    if (i % 3 == 2) {
      EXPECT_EQ(c, ':');
    } else {
      EXPECT_TRUE((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F')) << c;
    }
  }
  EXPECT_EQ((*cert)->Fingerprint("sha-1")->size(), 20u * 3 - 1);
  EXPECT_EQ((*cert)->Fingerprint("sha-384")->size(), 48u * 3 - 1);
  EXPECT_EQ((*cert)->Fingerprint("sha-512")->size(), 64u * 3 - 1);
  EXPECT_FALSE((*cert)->Fingerprint("md5").ok());
  auto all = (*cert)->Fingerprints();
  ASSERT_FALSE(all.empty());
  EXPECT_EQ(all[0].algorithm, "sha-256");
  EXPECT_EQ(all[0].value, *sha256);
  // Two certificates differ.
  auto other = DtlsCertificate::Generate();
  ASSERT_TRUE(other.ok());
  EXPECT_NE(*(*other)->Fingerprint("sha-256"), *sha256);
}

}  // namespace
}  // namespace sb::transport
