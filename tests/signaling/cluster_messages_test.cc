// What nodes of a cluster say to each other (signaling/cluster_messages.h): every message
// builds and parses back the same, and what another node must not say is refused.
#include "signaling/cluster_messages.h"

#include <gtest/gtest.h>

#include <string>

#include "tests/router/rtp_test_packets.h"

namespace sb::signaling {
namespace {

RemoteEntry Alice() {
  return RemoteEntry{"a.p1",
                     "Alice",
                     "a",
                     "a.r1",
                     {{"a.p2", rtp::MediaKind::kAudio, TrackSource::kMicrophone, false},
                      {"a.p3", rtp::MediaKind::kVideo, TrackSource::kScreen, true}},
                     {{"a.t1.dp1", "chat", ""}, {"a.t1.dp2", "", "b.p7"}}};
}

void ExpectSame(const RemoteEntry& a, const RemoteEntry& b) {
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.node, b.node);
  EXPECT_EQ(a.router, b.router);
  ASSERT_EQ(a.tracks.size(), b.tracks.size());
  for (size_t i = 0; i < a.tracks.size(); ++i) {
    EXPECT_EQ(a.tracks[i].id, b.tracks[i].id);
    EXPECT_EQ(a.tracks[i].kind, b.tracks[i].kind);
    EXPECT_EQ(a.tracks[i].source, b.tracks[i].source);
    EXPECT_EQ(a.tracks[i].paused, b.tracks[i].paused);
  }
  ASSERT_EQ(a.data.size(), b.data.size());
  for (size_t i = 0; i < a.data.size(); ++i) {
    EXPECT_EQ(a.data[i].id, b.data[i].id);
    EXPECT_EQ(a.data[i].label, b.data[i].label);
    EXPECT_EQ(a.data[i].to, b.data[i].to);
  }
}

TEST(ClusterMessagesTest, EntriesAndRoomMessagesRoundTrip) {
  auto entry = ParseEntry(EntryJson(Alice()));
  ASSERT_TRUE(entry.ok()) << entry.status();
  ExpectSame(*entry, Alice());

  auto upsert = ParseRoomMessage(UpsertMessage("a", Alice()));
  ASSERT_TRUE(upsert.ok()) << upsert.status();
  EXPECT_EQ(upsert->op, RoomMessage::Op::kUpsert);
  EXPECT_EQ(upsert->node, "a");
  ExpectSame(upsert->entry, Alice());

  auto remove = ParseRoomMessage(RemoveMessage("a", "a.p1"));
  ASSERT_TRUE(remove.ok()) << remove.status();
  EXPECT_EQ(remove->op, RoomMessage::Op::kRemove);
  EXPECT_EQ(remove->id, "a.p1");
}

TEST(ClusterMessagesTest, ANodeNamesOnlyItsOwnParticipantsAndTracks) {
  RemoteEntry foreign = Alice();
  foreign.id = "b.p1";  // b's participant, announced by a
  EXPECT_FALSE(ParseEntry(EntryJson(foreign)).ok());
  RemoteEntry foreign_track = Alice();
  foreign_track.tracks[0].id = "b.p9";
  EXPECT_FALSE(ParseEntry(EntryJson(foreign_track)).ok());
  RemoteEntry foreign_channel = Alice();
  foreign_channel.data[1].id = "b.t1.dp1";
  EXPECT_FALSE(ParseEntry(EntryJson(foreign_channel)).ok());
  // An upsert whose entry is another node's than the sender's.
  EXPECT_FALSE(ParseRoomMessage(UpsertMessage("b", Alice())).ok());
}

TEST(ClusterMessagesTest, MalformedEntriesAndRoomMessagesAreRefused) {
  for (
      const char* text : {
          R"([])",
          R"({"op":"upsert","node":"a"})",
          R"({"op":"remove","node":"a"})",
          R"({"op":"wave","node":"a","id":"a.p1"})",
          R"({"op":"remove","node":"","id":"a.p1"})",
          R"({"op":"remove","node":7,"id":"a.p1"})",
          R"({"op":"upsert","node":"a","entry":{"id":"a.p1","name":"x","node":"a","router":"r"}})",
          R"({"op":"upsert","node":"a","entry":{"id":"a.p1","name":5,"node":"a","router":"r","producers":[]}})",
          R"({"op":"upsert","node":"a","entry":{"id":"a.p1","name":"x","node":"a","router":"r","producers":[{"id":"a.p2","kind":"smell","source":"camera","paused":false}]}})",
          R"({"op":"upsert","node":"a","entry":{"id":"a.p1","name":"x","node":"a","router":"r","producers":[{"id":"a.p2","kind":"video","source":"hologram","paused":false}]}})",
          R"({"op":"upsert","node":"a","entry":{"id":"a.p1","name":"x","node":"a","router":"r","producers":[{"id":"a.p2","kind":"video","source":"camera"}]}})",
          "not json",
      }) {
    EXPECT_FALSE(ParseRoomMessage(text).ok()) << text;
  }
  // Bounds: a name too long, too many tracks, a message too long.
  RemoteEntry long_name = Alice();
  long_name.name.assign(kMaxClusterString + 1, 'x');
  EXPECT_FALSE(ParseEntry(EntryJson(long_name)).ok());
  RemoteEntry many = Alice();
  for (int i = 0; i < 10; ++i) many.tracks.push_back(many.tracks[0]);
  EXPECT_FALSE(ParseEntry(EntryJson(many)).ok());
  EXPECT_FALSE(ParseRoomMessage(std::string(kMaxClusterMessageBytes + 1, ' ')).ok());
}

TEST(ClusterMessagesTest, EntriesCarryDataChannelsWithinBounds) {
  // An entry without data channels (as a node before them wrote it) has none.
  RemoteEntry quiet = Alice();
  quiet.data.clear();
  nlohmann::json quiet_json = EntryJson(quiet);
  EXPECT_FALSE(quiet_json.contains("data"));
  auto parsed = ParseEntry(quiet_json);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_TRUE(parsed->data.empty());

  // As many channels as a participant may open, and labels up to the bound, cross.
  RemoteEntry full = Alice();
  full.data.clear();
  for (size_t i = 0; i < kMaxClusterDataChannels; ++i) {
    full.data.push_back({"a.t1.dp" + std::to_string(i), std::string(kMaxClusterLabel, 'l'),
                         std::string(kMaxClusterString, 't')});
  }
  const std::string upsert = UpsertMessage("a", full);
  EXPECT_LE(upsert.size(), kMaxClusterMessageBytes);
  auto full_parsed = ParseRoomMessage(upsert);
  ASSERT_TRUE(full_parsed.ok()) << full_parsed.status();
  ExpectSame(full_parsed->entry, full);

  RemoteEntry too_many = full;
  too_many.data.push_back(full.data[0]);
  EXPECT_FALSE(ParseEntry(EntryJson(too_many)).ok());
  RemoteEntry long_label = Alice();
  long_label.data[0].label.assign(kMaxClusterLabel + 1, 'l');
  EXPECT_FALSE(ParseEntry(EntryJson(long_label)).ok());
  RemoteEntry long_to = Alice();
  long_to.data[0].to.assign(kMaxClusterString + 1, 't');
  EXPECT_FALSE(ParseEntry(EntryJson(long_to)).ok());
  RemoteEntry no_id = Alice();
  no_id.data[0].id.clear();
  EXPECT_FALSE(ParseEntry(EntryJson(no_id)).ok());

  const std::string head = R"({"id":"a.p1","name":"x","node":"a","router":"r","producers":[],)";
  for (const char* data : {
           R"("data":{})",
           R"("data":[7])",
           R"("data":[{"id":"a.dp1","label":"chat"}])",
           R"("data":[{"id":"a.dp1","to":""}])",
           R"("data":[{"id":"a.dp1","label":5,"to":""}])",
           R"("data":[{"id":"a.dp1","label":"chat","to":null}])",
           R"("data":[{"label":"chat","to":""}])",
       }) {
    const std::string text = head + data + "}";
    EXPECT_FALSE(ParseEntry(nlohmann::json::parse(text)).ok()) << text;
  }
}

TEST(ClusterMessagesTest, PipeRequestsAndRepliesRoundTrip) {
  const PipeEndpoint end{"192.0.2.31", 40123, std::vector<uint8_t>(44, 0xAB)};
  auto open = ParseNodeMessage(OpenPipeRequest(7, "b", "room", "a.r1", "b.r1", end));
  ASSERT_TRUE(open.ok()) << open.status();
  EXPECT_EQ(open->op, NodeMessage::Op::kOpenPipe);
  EXPECT_EQ(open->request_id, 7u);
  EXPECT_EQ(open->from, "b");
  EXPECT_EQ(open->room, "room");
  EXPECT_EQ(open->asked_router, "a.r1");
  EXPECT_EQ(open->asker_router, "b.r1");
  ASSERT_TRUE(open->end.has_value());
  EXPECT_EQ(open->end->ip, end.ip);
  EXPECT_EQ(open->end->port, end.port);
  EXPECT_EQ(open->end->key, end.key);

  auto relay = ParseNodeMessage(RelayRequest(8, "b", "room", "a.r1", "b.r1", "a.p2"));
  ASSERT_TRUE(relay.ok()) << relay.status();
  EXPECT_EQ(relay->op, NodeMessage::Op::kRelay);
  EXPECT_EQ(relay->producer, "a.p2");

  for (int layer : {-1, 0, 2}) {
    auto layers = ParseNodeMessage(RelayLayersNotice("b", "room", "a.r1", "b.r1", "a.p2", layer));
    ASSERT_TRUE(layers.ok()) << layers.status();
    EXPECT_EQ(layers->op, NodeMessage::Op::kRelayLayers);
    EXPECT_EQ(layers->from, "b");
    EXPECT_EQ(layers->asked_router, "a.r1");
    EXPECT_EQ(layers->asker_router, "b.r1");
    EXPECT_EQ(layers->producer, "a.p2");
    EXPECT_EQ(layers->max_layer, layer);
  }

  auto close = ParseNodeMessage(ClosePipeNotice("b", "room", "a.r1", "b.r1"));
  ASSERT_TRUE(close.ok()) << close.status();
  EXPECT_EQ(close->op, NodeMessage::Op::kClosePipe);
  EXPECT_EQ(close->request_id, 0u);
  EXPECT_EQ(close->from, "b");
  EXPECT_EQ(close->room, "room");
  EXPECT_EQ(close->asked_router, "a.r1");
  EXPECT_EQ(close->asker_router, "b.r1");
  // Ids as long as the bound allows.
  const std::string longest(kMaxClusterString, 'r');
  auto close_long = ParseNodeMessage(ClosePipeNotice(longest, longest, longest, longest));
  ASSERT_TRUE(close_long.ok()) << close_long.status();
  EXPECT_EQ(close_long->asked_router, longest);

  auto relay_data = ParseNodeMessage(RelayDataRequest(10, "b", "room", "a.r1", "b.r1", "a.t1.dp1"));
  ASSERT_TRUE(relay_data.ok()) << relay_data.status();
  EXPECT_EQ(relay_data->op, NodeMessage::Op::kRelayData);
  EXPECT_EQ(relay_data->request_id, 10u);
  EXPECT_EQ(relay_data->from, "b");
  EXPECT_EQ(relay_data->room, "room");
  EXPECT_EQ(relay_data->asked_router, "a.r1");
  EXPECT_EQ(relay_data->asker_router, "b.r1");
  EXPECT_EQ(relay_data->producer, "a.t1.dp1");
  auto relayed = ParseNodeMessage(ReplyMessage(10, "a", absl::OkStatus()));
  ASSERT_TRUE(relayed.ok()) << relayed.status();
  EXPECT_TRUE(relayed->ok);
  EXPECT_FALSE(relayed->end.has_value() || relayed->params.has_value());

  const rtp::RtpParameters params = router::testing::SimulcastVp8ProducerParams("1");
  auto with_params = ParseNodeMessage(ReplyMessage(8, "a", absl::OkStatus(), std::nullopt, params));
  ASSERT_TRUE(with_params.ok()) << with_params.status();
  EXPECT_EQ(with_params->op, NodeMessage::Op::kReply);
  EXPECT_TRUE(with_params->ok);
  ASSERT_TRUE(with_params->params.has_value());
  EXPECT_EQ(with_params->params->encodings.size(), 3u);
  EXPECT_EQ(with_params->params->codecs.size(), params.codecs.size());
  EXPECT_EQ(with_params->params->MediaCodec()->mime_type, "video/VP8");

  auto failed = ParseNodeMessage(ReplyMessage(9, "a", absl::NotFoundError("no room x")));
  ASSERT_TRUE(failed.ok());
  EXPECT_FALSE(failed->ok);
  EXPECT_EQ(failed->error, "no room x");
}

TEST(ClusterMessagesTest, MalformedNodeMessagesAreRefused) {
  for (
      const char* text : {
          R"({"op":"reply","from":"a","ok":true})",
          R"({"op":"reply","from":"a","req":-1,"ok":true})",
          R"({"op":"reply","from":"a","req":1})",
          R"({"op":"reply","from":"a","req":1,"ok":true,"params":"not base64!"})",
          R"({"op":"reply","from":"a","req":1,"ok":true,"params":"AAAA"})",
          R"({"op":"reply","from":"a","req":1,"ok":true,"end":{"ip":"x","port":0,"key":""}})",
          R"({"op":"reply","from":"a","req":1,"ok":true,"end":{"ip":"x","port":70000,"key":""}})",
          R"({"op":"open-pipe","from":"b","req":1,"room":"r","remoteRouter":"a","localRouter":"b"})",
          R"({"op":"relay","from":"b","req":1,"room":"r","remoteRouter":"a","localRouter":"b"})",
          R"({"op":"relay","from":"b","req":1,"remoteRouter":"a","localRouter":"b","producer":"p"})",
          R"({"op":"relay-layers","from":"b","req":0,"room":"r","remoteRouter":"a","localRouter":"b","producer":"p"})",
          R"({"op":"relay-layers","from":"b","req":0,"room":"r","remoteRouter":"a","localRouter":"b","producer":"p","maxLayer":-2})",
          R"({"op":"relay-layers","from":"b","req":0,"room":"r","remoteRouter":"a","localRouter":"b","producer":"p","maxLayer":16})",
          R"({"op":"relay-layers","from":"b","req":0,"room":"r","remoteRouter":"a","localRouter":"b","producer":"p","maxLayer":"1"})",
          R"({"op":"relay-layers","from":"b","req":0,"room":"r","remoteRouter":"a","localRouter":"b","maxLayer":1})",
          R"({"op":"relay-data","from":"b","req":1,"room":"r","remoteRouter":"a","localRouter":"b"})",
          R"({"op":"relay-data","from":"b","req":1,"room":"r","remoteRouter":"a","localRouter":"b","dataProducer":""})",
          R"({"op":"relay-data","from":"b","req":1,"room":"r","remoteRouter":"a","localRouter":"b","dataProducer":7})",
          R"({"op":"relay-data","from":"b","req":1,"room":"r","localRouter":"b","dataProducer":"a.dp1"})",
          R"({"op":"close-pipe","from":"b","req":0,"room":"r","localRouter":"b"})",
          R"({"op":"close-pipe","from":"b","req":0,"room":"r","remoteRouter":"a"})",
          R"({"op":"close-pipe","from":"b","req":0,"remoteRouter":"a","localRouter":"b"})",
          R"({"op":"close-pipe","from":"b","req":0,"room":"r","remoteRouter":"","localRouter":"b"})",
          R"({"op":"close-pipe","from":"b","req":0,"room":"r","remoteRouter":"a","localRouter":7})",
          R"({"op":"close-pipe","from":"","req":0,"room":"r","remoteRouter":"a","localRouter":"b"})",
          R"({"op":"close-pipe","from":"b","room":"r","remoteRouter":"a","localRouter":"b"})",
          R"({"op":"close-pipe","from":"b","req":3,"room":"r","remoteRouter":"a","localRouter":"b"})",
          R"({"op":"dance","from":"b","req":1,"room":"r","remoteRouter":"a","localRouter":"b"})",
      }) {
    EXPECT_FALSE(ParseNodeMessage(text).ok()) << text;
  }
  // Ids past the bound.
  const std::string too_long(kMaxClusterString + 1, 'r');
  EXPECT_FALSE(ParseNodeMessage(ClosePipeNotice("b", "room", too_long, "b.r1")).ok());
  EXPECT_FALSE(ParseNodeMessage(ClosePipeNotice("b", "room", "a.r1", too_long)).ok());
  EXPECT_FALSE(ParseNodeMessage(ClosePipeNotice("b", too_long, "a.r1", "b.r1")).ok());
  EXPECT_FALSE(ParseNodeMessage(ClosePipeNotice(too_long, "room", "a.r1", "b.r1")).ok());
  // A key longer than any SRTP key.
  const PipeEndpoint big_key{"192.0.2.31", 1, std::vector<uint8_t>(100, 1)};
  EXPECT_FALSE(ParseNodeMessage(OpenPipeRequest(1, "b", "r", "a", "b", big_key)).ok());
}

}  // namespace
}  // namespace sb::signaling
