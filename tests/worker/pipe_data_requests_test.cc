// Data channels across a pipe between routers on two real workers (issue 14): a fake browser on
// worker A opens a channel (a data producer on A); TRANSPORT_CONSUME_DATA onto A's end of a
// pipe with SCTP opens a copy of it on the pipe's association, which worker B announces as a
// data producer of its pipe end (labelled with the origin producer's id, the origin's own label
// and protocol beside it); a fake browser on B consumes that one and gets every message; closing
// the origin closes the copy. Plain (two workers of one host) and SRTP (between hosts).
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "tests/worker/two_worker_fixture.h"
#include "transport/dcep.h"

namespace sb::worker::testing {
namespace {

using transport::kPpidBinary;
using transport::kPpidString;
using Bytes = std::vector<uint8_t>;

Bytes Text(const std::string& s) { return Bytes(s.begin(), s.end()); }

// `size` bytes in a pattern that differs per seed, so a lost or reordered message shows.
Bytes Pattern(size_t size, int seed) {
  Bytes b(size);
  for (size_t i = 0; i < size; ++i) b[i] = static_cast<uint8_t>(i * 31 + seed * 7);
  return b;
}

class PipeDataRequestsTest : public TwoWorkerTest {
 protected:
  Reply EnableSctp(const std::string& transport_id) {
    return Call(fbs::Method::TRANSPORT_ENABLE_SCTP, transport_id,
                [&](flatbuffers::FlatBufferBuilder& fbb) {
                  auto body = fbs::CreateEnableSctpRequest(fbb, 262144);
                  return std::make_pair(fbs::RequestBody::EnableSctpRequest, body.Union());
                });
  }
  Reply ConsumeData(const std::string& transport_id, const std::string& id,
                    const std::string& data_producer_id, const std::string& protocol) {
    return Call(fbs::Method::TRANSPORT_CONSUME_DATA, transport_id,
                [&](flatbuffers::FlatBufferBuilder& fbb) {
                  auto body = fbs::CreateConsumeDataRequestDirect(
                      fbb, id.c_str(), data_producer_id.c_str(), protocol.c_str());
                  return std::make_pair(fbs::RequestBody::ConsumeDataRequest, body.Union());
                });
  }
  // Transport `id` on `router_id` with data channels on, and a fake browser on it whose
  // association is up.
  FakePeer* DataPeer(const std::string& router_id, const std::string& id) {
    Reply info = CreateTransport(router_id, id);
    EXPECT_TRUE(info.accepted);
    EXPECT_TRUE(EnableSctp(id).accepted);
    FakePeer* peer = ConnectPeer(id, info, /*sctp=*/true);
    if (peer == nullptr) return nullptr;
    EXPECT_TRUE(RunUntil([&] { return peer->sctp_connected(); }, std::chrono::seconds(5)))
        << "no SCTP association on " << id;
    return peer;
  }
  // The data producer announced on `transport_id` with this label, once it is there.
  std::optional<DataProducerNotice> ProducerOn(const std::string& transport_id,
                                               const std::string& label) {
    std::optional<DataProducerNotice> found;
    RunUntil([&] {
      for (const auto& p : data_producers_) {
        if (p.transport_id == transport_id && p.label == label) found = p;
      }
      return found.has_value();
    });
    return found;
  }
  // The channel the worker opened on `peer` with this label, once it is there.
  std::optional<transport::DataChannelInfo> ChannelOn(FakePeer* peer, const std::string& label) {
    std::optional<transport::DataChannelInfo> found;
    RunUntil([&] {
      for (const auto& info : peer->channels_opened()) {
        if (info.label == label) found = info;
      }
      return found.has_value();
    });
    return found;
  }
  static size_t MessagesOn(const FakePeer* peer, uint16_t stream) {
    size_t n = 0;
    for (const auto& m : peer->data_messages()) n += m.stream_id == stream;
    return n;
  }

