// SCTP over DTLS (RFC 8261) as WebRtcTransport will carry it: two SctpAssociations whose
// packets travel as application data of two real DtlsTransports (OpenSSL) connected in memory.
// Every DTLS datagram must fit kDtlsMtu.
#include <gtest/gtest.h>

#include <deque>
#include <memory>
#include <vector>

#include "tests/transport/test_loop.h"
#include "transport/dtls_certificate.h"
#include "transport/dtls_transport.h"
#include "transport/sctp_association.h"

namespace sb::transport {
namespace {

using Bytes = std::vector<uint8_t>;

struct Endpoint : DtlsTransport::Listener, SctpAssociation::Listener {
  // DTLS
  void SendDtlsData(const uint8_t* data, size_t len) override {
    max_datagram = std::max(max_datagram, len);
    outbox.emplace_back(data, data + len);
  }
  void OnDtlsStateChange(DtlsState state, const std::string&) override {
    // As the transport will: SCTP starts once DTLS is up (RFC 8261 6).
    if (state == DtlsState::kConnected) {
      EXPECT_TRUE(sctp->Connect().ok());
    }
  }
  void OnDtlsConnected(SrtpProfile, std::vector<uint8_t>, std::vector<uint8_t>) override {}
  void OnDtlsApplicationData(const uint8_t* data, size_t len) override {
    sctp->ProcessSctpPacket(data, len);
  }
  // SCTP
  void SendSctpPacket(const uint8_t* data, size_t len) override {
    max_sctp_packet = std::max(max_sctp_packet, len);
    EXPECT_TRUE(dtls->SendApplicationData(data, len));
  }
  void OnSctpStateChange(SctpState state, const std::string&) override { sctp_state = state; }
  void OnDataChannelOpen(const DataChannelInfo& info) override { opened.push_back(info); }
  void OnDataChannelMessage(uint16_t, uint32_t, absl::Span<const uint8_t> data) override {
    received.emplace_back(data.begin(), data.end());
  }
  void OnDataChannelClosed(uint16_t) override {}
  void OnBufferedAmountLow(uint16_t) override {}
  void OnSctpSendBufferAvailable() override {}

  std::unique_ptr<DtlsCertificate> cert;
  std::unique_ptr<DtlsTransport> dtls;
  std::unique_ptr<SctpAssociation> sctp;
  std::deque<Bytes> outbox;
  size_t max_datagram = 0;
  size_t max_sctp_packet = 0;
  SctpState sctp_state = SctpState::kNew;
  std::vector<DataChannelInfo> opened;
  std::vector<Bytes> received;
};

TEST(SctpOverDtlsTest, ChannelsAndAMegabyteThroughRealDtls) {
  testing::TestLoop loop;
  Endpoint client;
  Endpoint server;
  for (Endpoint* e : {&client, &server}) {
    e->cert = DtlsCertificate::Generate().value();
    e->dtls = DtlsTransport::Create(loop.get(), e->cert.get(), e).value();
    SctpOptions options;
    options.dtls_client = e == &client;
    options.remote_max_message_size = kSctpMaxMessageSize;
    e->sctp = SctpAssociation::Create(loop.get(), e, options).value();
  }
  client.dtls->SetRemoteFingerprints(server.cert->Fingerprints());
  server.dtls->SetRemoteFingerprints(client.cert->Fingerprints());
  ASSERT_TRUE(server.dtls->Start(DtlsRole::kServer).ok());
  ASSERT_TRUE(client.dtls->Start(DtlsRole::kClient).ok());
  auto pump = [&] {
    for (auto [from, to] : {std::pair{&client, &server}, std::pair{&server, &client}}) {
      std::deque<Bytes> queue;
      queue.swap(from->outbox);
      for (const Bytes& d : queue) to->dtls->ProcessPacket(d.data(), d.size());
    }
  };
  ASSERT_TRUE(loop.RunUntil(
      [&] {
        return client.sctp_state == SctpState::kConnected &&
               server.sctp_state == SctpState::kConnected;
      },
      10000, pump));

  DataChannelParams params;
  params.label = "over-dtls";
  const uint16_t id = client.sctp->OpenChannel(params).value();
  EXPECT_EQ(id % 2, 0);
  ASSERT_TRUE(
      loop.RunUntil([&] { return !server.opened.empty() && !client.opened.empty(); }, 10000, pump));
  EXPECT_EQ(server.opened[0].label, "over-dtls");

  Bytes message(64 * 1024);
  for (size_t i = 0; i < message.size(); ++i) message[i] = static_cast<uint8_t>(i * 7);
  constexpr size_t kMessages = 16;  // 1 MiB
  size_t sent = 0;
  ASSERT_TRUE(loop.RunUntil([&] { return server.received.size() == kMessages; }, 20000,
                            [&] {
                              while (sent < kMessages &&
                                     client.sctp->Send(id, kPpidBinary, message).ok())
                                ++sent;
                              pump();
                            }));
  for (const Bytes& m : server.received) EXPECT_EQ(m, message);
  ASSERT_TRUE(server.sctp->Send(id, kPpidString, Bytes{'o', 'k'}).ok());
  ASSERT_TRUE(loop.RunUntil([&] { return client.received.size() == 1; }, 10000, pump));

  // The SCTP packets are full size, and their DTLS records still fit the DTLS MTU.
  EXPECT_GT(client.max_sctp_packet, kSctpMtu - 16);
  EXPECT_LE(client.max_sctp_packet, kSctpMtu);
  EXPECT_LE(client.max_datagram, kDtlsMtu);
  EXPECT_LE(server.max_datagram, kDtlsMtu);

  for (Endpoint* e : {&client, &server}) {
    e->sctp.reset();
    e->dtls.reset();
  }
}

}  // namespace
}  // namespace sb::transport
