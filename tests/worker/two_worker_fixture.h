// Two real worker processes (A, the fixture's own, and B) for tests of pipes between routers:
// requests go to A unless wrapped in OnB; pipes are created and connected by request, plain or
// SRTP as the test's parameter says (true: SRTP, between hosts).
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tests/worker/router_requests_fixture.h"

namespace sb::worker::testing {

// One end of a pipe as its worker answered ROUTER_CREATE_PIPE_TRANSPORT.
struct PipeEnd {
  bool accepted = false;
  std::string ip;
  uint16_t port = 0;
  std::vector<uint8_t> key;
};

class TwoWorkerTest : public RouterRequestsTest, public ::testing::WithParamInterface<bool> {
 protected:
  void SetUp() override {
    RouterRequestsTest::SetUp();
    other_ = SpawnWorker();
    ASSERT_TRUE(other_);
    ASSERT_TRUE(RunUntil([&] { return Notified(fbs::Event::WORKER_RUNNING, "") > 1; },
                         std::chrono::seconds(5)));
  }
  void TearDown() override {
    CloseAndReap(other_);
    RouterRequestsTest::TearDown();
  }
  // Runs `f` with the fixture's requests going to the second worker (B).
  template <typename F>
  auto OnB(F f) {
    std::swap(worker_, other_);
    auto result = f();
    std::swap(worker_, other_);
    return result;
  }
  // With `sctp` the pipe carries data channels, `sctp_client` on exactly one end.
  PipeEnd CreatePipe(const std::string& router_id, const std::string& id, bool sctp = false,
                     bool sctp_client = false) {
    PipeEnd end;
    bool answered = false;
    worker_->Request(
        fbs::Method::ROUTER_CREATE_PIPE_TRANSPORT, router_id,
        [&](flatbuffers::FlatBufferBuilder& fbb) {
          auto body = fbs::CreateCreatePipeTransportRequestDirect(fbb, id.c_str(), "127.0.0.1",
                                                                  GetParam(), sctp, sctp_client);
          return std::make_pair(fbs::RequestBody::CreatePipeTransportRequest, body.Union());
        },
        [&](const fbs::Response* r) {
          answered = true;
          end.accepted = r->accepted();
          if (const auto* info = r->body_as_PipeTransportInfo()) {
            end.ip = info->ip()->str();
            end.port = info->port();
            if (info->srtp_key())
              end.key.assign(info->srtp_key()->begin(), info->srtp_key()->end());
          }
        });
    EXPECT_TRUE(RunUntil([&] { return answered; }, std::chrono::seconds(5)));
    return end;
  }
  Reply ConnectPipe(const std::string& id, const PipeEnd& other) {
    return Call(fbs::Method::TRANSPORT_CONNECT_PIPE, id, [&](flatbuffers::FlatBufferBuilder& fbb) {
      auto body = fbs::CreateConnectPipeTransportRequestDirect(fbb, other.ip.c_str(), other.port,
                                                               &other.key);
      return std::make_pair(fbs::RequestBody::ConnectPipeTransportRequest, body.Union());
    });
  }

  std::unique_ptr<WorkerProcess> other_;  // worker B
};

}  // namespace sb::worker::testing
