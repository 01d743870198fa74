// ICE restart through a real switchboard-worker (RFC 8445 section 9): TRANSPORT_RESTART_ICE
// hands out new credentials; the fake browsers keep their DTLS and SRTP sessions, move to new
// ports and check with the new credentials, and media goes on over the new tuples.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "rtp/rtp_packet.h"
#include "tests/router/rtp_test_packets.h"
#include "tests/worker/router_requests_fixture.h"

namespace sb::worker {
namespace {

using router::testing::OpusProducerParams;
using testing::ChromiumCapabilities;
using testing::FakePeer;
using testing::kOpusSsrc;
using testing::Reply;
using testing::RouterRequestsTest;

TEST_F(RouterRequestsTest, IceRestartKeepsDtlsSrtpAndMedia) {
  ASSERT_TRUE(CreateRouter("room").accepted);
  Reply pub_info = CreateTransport("room", "pub");
  Reply sub_info = CreateTransport("room", "sub");
  ASSERT_TRUE(pub_info.accepted && sub_info.accepted);
  FakePeer* publisher = ConnectPeer("pub", pub_info);
  FakePeer* subscriber = ConnectPeer("sub", sub_info);
  ASSERT_TRUE(publisher && subscriber);
  ASSERT_TRUE(
      Produce("pub", "audio", rtp::MediaKind::kAudio, OpusProducerParams(kOpusSsrc)).accepted);
  Reply ca = Consume("sub", "ca", "audio", ChromiumCapabilities(), "0");
  ASSERT_TRUE(ca.accepted);

  const std::vector<uint8_t> payload = {0xFC, 0x01, 0x02, 0x03};
  int sent = 0;
  auto send_audio = [&](int count) {
    for (int i = 0; i < count; ++i, ++sent) {
      router::testing::TestPacket packet(111, static_cast<uint16_t>(7000 + sent),
                                         static_cast<uint32_t>(960 * sent), kOpusSsrc, payload);
      ASSERT_TRUE(packet.ok());
      ASSERT_TRUE(publisher->SendRtp(packet.get().data(), packet.get().size()));
    }
  };
  auto all_received = [&] {
    return RunUntil([&] { return subscriber->rtp().size() >= static_cast<size_t>(sent); },
                    std::chrono::seconds(3));
  };
  send_audio(10);
  ASSERT_TRUE(all_received());

  // New credentials for both transports, nothing else in the answer changes.
  Reply pub_ice = RestartIce("pub");
  Reply sub_ice = RestartIce("sub");
  ASSERT_TRUE(pub_ice.accepted) << pub_ice.error << ": " << pub_ice.reason;
  ASSERT_TRUE(sub_ice.accepted) << sub_ice.error << ": " << sub_ice.reason;
  for (const auto& [before, after] : {std::pair{pub_info, pub_ice}, std::pair{sub_info, sub_ice}}) {
    EXPECT_EQ(after.ufrag.size(), 16u);
    EXPECT_EQ(after.pwd.size(), 32u);
    EXPECT_NE(after.ufrag, before.ufrag);
    EXPECT_NE(after.pwd, before.pwd);
  }
  EXPECT_EQ(RestartIce("nope").error, "NotFound");

  // Until the browsers apply the answer, their checks with the old credentials are answered and
  // media flows as before.
  const int successes = publisher->binding_successes();
  publisher->SendBindingRequest(pub_info.candidates[0].port, pub_info.ufrag, pub_info.pwd);
  EXPECT_TRUE(RunUntil([&] { return publisher->binding_successes() == successes + 1; },
                       std::chrono::seconds(2)))
      << "a check with the old credentials was not answered before the new ones were used";
  send_audio(10);
  ASSERT_TRUE(all_received());

  // Each browser moves to a new port (a new tuple) and checks with the new credentials and a
  // new ufrag of its own, nominating the new tuple.
  struct Side {
    FakePeer* peer;
    const Reply& info;
    const Reply& ice;
  };
  const std::vector<Side> sides = {{publisher, pub_info, pub_ice}, {subscriber, sub_info, sub_ice}};
  for (const Side& side : sides) {
    const uint16_t old_port = side.peer->local_port();
    ASSERT_TRUE(side.peer->MoveToNewPort().ok());
    EXPECT_NE(side.peer->local_port(), old_port);
    const int before = side.peer->binding_successes();
    side.peer->SendBindingRequest(side.info.candidates[0].port, side.ice.ufrag, side.ice.pwd,
                                  "fakepeer2");
    ASSERT_TRUE(RunUntil([&] { return side.peer->binding_successes() == before + 1; },
                         std::chrono::seconds(2)))
        << "no answer to a check with the new credentials";
  }

  // Media goes on over the new tuples with the same SRTP sessions: the publisher's packets
  // come from its new port, the subscriber's arrive at its new one (the old socket is closed).
  send_audio(10);
  ASSERT_TRUE(all_received()) << "subscriber got " << subscriber->rtp().size() << " of " << sent;
  EXPECT_EQ(subscriber->unprotect_failures(), 0u);
  EXPECT_EQ(publisher->unprotect_failures(), 0u);
  std::optional<uint16_t> previous;
  for (auto bytes : subscriber->rtp()) {
    auto packet = rtp::RtpPacket::Parse(bytes.data(), bytes.size());
    ASSERT_TRUE(packet.has_value());
    EXPECT_EQ(packet->ssrc(), ca.consumer_params->encodings[0].ssrc);
    if (previous) {
      EXPECT_EQ(packet->sequence_number(), static_cast<uint16_t>(*previous + 1));
    }
    previous = packet->sequence_number();
  }
  // The worker's RTCP reaches the publisher at its new port too.
  const size_t rtcp_before = publisher->rtcp().size();
  EXPECT_TRUE(RunUntil([&] { return publisher->rtcp().size() > rtcp_before; },
                       std::chrono::milliseconds(2500)))
      << "no RTCP from the worker at the publisher's new port";

  // The old credentials are rejected now, the new ones still work. Loopback keeps the order:
  // an answer to the first check would arrive before the answer to the second.
  for (const Side& side : sides) {
    const int responses = side.peer->stun_responses();
    const int before = side.peer->binding_successes();
    side.peer->SendBindingRequest(side.info.candidates[0].port, side.info.ufrag, side.info.pwd,
                                  "fakepeer");
    side.peer->SendBindingRequest(side.info.candidates[0].port, side.ice.ufrag, side.ice.pwd,
                                  "fakepeer2");
    ASSERT_TRUE(
        RunUntil([&] { return side.peer->stun_responses() > responses; }, std::chrono::seconds(2)));
    RunFor(std::chrono::milliseconds(50));
    EXPECT_EQ(side.peer->stun_responses(), responses + 1) << "the old credentials were answered";
    EXPECT_EQ(side.peer->binding_successes(), before + 1);
  }

  // DTLS was never redone: each transport went through connecting and connected once.
  for (const std::string id : {"pub", "sub"}) {
    std::vector<fbs::DtlsState> states;
    for (const auto& [transport, state] : dtls_states_) {
      if (transport == id) states.push_back(state);
    }
    EXPECT_EQ(states,
              (std::vector<fbs::DtlsState>{fbs::DtlsState::CONNECTING, fbs::DtlsState::CONNECTED}))
        << id;
  }
  Reply pub_stats = Call(fbs::Method::TRANSPORT_GET_STATS, "pub");
  Reply sub_stats = Call(fbs::Method::TRANSPORT_GET_STATS, "sub");
  EXPECT_EQ(pub_stats.dtls_state, fbs::DtlsState::CONNECTED);
  EXPECT_EQ(sub_stats.dtls_state, fbs::DtlsState::CONNECTED);
  EXPECT_EQ(pub_stats.rtp_received, static_cast<uint64_t>(sent));
  EXPECT_EQ(sub_stats.rtp_sent, static_cast<uint64_t>(sent));
  EXPECT_TRUE(worker_->alive());
}

}  // namespace
}  // namespace sb::worker
