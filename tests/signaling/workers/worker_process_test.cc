#include "signaling/workers/worker_process.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <optional>
#include <string>
#include <vector>

#include "tests/signaling/workers/loop_fixture.h"
#include "worker/fbs/frame_codec.h"

namespace sb::signaling {
namespace {

// What a test keeps of a response after its callback returned.
struct Result {
  bool accepted = false;
  std::string error;
  std::string reason;
  std::optional<uint32_t> dump_pid;
  uint64_t dump_malformed = 0;
};

class WorkerProcessTest : public testing::LoopTest, public WorkerProcess::Listener {
 protected:
  void OnWorkerExited(WorkerProcess* /*worker*/, int64_t exit_status, int term_signal) override {
    exited_ = true;
    exit_status_ = exit_status;
    term_signal_ = term_signal;
  }

  std::unique_ptr<WorkerProcess> Spawn(
      std::chrono::milliseconds timeout = std::chrono::milliseconds(5000)) {
    WorkerProcess::Options options;
    options.binary_path = SB_WORKER_BINARY;
    options.log_level = "warn";
    options.worker_id = 7;
    options.request_timeout = timeout;
    auto worker = WorkerProcess::Spawn(&loop_, options, this);
    EXPECT_TRUE(worker.ok()) << worker.status();
    return worker.ok() ? std::move(*worker) : nullptr;
  }

  // Sends a request and runs the loop until its response arrives.
  std::optional<Result> Call(WorkerProcess* worker, fbs::Method method, std::string handler_id = "",
                             const WorkerProcess::BuildBodyFn& body = {}) {
    std::optional<Result> result;
    worker->Request(method, std::move(handler_id), body, [&](const fbs::Response* response) {
      EXPECT_NE(response, nullptr);
      Result r;
      r.accepted = response->accepted();
      if (response->error()) r.error = response->error()->str();
      if (response->reason()) r.reason = response->reason()->str();
      if (const fbs::WorkerDump* dump = response->body_as_WorkerDump()) {
        r.dump_pid = dump->pid();
        r.dump_malformed = dump->malformed_requests();
      }
      result = r;
    });
    RunUntil([&] { return result.has_value(); });
    return result;
  }

  bool exited_ = false;
  int64_t exit_status_ = -1;
  int term_signal_ = -1;
};

TEST_F(WorkerProcessTest, WorkerDumpReturnsPidAfterRunningNotification) {
  auto worker = Spawn();
  ASSERT_NE(worker, nullptr);
  bool running = false;
  worker->SetNotificationHandler([&](const fbs::Notification& n) {
    if (n.event() == fbs::Event::WORKER_RUNNING) running = true;
  });
  EXPECT_TRUE(RunUntil([&] { return running; }));
  std::optional<Result> dump = Call(worker.get(), fbs::Method::WORKER_DUMP);
  ASSERT_TRUE(dump.has_value());
  EXPECT_TRUE(dump->accepted) << dump->error << ": " << dump->reason;
  ASSERT_TRUE(dump->dump_pid.has_value());
  EXPECT_EQ(static_cast<pid_t>(*dump->dump_pid), worker->pid());
  EXPECT_EQ(dump->dump_malformed, 0u);
  EXPECT_EQ(worker->pending_requests(), 0u);
}

TEST_F(WorkerProcessTest, UnimplementedAndUnknownMethodsGetErrors) {
  auto worker = Spawn();
  ASSERT_NE(worker, nullptr);
  std::optional<Result> r = Call(worker.get(), fbs::Method::ROUTER_DUMP, "no-such-router");
  ASSERT_TRUE(r.has_value());
  EXPECT_FALSE(r->accepted);
  // NotImplemented without a router handler, NotFound with one; never a synthesized error.
  EXPECT_FALSE(r->error.empty());
  EXPECT_NE(r->error, "Timeout");
  EXPECT_NE(r->error, "WorkerDied");

  r = Call(worker.get(), static_cast<fbs::Method>(999));
  ASSERT_TRUE(r.has_value());
  EXPECT_FALSE(r->accepted);
  EXPECT_EQ(r->error, "InvalidArgument");

  r = Call(worker.get(), fbs::Method::WORKER_DUMP);
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->accepted);
  EXPECT_FALSE(exited_);
}

TEST_F(WorkerProcessTest, SurvivesGarbageFrame) {
  auto worker = Spawn();
  ASSERT_NE(worker, nullptr);
  std::vector<uint8_t> garbage;
  std::vector<uint8_t> junk = {0xde, 0xad, 0xbe, 0xef, 0x01, 0x02, 0x03, 0x04, 0xff, 0x00, 0x7f};
  ipc::AppendFrame(&garbage, junk);
  ipc::AppendFrame(&garbage, {});  // an empty frame too
  worker->SendRawForTesting(garbage);

  std::optional<Result> dump = Call(worker.get(), fbs::Method::WORKER_DUMP);
  ASSERT_TRUE(dump.has_value());
  EXPECT_TRUE(dump->accepted);
  EXPECT_EQ(dump->dump_malformed, 2u);
  EXPECT_FALSE(exited_);
}

TEST_F(WorkerProcessTest, MalformedRequestIsAnsweredWithItsId) {
  auto worker = Spawn();
  ASSERT_NE(worker, nullptr);
  // CreateRouterRequest without its required router_id: fails verification, but the request
  // id is readable, so the worker answers it instead of leaving us to time out.
  std::optional<Result> r = Call(
      worker.get(), fbs::Method::WORKER_CREATE_ROUTER, "", [](flatbuffers::FlatBufferBuilder& fbb) {
        // The generated builder asserts on a missing required field; build it by hand.
        flatbuffers::Offset<void> empty(fbb.EndTable(fbb.StartTable()));
        return std::make_pair(fbs::RequestBody::CreateRouterRequest, empty);
      });
  ASSERT_TRUE(r.has_value());
  EXPECT_FALSE(r->accepted);
  EXPECT_EQ(r->error, "Malformed");
}

TEST_F(WorkerProcessTest, OversizeLengthMakesWorkerExitWithError) {
  auto worker = Spawn();
  ASSERT_NE(worker, nullptr);
  const uint8_t huge_length[4] = {0xff, 0xff, 0xff, 0x7f};
  worker->SendRawForTesting(huge_length);
  ASSERT_TRUE(RunUntil([&] { return exited_; }));
  EXPECT_EQ(exit_status_, 1);
  EXPECT_EQ(term_signal_, 0);
  EXPECT_FALSE(worker->alive());
  // Requests to a dead worker fail at once.
  std::optional<Result> r = Call(worker.get(), fbs::Method::WORKER_DUMP);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->error, "WorkerDied");
}

