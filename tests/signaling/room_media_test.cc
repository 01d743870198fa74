// A room's media placement (signaling/room_media.h) over two real switchboard-worker processes:
// which worker each participant goes to, and producers piped on demand between the room's
// routers (asked of the workers themselves: the copy exists, pauses and closes with its origin);
// data channels from another node (a fake one: RemoteLink) asked of it, and only for its pipes.
#include "signaling/room_media.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "signaling/worker_requests.h"
#include "tests/router/rtp_test_packets.h"
#include "tests/signaling/workers/loop_fixture.h"

namespace sb::signaling {
namespace {

// Another node as a room's media sees it: opens its end of every pipe at once (an address
// nobody listens on) and keeps the data channel requests for the test to answer.
class FakeLink : public RemoteLink {
 public:
  struct DataAsk {
    std::string node, data_producer, remote_router, local_router;
    Callback<bool> done;
  };
  void OpenPipe(const std::string&, const std::string&, const std::string&, const std::string&,
                const PipeEndpoint& local_end, Callback<PipeEndpoint> done) override {
    ++pipes_opened;
    // As the other node's worker would answer: its own key, as long as ours.
    done(PipeEndpoint{"127.0.0.1", 9, std::vector<uint8_t>(local_end.key.size(), 7)});
  }
  void Relay(const std::string&, const std::string&, const std::string&, const std::string&,
             const std::string&, Callback<rtp::RtpParameters> done) override {
    if (hold_relays) return relay_asks.push_back(std::move(done));
    done(absl::UnimplementedError("no tracks in this test"));
  }
  void RelayData(const std::string& node, const std::string&, const std::string& data_producer_id,
                 const std::string& remote_router, const std::string& local_router,
                 Callback<bool> done) override {
    data_asks.push_back({node, data_producer_id, remote_router, local_router, std::move(done)});
  }
  void RelayLayers(const std::string&, const std::string&, const std::string&, const std::string&,
                   const std::string&, int) override {}
  void ClosePipe(const std::string& node, const std::string& room, const std::string& remote_router,
                 const std::string& local_router) override {
    close_pipes.push_back({node, room, remote_router, local_router});
  }

  int pipes_opened = 0;
  std::vector<DataAsk> data_asks;
  bool hold_relays = false;  // keeps Relay's callbacks in relay_asks instead of refusing
  std::vector<Callback<rtp::RtpParameters>> relay_asks;
  // node, room, remote router, local router
  std::vector<std::vector<std::string>> close_pipes;
};

class RoomMediaTest : public testing::LoopTest, public WorkerPool::Listener {
 protected:
  void SetUp() override {
    WorkerPool::Options options;
    options.binary_path = SB_WORKER_BINARY;
    options.log_level = "warn";
    options.num_workers = 2;
    options.heartbeat_interval = std::chrono::milliseconds(0);
    pool_ = std::make_unique<WorkerPool>(&loop_, options, this);
    ASSERT_TRUE(pool_->Start().ok());
    ASSERT_TRUE(RunUntil([&] { return running_ == 2; }));
  }
  void TearDown() override {
    media_.reset();
    bool closed = false;
    pool_->Close([&] { closed = true; });
    EXPECT_TRUE(RunUntil([&] { return closed; }));
  }
  void OnWorkerDied(int index) override {
    if (index != expected_death_) ADD_FAILURE() << "worker " << index << " died";
    died_ = index;
  }
  void OnWorkerNotification(int, const fbs::Notification& n) override {
    if (n.event() == fbs::Event::WORKER_RUNNING) ++running_;
  }

  void MakeMedia(int shard_size) {
    media_ = std::make_unique<RoomMedia>(
        pool_.get(), "room", shard_size,
        [this](const char* prefix) {
          std::string id = absl::StrCat(prefix, next_id_++);
          ids_made_.push_back(id);
          return id;
        },
        &counters_);
  }
  // Places a participant and waits for its router.
  bool Place(const std::string& id) {
    std::optional<absl::Status> ready;
    if (!media_->Place(id, [&](absl::Status s) { ready = s; }).ok()) return false;
    return RunUntil([&] { return ready.has_value(); }) && ready->ok();
  }
  int WorkerIndexOf(const std::string& id) { return pool_->IndexOf(media_->WorkerOf(id)); }

