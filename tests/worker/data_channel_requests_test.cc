// Data channels through a real worker over IPC: fake browsers with SCTP associations open
// channels (data producers), the test drives the worker as the control process does
// (TRANSPORT_ENABLE_SCTP, TRANSPORT_CONSUME_DATA) and checks what each receiver gets, what a
// receiver that stops reading costs, and what is counted.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "tests/worker/router_requests_fixture.h"
#include "transport/dcep.h"

namespace sb::worker::testing {
namespace {

using transport::kPpidBinary;
using transport::kPpidString;
using Bytes = std::vector<uint8_t>;

Bytes Text(const std::string& s) { return Bytes(s.begin(), s.end()); }

// A reliable ordered channel labelled `label` (protocol empty).
transport::DataChannelParams Channel(const std::string& label) {
  transport::DataChannelParams params;
  params.label = label;
  return params;
}

// `size` bytes in a pattern that differs per message, so a lost or reordered one shows.
Bytes Pattern(size_t size, int seed) {
  Bytes b(size);
  for (size_t i = 0; i < size; ++i) b[i] = static_cast<uint8_t>(i * 31 + seed * 7);
  return b;
}

class DataChannelRequestsTest : public RouterRequestsTest {
 protected:
  void SetUp() override {
    RouterRequestsTest::SetUp();
    ASSERT_TRUE(CreateRouter("room").accepted);
  }

