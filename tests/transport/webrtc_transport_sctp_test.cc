// Data channels through a WebRtcTransport (Options::sctp): the transport starts its SCTP
// association when DTLS connects, hands DTLS application data to it, and reports its channels
// and messages to its listener; the test plays a browser with an association of its own
// (FakeBrowser with_sctp) over loopback UDP.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "tests/transport/fake_browser.h"
#include "tests/transport/test_loop.h"
#include "transport/webrtc_transport.h"

namespace sb::transport {
namespace {

using testing::FakeBrowser;

struct Sink : WebRtcTransport::Listener {
  void OnIceStateChange(IceState) override {}
  void OnDtlsStateChange(DtlsState s, const std::string&) override { dtls_state = s; }
  void OnRtpPacket(uint8_t*, size_t) override {}
  void OnRtcpPacket(const uint8_t*, size_t) override {}
  void OnSctpStateChange(SctpState s, const std::string&) override { sctp_state = s; }
  void OnDataChannelOpen(const DataChannelInfo& info) override { opened.push_back(info); }
  void OnDataChannelMessage(uint16_t stream_id, uint32_t ppid,
                            absl::Span<const uint8_t> data) override {
    messages.push_back({stream_id, ppid, std::string(data.begin(), data.end())});
  }
  void OnDataChannelClosed(uint16_t stream_id) override { closed.push_back(stream_id); }
  struct Message {
    uint16_t stream_id;
    uint32_t ppid;
    std::string text;
  };
  DtlsState dtls_state = DtlsState::kNew;
  SctpState sctp_state = SctpState::kNew;
  std::vector<DataChannelInfo> opened;
  std::vector<Message> messages;
  std::vector<uint16_t> closed;
};

class WebRtcTransportSctpTest : public ::testing::Test {
 protected:
  void Make(bool sctp) {
    auto cert = DtlsCertificate::Generate();
    ASSERT_TRUE(cert.ok());
    cert_ = *std::move(cert);
    WebRtcTransport::Options options;
    options.listen = {{.ip = "127.0.0.1", .announced = {}}};
    options.sctp = sctp;
    auto t = WebRtcTransport::Create(loop_.get(), options, cert_.get(), &sink_);
    ASSERT_TRUE(t.ok()) << t.status();
    transport_ = *std::move(t);
    browser_ = std::make_unique<FakeBrowser>(loop_.get(), "127.0.0.1");
    browser_->with_sctp = true;
    browser_->AimAt(transport_->local_port());
    ASSERT_NO_FATAL_FAILURE(browser_->ConnectTo(*transport_));
    ASSERT_TRUE(loop_.RunUntil([&] {
      return browser_->dtls_state == DtlsState::kConnected &&
             sink_.dtls_state == DtlsState::kConnected;
    }));
  }
  void TearDown() override {
    browser_.reset();
    transport_.reset();
  }

  testing::TestLoop loop_;
  std::unique_ptr<DtlsCertificate> cert_;
  Sink sink_;
  std::unique_ptr<WebRtcTransport> transport_;
  std::unique_ptr<FakeBrowser> browser_;
};

TEST_F(WebRtcTransportSctpTest, ChannelsAndMessagesBothWays) {
  ASSERT_NO_FATAL_FAILURE(Make(/*sctp=*/true));
  ASSERT_TRUE(loop_.RunUntil([&] {
    return browser_->sctp_state == SctpState::kConnected &&
           sink_.sctp_state == SctpState::kConnected;
  }));
  ASSERT_NE(transport_->sctp(), nullptr);

  // The browser opens "chat" (DCEP; the DTLS client's ids are even) and sends on it.
  DataChannelParams params;
  params.label = "chat";
  auto sid = browser_->sctp->OpenChannel(params);
  ASSERT_TRUE(sid.ok()) << sid.status();
  EXPECT_EQ(*sid % 2, 0);
  const std::string hello = "hello through the SFU";
  ASSERT_TRUE(
      browser_->sctp
          ->Send(*sid, kPpidString, {reinterpret_cast<const uint8_t*>(hello.data()), hello.size()})
          .ok());
  ASSERT_TRUE(loop_.RunUntil([&] { return !sink_.opened.empty() && !sink_.messages.empty(); }));
  EXPECT_EQ(sink_.opened[0].label, "chat");
  EXPECT_TRUE(sink_.opened[0].opened_by_peer);
  EXPECT_EQ(sink_.messages[0].stream_id, *sid);
  EXPECT_EQ(sink_.messages[0].ppid, kPpidString);
  EXPECT_EQ(sink_.messages[0].text, hello);

  // The server opens one of its own (odd ids: it is the DTLS server) and answers on both.
  DataChannelParams server_params;
  server_params.label = "from-server";
  auto server_sid = transport_->sctp()->OpenChannel(server_params);
  ASSERT_TRUE(server_sid.ok()) << server_sid.status();
  EXPECT_EQ(*server_sid % 2, 1);
  const std::string reply = "welcome";
  for (uint16_t s : {*sid, *server_sid}) {
    ASSERT_TRUE(
        transport_->sctp()
            ->Send(s, kPpidBinary, {reinterpret_cast<const uint8_t*>(reply.data()), reply.size()})
            .ok());
  }
  ASSERT_TRUE(loop_.RunUntil([&] { return browser_->messages.size() == 2; }));
  EXPECT_EQ(browser_->messages[0].second, reply);
  ASSERT_FALSE(browser_->opened.empty());
  EXPECT_EQ(browser_->opened.back().label, "from-server");

  // Closing the channel from the browser reaches the transport's listener.
  ASSERT_TRUE(browser_->sctp->CloseChannel(*sid).ok());
  ASSERT_TRUE(loop_.RunUntil([&] { return !sink_.closed.empty(); }));
  EXPECT_EQ(sink_.closed[0], *sid);

  // The transport closes: the browser's association hears the ABORT.
  transport_->Close();
  ASSERT_TRUE(loop_.RunUntil([&] {
    return browser_->sctp_state == SctpState::kFailed || browser_->sctp_state == SctpState::kClosed;
  }));
}

// Without data channels negotiated, the browser's SCTP packets are dropped: nothing connects,
// media is unaffected.
TEST_F(WebRtcTransportSctpTest, WithoutSctpApplicationDataIsDropped) {
  ASSERT_NO_FATAL_FAILURE(Make(/*sctp=*/false));
  loop_.RunUntil([] { return false; }, 300);
  EXPECT_EQ(transport_->sctp(), nullptr);
  EXPECT_NE(browser_->sctp_state, SctpState::kConnected);
  EXPECT_EQ(transport_->dtls_state(), DtlsState::kConnected);
}

}  // namespace
}  // namespace sb::transport