  struct Reply {
    bool done = false, accepted = false, paused = false;
  };
  Reply Request(WorkerProcess* worker, fbs::Method method, const std::string& target,
                WorkerProcess::BuildBodyFn body = {}) {
    Reply reply;
    worker->Request(method, target, body, [&](const fbs::Response* r) {
      reply.done = true;
      reply.accepted = r->accepted();
      if (const auto* stats = r->body_as_ProducerStats()) reply.paused = stats->paused();
    });
    EXPECT_TRUE(RunUntil([&] { return reply.done; }));
    return reply;
  }
  // Node `node` asked for a pipe from our `router` to its `remote_router`: our end is made.
  void ServePipe(const std::string& node, const std::string& remote_router,
                 const std::string& router) {
    std::optional<absl::StatusOr<PipeEndpoint>> opened;
    media_->ServeOpenPipe(node, remote_router, router,
                          PipeEndpoint{"127.0.0.1", 9, std::vector<uint8_t>(44, 7)},
                          [&](absl::StatusOr<PipeEndpoint> end) { opened = std::move(end); });
    ASSERT_TRUE(RunUntil([&] { return opened.has_value(); }));
    ASSERT_TRUE(opened->ok()) << opened->status();
  }
  // An audio producer of `publisher`, on a pipe transport of its router (no browser needed).
  void Produce(const std::string& publisher, const std::string& producer_id) {
    WorkerProcess* worker = media_->WorkerOf(publisher);
    const std::string transport = "t-" + publisher;
    ASSERT_TRUE(Request(worker, fbs::Method::ROUTER_CREATE_PIPE_TRANSPORT,
                        media_->RouterOf(publisher), CreatePipeBody(transport, "127.0.0.1", false))
                    .accepted);
    ASSERT_TRUE(Request(worker, fbs::Method::TRANSPORT_PRODUCE, transport,
                        ProduceBody(producer_id, rtp::MediaKind::kAudio,
                                    router::testing::OpusProducerParams(0x1234, "")))
                    .accepted);
  }
  absl::Status Reach(const std::string& producer_id, const std::string& publisher,
                     const std::string& subscriber, bool paused = false) {
    std::optional<absl::Status> reached;
    media_->Reach(producer_id, rtp::MediaKind::kAudio, paused, publisher, subscriber,
                  [&](absl::Status s) { reached = s; });
    if (!RunUntil([&] { return reached.has_value(); })) return absl::DeadlineExceededError("");
    return *reached;
  }