TEST_F(WorkerProcessTest, ClosingThePipeMakesWorkerExitWithZero) {
  auto worker = Spawn();
  ASSERT_NE(worker, nullptr);
  ASSERT_TRUE(Call(worker.get(), fbs::Method::WORKER_DUMP).has_value());
  worker->Close();
  ASSERT_TRUE(RunUntil([&] { return exited_; }));
  EXPECT_EQ(exit_status_, 0);
  EXPECT_EQ(term_signal_, 0);
}

TEST_F(WorkerProcessTest, KilledWorkerFailsPendingRequests) {
  auto worker = Spawn();
  ASSERT_NE(worker, nullptr);
  ASSERT_TRUE(Call(worker.get(), fbs::Method::WORKER_DUMP).has_value());
  worker->Kill(SIGSTOP);  // it can no longer answer
  std::optional<Result> result;
  worker->Request(fbs::Method::WORKER_DUMP, "", {}, [&](const fbs::Response* response) {
    result.emplace();
    result->error = response->error()->str();
  });
  worker->Kill(SIGKILL);
  ASSERT_TRUE(RunUntil([&] { return exited_ && result.has_value(); }));
  EXPECT_EQ(term_signal_, SIGKILL);
  EXPECT_EQ(result->error, "WorkerDied");
}

TEST_F(WorkerProcessTest, StalledWorkerTimesOut) {
  auto worker = Spawn(std::chrono::milliseconds(200));
  ASSERT_NE(worker, nullptr);
  ASSERT_TRUE(Call(worker.get(), fbs::Method::WORKER_DUMP).has_value());
  worker->Kill(SIGSTOP);
  std::optional<Result> r = Call(worker.get(), fbs::Method::WORKER_DUMP);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->error, "Timeout");
  worker->Kill(SIGCONT);
  // The late answer to the timed-out request is dropped; the next request works.
  r = Call(worker.get(), fbs::Method::WORKER_DUMP);
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->accepted);
}

TEST_F(WorkerProcessTest, SpawnFailsForMissingBinary) {
  WorkerProcess::Options options;
  options.binary_path = "/nonexistent/switchboard-worker";
  auto worker = WorkerProcess::Spawn(&loop_, options, this);
  EXPECT_FALSE(worker.ok());
}

}  // namespace
}  // namespace sb::signaling
