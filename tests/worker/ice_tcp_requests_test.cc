// ICE-TCP through a real switchboard-worker: transports created with ice_tcp share the worker's
// one TCP listener, offer a passive TCP candidate on it, and a client on a real TCP socket that
// sends an RFC 4571-framed Binding request naming a transport's ufrag is answered by that
// transport (its password signs the response) on the same connection.
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
#include "transport/tcp_framing.h"

namespace sb::worker {
namespace {

using testing::Reply;
using testing::RouterRequestsTest;
using Bytes = std::vector<uint8_t>;

// A blocking TCP client with a receive timeout: the worker is another process.
class TcpClient {
 public:
  explicit TcpClient(uint16_t port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{.tv_sec = 3, .tv_usec = 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(port);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&to), sizeof(to)) == 0;
  }
  ~TcpClient() { close(fd_); }
  bool connected() const { return connected_; }
  bool Send(const Bytes& bytes) {
    return send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
           static_cast<ssize_t>(bytes.size());
  }
  bool SendFrame(const Bytes& payload) {
    Bytes frame(transport::kTcpFrameHeaderSize);
    transport::WriteTcpFrameHeader(payload.size(), frame.data());
    frame.insert(frame.end(), payload.begin(), payload.end());
    return Send(frame);
  }
  // The next frame; nullopt on timeout or when the worker closed the connection.
  std::optional<Bytes> ReadFrame() {
    std::optional<Bytes> out;
    while (!out) {
      uint8_t buf[4096];
      const ssize_t n = recv(fd_, buf, sizeof(buf), 0);
      if (n <= 0) {
        closed_ = n == 0;
        return std::nullopt;
      }
      decoder_.Feed(buf, static_cast<size_t>(n), [&](uint8_t* data, size_t len) {
        if (!out) out = Bytes(data, data + len);
        return true;
      });
    }
    return out;
  }
  bool closed() const { return closed_; }

 private:
  int fd_ = -1;
  bool connected_ = false;
  bool closed_ = false;
  transport::TcpFrameDecoder decoder_;
};

Bytes Check(const std::string& username, const std::string& password) {
  uint8_t tid[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  transport::StunMessageBuilder b(transport::kStunMethodBinding, transport::StunClass::kRequest,
                                  tid);
  b.AddUsername(username).AddPriority(0x6e7f1eff).AddIceControlling(42).AddUseCandidate();
  return b.AddMessageIntegrity(password).AddFingerprint().Take();
}

const testing::Candidate* TcpCandidate(const Reply& info) {
  for (const auto& c : info.candidates) {
    if (c.protocol == "tcp") return &c;
  }
  return nullptr;
}

TEST_F(RouterRequestsTest, IceTcpChecksReachTheirTransportOnTheSharedPort) {
  ASSERT_TRUE(CreateRouter("room1").accepted);
  ASSERT_TRUE(CreateRouter("room2").accepted);
  Reply a = CreateTransport("room1", "a", /*ice_tcp=*/true);
  Reply b = CreateTransport("room2", "b", /*ice_tcp=*/true);
  Reply udp_only = CreateTransport("room1", "u");
  ASSERT_TRUE(a.accepted && b.accepted && udp_only.accepted);
  const testing::Candidate* ta = TcpCandidate(a);
  const testing::Candidate* tb = TcpCandidate(b);
  ASSERT_TRUE(ta && tb);
  EXPECT_EQ(ta->port, tb->port) << "one listener per worker";
  EXPECT_NE(ta->port, 0);
  EXPECT_EQ(ta->type, "host");
  EXPECT_EQ(TcpCandidate(udp_only), nullptr);
  ASSERT_EQ(a.candidates.size(), 2u);

  for (const auto& [id, info] : {std::pair{"a", &a}, std::pair{"b", &b}}) {
    TcpClient client(ta->port);
    ASSERT_TRUE(client.connected());
    ASSERT_TRUE(client.SendFrame(Check(info->ufrag + ":browser", info->pwd)));
    auto frame = client.ReadFrame();
    ASSERT_TRUE(frame.has_value()) << "no response over TCP";
    auto response = transport::StunMessage::Parse(*frame);
    ASSERT_TRUE(response.ok()) << response.status();
    EXPECT_EQ(response->message_class(), transport::StunClass::kSuccessResponse);
    EXPECT_TRUE(response->CheckIntegrity(std::string_view(info->pwd)));
    Reply stats = Call(fbs::Method::TRANSPORT_GET_STATS, id);
    EXPECT_EQ(stats.ice_state, fbs::IceState::COMPLETED);
    EXPECT_EQ(stats.counters["tcp_connections"], 1u);
    EXPECT_EQ(stats.counters["selected_tcp"], 1u);
  }
  // Those connections are closed: their transports have no path left.
  fbs::IceState state = fbs::IceState::COMPLETED;
  for (int i = 0; i < 100 && state != fbs::IceState::DISCONNECTED; ++i) {
    usleep(20000);
    state = Call(fbs::Method::TRANSPORT_GET_STATS, "a").ice_state;
  }
  EXPECT_EQ(state, fbs::IceState::DISCONNECTED);
  // The UDP-only transport's ufrag is not reachable over TCP; nor is a stranger's stream.
  TcpClient stranger(ta->port);
  ASSERT_TRUE(stranger.SendFrame(Check(udp_only.ufrag + ":browser", udp_only.pwd)));
  EXPECT_FALSE(stranger.ReadFrame().has_value());
  EXPECT_TRUE(stranger.closed());
  // Right ufrag, wrong password: handed to the transport, refused by ICE, closed and counted.
  TcpClient wrong(ta->port);
  ASSERT_TRUE(wrong.SendFrame(Check(b.ufrag + ":browser", "not-the-password-0123456789")));
  EXPECT_FALSE(wrong.ReadFrame().has_value());
  EXPECT_TRUE(wrong.closed());
  EXPECT_EQ(Call(fbs::Method::TRANSPORT_GET_STATS, "b").counters["tcp_auth_failed"], 1u);
  TcpClient garbage(ta->port);
  ASSERT_TRUE(garbage.Send({0xFF, 0xFF, 'x', 'y'}));
  EXPECT_FALSE(garbage.ReadFrame().has_value());
  EXPECT_TRUE(garbage.closed());
  // The worker is fine afterwards.
  EXPECT_TRUE(CreateTransport("room2", "c", true).accepted);
}

}  // namespace
}  // namespace sb::worker