  // Router "room" on A with its pipe end "pipe-a" (the SCTP client), router "room-b" on B with
  // "pipe-b", connected to each other.
  void ConnectPipes() {
    PipeEnd a = CreatePipe("room", "pipe-a", /*sctp=*/true, /*sctp_client=*/true);
    ASSERT_TRUE(a.accepted);
    PipeEnd b = OnB([&] {
      EXPECT_TRUE(CreateRouter("room-b").accepted);
      return CreatePipe("room-b", "pipe-b", /*sctp=*/true, /*sctp_client=*/false);
    });
    ASSERT_TRUE(b.accepted);
    ASSERT_TRUE(ConnectPipe("pipe-a", b).accepted);
    ASSERT_TRUE(OnB([&] { return ConnectPipe("pipe-b", a); }).accepted);
  }
};

TEST_P(PipeDataRequestsTest, ChannelCrossesThePipeAndClosesWithItsOrigin) {
  // Worker A: the sender's channel, "chat" with protocol "bob" (what its receivers see).
  ASSERT_TRUE(CreateRouter("room").accepted);
  FakePeer* sender = DataPeer("room", "pub");
  ASSERT_TRUE(sender);
  transport::DataChannelParams chat;
  chat.label = "chat";
  chat.protocol = "bob";
  auto chat_stream = sender->sctp()->OpenChannel(chat);
  ASSERT_TRUE(chat_stream.ok()) << chat_stream.status();
  auto origin = ProducerOn("pub", "chat");
  ASSERT_TRUE(origin);

  // A pipe without SCTP carries no data channels.
  PipeEnd plain = CreatePipe("room", "pipe-plain", /*sctp=*/false, /*sctp_client=*/false);
  ASSERT_TRUE(plain.accepted);
  EXPECT_FALSE(ConsumeData("pipe-plain", "nowhere", origin->id, "").accepted);

  ConnectPipes();
  ASSERT_TRUE(RunUntil([&] {
    return Call(fbs::Method::TRANSPORT_GET_STATS, "pipe-a").sctp_state == "connected";
  })) << "no SCTP association on the pipe";

  // The copy: B announces a data producer on its pipe end, labelled with the origin's id.
  ASSERT_TRUE(ConsumeData("pipe-a", "to-b", origin->id, "ignored on a pipe").accepted);
  auto far = ProducerOn("pipe-b", origin->id);
  ASSERT_TRUE(far) << "B announced no data producer for " << origin->id;
  EXPECT_EQ(far->origin_label, "chat");
  EXPECT_EQ(far->origin_protocol, "bob");
  EXPECT_TRUE(far->ordered);
  EXPECT_EQ(far->max_retransmits, -1);
  EXPECT_TRUE(origin->origin_label.empty()) << "a browser's channel has no origin";

  // A receiver on B consumes the copy: its channel has the origin's label.
  FakePeer* receiver = OnB([&] { return DataPeer("room-b", "sub"); });
  ASSERT_TRUE(receiver);
  ASSERT_TRUE(OnB([&] { return ConsumeData("sub", "dc-sub", far->id, "pub"); }).accepted);
  auto on_sub = ChannelOn(receiver, "chat");
  ASSERT_TRUE(on_sub);
  EXPECT_EQ(on_sub->protocol, "pub") << "the protocol the control process asked for";
  EXPECT_TRUE(on_sub->reliability.reliable());

  const std::vector<std::pair<uint32_t, Bytes>> sent = {
      {kPpidString, Text("hello across the pipe")},
      {kPpidBinary, Bytes{0, 1, 2, 255}},
      {kPpidString, Bytes{}},
      {kPpidBinary, Pattern(65536, 1)},  // 64 KiB: many SCTP packets, one message
      {kPpidString, Text("after the big one")},
      {kPpidBinary, Pattern(200000, 2)},
  };
  for (const auto& [ppid, data] : sent) {
    ASSERT_TRUE(sender->sctp()->Send(*chat_stream, ppid, data).ok());
  }
  ASSERT_TRUE(RunUntil([&] { return MessagesOn(receiver, on_sub->stream_id) == sent.size(); }))
      << MessagesOn(receiver, on_sub->stream_id) << " of " << sent.size() << " arrived";
  ASSERT_EQ(receiver->data_messages().size(), sent.size());
  for (size_t i = 0; i < sent.size(); ++i) {
    EXPECT_EQ(receiver->data_messages()[i].ppid, sent[i].first) << i;
    EXPECT_EQ(receiver->data_messages()[i].data, sent[i].second) << i;
  }

  Reply a_stats = Call(fbs::Method::TRANSPORT_GET_STATS, "pipe-a");
  EXPECT_EQ(a_stats.counters["data_consumers"], 1u);
  EXPECT_EQ(a_stats.counters["data_messages_sent"], sent.size());
  Reply b_stats = OnB([&] { return Call(fbs::Method::TRANSPORT_GET_STATS, "pipe-b"); });
  EXPECT_EQ(b_stats.sctp_state, "connected");
  EXPECT_EQ(b_stats.counters["data_producers"], 1u);
  EXPECT_EQ(b_stats.counters["data_messages_received"], sent.size());
  EXPECT_EQ(b_stats.counters["data_channels_malformed"], 0u);

  // The sender closes its channel: A's producer goes, and with it the copy on B and B's
  // receiver's channel.
  ASSERT_TRUE(sender->sctp()->CloseChannel(*chat_stream).ok());
  ASSERT_TRUE(RunUntil([&] {
    return Notified(fbs::Event::DATA_PRODUCER_CLOSED, origin->id) == 1 &&
           Notified(fbs::Event::DATA_PRODUCER_CLOSED, far->id) == 1 &&
           !receiver->channels_closed().empty();
  })) << "the copy on B did not close with its origin";
  EXPECT_EQ(receiver->channels_closed()[0], on_sub->stream_id);
  EXPECT_EQ(data_consumers_closed_["to-b"], "sender-closed");
  EXPECT_EQ(data_consumers_closed_["dc-sub"], "sender-closed");
  EXPECT_EQ(OnB([&] {
              return Call(fbs::Method::TRANSPORT_GET_STATS, "pipe-b");
            }).counters["data_producers"],
            0u);
  EXPECT_FALSE(exited_);
}

// The origin's reliability crosses with it (an unordered channel with a retransmission limit),
// and a consumer made before the pipe's association is up opens its channel once it is.
TEST_P(PipeDataRequestsTest, ReliabilityCrossesAndConsumersWaitForTheAssociation) {
  ASSERT_TRUE(CreateRouter("room").accepted);
  FakePeer* sender = DataPeer("room", "pub");
  ASSERT_TRUE(sender);
  transport::DataChannelParams telemetry;
  telemetry.label = "telemetry";
  telemetry.reliability.ordered = false;
  telemetry.reliability.max_retransmits = 3;
  auto stream = sender->sctp()->OpenChannel(telemetry);
  ASSERT_TRUE(stream.ok()) << stream.status();
  auto origin = ProducerOn("pub", "telemetry");
  ASSERT_TRUE(origin);

  PipeEnd a = CreatePipe("room", "pipe-a", /*sctp=*/true, /*sctp_client=*/true);
  ASSERT_TRUE(a.accepted);
  // Before the pipe is connected: the channel waits for the association.
  ASSERT_TRUE(ConsumeData("pipe-a", "to-b", origin->id, "").accepted);
  PipeEnd b = OnB([&] {
    EXPECT_TRUE(CreateRouter("room-b").accepted);
    return CreatePipe("room-b", "pipe-b", /*sctp=*/true, /*sctp_client=*/false);
  });
  ASSERT_TRUE(b.accepted);
  ASSERT_TRUE(ConnectPipe("pipe-a", b).accepted);
  ASSERT_TRUE(OnB([&] { return ConnectPipe("pipe-b", a); }).accepted);

  auto far = ProducerOn("pipe-b", origin->id);
  ASSERT_TRUE(far);
  EXPECT_FALSE(far->ordered);
  EXPECT_EQ(far->max_retransmits, 3);
  EXPECT_EQ(far->origin_label, "telemetry");
  EXPECT_EQ(far->origin_protocol, "");

  FakePeer* receiver = OnB([&] { return DataPeer("room-b", "sub"); });
  ASSERT_TRUE(receiver);
  ASSERT_TRUE(OnB([&] { return ConsumeData("sub", "dc-sub", far->id, ""); }).accepted);
  auto on_sub = ChannelOn(receiver, "telemetry");
  ASSERT_TRUE(on_sub);
  EXPECT_FALSE(on_sub->reliability.ordered);
  EXPECT_EQ(on_sub->reliability.max_retransmits, std::optional<uint32_t>(3));

  ASSERT_TRUE(sender->sctp()->Send(*stream, kPpidString, Text("t=1")).ok());
  ASSERT_TRUE(RunUntil([&] { return MessagesOn(receiver, on_sub->stream_id) == 1; }));
  EXPECT_EQ(receiver->data_messages()[0].data, Text("t=1"));
  EXPECT_FALSE(exited_);
}

INSTANTIATE_TEST_SUITE_P(PlainAndSrtp, PipeDataRequestsTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "Srtp" : "Plain"; });

}  // namespace
}  // namespace sb::worker::testing
