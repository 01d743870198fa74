// SIGTERM while the server is busy: rooms on two workers with published tracks, a subscriber
// that has not answered its offer (answer timer running), a participant whose connection broke
// (resume grace timer running), and joins, publishes and leaves sent just before the signal, so
// worker requests are in flight. switchboard must exit with status 0 and so must its workers;
// in the sanitized build (scripts/test.sh) that also means no ASan, UBSan or leak report, since
// those make a process exit non-zero (and leave a report file that test.sh looks for).
#include <signal.h>

#include <chrono>
#include <string>

#include "absl/strings/str_cat.h"
#include "bench/load/client_sdp.h"
#include "tests/signaling/server_process_fixture.h"

namespace sb::signaling {
namespace {

using nlohmann::json;
using testing::WsClient;

// A Chromium-like publish offer (audio + video) with its own ssrcs.
std::string PublishOffer(uint32_t n) {
  std::string fingerprint;
  for (int i = 0; i < 32; ++i) absl::StrAppend(&fingerprint, i == 0 ? "" : ":", "A", i % 10);
  const bench::ClientTransport transport = bench::NewClientTransport({{"sha-256", fingerprint}});
  bench::PublishTracks tracks;
  tracks.audio_ssrc = 1000 + n * 10;
  tracks.video_ssrc = 1001 + n * 10;
  tracks.video_rtx_ssrc = 1002 + n * 10;
  tracks.cname = absl::StrCat("cname", n);
  tracks.stream_id = absl::StrCat("stream", n);
  tracks.audio_track_id = absl::StrCat("audio", n);
  tracks.video_track_id = absl::StrCat("video", n);
  return bench::BuildPublishOffer(transport, tracks, 4000 + n);
}

// The parameter: milliseconds between the last requests and SIGTERM.
class ShutdownServerTest : public testing::ServerProcessFixture,
                           public ::testing::WithParamInterface<int> {
 protected:
  std::vector<std::string> ExtraFlags() const override {
    return {"--workers=2", "--resume-grace=30", "--answer-timeout=30"};
  }

  json JoinWithCapabilities(WsClient& client, const std::string& room, const std::string& name) {
    return Join(client, room, name, {{"rtpCapabilities", bench::ChromiumRtpCapabilities()}});
  }

  // A room with a publisher whose tracks are forwarded and a subscriber that leaves its offer
  // unanswered.
  void BusyRoom(const std::string& room, uint32_t n) {
    auto publisher = Connect();
    ASSERT_FALSE(JoinWithCapabilities(*publisher, room, "Publisher").is_null());
    publisher->Send({{"type", "publish"}, {"sdp", PublishOffer(n)}});
    ASSERT_TRUE(publisher->Next("publish-answer")) << Log();
    auto subscriber = Connect();
    ASSERT_FALSE(JoinWithCapabilities(*subscriber, room, "Subscriber").is_null());
    ASSERT_TRUE(subscriber->Next("subscribe-offer")) << Log();
    clients_.push_back(std::move(publisher));
    clients_.push_back(std::move(subscriber));
  }

  std::vector<std::unique_ptr<WsClient>> clients_;
};

TEST_P(ShutdownServerTest, SigtermWithRequestsInFlightExitsCleanly) {
  BusyRoom("room-a", 1);
  BusyRoom("room-b", 2);
  ASSERT_NE(Room("room-a")["worker"], Room("room-b")["worker"]);
  // A participant whose connection breaks: it stays for the resume grace.
  {
    auto dropper = Connect();
    ASSERT_FALSE(JoinWithCapabilities(*dropper, "room-a", "Dropper").is_null());
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (Metric("switchboard_participants_disconnected") != 1 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_EQ(Metric("switchboard_participants_disconnected"), 1);

  // Requests in flight: connected first, then all at once, joins to busy and new rooms each
  // followed at once by a publish (the join's worker requests are still out when the publish
  // arrives), a leave, and a connection that breaks mid-join. SIGTERM then finds the server with
  // a backlog of messages and worker requests outstanding.
  std::vector<std::unique_ptr<WsClient>> late;
  for (int i = 0; i < 12; ++i) late.push_back(Connect());
  for (uint32_t i = 0; i < late.size(); ++i) {
    const std::string room =
        i % 3 == 2 ? absl::StrCat("room-new", i) : (i % 2 ? "room-a" : "room-b");
    late[i]->Send({{"type", "join"},
                   {"room", room},
                   {"name", absl::StrCat("Late", i)},
                   {"rtpCapabilities", bench::ChromiumRtpCapabilities()}});
    late[i]->Send({{"type", "publish"}, {"sdp", PublishOffer(10 + i)}});
  }
  clients_[0]->Send({{"type", "leave"}});
  late.pop_back();
  std::this_thread::sleep_for(std::chrono::milliseconds(GetParam()));

  const int status = Terminate();
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << "after SIGTERM switchboard " << Describe(status) << "\n"
      << Log();
  // Both workers exited on their own with status 0 (a sanitizer report or a leak would make it
  // non-zero); none had to be killed.
  const std::string log = Log();
  // "worker N (pid P) exited: status S, signal G"
  int clean = 0;
  const std::string marker = ") exited: status ";
  for (size_t at = log.find(marker); at != std::string::npos; at = log.find(marker, at + 1)) {
    const std::string line = log.substr(at, log.find('\n', at) - at);
    EXPECT_EQ(line, ") exited: status 0, signal 0") << log;
    ++clean;
  }
  EXPECT_EQ(clean, 2) << log;
  EXPECT_EQ(log.find("did not exit after its pipe closed"), std::string::npos) << log;
}

INSTANTIATE_TEST_SUITE_P(Delays, ShutdownServerTest, ::testing::Values(0, 20, 200),
                         [](const ::testing::TestParamInfo<int>& info) {
                           return absl::StrCat(info.param, "ms");
                         });

}  // namespace
}  // namespace sb::signaling