  std::unique_ptr<WorkerPool> pool_;
  std::unique_ptr<RoomMedia> media_;
  RoomMedia::Counters counters_;
  std::vector<std::string> ids_made_;
  int running_ = 0;
  int next_id_ = 1;
  int expected_death_ = -1;  // a worker the test kills
  int died_ = -1;
};

TEST_F(RoomMediaTest, FillsARouterThenSpreadsToTheOtherWorker) {
  MakeMedia(2);
  ASSERT_TRUE(Place("p1"));
  ASSERT_TRUE(Place("p2"));
  EXPECT_EQ(media_->shard_count(), 1u);
  EXPECT_EQ(WorkerIndexOf("p1"), WorkerIndexOf("p2"));
  const int first = WorkerIndexOf("p1");
  ASSERT_TRUE(Place("p3"));
  EXPECT_EQ(media_->shard_count(), 2u);
  const int second = WorkerIndexOf("p3");
  EXPECT_NE(second, first) << "the third goes to the other worker";
  ASSERT_TRUE(Place("p4"));
  EXPECT_EQ(WorkerIndexOf("p4"), second) << "the least-filled router";
  // Both full and no worker left: the least-filled still takes one (the first on a tie).
  ASSERT_TRUE(Place("p5"));
  EXPECT_EQ(media_->shard_count(), 2u);
  EXPECT_EQ(media_->ParticipantsOnWorker(first), 3u);
  EXPECT_EQ(media_->ParticipantsOnWorker(second), 2u);
  EXPECT_FALSE(media_->Place("p5", [](absl::Status) {}).ok()) << "placed twice";
  EXPECT_EQ(pool_->worker(first)->load(), 1);
  EXPECT_EQ(pool_->worker(second)->load(), 1);

  // One leaves the fuller router: the next joins there again.
  media_->Remove("p1");
  media_->Remove("p2");
  ASSERT_TRUE(Place("p6"));
  EXPECT_EQ(WorkerIndexOf("p6"), first);
  const nlohmann::json json = media_->Json();
  ASSERT_EQ(json["workers"].size(), 2u);
  EXPECT_EQ(json["workers"][0]["worker"], first);
  EXPECT_EQ(json["workers"][0]["participants"], 2);
  EXPECT_EQ(json["workers"][1]["participants"], 2);
  EXPECT_TRUE(media_->IsPrimaryRouter(media_->RouterOf("p6")));
  EXPECT_FALSE(media_->IsPrimaryRouter(media_->RouterOf("p3")));

  // The room's end closes its routers and gives the load back.
  media_.reset();
  EXPECT_EQ(pool_->worker(first)->load(), 0);
  EXPECT_EQ(pool_->worker(second)->load(), 0);
  EXPECT_EQ(counters_.shards_opened, 2u);
}

TEST_F(RoomMediaTest, ShardSizeZeroKeepsTheRoomOnOneWorker) {
  MakeMedia(0);
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(Place(absl::StrCat("p", i)));
  EXPECT_EQ(media_->shard_count(), 1u);
  EXPECT_EQ(media_->ParticipantsOnWorker(WorkerIndexOf("p0")), 6u);
}

TEST_F(RoomMediaTest, ProducersArePipedOnDemandAndFollowTheirOrigin) {
  MakeMedia(1);
  ASSERT_TRUE(Place("alice"));
  ASSERT_TRUE(Place("bob"));
  ASSERT_TRUE(Place("carol"));  // with alice (the first on a tie)
  WorkerProcess* a = media_->WorkerOf("alice");
  WorkerProcess* b = media_->WorkerOf("bob");
  ASSERT_NE(a, b);
  ASSERT_TRUE(media_->SameShard("alice", "carol"));
  ASSERT_NO_FATAL_FAILURE(Produce("alice", "mic"));

  // Same router: nothing to pipe.
  EXPECT_TRUE(Reach("mic", "alice", "carol").ok());
  EXPECT_EQ(counters_.pipes_opened, 0u);
  EXPECT_FALSE(Request(b, fbs::Method::PRODUCER_GET_STATS, "mic").accepted);
  // Bob's router: a pipe, and the producer's copy with the same id there.
  ASSERT_TRUE(Reach("mic", "alice", "bob").ok());
  EXPECT_EQ(counters_.pipes_opened, 1u);
  EXPECT_EQ(counters_.producers_piped, 1u);
  EXPECT_TRUE(Request(b, fbs::Method::PRODUCER_GET_STATS, "mic").accepted);
  EXPECT_TRUE(media_->OnCopyLayersNeeded("mic", pool_->IndexOf(b), 0)) << "the copy's";
  EXPECT_FALSE(media_->OnCopyLayersNeeded("mic", pool_->IndexOf(a), 0)) << "the origin's";
  // Again: already there.
  ASSERT_TRUE(Reach("mic", "alice", "bob").ok());
  EXPECT_EQ(counters_.producers_piped, 1u);

  // A second producer, from Bob's side to Alice's: the same pipe, the other way.
  ASSERT_NO_FATAL_FAILURE(Produce("bob", "bob-mic"));
  ASSERT_TRUE(Reach("bob-mic", "bob", "carol").ok());
  EXPECT_EQ(counters_.pipes_opened, 1u);
  EXPECT_TRUE(Request(a, fbs::Method::PRODUCER_GET_STATS, "bob-mic").accepted);

  // A mute reaches the copy; so does the unmute.
  media_->PauseProducer("mic", true);
  EXPECT_TRUE(RunUntil([&] { return Request(b, fbs::Method::PRODUCER_GET_STATS, "mic").paused; }));
  media_->PauseProducer("mic", false);
  EXPECT_TRUE(RunUntil([&] { return !Request(b, fbs::Method::PRODUCER_GET_STATS, "mic").paused; }));

  // The origin closes: so does the copy.
  ASSERT_TRUE(Request(a, fbs::Method::PRODUCER_CLOSE, "mic").accepted);
  media_->CloseProducers({"mic"});
  EXPECT_TRUE(
      RunUntil([&] { return !Request(b, fbs::Method::PRODUCER_GET_STATS, "mic").accepted; }));
  EXPECT_FALSE(Reach("mic", "alice", "bob").ok()) << "no origin to pipe from";
  EXPECT_EQ(counters_.pipe_failures, 1u);
}

TEST_F(RoomMediaTest, AProducerPausedBeforeItIsPipedArrivesPaused) {
  MakeMedia(1);
  ASSERT_TRUE(Place("alice"));
  ASSERT_TRUE(Place("bob"));
  ASSERT_NO_FATAL_FAILURE(Produce("alice", "mic"));
  ASSERT_TRUE(Request(media_->WorkerOf("alice"), fbs::Method::PRODUCER_PAUSE, "mic").accepted);
  ASSERT_TRUE(Reach("mic", "alice", "bob", /*paused=*/true).ok());
  EXPECT_TRUE(RunUntil([&] {
    return Request(media_->WorkerOf("bob"), fbs::Method::PRODUCER_GET_STATS, "mic").paused;
  }));
}

TEST_F(RoomMediaTest, ARoomGoneWhileRequestsAreInFlightIsHarmless) {
  MakeMedia(1);
  ASSERT_TRUE(Place("alice"));
  ASSERT_TRUE(Place("bob"));
  ASSERT_NO_FATAL_FAILURE(Produce("alice", "mic"));
  bool called = false;
  media_->Reach("mic", rtp::MediaKind::kAudio, false, "alice", "bob",
                [&](absl::Status) { called = true; });
  media_.reset();  // the room closes before the workers answer
  RunFor(std::chrono::milliseconds(300));
  EXPECT_FALSE(called);
  EXPECT_EQ(pool_->worker(0)->load() + pool_->worker(1)->load(), 0);
}

TEST_F(RoomMediaTest, AWorkerDiesAndTheRoomGoesOnOnTheOther) {
  MakeMedia(1);
  ASSERT_TRUE(Place("alice"));
  ASSERT_TRUE(Place("bob"));
  WorkerProcess* a = media_->WorkerOf("alice");
  const int b = WorkerIndexOf("bob");
  ASSERT_NE(pool_->IndexOf(a), b);
  ASSERT_NO_FATAL_FAILURE(Produce("alice", "mic"));
  ASSERT_NO_FATAL_FAILURE(Produce("bob", "bob-mic"));
  ASSERT_TRUE(Reach("mic", "alice", "bob").ok());
  ASSERT_TRUE(Reach("bob-mic", "bob", "alice").ok());
  ASSERT_TRUE(Request(a, fbs::Method::PRODUCER_GET_STATS, "bob-mic").accepted) << "the copy";

  expected_death_ = b;
  const int pid = pool_->worker(b)->pid();
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  ASSERT_TRUE(RunUntil([&] { return died_ == b; }));
  media_->OnWorkerDied(b);
  EXPECT_TRUE(media_->HasLiveLocalShard()) << "alice's router lives";
  EXPECT_EQ(media_->ParticipantIdsOnWorker(b), std::vector<std::string>{"bob"});
  EXPECT_EQ(media_->WorkerOf("bob"), nullptr) << "nothing is asked of a dead worker";
  // The caller has Bob leave (his producer's copies close), then forgets the worker.
  media_->CloseProducers({"bob-mic"});
  media_->Remove("bob");
  media_->RemoveWorker(b);
  EXPECT_EQ(media_->shard_count(), 1u);
  EXPECT_FALSE(media_->UsesWorker(b));
  const nlohmann::json json = media_->Json();
  EXPECT_EQ(json["pipes"], 0);
  EXPECT_EQ(json["pipedProducers"], 0);
  EXPECT_TRUE(RunUntil([&] {
    return !Request(a, fbs::Method::PRODUCER_GET_STATS, "bob-mic").accepted;
  })) << "the copy from the dead worker is gone";
  EXPECT_TRUE(Request(a, fbs::Method::PRODUCER_GET_STATS, "mic").accepted) << "alice's own";

  // The worker comes back; a newcomer goes there and gets alice's track piped again.
  ASSERT_TRUE(RunUntil([&] { return running_ == 3; }, std::chrono::seconds(10)));
  ASSERT_TRUE(Place("carol"));
  EXPECT_EQ(WorkerIndexOf("carol"), b);
  ASSERT_TRUE(Reach("mic", "alice", "carol").ok());
  EXPECT_TRUE(Request(media_->WorkerOf("carol"), fbs::Method::PRODUCER_GET_STATS, "mic").accepted);
}

TEST_F(RoomMediaTest, ADataChannelFromAnotherNodeIsAskedOfItAndOpensOnThePipe) {
  FakeLink link;
  MakeMedia(0);
  media_->SetRemote(&link, "127.0.0.1");
  ASSERT_TRUE(Place("a.alice"));
  media_->PlaceRemote("b.bob", "b", "b.r1");
  std::optional<absl::StatusOr<std::string>> reached;
  auto reach = [&] {
    reached.reset();
    media_->ReachData("b.t1.dp1", "b.bob", "a.alice",
                      [&](absl::StatusOr<std::string> id) { reached = std::move(id); });
  };

  // A pipe from Bob's router (with SCTP), then his node is asked for the channel on it.
  reach();
  ASSERT_TRUE(RunUntil([&] { return !link.data_asks.empty(); }));
  EXPECT_EQ(link.pipes_opened, 1);
  FakeLink::DataAsk& ask = link.data_asks.back();
  EXPECT_EQ(ask.node, "b");
  EXPECT_EQ(ask.data_producer, "b.t1.dp1");
  EXPECT_EQ(ask.remote_router, "b.r1");
  EXPECT_EQ(ask.local_router, media_->RouterOf("a.alice"));
  // Its answer says nothing: the copy opening on our end of the pipe does.
  ask.done(true);
  RunFor(std::chrono::milliseconds(50));
  EXPECT_FALSE(reached.has_value());
  std::string pipe_end;
  for (const auto& id : ids_made_) {
    if (id.starts_with("pn")) pipe_end = id;
  }
  ASSERT_FALSE(pipe_end.empty());
  EXPECT_TRUE(media_->OnPipeDataProducerOpened(pipe_end, "b.t1.dp1", "copy1"));
  ASSERT_TRUE(reached.has_value());
  ASSERT_TRUE(reached->ok()) << reached->status();
  EXPECT_EQ(**reached, "copy1");
  EXPECT_EQ(counters_.data_producers_piped, 1u);
  // Again: the copy there, nothing asked.
  reach();
  ASSERT_TRUE(reached.has_value() && reached->ok());
  EXPECT_EQ(link.data_asks.size(), 1u);

  // A channel its node refuses: the receiver learns it, the next one asks again.
  reached.reset();
  media_->ReachData("b.t1.dp2", "b.bob", "a.alice",
                    [&](absl::StatusOr<std::string> id) { reached = std::move(id); });
  ASSERT_EQ(link.data_asks.size(), 2u);
  EXPECT_EQ(link.pipes_opened, 1) << "the same pipe";
  link.data_asks.back().done(absl::NotFoundError("no data producer b.t1.dp2"));
  ASSERT_TRUE(reached.has_value());
  EXPECT_FALSE(reached->ok());
  EXPECT_EQ(counters_.pipe_failures, 1u);

  // The copy closed: forgotten, and asked again for the next receiver.
  media_->ForgetDataProducer("copy1");
  reach();
  EXPECT_EQ(link.data_asks.size(), 3u);
  // Bob's node is gone: what waited for it fails.
  media_->RemoveNode("b");
  ASSERT_TRUE(reached.has_value());
  EXPECT_FALSE(reached->ok());
  // A channel of ours is never asked of another node for another node's receiver.
  media_->PlaceRemote("c.carol", "c", "c.r1");
  media_->ReachData("a.t1.dp1", "a.alice", "c.carol",
                    [&](absl::StatusOr<std::string> id) { reached = std::move(id); });
  EXPECT_FALSE(reached->ok());
  EXPECT_EQ(link.data_asks.size(), 3u);
}

TEST_F(RoomMediaTest, OnlyTheNodeAPipeWasOpenedForMayHaveChannelsSentOnIt) {
  FakeLink link;
  MakeMedia(0);
  media_->SetRemote(&link, "127.0.0.1");
  ASSERT_TRUE(Place("a.alice"));
  const std::string router = media_->RouterOf("a.alice");
  // Node b asks for a pipe from Alice's router to its own.
  ASSERT_NO_FATAL_FAILURE(ServePipe("b", "b.r1", router));

  auto serve = [&](const std::string& node, const std::string& data_producer,
                   const std::string& remote_router) {
    std::optional<absl::StatusOr<bool>> answer;
    media_->ServeRelayData(node, data_producer, router, remote_router,
                           [&](absl::StatusOr<bool> a) { answer = std::move(a); });
    EXPECT_TRUE(RunUntil([&] { return answer.has_value(); }));
    return answer.value_or(absl::DeadlineExceededError("no answer"));
  };
  // Node c names b's pipe: refused before anything is asked of the worker.
  EXPECT_EQ(serve("c", "a.t1.dp1", "b.r1").status().code(), absl::StatusCode::kNotFound);
  // A router of b's that has no pipe from here.
  EXPECT_EQ(serve("b", "a.t1.dp1", "b.r2").status().code(), absl::StatusCode::kNotFound);
  // b on its pipe: the worker is asked, and refuses a data producer it does not have.
  auto absent = serve("b", "a.t1.dp1", "b.r1");
  EXPECT_FALSE(absent.ok());
  EXPECT_NE(absent.status().code(), absl::StatusCode::kNotFound) << absent.status();
}

TEST_F(RoomMediaTest, AWorkerDiesAndTheOtherNodeIsToldToCloseItsEndsOfItsPipes) {
  FakeLink link;
  MakeMedia(1);
  media_->SetRemote(&link, "127.0.0.1");
  ASSERT_TRUE(Place("a.alice"));
  ASSERT_TRUE(Place("a.bob"));
  const int dead = WorkerIndexOf("a.bob");
  ASSERT_NE(WorkerIndexOf("a.alice"), dead);
  const std::string alive_router = media_->RouterOf("a.alice");
  const std::string dead_router = media_->RouterOf("a.bob");
  media_->PlaceRemote("b.carol", "b", "b.r1");
  // Pipes we asked for from Carol's router to both of ours ("in": the relays fail, the pipes
  // stay), and pipes node b asked of Bob's router ("out"): one from b.r1 too, one from b.r2.
  EXPECT_FALSE(Reach("b.mic", "b.carol", "a.bob").ok());
  EXPECT_FALSE(Reach("b.mic", "b.carol", "a.alice").ok());
  EXPECT_EQ(link.pipes_opened, 2);
  for (const char* remote_router : {"b.r1", "b.r2"}) {
    ASSERT_NO_FATAL_FAILURE(ServePipe("b", remote_router, dead_router));
  }
  EXPECT_EQ(media_->Json()["pipes"], 4);

  expected_death_ = dead;
  ASSERT_EQ(kill(pool_->worker(dead)->pid(), SIGKILL), 0);
  ASSERT_TRUE(RunUntil([&] { return died_ == dead; }));
  media_->OnWorkerDied(dead);
  media_->Remove("a.bob");
  EXPECT_TRUE(link.close_pipes.empty());
  media_->RemoveWorker(dead);
  // One notice per pair of routers (it closes both directions there), none for Alice's router.
  std::vector<std::vector<std::string>> expected = {{"b", "room", "b.r1", dead_router},
                                                    {"b", "room", "b.r2", dead_router}};
  auto sent = link.close_pipes;
  std::sort(sent.begin(), sent.end());
  EXPECT_EQ(sent, expected);
  EXPECT_EQ(media_->Json()["pipes"], 1) << "the pipe from b.r1 to Alice's router stays";
}

TEST_F(RoomMediaTest, AClosePipeNoticeFromThePipesNodeClosesOurEnd) {
  FakeLink link;
  link.hold_relays = true;
  MakeMedia(0);
  media_->SetRemote(&link, "127.0.0.1");
  ASSERT_TRUE(Place("a.alice"));
  const std::string router = media_->RouterOf("a.alice");
  WorkerProcess* worker = media_->WorkerOf("a.alice");
  ASSERT_NO_FATAL_FAILURE(Produce("a.alice", "a.mic"));
  // Node b asked for a pipe from Alice's router to its b.r1, and for a relay of her mic on it.
  ASSERT_NO_FATAL_FAILURE(ServePipe("b", "b.r1", router));
  std::optional<absl::StatusOr<rtp::RtpParameters>> relayed;
  media_->ServeRelay("a.mic", router, "b.r1",
                     [&](absl::StatusOr<rtp::RtpParameters> p) { relayed = std::move(p); });
  ASSERT_TRUE(RunUntil([&] { return relayed.has_value(); }));
  ASSERT_TRUE(relayed->ok()) << relayed->status();
  std::string out_end, relay;
  for (const auto& id : ids_made_) {
    if (id.starts_with("pn")) out_end = id;
    if (id.starts_with("pc")) relay = id;
  }
  ASSERT_FALSE(out_end.empty());
  ASSERT_FALSE(relay.empty());
  // And we asked b for a pipe from b.r1 (Bob's tracks): its relay is still on the way.
  media_->PlaceRemote("b.bob", "b", "b.r1");
  std::optional<absl::Status> reached;
  media_->Reach("b.mic", rtp::MediaKind::kAudio, false, "b.bob", "a.alice",
                [&](absl::Status s) { reached = s; });
  ASSERT_TRUE(RunUntil([&] { return !link.relay_asks.empty(); }));
  std::string in_end;
  for (const auto& id : ids_made_) {
    if (id.starts_with("pn") && id != out_end) in_end = id;
  }
  ASSERT_FALSE(in_end.empty());
  EXPECT_EQ(media_->Json()["pipes"], 2);

  // The same notice from another node changes nothing.
  media_->ServeClosePipe("c", router, "b.r1");
  RunFor(std::chrono::milliseconds(100));
  EXPECT_EQ(media_->Json()["pipes"], 2);
  EXPECT_FALSE(reached.has_value());
  EXPECT_TRUE(Request(worker, fbs::Method::TRANSPORT_GET_STATS, out_end).accepted);
  EXPECT_TRUE(Request(worker, fbs::Method::TRANSPORT_GET_STATS, in_end).accepted);
  EXPECT_TRUE(Request(worker, fbs::Method::CONSUMER_GET_STATS, relay).accepted);
  // Nor does one about another router of b's.
  media_->ServeClosePipe("b", router, "b.r2");
  EXPECT_EQ(media_->Json()["pipes"], 2);

  // From b about b.r1: both ends close in the worker (the relay with its own), and what waited
  // for the pipe fails.
  media_->ServeClosePipe("b", router, "b.r1");
  ASSERT_TRUE(reached.has_value());
  EXPECT_EQ(reached->code(), absl::StatusCode::kUnavailable) << *reached;
  EXPECT_EQ(media_->Json()["pipes"], 0);
  EXPECT_TRUE(RunUntil(
      [&] { return !Request(worker, fbs::Method::TRANSPORT_GET_STATS, out_end).accepted; }));
  EXPECT_FALSE(Request(worker, fbs::Method::TRANSPORT_GET_STATS, in_end).accepted);
  EXPECT_FALSE(Request(worker, fbs::Method::CONSUMER_GET_STATS, relay).accepted);
  EXPECT_TRUE(Request(worker, fbs::Method::PRODUCER_GET_STATS, "a.mic").accepted) << "hers";
  // The relay's late answer finds nothing to act on; a relay on the old pipe is refused.
  link.relay_asks.front()(absl::UnavailableError("late"));
  relayed.reset();
  media_->ServeRelay("a.mic", router, "b.r1",
                     [&](absl::StatusOr<rtp::RtpParameters> p) { relayed = std::move(p); });
  ASSERT_TRUE(relayed.has_value());
  EXPECT_EQ(relayed->status().code(), absl::StatusCode::kNotFound);
  // A later subscriber pipes again.
  const int asked = link.pipes_opened;
  media_->Reach("b.mic", rtp::MediaKind::kAudio, false, "b.bob", "a.alice",
                [&](absl::Status s) { reached = s; });
  EXPECT_TRUE(RunUntil([&] { return link.relay_asks.size() == 2u; }));
  EXPECT_EQ(link.pipes_opened, asked + 1);
}

}  // namespace
}  // namespace sb::signaling
