// DTLS-SRTP handshakes between two in-memory DtlsTransports on one loop.
#include "transport/dtls_transport.h"

#include <gtest/gtest.h>
#include <openssl/ssl.h>

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
    states.push_back(s);
  }
  void OnDtlsConnected(SrtpProfile p, std::vector<uint8_t> local,
                       std::vector<uint8_t> remote) override {
    if (abort_on_keys) return dtls->Abort("SRTP setup failed: test");
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
  bool abort_on_keys = false;
  DtlsState state = DtlsState::kNew;
  std::vector<DtlsState> states;
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

  // Each end trusts the other's certificate; the server starts, then the client.
  void StartBoth() {
    client_.dtls->SetRemoteFingerprints(FingerprintsOf(server_));
    server_.dtls->SetRemoteFingerprints(FingerprintsOf(client_));
    ASSERT_TRUE(server_.dtls->Start(DtlsRole::kServer).ok());
    ASSERT_TRUE(client_.dtls->Start(DtlsRole::kClient).ok());
  }

  bool BothConnected() const {
    return client_.state == DtlsState::kConnected && server_.state == DtlsState::kConnected;
  }

  static std::vector<Fingerprint> FingerprintsOf(const Endpoint& e) {
    return e.cert->Fingerprints();
  }

  testing::TestLoop loop_;
  Endpoint client_;
  Endpoint server_;
};

