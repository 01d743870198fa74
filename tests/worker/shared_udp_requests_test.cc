// One UDP port per worker through a real switchboard-worker: transports created with shared_udp
// (switchboard --rtc-port) in different routers offer the same UDP candidate port, a client's
// Binding request on it is answered by the transport its USERNAME names (that transport's
// password signs the response), strangers are dropped and counted in WorkerDump's network
// counters, and a port another process holds is an error, or with shared_udp_fallback (the
// default port, not one the operator chose) a port of the transport's own.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <optional>
#include <string>
#include <vector>

#include "tests/worker/router_requests_fixture.h"
#include "transport/stun_message.h"

namespace sb::worker {
namespace {

using testing::Reply;
using testing::RouterRequestsTest;
using Bytes = std::vector<uint8_t>;

// A blocking UDP client with a receive timeout: the worker is another process.
class UdpClient {
 public:
  explicit UdpClient(uint16_t port) {
    fd_ = socket(AF_INET, SOCK_DGRAM, 0);
    timeval tv{.tv_sec = 2, .tv_usec = 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    to_.sin_family = AF_INET;
    to_.sin_port = htons(port);
    to_.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  }
  ~UdpClient() { close(fd_); }
  bool Send(const Bytes& bytes) {
    return sendto(fd_, bytes.data(), bytes.size(), 0, reinterpret_cast<sockaddr*>(&to_),
                  sizeof(to_)) == static_cast<ssize_t>(bytes.size());
  }
  std::optional<Bytes> Receive() {
    uint8_t buf[2048];
    const ssize_t n = recv(fd_, buf, sizeof(buf), 0);
    if (n <= 0) return std::nullopt;
    return Bytes(buf, buf + n);
  }

 private:
  int fd_ = -1;
  sockaddr_in to_{};
};

Bytes Check(const std::string& username, const std::string& password, uint8_t id) {
  uint8_t tid[12] = {id, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  transport::StunMessageBuilder b(transport::kStunMethodBinding, transport::StunClass::kRequest,
                                  tid);
  b.AddUsername(username).AddPriority(0x6e7f1eff).AddIceControlling(42).AddUseCandidate();
  return b.AddMessageIntegrity(password).AddFingerprint().Take();
}

uint16_t UdpPort(const Reply& info) {
  for (const auto& c : info.candidates) {
    if (c.protocol == "udp") return c.port;
  }
  return 0;
}

TEST_F(RouterRequestsTest, SharedUdpPortServesEveryTransportOfTheWorker) {
  ASSERT_TRUE(CreateRouter("room1").accepted);
  ASSERT_TRUE(CreateRouter("room2").accepted);
  Reply a = CreateTransport("room1", "a", false, 0, /*shared_udp=*/true);
  Reply b = CreateTransport("room2", "b", false, 0, /*shared_udp=*/true);
  Reply own = CreateTransport("room1", "own");
  ASSERT_TRUE(a.accepted && b.accepted && own.accepted) << a.reason << b.reason << own.reason;
  const uint16_t port = UdpPort(a);
  ASSERT_NE(port, 0);
  EXPECT_EQ(UdpPort(b), port) << "one UDP socket per worker";
  EXPECT_NE(UdpPort(own), port) << "a transport without shared_udp has a port of its own";

  uint8_t id = 1;
  for (const auto& [name, info] : {std::pair{"a", &a}, std::pair{"b", &b}}) {
    UdpClient client(port);
    ASSERT_TRUE(client.Send(Check(info->ufrag + ":browser", info->pwd, id++)));
    auto datagram = client.Receive();
    ASSERT_TRUE(datagram.has_value()) << "no response on the shared port for " << name;
    auto response = transport::StunMessage::Parse(*datagram);
    ASSERT_TRUE(response.ok()) << response.status();
    EXPECT_EQ(response->message_class(), transport::StunClass::kSuccessResponse);
    EXPECT_TRUE(response->CheckIntegrity(std::string_view(info->pwd)));
    EXPECT_EQ(Call(fbs::Method::TRANSPORT_GET_STATS, name).ice_state, fbs::IceState::COMPLETED);
  }
  // The transport with a port of its own is not reachable through the shared one.
  UdpClient stranger(port);
  ASSERT_TRUE(stranger.Send(Check(own.ufrag + ":browser", own.pwd, id++)));
  ASSERT_TRUE(stranger.Send(Bytes(100, 0x80)));  // RTP-looking, from nowhere
  EXPECT_FALSE(stranger.Receive().has_value());
  Reply dump = Call(fbs::Method::WORKER_DUMP, "");
  ASSERT_TRUE(dump.accepted);
  EXPECT_GE(dump.counters["udp_received"], 4u);
  EXPECT_EQ(dump.counters["udp_unknown_ufrag"], 1u);
  EXPECT_EQ(dump.counters["udp_unknown_source"], 1u);

  // A port another process holds: the transport is refused with the reason, the worker stays.
  const int holder = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(holder, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  socklen_t len = sizeof(addr);
  getsockname(holder, reinterpret_cast<sockaddr*>(&addr), &len);
  const uint16_t held = ntohs(addr.sin_port);
  Reply refused = CreateTransport("room1", "c", false, 0, true, held);
  EXPECT_FALSE(refused.accepted);
  EXPECT_NE(refused.reason.find("shared UDP port"), std::string::npos) << refused.reason;
  // Unless the port was only the default (switchboard without --rtc-port): then a port of its
  // own from the range.
  Reply own_port = CreateTransport("room1", "d", false, 0, true, held, /*fallback=*/true);
  close(holder);
  ASSERT_TRUE(own_port.accepted) << own_port.reason;
  EXPECT_NE(UdpPort(own_port), held);
  EXPECT_GE(UdpPort(own_port), testing::kPortMin);
  EXPECT_LE(UdpPort(own_port), testing::kPortMax);
  EXPECT_TRUE(Call(fbs::Method::WORKER_DUMP, "").accepted);
}

}  // namespace
}  // namespace sb::worker