  Reply EnableSctp(const std::string& transport_id, uint64_t max_message_size = 262144) {
    return Call(fbs::Method::TRANSPORT_ENABLE_SCTP, transport_id,
                [&](flatbuffers::FlatBufferBuilder& fbb) {
                  auto body = fbs::CreateEnableSctpRequest(fbb, max_message_size);
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
  // Transport `id` with data channels on (the browser's a=max-message-size given), and a fake
  // browser on it whose association is up.
  FakePeer* DataPeer(const std::string& id, uint64_t max_message_size = 262144) {
    Reply info = CreateTransport("room", id);
    EXPECT_TRUE(info.accepted);
    EXPECT_TRUE(EnableSctp(id, max_message_size).accepted);
    FakePeer* peer = ConnectPeer(id, info, /*sctp=*/true);
    if (peer == nullptr) return nullptr;
    EXPECT_TRUE(RunUntil([&] { return peer->sctp_connected(); }, std::chrono::seconds(5)))
        << "no SCTP association on " << id;
    return peer;
  }
  // The peer opens a channel; returns its stream id once the worker announced the data
  // producer (its id in *producer_id).
  uint16_t OpenChannel(FakePeer* peer, const transport::DataChannelParams& params,
                       std::string* producer_id) {
    const size_t before = data_producers_.size();
    auto stream = peer->sctp()->OpenChannel(params);
    EXPECT_TRUE(stream.ok()) << stream.status();
    EXPECT_TRUE(RunUntil([&] { return data_producers_.size() > before; }));
    if (data_producers_.size() > before) *producer_id = data_producers_.back().id;
    return stream.ok() ? *stream : 0;
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
  // Sends every message in order, waiting while the sender's own buffer is full.
  void SendAll(FakePeer* peer, uint16_t stream, const std::vector<Bytes>& messages) {
    size_t next = 0;
    EXPECT_TRUE(RunUntil(
        [&] {
          while (next < messages.size()) {
            absl::Status s = peer->sctp()->Send(stream, kPpidBinary, messages[next]);
            if (absl::IsResourceExhausted(s)) return false;
            EXPECT_TRUE(s.ok()) << s;
            ++next;
          }
          return true;
        },
        std::chrono::seconds(30)))
        << next << " of " << messages.size() << " sent";
  }
  // Three peers; a opens a reliable channel `label` that the worker sends on to b and c (data
  // consumers dc-b and dc-c); null peers (with the failure reported) when a step fails.
  struct FanOut {
    FakePeer *a = nullptr, *b = nullptr, *c = nullptr;
    uint16_t a_stream = 0;
    transport::DataChannelInfo on_b, on_c;  // the channels the worker opened to b and c
  };
  FanOut OpenFanOut(const std::string& label) {
    FanOut f;
    f.a = DataPeer("a");
    f.b = DataPeer("b");
    f.c = DataPeer("c");
    if (!f.a || !f.b || !f.c) return {};
    std::string producer;
    f.a_stream = OpenChannel(f.a, Channel(label), &producer);
    EXPECT_TRUE(ConsumeData("b", "dc-b", producer, "a").accepted);
    EXPECT_TRUE(ConsumeData("c", "dc-c", producer, "a").accepted);
    auto on_b = ChannelOn(f.b, label);
    auto on_c = ChannelOn(f.c, label);
    EXPECT_TRUE(on_b && on_c);
    if (!on_b || !on_c) return {};
    f.on_b = *on_b;
    f.on_c = *on_c;
    return f;
  }
  static size_t MessagesOn(const FakePeer* peer, uint16_t stream) {
    size_t n = 0;
    for (const auto& m : peer->data_messages()) n += m.stream_id == stream;
    return n;
  }
};

// One sender's channel to two receivers: the worker announces the data producer; each
// receiver gets a channel of its own (opened by the worker: odd id, the sender's label, the
// protocol we asked for) with every message, byte for byte and type for type, in order.
TEST_F(DataChannelRequestsTest, MessagesReachEveryReceiver) {
  FakePeer* a = DataPeer("a");
  FakePeer* b = DataPeer("b");
  FakePeer* c = DataPeer("c");
  ASSERT_TRUE(a && b && c);
  std::string producer;
  const uint16_t a_stream = OpenChannel(a, Channel("chat"), &producer);
  ASSERT_FALSE(producer.empty());
  EXPECT_EQ(data_producers_.back().transport_id, "a");
  EXPECT_EQ(data_producers_.back().label, "chat");
  EXPECT_TRUE(data_producers_.back().ordered);

  EXPECT_FALSE(ConsumeData("b", "dc-b", "no-such-producer", "a").accepted);
  ASSERT_TRUE(ConsumeData("b", "dc-b", producer, "a").accepted);
  ASSERT_TRUE(ConsumeData("c", "dc-c", producer, "a").accepted);
  auto on_b = ChannelOn(b, "chat");
  auto on_c = ChannelOn(c, "chat");
  ASSERT_TRUE(on_b && on_c);
  EXPECT_EQ(on_b->protocol, "a");
  EXPECT_TRUE(on_b->opened_by_peer);
  EXPECT_EQ(on_b->stream_id % 2, 1) << "the worker is the DTLS server: odd stream ids";
  EXPECT_TRUE(on_c->reliability.reliable());

  const std::vector<std::pair<uint32_t, Bytes>> sent = {
      {kPpidString, Text("hello, room")},
      {kPpidBinary, Bytes{0, 1, 2, 255}},
      {kPpidString, Bytes{}},
      {kPpidBinary, Pattern(200000, 1)},  // many SCTP packets, one message
  };
  for (const auto& [ppid, data] : sent) ASSERT_TRUE(a->sctp()->Send(a_stream, ppid, data).ok());
  ASSERT_TRUE(RunUntil([&] {
    return MessagesOn(b, on_b->stream_id) == sent.size() &&
           MessagesOn(c, on_c->stream_id) == sent.size();
  }));
  for (FakePeer* receiver : {b, c}) {
    ASSERT_EQ(receiver->data_messages().size(), sent.size());
    for (size_t i = 0; i < sent.size(); ++i) {
      EXPECT_EQ(receiver->data_messages()[i].ppid, sent[i].first) << i;
      EXPECT_EQ(receiver->data_messages()[i].data, sent[i].second) << i;
    }
  }

  // A receiver writing on the channel the worker opened reaches nobody; it is counted.
  ASSERT_TRUE(b->sctp()->Send(on_b->stream_id, kPpidString, Text("not a producer")).ok());
  ASSERT_TRUE(RunUntil([&] {
    return Call(fbs::Method::TRANSPORT_GET_STATS, "b").counters["data_messages_unexpected"] == 1;
  }));
  EXPECT_TRUE(a->data_messages().empty());
  EXPECT_EQ(c->data_messages().size(), sent.size());

  Reply a_stats = Call(fbs::Method::TRANSPORT_GET_STATS, "a");
  EXPECT_EQ(a_stats.sctp_state, "connected");
  EXPECT_EQ(a_stats.counters["data_producers"], 1u);
  EXPECT_EQ(a_stats.counters["data_messages_received"], sent.size());
  EXPECT_EQ(a_stats.counters["data_bytes_received"], 200000u + 11 + 4);
  Reply b_stats = Call(fbs::Method::TRANSPORT_GET_STATS, "b");
  EXPECT_EQ(b_stats.counters["data_consumers"], 1u);
  EXPECT_EQ(b_stats.counters["data_messages_sent"], sent.size());
  EXPECT_EQ(b_stats.counters["data_consumers_closed_slow"], 0u);
  // The worker's sums, which /metrics shows (switchboard_worker_network_total).
  Reply dump = Call(fbs::Method::WORKER_DUMP);
  EXPECT_EQ(dump.counters["data_messages_received"], sent.size());
  EXPECT_EQ(dump.counters["data_messages_sent"], 2 * sent.size());
  EXPECT_EQ(dump.counters["data_messages_unexpected"], 1u);

  // The sender closes its channel: the receivers' channels close too, and the worker says so.
  ASSERT_TRUE(a->sctp()->CloseChannel(a_stream).ok());
  ASSERT_TRUE(RunUntil([&] {
    return Notified(fbs::Event::DATA_PRODUCER_CLOSED, producer) == 1 &&
           !b->channels_closed().empty() && !c->channels_closed().empty();
  }));
  EXPECT_EQ(b->channels_closed()[0], on_b->stream_id);
  EXPECT_EQ(data_consumers_closed_["dc-b"], "sender-closed");
  EXPECT_EQ(data_consumers_closed_["dc-c"], "sender-closed");
  EXPECT_EQ(Call(fbs::Method::TRANSPORT_GET_STATS, "b").counters["data_consumers"], 0u);
  EXPECT_FALSE(exited_);
}

// A receiver that stops reading: the worker holds a bounded amount for it, then closes its
// reliable channel with a reason; the other receiver gets the whole transfer unharmed.
TEST_F(DataChannelRequestsTest, ASlowReceiverIsClosedAndNobodyElseNotices) {
  const FanOut f = OpenFanOut("file");
  FakePeer *a = f.a, *b = f.b, *c = f.c;
  ASSERT_TRUE(a && b && c);
  const uint16_t a_stream = f.a_stream;
  const transport::DataChannelInfo on_b = f.on_b, on_c = f.on_c;

  c->set_deaf(true);
  std::vector<Bytes> messages;
  for (int i = 0; i < 128; ++i) messages.push_back(Pattern(65536, i));  // 8 MiB
  SendAll(a, a_stream, messages);
  ASSERT_TRUE(RunUntil([&] { return MessagesOn(b, on_b.stream_id) == messages.size(); },
                       std::chrono::seconds(30)));
  for (size_t i = 0; i < messages.size(); ++i) {
    ASSERT_EQ(b->data_messages()[i].data, messages[i]) << "message " << i;
  }
  ASSERT_TRUE(RunUntil([&] { return data_consumers_closed_.contains("dc-c"); }));
  EXPECT_EQ(data_consumers_closed_["dc-c"], "receiver-too-slow");
  Reply c_stats = Call(fbs::Method::TRANSPORT_GET_STATS, "c");
  EXPECT_EQ(c_stats.counters["data_consumers_closed_slow"], 1u);
  EXPECT_EQ(c_stats.counters["data_consumers"], 0u);
  EXPECT_EQ(c_stats.counters["data_queued_bytes"], 0u) << "what waited for it is freed";
  EXPECT_FALSE(data_consumers_closed_.contains("dc-b"));
  EXPECT_EQ(Call(fbs::Method::WORKER_DUMP).counters["data_consumers_closed_slow"], 1u);
}

// A receiver that stops reading for a moment holds the sender back (its association is not read
// while the receiver's queue is over a megabyte) instead of being cut off: once it reads again
// it gets everything, and so does the other receiver.
TEST_F(DataChannelRequestsTest, AReceiverThatFallsBehindHoldsTheSenderBack) {
  const FanOut f = OpenFanOut("file");
  FakePeer *a = f.a, *b = f.b, *c = f.c;
  ASSERT_TRUE(a && b && c);
  const uint16_t a_stream = f.a_stream;
  const transport::DataChannelInfo on_b = f.on_b, on_c = f.on_c;

  c->set_deaf(true);
  std::vector<Bytes> messages;
  for (int i = 0; i < 128; ++i) messages.push_back(Pattern(65536, i));  // 8 MiB
  size_t next = 0;
  bool woke = false;
  const auto started = std::chrono::steady_clock::now();
  ASSERT_TRUE(RunUntil(
      [&] {
        if (!woke && std::chrono::steady_clock::now() - started > std::chrono::milliseconds(300)) {
          c->set_deaf(false);  // reads again
          woke = true;
        }
        while (next < messages.size() &&
               a->sctp()->Send(a_stream, kPpidBinary, messages[next]).ok()) {
          ++next;
        }
        return next == messages.size() && MessagesOn(b, on_b.stream_id) == messages.size() &&
               MessagesOn(c, on_c.stream_id) == messages.size();
      },
      std::chrono::seconds(30)))
      << "sent " << next << ", b got " << MessagesOn(b, on_b.stream_id) << ", c got "
      << MessagesOn(c, on_c.stream_id);
  for (FakePeer* receiver : {b, c}) {
    size_t i = 0;
    for (const auto& m : receiver->data_messages()) {
      if (m.stream_id == (receiver == b ? on_b.stream_id : on_c.stream_id)) {
        ASSERT_EQ(m.data, messages[i]) << "message " << i;
        ++i;
      }
    }
  }
  EXPECT_TRUE(data_consumers_closed_.empty());
  EXPECT_EQ(Call(fbs::Method::TRANSPORT_GET_STATS, "c").counters["data_consumers_closed_slow"], 0u);
}

// An unreliable channel (maxRetransmits 0) to a receiver that stops reading drops what does not
// fit instead of closing: the channel stays, the drops are counted, the queue stays bounded.
TEST_F(DataChannelRequestsTest, UnreliableChannelDropsForASlowReceiver) {
  FakePeer* a = DataPeer("a");
  FakePeer* c = DataPeer("c");
  ASSERT_TRUE(a && c);
  transport::DataChannelParams params = Channel("telemetry");
  params.reliability.ordered = false;
  params.reliability.max_retransmits = 0;
  std::string producer;
  const uint16_t a_stream = OpenChannel(a, params, &producer);
  EXPECT_FALSE(data_producers_.back().ordered);
  EXPECT_EQ(data_producers_.back().max_retransmits, 0);
  ASSERT_TRUE(ConsumeData("c", "dc-c", producer, "a").accepted);
  auto on_c = ChannelOn(c, "telemetry");
  ASSERT_TRUE(on_c);
  EXPECT_EQ(on_c->reliability.max_retransmits, 0u);

  c->set_deaf(true);
  std::vector<Bytes> messages;
  for (int i = 0; i < 128; ++i) messages.push_back(Pattern(65536, i));
  SendAll(a, a_stream, messages);
  Reply stats;
  ASSERT_TRUE(RunUntil([&] {
    stats = Call(fbs::Method::TRANSPORT_GET_STATS, "a");
    return stats.counters["data_messages_received"] == messages.size();
  }));
  stats = Call(fbs::Method::TRANSPORT_GET_STATS, "c");
  EXPECT_GT(stats.counters["data_messages_dropped"], 0u);
  EXPECT_LE(stats.counters["data_queued_bytes"], 4u * 1024 * 1024);
  EXPECT_EQ(stats.counters["data_consumers"], 1u);
  EXPECT_FALSE(data_consumers_closed_.contains("dc-c"));
}

// A receiver whose SDP said a=max-message-size:65536 gets a reliable channel's smaller messages;
// a larger one closes its channel (told as message-too-large) instead of leaving a hole.
TEST_F(DataChannelRequestsTest, MessageOverTheReceiversLimitClosesItsReliableChannel) {
  FakePeer* a = DataPeer("a");
  FakePeer* small = DataPeer("small", 65536);
  ASSERT_TRUE(a && small);
  std::string producer;
  const uint16_t a_stream = OpenChannel(a, Channel("file"), &producer);
  ASSERT_TRUE(ConsumeData("small", "dc-small", producer, "a").accepted);
  auto on_small = ChannelOn(small, "file");
  ASSERT_TRUE(on_small);
  ASSERT_TRUE(a->sctp()->Send(a_stream, kPpidBinary, Pattern(65536, 1)).ok());
  ASSERT_TRUE(a->sctp()->Send(a_stream, kPpidBinary, Pattern(65537, 2)).ok());
  ASSERT_TRUE(RunUntil([&] { return data_consumers_closed_.contains("dc-small"); }));
  EXPECT_EQ(data_consumers_closed_["dc-small"], "message-too-large");
  ASSERT_TRUE(RunUntil([&] { return !small->channels_closed().empty(); }));
  ASSERT_EQ(MessagesOn(small, on_small->stream_id), 1u);
  EXPECT_EQ(small->data_messages()[0].data, Pattern(65536, 1));
}

// The same when the message over the limit waited in the worker's queue (the receiver was not
// reading): the messages before it arrive, then the channel closes as message-too-large.
TEST_F(DataChannelRequestsTest, QueuedMessageOverTheReceiversLimitClosesItsReliableChannel) {
  FakePeer* a = DataPeer("a");
  FakePeer* small = DataPeer("small", 65536);
  ASSERT_TRUE(a && small);
  std::string producer;
  const uint16_t a_stream = OpenChannel(a, Channel("file"), &producer);
  ASSERT_TRUE(ConsumeData("small", "dc-small", producer, "a").accepted);
  auto on_small = ChannelOn(small, "file");
  ASSERT_TRUE(on_small);

  small->set_deaf(true);
  // A little more than the association's 1 MiB send buffer (under the 1 MiB the worker may
  // queue before holding the sender back), then the message the receiver cannot take.
  constexpr int kFitting = 17;
  std::vector<Bytes> messages;
  for (int i = 0; i < kFitting; ++i) messages.push_back(Pattern(65536, i));
  messages.push_back(Pattern(65537, 99));
  SendAll(a, a_stream, messages);
  ASSERT_TRUE(RunUntil([&] {
    return Call(fbs::Method::TRANSPORT_GET_STATS, "a").counters["data_messages_received"] ==
           messages.size();
  }));
  EXPECT_GT(Call(fbs::Method::TRANSPORT_GET_STATS, "small").counters["data_queued_bytes"], 0u)
      << "the last messages wait in the worker";
  small->set_deaf(false);
  ASSERT_TRUE(RunUntil([&] { return data_consumers_closed_.contains("dc-small"); },
                       std::chrono::seconds(20)));
  EXPECT_EQ(data_consumers_closed_["dc-small"], "message-too-large");
  ASSERT_TRUE(RunUntil([&] { return MessagesOn(small, on_small->stream_id) == kFitting; },
                       std::chrono::seconds(10)));
  for (int i = 0; i < kFitting; ++i) EXPECT_EQ(small->data_messages()[i].data, messages[i]);
}

// A data consumer made before its receiver's association is up keeps the messages meanwhile
// and opens its channel when the association comes up: nothing lost.
TEST_F(DataChannelRequestsTest, ConsumerWaitsForTheReceiversAssociation) {
  FakePeer* a = DataPeer("a");
  ASSERT_TRUE(a);
  std::string producer;
  const uint16_t a_stream = OpenChannel(a, Channel("chat"), &producer);
  Reply d_info = CreateTransport("room", "d");
  ASSERT_TRUE(d_info.accepted);
  ASSERT_TRUE(EnableSctp("d").accepted);
  ASSERT_TRUE(ConsumeData("d", "dc-d", producer, "a").accepted);
  ASSERT_TRUE(a->sctp()->Send(a_stream, kPpidString, Text("early")).ok());
  ASSERT_TRUE(RunUntil([&] {
    return Call(fbs::Method::TRANSPORT_GET_STATS, "a").counters["data_messages_received"] == 1;
  }));
  FakePeer* d = ConnectPeer("d", d_info, /*sctp=*/true);
  ASSERT_TRUE(d);
  auto on_d = ChannelOn(d, "chat");
  ASSERT_TRUE(on_d);
  ASSERT_TRUE(RunUntil([&] { return MessagesOn(d, on_d->stream_id) == 1; }));
  EXPECT_EQ(d->data_messages()[0].data, Text("early"));

  // Closing the receiver's transport takes its consumer with it; the sender goes on.
  ASSERT_TRUE(Call(fbs::Method::TRANSPORT_CLOSE, "d").accepted);
  ASSERT_TRUE(a->sctp()->Send(a_stream, kPpidString, Text("late")).ok());
  RunFor(std::chrono::milliseconds(100));
  EXPECT_EQ(Call(fbs::Method::TRANSPORT_GET_STATS, "a").counters["data_messages_received"], 2u);
  EXPECT_FALSE(exited_);
}

}  // namespace
}  // namespace sb::worker::testing
