// A room's media placement (signaling/room_media.h) over two real switchboard-worker processes:
// which worker each participant goes to, and producers piped on demand between the room's
// routers (asked of the workers themselves: the copy exists, pauses and closes with its origin).
#include "signaling/room_media.h"

#include <gtest/gtest.h>
#include <signal.h>

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
        [this](const char* prefix) { return absl::StrCat(prefix, next_id_++); }, &counters_);
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

}  // namespace
}  // namespace sb::signaling
