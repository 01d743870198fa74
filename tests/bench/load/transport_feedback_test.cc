// The synthetic subscriber's transport-cc feedback: the transport-wide sequence number read
// from the clear header of an SRTP packet (whose padding count is encrypted), the extension id
// from the offer, and feedback packets that the server's parser reads back with every packet
// and its arrival time, alone with rtcp-rsize and after an empty RR without it.
#include "bench/load/transport_feedback.h"

#include <array>
#include <vector>

#include "gtest/gtest.h"
#include "rtp/header_extensions.h"
#include "rtp/rtcp/rtcp_packet.h"
#include "rtp/rtcp/transport_feedback.h"
#include "rtp/rtp_builder.h"
#include "rtp/rtp_parameters.h"

namespace sb::bench {
namespace {

constexpr uint8_t kMidId = 1;
constexpr uint8_t kTccId = 5;
constexpr uint32_t kSender = 0x5EED0001;
constexpr int64_t kT0 = 3'600'000'000;

// A packet as an SRTP receiver sees it: header (with the extensions given) and 100 bytes of
// "ciphertext" ending in a byte that would be a bad padding count, with the P bit set.
std::vector<uint8_t> SrtpLike(uint32_t ssrc, std::optional<uint16_t> tcc,
                              rtp::ExtensionFormChoice form = rtp::ExtensionFormChoice::kAuto,
                              uint8_t tcc_id = kTccId) {
  std::array<uint8_t, 2> tcc_value{};
  const uint8_t mid[] = {'3'};
  std::vector<rtp::ExtensionValue> ext = {{kMidId, absl::Span<const uint8_t>(mid)}};
  if (tcc) {
    rtp::WriteTransportSequenceNumber(*tcc, tcc_value.data(), tcc_value.size());
    ext.push_back({tcc_id, absl::Span<const uint8_t>(tcc_value)});
  }
  rtp::RtpHeaderFields h;
  h.payload_type = 96;
  h.sequence_number = 7;
  h.ssrc = ssrc;
  std::vector<uint8_t> out(1500);
  const std::vector<uint8_t> payload(100, 0xA5);
  const size_t len = rtp::BuildRtpPacket(h, ext, payload, 0, out.data(), out.size(), form);
  EXPECT_GT(len, 0u);
  out.resize(len);
  out[0] |= 0x20;     // P: the count is in the encrypted part...
  out.back() = 0xFF;  // ...and reads as more padding than there is
  return out;
}

SubscribeOffer Offer(bool rtcp_rsize, const std::string& extmap) {
  OfferedSection audio;
  audio.media = "audio";
  audio.port = 9;
  audio.proto = "UDP/TLS/RTP/SAVPF";
  audio.mid = "0";
  audio.direction = "sendonly";
  audio.codecs.push_back({111, "opus", 48000, 2, "", {"transport-cc"}});
  audio.extmaps = {"1 urn:ietf:params:rtp-hdrext:sdes:mid"};
  if (!extmap.empty()) audio.extmaps.push_back(extmap);
  audio.rtcp_rsize = rtcp_rsize;
  OfferedSection rejected = audio;
  rejected.port = 0;
  rejected.extmaps = {"9 " + std::string(rtp::kUriTransportWideCc)};
  SubscribeOffer offer;
  offer.sections = {rejected, audio};
  return offer;
}

// The RTCP packets of each datagram Flush hands out.
std::vector<std::vector<rtp::RtcpHeader>> Flush(TransportFeedbackSender* sender,
                                                std::vector<std::vector<uint8_t>>* keep) {
  std::vector<std::vector<rtp::RtcpHeader>> out;
  std::array<uint8_t, TransportFeedbackSender::kMaxPacketBytes + 160> buffer{};
  sender->Flush(kSender, buffer.data(), [&](size_t len) {
    keep->emplace_back(buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(len));
    std::vector<rtp::RtcpHeader> packets;
    EXPECT_TRUE(rtp::ForEachRtcpPacket(absl::Span<const uint8_t>(keep->back()),
                                       [&](const rtp::RtcpHeader& h) { packets.push_back(h); })
                    .ok());
    out.push_back(std::move(packets));
  });
  return out;
}

TEST(ReadTransportSequenceNumberTest, ReadsTheClearHeaderOfAnSrtpPacket) {
  auto p = SrtpLike(1234, 0xBEEF);
  EXPECT_EQ(ReadTransportSequenceNumber(p, kTccId), 0xBEEF);
  EXPECT_EQ(ReadTransportSequenceNumber(p, 7), std::nullopt);  // another id
  EXPECT_EQ(ReadTransportSequenceNumber(p, 0), std::nullopt);
  auto two = SrtpLike(1234, 42, rtp::ExtensionFormChoice::kTwoByte, 20);
  EXPECT_EQ(ReadTransportSequenceNumber(two, 20), 42);
  EXPECT_EQ(ReadTransportSequenceNumber(SrtpLike(1234, std::nullopt), kTccId), std::nullopt);
}

TEST(ReadTransportSequenceNumberTest, RejectsWhatIsCutShort) {
  auto p = SrtpLike(1234, 9);
  // Every cut inside the header: never a read past it.
  for (size_t len = 0; len < 24; ++len) {
    EXPECT_EQ(ReadTransportSequenceNumber(absl::Span<const uint8_t>(p.data(), len), kTccId),
              std::nullopt)
        << len;
  }
  p[0] &= 0xEF;  // no X bit: no extension block
  EXPECT_EQ(ReadTransportSequenceNumber(p, kTccId), std::nullopt);
}

TEST(ExtensionIdOfTest, ReadsTheIdWithOrWithoutADirection) {
  OfferedSection s;
  s.extmaps = {"1 urn:ietf:params:rtp-hdrext:sdes:mid",
               "7/sendonly " + std::string(rtp::kUriTransportWideCc)};
  EXPECT_EQ(ExtensionIdOf(s, rtp::kUriTransportWideCc), 7);
  EXPECT_EQ(ExtensionIdOf(s, "urn:ietf:params:rtp-hdrext:sdes:mid"), 1);
  EXPECT_EQ(ExtensionIdOf(s, rtp::kUriAbsSendTime), 0);
  s.extmaps = {"x " + std::string(rtp::kUriTransportWideCc)};
  EXPECT_EQ(ExtensionIdOf(s, rtp::kUriTransportWideCc), 0);
}

TEST(TransportFeedbackSenderTest, NothingWithoutTheExtension) {
  TransportFeedbackSender sender;
  sender.OnOffer(Offer(true, ""));
  EXPECT_FALSE(sender.enabled());  // the rejected m-line's extension does not count
  EXPECT_FALSE(sender.OnPacket(SrtpLike(1, 1), kT0));
  std::vector<std::vector<uint8_t>> keep;
  EXPECT_TRUE(Flush(&sender, &keep).empty());
}

TEST(TransportFeedbackSenderTest, ReportsEveryPacketAndItsArrivalReducedSize) {
  TransportFeedbackSender sender;
  sender.OnOffer(Offer(true, "5 " + std::string(rtp::kUriTransportWideCc)));
  ASSERT_TRUE(sender.enabled());
  EXPECT_EQ(sender.extension_id(), kTccId);
  // 10..19 with 14 lost, 1 ms apart; 20 comes on another stream (a probe's RTX).
  for (uint16_t seq = 10; seq < 20; ++seq) {
    if (seq == 14) continue;
    EXPECT_TRUE(sender.OnPacket(SrtpLike(1111, seq), kT0 + (seq - 10) * 1000));
  }
  EXPECT_TRUE(sender.OnPacket(SrtpLike(2222, 20), kT0 + 10'500));
  EXPECT_FALSE(sender.OnPacket(SrtpLike(2222, std::nullopt), kT0 + 11'000));
  EXPECT_FALSE(sender.due());

  std::vector<std::vector<uint8_t>> keep;
  auto datagrams = Flush(&sender, &keep);
  ASSERT_EQ(datagrams.size(), 1u);
  ASSERT_EQ(datagrams[0].size(), 1u);  // RFC 5506: the feedback alone
  const rtp::RtcpHeader& h = datagrams[0][0];
  EXPECT_EQ(h.packet_type, rtp::kRtcpRtpfb);
  EXPECT_EQ(h.count_or_fmt, rtp::kRtpfbTwcc);
  auto fb = rtp::TransportFeedback::Parse(h.packet);
  ASSERT_TRUE(fb.has_value());
  EXPECT_EQ(fb->sender_ssrc, kSender);
  EXPECT_EQ(fb->media_ssrc, 2222u);  // the last packet's stream
  EXPECT_EQ(fb->base_sequence_number, 10);
  ASSERT_EQ(fb->packets.size(), 11u);
  for (const auto& p : fb->packets) EXPECT_EQ(p.received, p.sequence_number != 14);
  const std::vector<int64_t> arrivals = fb->ArrivalTimesUs();
  ASSERT_EQ(arrivals.size(), 10u);
  for (size_t i = 1; i < arrivals.size(); ++i) {
    const int64_t expected = (i == 4 ? 2000 : i == 9 ? 1500 : 1000);  // over 14; 19 -> 20
    EXPECT_EQ(arrivals[i] - arrivals[i - 1], expected) << i;
  }
  EXPECT_TRUE(Flush(&sender, &keep).empty());  // nothing new
}

TEST(TransportFeedbackSenderTest, CompoundWithoutRtcpRsizeAndDueAfterAHundred) {
  TransportFeedbackSender sender;
  sender.OnOffer(Offer(false, "3/recvonly " + std::string(rtp::kUriTransportWideCc)));
  ASSERT_EQ(sender.extension_id(), 3);
  for (uint16_t i = 0; i < rtp::TransportCcReceiver::kFeedbackDuePackets; ++i) {
    EXPECT_FALSE(sender.due());
    sender.OnPacket(SrtpLike(1111, static_cast<uint16_t>(65500 + i), {}, 3), kT0 + i * 100);
  }
  EXPECT_TRUE(sender.due());
  std::vector<std::vector<uint8_t>> keep;
  auto datagrams = Flush(&sender, &keep);
  ASSERT_EQ(datagrams.size(), 1u);
  ASSERT_EQ(datagrams[0].size(), 2u);
  EXPECT_EQ(datagrams[0][0].packet_type, rtp::kRtcpRr);  // RFC 3550 6.1
  auto fb = rtp::TransportFeedback::Parse(datagrams[0][1].packet);
  ASSERT_TRUE(fb.has_value());
  EXPECT_EQ(fb->base_sequence_number, 65500);  // across the wrap
  EXPECT_EQ(fb->packets.size(), rtp::TransportCcReceiver::kFeedbackDuePackets);
  EXPECT_FALSE(sender.due());
}

}  // namespace
}  // namespace sb::bench
