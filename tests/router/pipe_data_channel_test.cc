// The protocol field of a data channel across a pipe (router/pipe_data_channel.h): what the
// origin router packs, what the far router accepts, and the far DataEndpoint refusing a pipe
// channel that does not carry an origin (counted, no data producer).
#include "router/pipe_data_channel.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "router/data_endpoint.h"

namespace sb::router {
namespace {

TEST(PipeDataChannelTest, RoundTrips) {
  for (const PipeChannelOrigin& origin :
       {PipeChannelOrigin{"chat", "bob"}, PipeChannelOrigin{"", ""}, PipeChannelOrigin{"", "p"},
        PipeChannelOrigin{"only label", ""}, PipeChannelOrigin{"sp ace 12 ", " 3 x"},
        PipeChannelOrigin{std::string(70, 'x'), "sb-pipe/1 2 ab"},
        PipeChannelOrigin{std::string("\0\xff", 2), "\xe2\x82\xac"}}) {
    auto packed = EncodePipeChannelProtocol(origin);
    ASSERT_TRUE(packed.ok()) << packed.status();
    EXPECT_EQ(DecodePipeChannelProtocol(*packed), origin) << *packed;
  }
  EXPECT_EQ(*EncodePipeChannelProtocol({"chat", "bob"}), "sb-pipe/1 4 chatbob");
}

TEST(PipeDataChannelTest, KeepsToDcepLimit) {
  // 65535 bytes in all (RFC 8832 5.1): prefix (10) + "65519" + " " + label.
  const std::string label(65535 - 16, 'l');
  auto packed = EncodePipeChannelProtocol({label, ""});
  ASSERT_TRUE(packed.ok());
  EXPECT_EQ(packed->size(), 65535u);
  EXPECT_EQ(DecodePipeChannelProtocol(*packed)->label, label);
  EXPECT_FALSE(EncodePipeChannelProtocol({label, "p"}).ok());
}

TEST(PipeDataChannelTest, RefusesWhatIsNotOne) {
  for (const std::string& bad :
       {std::string(""), std::string("chat"), std::string("sb-pipe/1"), std::string("sb-pipe/1 "),
        std::string("sb-pipe/2 4 chat"), std::string("sb-pipe/1 4chat"),
        std::string("sb-pipe/1 5 chat"), std::string("sb-pipe/1 04 chat"),
        std::string("sb-pipe/1 -4 chat"), std::string("sb-pipe/1 +4 chat"),
        std::string("sb-pipe/1 999999 x"), std::string("sb-pipe/1 4294967300 x"),
        std::string("sb-pipe/1  4 chat"), std::string("SB-PIPE/1 4 chat")}) {
    EXPECT_FALSE(DecodePipeChannelProtocol(bad).has_value()) << bad;
  }
  EXPECT_EQ(DecodePipeChannelProtocol("sb-pipe/1 0 "), (PipeChannelOrigin{"", ""}));
}

class NoCarrier : public SctpCarrier {
 public:
  transport::SctpAssociation* sctp() const override { return nullptr; }
};

class Producers : public DataEndpoint::Listener {
 public:
  void OnDataProducerOpened(DataEndpoint*, DataProducer* producer) override {
    opened.push_back(producer);
  }
  void OnDataProducerMessage(DataEndpoint*, DataProducer*, uint32_t,
                             absl::Span<const uint8_t>) override {}
  void OnDataProducerClosed(DataEndpoint*, DataProducer*) override {}
  void OnDataConsumerClosed(DataEndpoint*, DataConsumer*, const std::string&) override {}
  void OnDataConsumerHolding(DataEndpoint*, DataConsumer*, bool) override {}
  std::vector<DataProducer*> opened;
};

TEST(PipeDataChannelTest, PipeEndpointTakesOnlyPipeChannels) {
  NoCarrier carrier;
  Producers listener;
  DataEndpoint pipe("pipe", &carrier, DataEndpoint::Kind::kPipe, &listener);
  transport::DataChannelInfo info;
  info.stream_id = 2;
  info.label = "room.dp1";
  info.protocol = "sb-pipe/1 4 chatbob";
  info.opened_by_peer = true;
  pipe.OnDataChannelOpen(info);
  ASSERT_EQ(listener.opened.size(), 1u);
  const DataProducer* copy = listener.opened[0];
  EXPECT_EQ(copy->info().label, "room.dp1");
  EXPECT_EQ(copy->label(), "chat");
  EXPECT_EQ(copy->protocol(), "bob");
  ASSERT_TRUE(copy->origin().has_value());

  info.stream_id = 4;
  info.protocol = "bob";  // as a browser would open it: not a pipe channel
  pipe.OnDataChannelOpen(info);
  EXPECT_EQ(listener.opened.size(), 1u);
  EXPECT_EQ(pipe.totals().channels_malformed, 1u);
  EXPECT_EQ(pipe.data_producers().size(), 1u);

  // A WebRTC peer's channel is taken as it is, whatever its protocol says.
  DataEndpoint peer("peer", &carrier, DataEndpoint::Kind::kPeer, &listener);
  info.protocol = "sb-pipe/1 4 chatbob";
  peer.OnDataChannelOpen(info);
  ASSERT_EQ(listener.opened.size(), 2u);
  EXPECT_FALSE(listener.opened[1]->origin().has_value());
  EXPECT_EQ(listener.opened[1]->label(), "room.dp1");
  EXPECT_EQ(listener.opened[1]->protocol(), "sb-pipe/1 4 chatbob");
}

}  // namespace
}  // namespace sb::router
