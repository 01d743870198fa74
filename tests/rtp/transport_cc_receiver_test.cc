#include "rtp/transport_cc_receiver.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace sb::rtp {
namespace {

constexpr uint32_t kSender = 0x5EED0001;
constexpr uint32_t kMedia = 0xABCD0002;
// A clock that has been running a while, as uv_hrtime's has.
constexpr int64_t kT0 = 3'600'000'000;

// Every feedback through the wire format and back, as the sender's estimator sees it.
std::vector<TransportFeedback> Wire(const std::vector<TransportFeedback>& feedbacks) {
  std::vector<TransportFeedback> out;
  for (const auto& fb : feedbacks) {
    uint8_t buffer[1500];
    const size_t len = fb.Serialize(buffer, sizeof(buffer));
    EXPECT_GT(len, 0u) << "feedback of " << fb.packets.size() << " packets not serializable";
    EXPECT_LE(len, 1000u);
    auto parsed = TransportFeedback::Parse({buffer, len});
    EXPECT_TRUE(parsed.has_value());
    if (parsed) out.push_back(*parsed);
  }
  return out;
}

// (sequence number, received) pairs over all feedbacks, in order.
std::vector<std::pair<uint16_t, bool>> Statuses(const std::vector<TransportFeedback>& fbs) {
  std::vector<std::pair<uint16_t, bool>> out;
  for (const auto& fb : fbs) {
    for (const auto& p : fb.packets) out.emplace_back(p.sequence_number, p.received);
  }
  return out;
}

// Arrival times (us, relative to kT0) the sender reconstructs from each feedback's reference
// time and deltas.
std::vector<int64_t> Arrivals(const std::vector<TransportFeedback>& fbs) {
  std::vector<int64_t> out;
  for (const auto& fb : fbs) {
    for (int64_t t : fb.ArrivalTimesUs()) out.push_back(t - kT0);
  }
  return out;
}

TEST(TransportCcReceiverTest, NothingReceivedNoFeedback) {
  TransportCcReceiver r;
  EXPECT_TRUE(r.TakeFeedback(kSender, kMedia).empty());
}

TEST(TransportCcReceiverTest, ReportsEveryPacketWithItsArrivalTime) {
  TransportCcReceiver r;
  for (int i = 0; i < 10; ++i) r.OnPacket(static_cast<uint16_t>(100 + i), kT0 + i * 5000);
  auto fbs = Wire(r.TakeFeedback(kSender, kMedia));
  ASSERT_EQ(fbs.size(), 1u);
  EXPECT_EQ(fbs[0].sender_ssrc, kSender);
  EXPECT_EQ(fbs[0].media_ssrc, kMedia);
  EXPECT_EQ(fbs[0].base_sequence_number, 100);
  ASSERT_EQ(fbs[0].packets.size(), 10u);
  const std::vector<int64_t> arrivals = Arrivals(fbs);
  for (int i = 0; i < 10; ++i) {
    EXPECT_TRUE(fbs[0].packets[i].received);
    EXPECT_EQ(arrivals[i], i * 5000) << i;  // exact: 5 ms is 20 ticks
  }
  EXPECT_EQ(r.pending(), 0u);
  EXPECT_TRUE(r.TakeFeedback(kSender, kMedia).empty());
}

TEST(TransportCcReceiverTest, GapsAreLostAndTheNextFeedbackStartsWhereThisEnded) {
  TransportCcReceiver r;
  r.OnPacket(10, kT0);
  r.OnPacket(13, kT0 + 1000);
  auto first = Wire(r.TakeFeedback(kSender, kMedia));
  r.OnPacket(16, kT0 + 2000);
  auto second = Wire(r.TakeFeedback(kSender, kMedia));
  EXPECT_EQ(Statuses(first), (std::vector<std::pair<uint16_t, bool>>{
                                 {10, true}, {11, false}, {12, false}, {13, true}}));
  // 14 and 15 never arrived: reported lost at the head of the next feedback.
  EXPECT_EQ(Statuses(second),
            (std::vector<std::pair<uint16_t, bool>>{{14, false}, {15, false}, {16, true}}));
  EXPECT_EQ(first[0].feedback_packet_count + 1, second[0].feedback_packet_count);
}

TEST(TransportCcReceiverTest, ReorderedPacketsAreReportedInSequenceOrder) {
  TransportCcReceiver r;
  r.OnPacket(1, kT0);
  r.OnPacket(3, kT0 + 1000);
  r.OnPacket(2, kT0 + 2000);  // late, but before the feedback went out
  auto fbs = Wire(r.TakeFeedback(kSender, kMedia));
  EXPECT_EQ(Statuses(fbs),
            (std::vector<std::pair<uint16_t, bool>>{{1, true}, {2, true}, {3, true}}));
  EXPECT_EQ(Arrivals(fbs), (std::vector<int64_t>{0, 2000, 1000}));  // a negative delta
}

TEST(TransportCcReceiverTest, LateAfterReportedAndDuplicatesAreCountedNotReported) {
  TransportCcReceiver r;
  r.OnPacket(1, kT0);
  r.OnPacket(3, kT0 + 1000);
  r.TakeFeedback(kSender, kMedia);
  r.OnPacket(2, kT0 + 2000);  // reported lost already
  r.OnPacket(4, kT0 + 3000);
  r.OnPacket(4, kT0 + 3100);
  auto fbs = Wire(r.TakeFeedback(kSender, kMedia));
  EXPECT_EQ(Statuses(fbs), (std::vector<std::pair<uint16_t, bool>>{{4, true}}));
  EXPECT_EQ(Arrivals(fbs), (std::vector<int64_t>{3000}));  // the first arrival counts
  EXPECT_EQ(r.counters().late, 1u);
  EXPECT_EQ(r.counters().duplicates, 1u);
}

TEST(TransportCcReceiverTest, AcrossTheSequenceNumberWrap) {
  TransportCcReceiver r;
  for (uint16_t seq : {65534, 65535, 0, 1}) r.OnPacket(seq, kT0 + seq);
  auto fbs = Wire(r.TakeFeedback(kSender, kMedia));
  EXPECT_EQ(Statuses(fbs), (std::vector<std::pair<uint16_t, bool>>{
                               {65534, true}, {65535, true}, {0, true}, {1, true}}));
}

TEST(TransportCcReceiverTest, LongRangesAreSplitIntoPacketsThatFitAnMtu) {
  TransportCcReceiver r;
  // 1000 packets, every third lost, with irregular spacing (1-byte and 2-byte deltas).
  std::vector<std::pair<uint16_t, bool>> expected;
  int64_t t = kT0;
  for (int i = 0; i < 1000; ++i) {
    const bool received = i % 3 != 1;
    t += (i % 7 == 0) ? 70'000 : 300;
    if (received) r.OnPacket(static_cast<uint16_t>(i), t);
    expected.emplace_back(static_cast<uint16_t>(i), received);
  }
  EXPECT_TRUE(r.FeedbackDue());
  auto fbs = Wire(r.TakeFeedback(kSender, kMedia));
  ASSERT_EQ(fbs.size(), 4u);  // 300 + 300 + 300 + 100 (999 is the last received)
  for (const auto& fb : fbs) {
    EXPECT_LE(fb.packets.size(), TransportCcReceiver::kMaxSequenceNumbersPerFeedback);
  }
  expected.resize(1000);
  EXPECT_EQ(Statuses(fbs), expected);
  // Each feedback's times, rebuilt from its own reference, are the arrivals to the tick.
  std::vector<int64_t> arrivals = Arrivals(fbs);
  t = 0;
  size_t k = 0;
  for (int i = 0; i < 1000; ++i) {
    t += (i % 7 == 0) ? 70'000 : 300;
    if (i % 3 == 1) continue;
    ASSERT_LT(k, arrivals.size());
    EXPECT_NEAR(arrivals[k++], t, 125) << i;  // within half a 250 us tick, not accumulating
  }
}

TEST(TransportCcReceiverTest, ASilenceLongerThanADeltaStartsANewFeedback) {
  TransportCcReceiver r;
  r.OnPacket(1, kT0);
  r.OnPacket(2, kT0 + 9'000'000);  // 9 s later: more than a 16-bit delta of 250 us holds
  auto fbs = Wire(r.TakeFeedback(kSender, kMedia));
  ASSERT_EQ(fbs.size(), 2u);
  EXPECT_EQ(Statuses(fbs), (std::vector<std::pair<uint16_t, bool>>{{1, true}, {2, true}}));
  EXPECT_EQ(Arrivals(fbs), (std::vector<int64_t>{0, 9'000'000}));
}

TEST(TransportCcReceiverTest, AJumpOfTheCounterStartsOverInsteadOfReportingThousandsLost) {
  TransportCcReceiver r;
  r.OnPacket(100, kT0);
  r.TakeFeedback(kSender, kMedia);
  r.OnPacket(30000, kT0 + 1000);
  r.OnPacket(30001, kT0 + 2000);
  auto fbs = Wire(r.TakeFeedback(kSender, kMedia));
  EXPECT_EQ(Statuses(fbs), (std::vector<std::pair<uint16_t, bool>>{{30000, true}, {30001, true}}));
  EXPECT_EQ(r.counters().restarts, 1u);
}

TEST(TransportCcReceiverTest, PendingStaysBoundedWithoutFeedback) {
  TransportCcReceiver r;
  for (int i = 0; i < 200'000; ++i) r.OnPacket(static_cast<uint16_t>(i), kT0 + i * 100);
  EXPECT_LE(r.pending(), static_cast<size_t>(TransportCcReceiver::kMaxGap) + 1);
  auto fbs = Wire(r.TakeFeedback(kSender, kMedia));
  EXPECT_FALSE(fbs.empty());
  EXPECT_EQ(r.pending(), 0u);
}

TEST(TransportCcReceiverTest, ReferenceTimeWrapsIn24Bits) {
  TransportCcReceiver r;
  // 2^24 units of 64 ms after zero (about 12 days of uptime), plus a bit.
  const int64_t t = (int64_t{1} << 24) * 64'000 + 5 * 64'000 + 1000;
  r.OnPacket(7, t);
  auto fbs = Wire(r.TakeFeedback(kSender, kMedia));
  ASSERT_EQ(fbs.size(), 1u);
  EXPECT_EQ(fbs[0].reference_time, 5);
}

}  // namespace
}  // namespace sb::rtp
