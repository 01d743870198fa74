// UdpSocket on real loopback sockets: a burst queued before the loop runs is delivered whole,
// in order, with its sender; a listener may close the socket in the middle of a burst; kernel
// arrival timestamps when asked for.
#include "transport/udp_socket.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "base/realtime.h"
#include "tests/transport/test_loop.h"

namespace sb::transport {
namespace {

class Collector : public UdpSocket::Listener {
 public:
  void OnUdpPacket(uint8_t* data, size_t len, const sockaddr* from) override {
    packets.emplace_back(reinterpret_cast<const char*>(data), len);
    from_ports.push_back(ntohs(reinterpret_cast<const sockaddr_in*>(from)->sin_port));
    arrivals_us.push_back(socket != nullptr ? socket->arrival_us() : 0);
    if (close_after != 0 && packets.size() == close_after) socket->Close();
  }

  UdpSocket* socket = nullptr;
  size_t close_after = 0;  // 0: never
  std::vector<std::string> packets;
  std::vector<uint16_t> from_ports;
  std::vector<int64_t> arrivals_us;  // socket->arrival_us() during each call
};

std::unique_ptr<UdpSocket> Open(uv_loop_t* loop, UdpSocket::Listener* listener) {
  auto socket = UdpSocket::Create(loop, "127.0.0.1", 40000, 49999, listener);
  EXPECT_TRUE(socket.ok()) << socket.status();
  return socket.ok() ? *std::move(socket) : nullptr;
}

// A datagram of `size` bytes whose content says which one it is.
std::string Datagram(int index, size_t size) {
  std::string d(size, static_cast<char>('a' + index % 26));
  std::string tag = std::to_string(index) + ":";
  std::memcpy(d.data(), tag.data(), std::min(tag.size(), d.size()));
  return d;
}

// Sends Datagram(index, size) from `sender` to `receiver`; false when the kernel refused it.
bool SendDatagram(UdpSocket& sender, const UdpSocket& receiver, int index, size_t size) {
  const std::string d = Datagram(index, size);
  return sender.Send(reinterpret_cast<const uint8_t*>(d.data()), d.size(),
                     reinterpret_cast<const sockaddr*>(&receiver.local_address()));
}

TEST(UdpSocketTest, BurstArrivesWholeAndInOrder) {
  testing::TestLoop loop;
  Collector sink, quiet;
  auto receiver = Open(loop.get(), &sink);
  auto sender = Open(loop.get(), &quiet);
  ASSERT_TRUE(receiver && sender);
  // 100 datagrams of 1200 bytes sent before the loop runs: more than libuv reads in one
  // readiness event (32), so delivery spans several loop iterations.
  constexpr int kCount = 100;
  for (int i = 0; i < kCount; ++i) ASSERT_TRUE(SendDatagram(*sender, *receiver, i, 1200));
  ASSERT_TRUE(loop.RunUntil([&] { return sink.packets.size() == kCount; }, 5000));
  for (int i = 0; i < kCount; ++i) {
    EXPECT_EQ(sink.packets[i], Datagram(i, 1200)) << i;
    EXPECT_EQ(sink.from_ports[i], sender->local_port());
  }
  // Sizes from 1 byte to the largest IPv4 UDP payload keep their exact length.
  const std::vector<size_t> sizes = {1, 12, 1500, 9000, 65507};
  for (size_t i = 0; i < sizes.size(); ++i) {
    ASSERT_TRUE(SendDatagram(*sender, *receiver, static_cast<int>(i), sizes[i]));
  }
  ASSERT_TRUE(loop.RunUntil([&] { return sink.packets.size() == kCount + sizes.size(); }, 5000));
  for (size_t i = 0; i < sizes.size(); ++i) {
    EXPECT_EQ(sink.packets[kCount + i], Datagram(static_cast<int>(i), sizes[i]));
  }
  receiver.reset();
  sender.reset();
}

// Two datagrams 30 ms apart, read by the loop together afterwards: the kernel's stamps keep the
// 30 ms the loop cannot see. Without EnableArrivalTimestamps there are none.
TEST(UdpSocketTest, ArrivalTimestampsAreTheKernelsNotTheLoops) {
  testing::TestLoop loop;
  Collector sink, quiet;
  auto receiver = Open(loop.get(), &sink);
  auto sender = Open(loop.get(), &quiet);
  ASSERT_TRUE(receiver && sender);
  sink.socket = receiver.get();
  ASSERT_TRUE(SendDatagram(*sender, *receiver, 0, 100));
  ASSERT_TRUE(loop.RunUntil([&] { return sink.packets.size() == 1; }, 5000));
  EXPECT_EQ(sink.arrivals_us[0], 0);

  // As in the worker, timestamps are on before the measured packets come (there, a producer is
  // created before its media flows): the kernel turns stamping on for the system a moment after
  // the first socket asks (a deferred static key), and until then reports the read time.
  receiver->EnableArrivalTimestamps();
  // Until a datagram read 5 ms after it was sent carries a stamp from before the read.
  bool stamping = false;
  for (int i = 0; i < 200 && !stamping; ++i) {
    ASSERT_TRUE(SendDatagram(*sender, *receiver, 9, 100));
    usleep(5'000);
    const int64_t read_from_us = RealtimeNowUs();
    ASSERT_TRUE(loop.RunUntil([&] { return sink.packets.size() == 2; }, 5000));
    stamping = sink.arrivals_us[1] != 0 && sink.arrivals_us[1] < read_from_us - 2'000;
    sink.packets.pop_back();
    sink.arrivals_us.pop_back();
  }
  ASSERT_TRUE(stamping) << "the kernel never stamped a datagram";
  const int64_t before_us = RealtimeNowUs();
  ASSERT_TRUE(SendDatagram(*sender, *receiver, 1, 100));
  usleep(30'000);
  ASSERT_TRUE(SendDatagram(*sender, *receiver, 2, 100));
  ASSERT_TRUE(loop.RunUntil([&] { return sink.packets.size() == 3; }, 5000));
  ASSERT_GE(sink.arrivals_us[1], before_us);
  const int64_t gap_us = sink.arrivals_us[2] - sink.arrivals_us[1];
  EXPECT_GE(gap_us, 29'000);
  EXPECT_LT(gap_us, 1'000'000);
}

TEST(UdpSocketTest, ClosingInsideABurstStopsDelivery) {
  testing::TestLoop loop;
  Collector sink, quiet;
  auto receiver = Open(loop.get(), &sink);
  auto sender = Open(loop.get(), &quiet);
  ASSERT_TRUE(receiver && sender);
  sink.socket = receiver.get();
  sink.close_after = 3;
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(SendDatagram(*sender, *receiver, i, 200));
  loop.RunUntil([] { return false; }, 200);
  EXPECT_EQ(sink.packets.size(), 3u);
  receiver.reset();
  sender.reset();
}

}  // namespace
}  // namespace sb::transport