TEST_F(DtlsTransportTest, HandshakeExportsMirroredKeys) {
  ASSERT_NO_FATAL_FAILURE(StartBoth());
  ASSERT_TRUE(Run([&] { return BothConnected(); })) << client_.reason << " / " << server_.reason;

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

// The server pins a fingerprint that is not the client's: it refuses the certificate during the
// handshake, so no keys are ever exported, and its alert fails the client too.
TEST_F(DtlsTransportTest, ServerRefusesWrongFingerprintWithAnAlert) {
  client_.dtls->SetRemoteFingerprints(FingerprintsOf(server_));
  server_.dtls->SetRemoteFingerprints(FingerprintsOf(server_));
  ASSERT_TRUE(server_.dtls->Start(DtlsRole::kServer).ok());
  ASSERT_TRUE(client_.dtls->Start(DtlsRole::kClient).ok());
  ASSERT_TRUE(Run([&] { return server_.state == DtlsState::kFailed; })) << server_.reason;
  EXPECT_EQ(server_.reason, "remote fingerprint mismatch");
  EXPECT_EQ(server_.dtls->stats().fingerprint_mismatches, 1u);
  EXPECT_FALSE(server_.profile);
  EXPECT_TRUE(server_.local_key.empty());
  EXPECT_EQ(server_.states, (std::vector<DtlsState>{DtlsState::kConnecting, DtlsState::kFailed}));
  ASSERT_TRUE(Run([&] { return client_.state == DtlsState::kFailed; })) << client_.reason;
  EXPECT_FALSE(client_.profile);
}

// A listener that cannot use the exported keys aborts: kFailed with its reason, never
// kConnected.
TEST_F(DtlsTransportTest, AbortFromKeysFailsInsteadOfConnecting) {
  server_.abort_on_keys = true;
  ASSERT_NO_FATAL_FAILURE(StartBoth());
  ASSERT_TRUE(Run([&] { return server_.state == DtlsState::kFailed; })) << server_.reason;
  EXPECT_EQ(server_.reason, "SRTP setup failed: test");
  EXPECT_EQ(server_.states, (std::vector<DtlsState>{DtlsState::kConnecting, DtlsState::kFailed}));
  EXPECT_EQ(server_.dtls->state(), DtlsState::kFailed);
}

// A peer that offers no SRTP profile we accept (RFC 5764 4.1.1): both sides fail.
TEST_F(DtlsTransportTest, NoCommonSrtpProfileFails) {
  auto dtls = DtlsTransport::Create(loop_.get(), client_.cert.get(), &client_, 2000,
                                    "SRTP_AES128_CM_SHA1_32");
  ASSERT_TRUE(dtls.ok()) << dtls.status();
  client_.dtls = *std::move(dtls);
  ASSERT_NO_FATAL_FAILURE(StartBoth());
  ASSERT_TRUE(Run([&] { return server_.state == DtlsState::kFailed; })) << server_.reason;
  EXPECT_NE(server_.reason.find("SRTP profile"), std::string::npos) << server_.reason;
  EXPECT_FALSE(server_.profile);
  EXPECT_EQ(server_.states, (std::vector<DtlsState>{DtlsState::kConnecting, DtlsState::kFailed}));
}

// After the handshake a plaintext ClientHello (a stranger's, or a peer starting over on the same
// tuple) is dropped and counted; the session goes on.
TEST_F(DtlsTransportTest, ClientHelloAfterHandshakeIsDropped) {
  ASSERT_NO_FATAL_FAILURE(StartBoth());
  ASSERT_TRUE(Run([&] { return BothConnected(); }));

  // A new client's first flight, as a second ClientHello on this session.
  Endpoint stranger;
  auto cert = DtlsCertificate::Generate();
  ASSERT_TRUE(cert.ok());
  stranger.cert = *std::move(cert);
  auto dtls = DtlsTransport::Create(loop_.get(), stranger.cert.get(), &stranger, 2000);
  ASSERT_TRUE(dtls.ok());
  stranger.dtls = *std::move(dtls);
  stranger.dtls->SetRemoteFingerprints(FingerprintsOf(server_));
  ASSERT_TRUE(stranger.dtls->Start(DtlsRole::kClient).ok());
  ASSERT_EQ(stranger.outbox.size(), 1u);
  const std::vector<uint8_t> hello = stranger.outbox.front();
  ASSERT_GE(hello.size(), 14u);
  ASSERT_EQ(hello[0], 22);  // handshake
  ASSERT_EQ(hello[13], 1);  // ClientHello
  for (int i = 0; i < 3; ++i) server_.dtls->ProcessPacket(hello.data(), hello.size());
  EXPECT_EQ(server_.dtls->stats().client_hellos_after_handshake, 3u);
  EXPECT_TRUE(server_.outbox.empty()) << "answered a ClientHello after the handshake";
  EXPECT_EQ(server_.state, DtlsState::kConnected);

  const uint8_t data[] = {'s', 't', 'i', 'l', 'l'};
  ASSERT_TRUE(client_.dtls->SendApplicationData(data, sizeof(data)));
  ASSERT_TRUE(Run([&] { return !server_.received.empty(); }));
  EXPECT_EQ(server_.state, DtlsState::kConnected);
  stranger.dtls.reset();
}

// A raw OpenSSL DTLS endpoint over memory BIOs that allows renegotiation, to play a peer that
// asks for one.
class RawPeer {
 public:
  bool Init(const DtlsCertificate& cert, bool server) {
    ctx_.reset(SSL_CTX_new(server ? DTLS_server_method() : DTLS_client_method()));
    if (!ctx_ || SSL_CTX_use_certificate(ctx_.get(), cert.certificate()) != 1 ||
        SSL_CTX_use_PrivateKey(ctx_.get(), cert.private_key()) != 1 ||
        SSL_CTX_set_tlsext_use_srtp(ctx_.get(), "SRTP_AEAD_AES_128_GCM") != 0) {
      return false;
    }
    SSL_CTX_set_max_proto_version(ctx_.get(), DTLS1_2_VERSION);
    SSL_CTX_set_read_ahead(ctx_.get(), 1);
    // A server asks for the client's certificate, whatever its chain.
    if (server)
      SSL_CTX_set_verify(ctx_.get(), SSL_VERIFY_PEER, [](int, X509_STORE_CTX*) { return 1; });
    ssl_.reset(SSL_new(ctx_.get()));
    rbio_ = BIO_new(BIO_s_mem());
    wbio_ = BIO_new(BIO_s_mem());
    BIO_set_mem_eof_return(rbio_, -1);
    BIO_set_mem_eof_return(wbio_, -1);
    SSL_set_bio(ssl_.get(), rbio_, wbio_);
    if (server) {
      SSL_set_accept_state(ssl_.get());
    } else {
      SSL_set_connect_state(ssl_.get());
    }
    return true;
  }
  // Feeds `in` to OpenSSL, lets it handshake or read, and returns what it wrote.
  std::vector<uint8_t> Step(const std::deque<std::vector<uint8_t>>& in) {
    for (const auto& datagram : in) {
      BIO_write(rbio_, datagram.data(), static_cast<int>(datagram.size()));
    }
    uint8_t buffer[2048];
    if (!SSL_is_init_finished(ssl_.get())) {
      SSL_do_handshake(ssl_.get());
    } else {
      SSL_read(ssl_.get(), buffer, sizeof(buffer));
    }
    return Take();
  }
  std::vector<uint8_t> Take() {
    char* out = nullptr;
    const long n = BIO_get_mem_data(wbio_, &out);
    std::vector<uint8_t> bytes(out, out + std::max(0L, n));
    (void)BIO_reset(wbio_);
    return bytes;
  }
  SSL* ssl() { return ssl_.get(); }

 private:
  struct Deleter {
    void operator()(SSL* ssl) const { SSL_free(ssl); }
    void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
  };
  std::unique_ptr<SSL_CTX, Deleter> ctx_;
  std::unique_ptr<SSL, Deleter> ssl_;
  BIO* rbio_ = nullptr;  // owned by ssl_
  BIO* wbio_ = nullptr;
};

// A peer that asks for a renegotiation, as DTLS client (an encrypted ClientHello) or as server
// (HelloRequest): we refuse with a no_renegotiation warning (RFC 5246 7.2.2), count it and
// stay connected. OpenSSL 3 refuses a client's request by default; a server's HelloRequest is
// refused only because of SSL_OP_NO_RENEGOTIATION. (An OpenSSL peer that hears the refusal ends its
// own session with a fatal alert: only the peer itself can renegotiate, the records are encrypted;
// the test keeps the refusal from it.)
class DtlsRenegotiationTest : public DtlsTransportTest,
                              public ::testing::WithParamInterface<DtlsRole> {};

TEST_P(DtlsRenegotiationTest, IsRefused) {
  const DtlsRole our_role = GetParam();
  Endpoint& us = our_role == DtlsRole::kServer ? server_ : client_;
  Endpoint& them = our_role == DtlsRole::kServer ? client_ : server_;
  RawPeer peer;
  ASSERT_TRUE(peer.Init(*them.cert, /*server=*/our_role == DtlsRole::kClient));
  us.dtls->SetRemoteFingerprints(FingerprintsOf(them));
  ASSERT_TRUE(us.dtls->Start(our_role).ok());
  auto pump = [&] {
    std::vector<uint8_t> bytes = peer.Step(us.outbox);
    us.outbox.clear();
    if (!bytes.empty()) us.dtls->ProcessPacket(bytes.data(), bytes.size());
  };
  ASSERT_TRUE(loop_.RunUntil(
      [&] { return SSL_is_init_finished(peer.ssl()) && us.state == DtlsState::kConnected; }, 5000,
      pump))
      << us.reason;
  us.outbox.clear();

  // The peer asks; its request goes out encrypted (epoch 1).
  ASSERT_EQ(SSL_renegotiate(peer.ssl()), 1);
  SSL_do_handshake(peer.ssl());
  std::vector<uint8_t> request = peer.Take();
  ASSERT_GT(request.size(), 13u);
  EXPECT_EQ(request[0], 22);                    // handshake
  EXPECT_EQ(request[3] * 256 + request[4], 1);  // epoch 1
  us.dtls->ProcessPacket(request.data(), request.size());
  EXPECT_EQ(us.dtls->stats().renegotiations_refused, 1u);
  EXPECT_EQ(us.state, DtlsState::kConnected) << us.reason;
  // Our answer: one alert record (the warning), no handshake flight.
  ASSERT_EQ(us.outbox.size(), 1u);
  EXPECT_EQ(us.outbox[0][0], 21) << "renegotiated";
  us.outbox.clear();
  const uint8_t data[] = {'u', 'p'};
  EXPECT_TRUE(us.dtls->SendApplicationData(data, sizeof(data)));
  EXPECT_EQ(us.state, DtlsState::kConnected);
}

INSTANTIATE_TEST_SUITE_P(BothRoles, DtlsRenegotiationTest,
                         ::testing::Values(DtlsRole::kServer, DtlsRole::kClient),
                         [](const auto& info) {
                           return std::string(info.param == DtlsRole::kServer ? "AsServer"
                                                                              : "AsClient");
                         });

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
  ASSERT_TRUE(Run([&] { return BothConnected(); })) << client_.reason << " / " << server_.reason;
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
  server_.drop_first = 1;  // The server's first flight is lost once.
  ASSERT_NO_FATAL_FAILURE(StartBoth());
  ASSERT_TRUE(Run([&] { return BothConnected(); })) << client_.reason << " / " << server_.reason;
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
