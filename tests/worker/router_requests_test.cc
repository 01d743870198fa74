// A real switchboard-worker driven over IPC the way the control process drives it: router,
// transport, producer and consumer requests with their errors and notifications, and media
// between two fake browsers through one router over loopback UDP (ICE, DTLS, SRTP, RTCP),
// and retransmission (RTX) on the subscriber's NACK.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "rtp/rtcp/nack.h"
#include "rtp/rtcp/pli.h"
#include "rtp/rtcp/receiver_report.h"
#include "rtp/rtcp/rtcp_packet.h"
#include "rtp/rtcp/sender_report.h"
#include "rtp/rtp_packet.h"
#include "rtp/rtx.h"
#include "tests/router/rtp_test_packets.h"
#include "tests/worker/router_requests_fixture.h"

namespace sb::worker {
namespace {

using router::testing::OpusProducerParams;
using router::testing::Vp8ProducerParams;
using testing::ChromiumCapabilities;
using testing::FakePeer;
using testing::kOpusSsrc;
using testing::kPortMax;
using testing::kPortMin;
using testing::kVp8RtxSsrc;
using testing::kVp8Ssrc;
using testing::Reply;
using testing::RouterRequestsTest;

TEST_F(RouterRequestsTest, RequestsAndErrors) {
  ASSERT_TRUE(CreateRouter("r1").accepted);
  Reply dup = CreateRouter("r1");
  EXPECT_FALSE(dup.accepted);
  EXPECT_EQ(dup.error, "InvalidArgument");
  EXPECT_NE(dup.reason.find("r1"), std::string::npos) << dup.reason;

  // Transports.
  Reply pub = CreateTransport("r1", "pub");
  ASSERT_TRUE(pub.accepted) << pub.error << ": " << pub.reason;
  EXPECT_FALSE(pub.ufrag.empty());
  EXPECT_FALSE(pub.pwd.empty());
  ASSERT_EQ(pub.candidates.size(), 1u);
  EXPECT_EQ(pub.candidates[0].ip, "127.0.0.1");
  EXPECT_EQ(pub.candidates[0].protocol, "udp");
  EXPECT_EQ(pub.candidates[0].type, "host");
  EXPECT_GE(pub.candidates[0].port, kPortMin);
  EXPECT_LE(pub.candidates[0].port, kPortMax);
  ASSERT_FALSE(pub.fingerprints.empty());
  EXPECT_EQ(pub.fingerprints[0].algorithm, "sha-256");
  EXPECT_EQ(pub.fingerprints[0].value.size(), 32u * 3 - 1);  // "AB:CD:..."
  Reply sub = CreateTransport("r1", "sub");
  ASSERT_TRUE(sub.accepted);
  EXPECT_NE(sub.ufrag, pub.ufrag);
  EXPECT_NE(sub.candidates[0].port, pub.candidates[0].port);
  EXPECT_FALSE(CreateTransport("r1", "pub").accepted) << "duplicate transport id";

  auto cert = transport::DtlsCertificate::Generate();
  ASSERT_TRUE(cert.ok());
  Reply connected = Connect("pub", (*cert)->Fingerprints());
  EXPECT_TRUE(connected.accepted) << connected.error << ": " << connected.reason;
  Reply no_fingerprint = Connect("sub", {});
  EXPECT_FALSE(no_fingerprint.accepted);
  EXPECT_EQ(no_fingerprint.error, "InvalidArgument");

  // Producers.
  Reply audio = Produce("pub", "audio", rtp::MediaKind::kAudio, OpusProducerParams(kOpusSsrc));
  EXPECT_TRUE(audio.accepted) << audio.error << ": " << audio.reason;
  Reply video =
      Produce("pub", "video", rtp::MediaKind::kVideo, Vp8ProducerParams(kVp8Ssrc, kVp8RtxSsrc));
  EXPECT_TRUE(video.accepted) << video.error << ": " << video.reason;

  rtp::RtpParameters no_codecs = OpusProducerParams(0x999, "n");
  no_codecs.codecs.clear();
  Reply bad = Produce("pub", "bad1", rtp::MediaKind::kAudio, no_codecs);
  EXPECT_FALSE(bad.accepted);
  EXPECT_EQ(bad.error, "InvalidArgument");
  EXPECT_NE(bad.reason.find("codec"), std::string::npos) << bad.reason;

  rtp::RtpParameters unknown_codec = OpusProducerParams(0x998, "u");
  unknown_codec.codecs[0].mime_type = "audio/AMR";
  bad = Produce("pub", "bad2", rtp::MediaKind::kAudio, unknown_codec);
  EXPECT_FALSE(bad.accepted);
  EXPECT_EQ(bad.error, "InvalidArgument");
  EXPECT_NE(bad.reason.find("AMR"), std::string::npos) << bad.reason;

  bad = Produce("pub", "bad3", rtp::MediaKind::kAudio, OpusProducerParams(kOpusSsrc, "d"));
  EXPECT_FALSE(bad.accepted);
  EXPECT_EQ(bad.error, "AlreadyExists");
  EXPECT_NE(bad.reason.find("ssrc"), std::string::npos) << bad.reason;

  bad = Produce("pub", "audio", rtp::MediaKind::kAudio, OpusProducerParams(0x997, "e"));
  EXPECT_FALSE(bad.accepted) << "duplicate producer id";

  // Consumers, with the router's payload types whatever the subscriber prefers.
  Reply ca = Consume("sub", "ca", "audio", ChromiumCapabilities(), "0");
  ASSERT_TRUE(ca.accepted) << ca.error << ": " << ca.reason;
  ASSERT_TRUE(ca.consumer_params.has_value());
  const rtp::RtpParameters& ap = *ca.consumer_params;
  ASSERT_EQ(ap.codecs.size(), 1u);
  EXPECT_EQ(ap.codecs[0].mime_type, "audio/opus");
  EXPECT_EQ(ap.codecs[0].payload_type, 100);
  ASSERT_EQ(ap.encodings.size(), 1u);
  EXPECT_NE(ap.encodings[0].ssrc, 0u);
  EXPECT_NE(ap.encodings[0].ssrc, kOpusSsrc);
  EXPECT_EQ(ap.mid, "0");
  EXPECT_EQ(ap.HeaderExtensionId(rtp::kUriMid), 1);  // the router's id, not Chromium's 9
  // Ours, not the publisher's: the worker numbers what it sends for the subscriber's feedback.
  EXPECT_EQ(ap.HeaderExtensionId(rtp::kUriTransportWideCc), 5);
  EXPECT_FALSE(ca.paused);
  EXPECT_FALSE(ca.producer_paused);

  Reply cv = Consume("sub", "cv", "video", ChromiumCapabilities(), "1", /*paused=*/true);
  ASSERT_TRUE(cv.accepted) << cv.error << ": " << cv.reason;
  const rtp::RtpParameters& vp = *cv.consumer_params;
  ASSERT_EQ(vp.codecs.size(), 2u);
  EXPECT_EQ(vp.codecs[0].mime_type, "video/VP8");
  EXPECT_EQ(vp.codecs[0].payload_type, 101);
  EXPECT_EQ(vp.codecs[1].payload_type, 102);
  EXPECT_EQ(vp.codecs[1].IntParameter("apt"), 101u);
  EXPECT_NE(vp.encodings[0].ssrc, 0u);
  EXPECT_NE(vp.encodings[0].rtx_ssrc, 0u);
  EXPECT_NE(vp.encodings[0].ssrc, ap.encodings[0].ssrc);
  EXPECT_EQ(vp.mid, "1");
  EXPECT_TRUE(cv.paused);

  Reply no_vp8 = Consume("sub", "cx", "video", ChromiumCapabilities(/*with_video=*/false), "2");
  EXPECT_FALSE(no_vp8.accepted);
  EXPECT_EQ(no_vp8.error, "FailedPrecondition");
  EXPECT_NE(no_vp8.reason.find("VP8"), std::string::npos) << no_vp8.reason;
  EXPECT_FALSE(Consume("sub", "cy", "nope", ChromiumCapabilities(), "3").accepted);
  EXPECT_FALSE(Consume("sub", "ca", "audio", ChromiumCapabilities(), "4").accepted)
      << "duplicate consumer id";

  Reply dump = Call(fbs::Method::ROUTER_DUMP, "r1");
  ASSERT_TRUE(dump.accepted);
  EXPECT_EQ(dump.transports, (std::vector<std::string>{"pub", "sub"}));
  EXPECT_EQ(dump.producers, (std::vector<std::string>{"audio", "video"}));
  EXPECT_EQ(dump.consumers, (std::vector<std::string>{"ca", "cv"}));

  // Pause, resume, close, with notifications for the consumers.
  ASSERT_TRUE(Call(fbs::Method::PRODUCER_PAUSE, "video").accepted);
  ASSERT_TRUE(RunUntil([&] { return Notified(fbs::Event::CONSUMER_PRODUCER_PAUSE, "cv") == 1; },
                       std::chrono::seconds(3)));
  ASSERT_TRUE(Call(fbs::Method::PRODUCER_RESUME, "video").accepted);
  ASSERT_TRUE(RunUntil([&] { return Notified(fbs::Event::CONSUMER_PRODUCER_RESUME, "cv") == 1; },
                       std::chrono::seconds(3)));
  EXPECT_TRUE(Call(fbs::Method::CONSUMER_RESUME, "cv").accepted);
  EXPECT_TRUE(Call(fbs::Method::CONSUMER_PAUSE, "cv").accepted);
  EXPECT_TRUE(Call(fbs::Method::CONSUMER_REQUEST_KEY_FRAME, "cv").accepted);
  EXPECT_TRUE(Call(fbs::Method::PRODUCER_GET_STATS, "video").accepted);
  EXPECT_TRUE(Call(fbs::Method::CONSUMER_GET_STATS, "cv").accepted);

  ASSERT_TRUE(Call(fbs::Method::PRODUCER_CLOSE, "video").accepted);
  ASSERT_TRUE(RunUntil([&] { return Notified(fbs::Event::CONSUMER_PRODUCER_CLOSED, "cv") == 1; },
                       std::chrono::seconds(3)));
  EXPECT_EQ(Notified(fbs::Event::CONSUMER_PRODUCER_CLOSED, "ca"), 0);
  dump = Call(fbs::Method::ROUTER_DUMP, "r1");
  EXPECT_EQ(dump.producers, std::vector<std::string>{"audio"});
  EXPECT_EQ(dump.consumers, std::vector<std::string>{"ca"});
  EXPECT_EQ(Call(fbs::Method::CONSUMER_GET_STATS, "cv").error, "NotFound");

  Reply stats = Call(fbs::Method::TRANSPORT_GET_STATS, "pub");
  ASSERT_TRUE(stats.accepted);
  EXPECT_TRUE(stats.has_stats);
  EXPECT_EQ(stats.dtls_state, fbs::DtlsState::NEW);

  // Unknown ids.
  for (auto [method, id] :
       std::vector<std::pair<fbs::Method, std::string>>{{fbs::Method::ROUTER_DUMP, "r9"},
                                                        {fbs::Method::ROUTER_CLOSE, "r9"},
                                                        {fbs::Method::TRANSPORT_GET_STATS, "t9"},
                                                        {fbs::Method::TRANSPORT_CLOSE, "t9"},
                                                        {fbs::Method::PRODUCER_PAUSE, "p9"},
                                                        {fbs::Method::PRODUCER_GET_STATS, "p9"},
                                                        {fbs::Method::CONSUMER_RESUME, "c9"},
                                                        {fbs::Method::CONSUMER_CLOSE, "c9"}}) {
    Reply r = Call(method, id);
    EXPECT_FALSE(r.accepted) << fbs::EnumNameMethod(method);
    EXPECT_EQ(r.error, "NotFound") << fbs::EnumNameMethod(method);
  }
  // A request without its body is refused, not a crash.
  EXPECT_EQ(Call(fbs::Method::TRANSPORT_PRODUCE, "pub").error, "InvalidArgument");
  EXPECT_EQ(Call(fbs::Method::TRANSPORT_CONSUME, "sub").error, "InvalidArgument");

  ASSERT_TRUE(Call(fbs::Method::CONSUMER_CLOSE, "ca").accepted);
  ASSERT_TRUE(Call(fbs::Method::TRANSPORT_CLOSE, "sub").accepted);
  ASSERT_TRUE(CreateRouter("r2").accepted);
  Reply worker_dump = Call(fbs::Method::WORKER_DUMP);
  EXPECT_EQ(worker_dump.routers, (std::vector<std::string>{"r1", "r2"}));
  ASSERT_TRUE(Call(fbs::Method::ROUTER_CLOSE, "r1").accepted);
  EXPECT_EQ(Call(fbs::Method::ROUTER_DUMP, "r1").error, "NotFound");

  worker_dump = Call(fbs::Method::WORKER_DUMP);
  EXPECT_TRUE(worker_dump.accepted);
  EXPECT_EQ(worker_dump.routers, std::vector<std::string>{"r2"});
  EXPECT_TRUE(worker_->alive());
}

// Two fake browsers on one router: media, reports and key-frame requests through the worker.
TEST_F(RouterRequestsTest, MediaFlowsBetweenTwoBrowsers) {
  auto [publisher, subscriber] = ConnectPublisherAndSubscriber();
  ASSERT_TRUE(publisher && subscriber);
  ASSERT_TRUE(publisher->dtls_connected() && subscriber->dtls_connected());

  ASSERT_TRUE(
      Produce("pub", "audio", rtp::MediaKind::kAudio, OpusProducerParams(kOpusSsrc)).accepted);
  ASSERT_TRUE(
      Produce("pub", "video", rtp::MediaKind::kVideo, Vp8ProducerParams(kVp8Ssrc, kVp8RtxSsrc))
          .accepted);
  Reply ca = Consume("sub", "ca", "audio", ChromiumCapabilities(), "0", /*paused=*/true);
  Reply cv = Consume("sub", "cv", "video", ChromiumCapabilities(), "1");
  ASSERT_TRUE(ca.accepted && cv.accepted);
  ASSERT_TRUE(Call(fbs::Method::CONSUMER_RESUME, "ca").accepted);
  const uint32_t audio_ssrc = ca.consumer_params->encodings[0].ssrc;
  const uint32_t video_ssrc = cv.consumer_params->encodings[0].ssrc;

  // ~1 s of Opus at 20 ms, sent in bursts so that loopback buffers never overflow.
  constexpr int kPackets = 50;
  constexpr uint16_t kFirstSeq = 65510;  // wraps on the way
  const std::vector<uint8_t> payload = {0xFC, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07};
  for (int i = 0; i < kPackets; ++i) {
    router::testing::TestPacket packet(111, static_cast<uint16_t>(kFirstSeq + i),
                                       static_cast<uint32_t>(1000 + 960 * i), kOpusSsrc, payload);
    ASSERT_TRUE(packet.ok());
    ASSERT_TRUE(publisher->SendRtp(packet.get().data(), packet.get().size()));
    if (i % 10 == 9) RunFor(std::chrono::milliseconds(20));
  }
  ASSERT_TRUE(
      RunUntil([&] { return subscriber->rtp().size() >= kPackets; }, std::chrono::seconds(3)))
      << "subscriber got " << subscriber->rtp().size() << " of " << kPackets;
  EXPECT_EQ(subscriber->unprotect_failures(), 0u);
  std::optional<uint16_t> previous;
  for (auto bytes : subscriber->rtp()) {
    auto packet = rtp::RtpPacket::Parse(bytes.data(), bytes.size());
    ASSERT_TRUE(packet.has_value());
    EXPECT_EQ(packet->ssrc(), audio_ssrc);
    EXPECT_EQ(packet->payload_type(), 100);
    EXPECT_EQ(std::vector<uint8_t>(packet->payload().begin(), packet->payload().end()), payload);
    if (previous) {
      EXPECT_EQ(packet->sequence_number(), static_cast<uint16_t>(*previous + 1));
    }
    previous = packet->sequence_number();
  }

  // The publisher hears a receiver report about its stream within about two report intervals.
  auto rr_for = [&](FakePeer* peer, uint32_t ssrc) {
    for (const auto& compound : peer->rtcp()) {
      bool found = false;
      (void)rtp::ForEachRtcpPacket(compound, [&](const rtp::RtcpHeader& h) {
        if (h.packet_type != rtp::kRtcpRr) return;
        auto rr = rtp::ReceiverReport::Parse(h.packet);
        if (!rr) return;
        for (const auto& block : rr->report_blocks) {
          if (block.ssrc == ssrc && block.cumulative_lost == 0) found = true;
        }
      });
      if (found) return true;
    }
    return false;
  };
  EXPECT_TRUE(
      RunUntil([&] { return rr_for(publisher, kOpusSsrc); }, std::chrono::milliseconds(2500)))
      << "no RR for the producer's ssrc";

  // The publisher's SR is mapped onto the consumer's stream for the subscriber.
  {
    rtp::SenderReport sr;
    sr.sender_ssrc = kOpusSsrc;
    sr.ntp_seconds = 0xE1000000;
    sr.ntp_fraction = 0x40000000;
    sr.rtp_timestamp = 1000 + 960 * kPackets;
    sr.packet_count = kPackets;
    sr.octet_count = kPackets * static_cast<uint32_t>(payload.size());
    uint8_t buffer[256];
    size_t len = sr.Serialize(buffer, sizeof(buffer));
    ASSERT_GT(len, 0u);
    ASSERT_TRUE(publisher->SendRtcp(buffer, len));
  }
  auto sr_for = [&](uint32_t ssrc) -> std::optional<rtp::SenderReport> {
    for (const auto& compound : subscriber->rtcp()) {
      std::optional<rtp::SenderReport> found;
      (void)rtp::ForEachRtcpPacket(compound, [&](const rtp::RtcpHeader& h) {
        if (h.packet_type != rtp::kRtcpSr) return;
        auto sr = rtp::SenderReport::Parse(h.packet);
        if (sr && sr->sender_ssrc == ssrc) found = sr;
      });
      if (found) return found;
    }
    return std::nullopt;
  };
  ASSERT_TRUE(
      RunUntil([&] { return sr_for(audio_ssrc).has_value(); }, std::chrono::milliseconds(2500)))
      << "no SR for the consumer's ssrc";
  auto mapped = *sr_for(audio_ssrc);
  EXPECT_EQ(mapped.ntp_seconds, 0xE1000000u);
  EXPECT_EQ(mapped.ntp_fraction, 0x40000000u);
  // The consumer started on the first packet, so its timestamps equal the producer's.
  EXPECT_EQ(mapped.rtp_timestamp, 1000u + 960 * kPackets);
  EXPECT_EQ(mapped.packet_count, static_cast<uint32_t>(kPackets));

  // A PLI from the subscriber for the video consumer reaches the publisher as a PLI for the
  // producer's ssrc; two within the debounce interval (500 ms, router/producer.h) make one at
  // once and one deferred to the end of the interval, since this publisher answers with no key
  // frame; once the interval has passed with nothing pending, the next goes out at once.
  const int plis_before = publisher->PliCount(kVp8Ssrc);
  auto plis = [&] { return publisher->PliCount(kVp8Ssrc) - plis_before; };
  auto send_pli = [&] {
    rtp::Pli pli;
    pli.sender_ssrc = 0x5AB5C1BE;
    pli.media_ssrc = video_ssrc;
    uint8_t buffer[64];
    size_t len = pli.Serialize(buffer, sizeof(buffer));
    ASSERT_GT(len, 0u);
    ASSERT_TRUE(subscriber->SendRtcp(buffer, len));
  };
  using Clock = std::chrono::steady_clock;
  auto ms_since = [](Clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count();
  };
  const Clock::time_point first_sent = Clock::now();
  send_pli();
  RunFor(std::chrono::milliseconds(10));
  send_pli();
  ASSERT_TRUE(RunUntil([&] { return plis() > 0; }, std::chrono::seconds(2)))
      << "no PLI reached the publisher";
  RunFor(std::chrono::milliseconds(300));
  EXPECT_EQ(plis(), 1) << "two PLIs 10 ms apart were not debounced";
  // The second was deferred, not dropped: it goes out at the end of the interval.
  ASSERT_TRUE(RunUntil([&] { return plis() >= 2; }, std::chrono::seconds(2)))
      << "the PLI deferred by the debounce never reached the publisher";
  EXPECT_GE(ms_since(first_sent), 450) << "the deferred PLI went out before the interval ended";
  // Nothing is pending any more: a whole quiet interval passes without a PLI.
  RunFor(std::chrono::milliseconds(700));
  EXPECT_EQ(plis(), 2) << "a PLI nobody asked for";
  // The interval since the last one has passed: the next request goes out at once.
  const Clock::time_point third_sent = Clock::now();
  send_pli();
  ASSERT_TRUE(RunUntil([&] { return plis() >= 3; }, std::chrono::seconds(2)))
      << "no PLI after the debounce interval";
  EXPECT_LT(ms_since(third_sent), 250) << "deferred although the interval had passed";
  RunFor(std::chrono::milliseconds(100));
  EXPECT_EQ(plis(), 3);

  Reply pub_stats = Call(fbs::Method::TRANSPORT_GET_STATS, "pub");
  Reply sub_stats = Call(fbs::Method::TRANSPORT_GET_STATS, "sub");
  EXPECT_EQ(pub_stats.dtls_state, fbs::DtlsState::CONNECTED);
  EXPECT_FALSE(pub_stats.srtp_profile.empty());
  EXPECT_EQ(pub_stats.rtp_received, static_cast<uint64_t>(kPackets));
  EXPECT_GE(pub_stats.rtcp_received, 1u);
  EXPECT_GE(pub_stats.rtcp_sent, 1u);
  EXPECT_EQ(sub_stats.rtp_sent, static_cast<uint64_t>(kPackets));
  EXPECT_GE(sub_stats.rtcp_received, 3u);

  // Closing the producer tells the control side and stops the consumer.
  ASSERT_TRUE(Call(fbs::Method::PRODUCER_CLOSE, "audio").accepted);
  EXPECT_TRUE(RunUntil([&] { return Notified(fbs::Event::CONSUMER_PRODUCER_CLOSED, "ca") == 1; },
                       std::chrono::seconds(3)));
  ASSERT_TRUE(Call(fbs::Method::ROUTER_CLOSE, "room").accepted);
  EXPECT_TRUE(Call(fbs::Method::WORKER_DUMP).accepted);
}

// A subscriber that NACKs a lost video packet gets it again on its RTX stream (RFC 4588),
// SRTP-protected like the rest, with the original sequence number first in the payload.
TEST_F(RouterRequestsTest, SubscriberNackYieldsAnRtxRetransmission) {
  auto [publisher, subscriber] = ConnectPublisherAndSubscriber();
  ASSERT_TRUE(publisher && subscriber);
  ASSERT_TRUE(
      Produce("pub", "video", rtp::MediaKind::kVideo, Vp8ProducerParams(kVp8Ssrc, kVp8RtxSsrc))
          .accepted);
  Reply cv = Consume("sub", "cv", "video", ChromiumCapabilities(), "1");
  ASSERT_TRUE(cv.accepted);
  const rtp::RtpParameters& params = *cv.consumer_params;
  const uint32_t video_ssrc = params.encodings[0].ssrc;
  const uint32_t rtx_ssrc = params.encodings[0].rtx_ssrc;
  ASSERT_NE(rtx_ssrc, 0u) << "the subscriber offered RTX";
  const auto* rtx_codec = params.RtxCodecFor(params.MediaCodec()->payload_type);
  ASSERT_NE(rtx_codec, nullptr);

  // A key frame, then delta frames.
  constexpr int kPackets = 5;
  for (int i = 0; i < kPackets; ++i) {
    std::vector<uint8_t> payload =
        i == 0 ? router::testing::Vp8KeyFrame() : router::testing::Vp8DeltaFrame();
    payload.push_back(static_cast<uint8_t>(i));
    router::testing::TestPacket packet(96, static_cast<uint16_t>(500 + i),
                                       static_cast<uint32_t>(90000 + 3000 * i), kVp8Ssrc, payload);
    ASSERT_TRUE(packet.ok());
    ASSERT_TRUE(publisher->SendRtp(packet.get().data(), packet.get().size()));
  }
  ASSERT_TRUE(
      RunUntil([&] { return subscriber->rtp().size() >= kPackets; }, std::chrono::seconds(3)));
  std::vector<uint8_t> lost = subscriber->rtp()[2];
  auto lost_packet = rtp::RtpPacket::Parse(lost.data(), lost.size());
  ASSERT_TRUE(lost_packet.has_value());
  ASSERT_EQ(lost_packet->ssrc(), video_ssrc);
  const uint16_t lost_seq = lost_packet->sequence_number();

  const auto nack =
      rtp::Nack::FromSequenceNumbers(0x5AB5C1BE, video_ssrc, std::vector<uint16_t>{lost_seq});
  uint8_t buffer[64];
  const size_t len = nack.Serialize(buffer, sizeof(buffer));
  ASSERT_GT(len, 0u);
  ASSERT_TRUE(subscriber->SendRtcp(buffer, len));
  ASSERT_TRUE(
      RunUntil([&] { return subscriber->rtp().size() > kPackets; }, std::chrono::seconds(2)))
      << "no retransmission";
  EXPECT_EQ(subscriber->unprotect_failures(), 0u);
  std::vector<uint8_t> bytes = subscriber->rtp().back();
  auto rtx = rtp::RtpPacket::Parse(bytes.data(), bytes.size());
  ASSERT_TRUE(rtx.has_value());
  EXPECT_EQ(rtx->ssrc(), rtx_ssrc);
  EXPECT_EQ(rtx->payload_type(), rtx_codec->payload_type);
  EXPECT_EQ(rtx->timestamp(), lost_packet->timestamp());
  std::vector<uint8_t> expected = {static_cast<uint8_t>(lost_seq >> 8),
                                   static_cast<uint8_t>(lost_seq)};
  expected.insert(expected.end(), lost_packet->payload().begin(), lost_packet->payload().end());
  EXPECT_EQ(std::vector<uint8_t>(rtx->payload().begin(), rtx->payload().end()), expected);

  Reply stats = Call(fbs::Method::CONSUMER_GET_STATS, "cv");
  ASSERT_EQ(stats.streams.size(), 1u);
  EXPECT_EQ(stats.streams[0].retransmitted, 1u);
}

// Upstream repair: a packet the publisher's path lost is asked for (NACK to the publisher, RFC
// 4585), its RTX retransmission (RFC 4588) is restored and forwarded, so the subscriber gets every
// packet; an RTX packet nobody asked for (here the same retransmission again) is not forwarded.
TEST_F(RouterRequestsTest, PublisherLossIsAskedForAndRepairedFromRtx) {
  auto [publisher, subscriber] = ConnectPublisherAndSubscriber();
  ASSERT_TRUE(publisher && subscriber);
  ASSERT_TRUE(
      Produce("pub", "video", rtp::MediaKind::kVideo, Vp8ProducerParams(kVp8Ssrc, kVp8RtxSsrc))
          .accepted);
  Reply cv = Consume("sub", "cv", "video", ChromiumCapabilities(), "1");
  ASSERT_TRUE(cv.accepted);

  auto packet_for = [](int i) {
    std::vector<uint8_t> payload =
        i == 0 ? router::testing::Vp8KeyFrame() : router::testing::Vp8DeltaFrame();
    payload.push_back(static_cast<uint8_t>(i));
    return router::testing::TestPacket(96, static_cast<uint16_t>(1000 + i),
                                       static_cast<uint32_t>(90000 + 3000 * i), kVp8Ssrc, payload);
  };
  constexpr int kPackets = 8;
  constexpr int kLost = 4;
  for (int i = 0; i < kPackets; ++i) {
    if (i == kLost) continue;
    auto packet = packet_for(i);
    ASSERT_TRUE(packet.ok());
    ASSERT_TRUE(publisher->SendRtp(packet.get().data(), packet.get().size()));
  }
  auto nacked = [&](uint16_t seq) {
    for (const auto& compound : publisher->rtcp()) {
      bool found = false;
      (void)rtp::ForEachRtcpPacket(compound, [&](const rtp::RtcpHeader& h) {
        if (h.packet_type != rtp::kRtcpRtpfb || h.count_or_fmt != rtp::kRtpfbNack) return;
        auto nack = rtp::Nack::Parse(h.packet);
        if (!nack || nack->media_ssrc != kVp8Ssrc) return;
        for (uint16_t s : nack->SequenceNumbers()) found = found || s == seq;
      });
      if (found) return true;
    }
    return false;
  };
  ASSERT_TRUE(RunUntil([&] { return nacked(1000 + kLost); }, std::chrono::seconds(2)))
      << "the lost packet was not asked for";
  ASSERT_TRUE(RunUntil([&] { return subscriber->rtp().size() >= kPackets - 1; }));

  // The publisher answers with RTX, then sends the same retransmission again.
  auto lost = packet_for(kLost);
  ASSERT_TRUE(lost.ok());
  const rtp::RtpPacket* original = &lost.get();
  uint8_t rtx[1500];
  for (uint16_t rtx_seq : {7, 8}) {
    const size_t len = rtp::RtxEncapsulate(*original, 97, kVp8RtxSsrc, rtx_seq, rtx, sizeof(rtx));
    ASSERT_GT(len, 0u);
    ASSERT_TRUE(publisher->SendRtp(rtx, len));
  }
  ASSERT_TRUE(RunUntil([&] { return subscriber->rtp().size() >= kPackets; }));
  RunFor(std::chrono::milliseconds(100));
  EXPECT_EQ(subscriber->rtp().size(), static_cast<size_t>(kPackets)) << "the duplicate went on";
  std::vector<uint8_t> last = subscriber->rtp().back();
  auto repaired = rtp::RtpPacket::Parse(last.data(), last.size());
  ASSERT_TRUE(repaired.has_value());
  const std::vector<uint8_t> expected(original->payload().begin(), original->payload().end());
  EXPECT_EQ(std::vector<uint8_t>(repaired->payload().begin(), repaired->payload().end()), expected);
  EXPECT_EQ(repaired->ssrc(), cv.consumer_params->encodings[0].ssrc);

  Reply stats = Call(fbs::Method::PRODUCER_GET_STATS, "video");
  ASSERT_EQ(stats.streams.size(), 1u);
  EXPECT_GE(stats.streams[0].nack_count, 1u);
  EXPECT_EQ(stats.streams[0].retransmitted, 1u);
}

}  // namespace
}  // namespace sb::worker
