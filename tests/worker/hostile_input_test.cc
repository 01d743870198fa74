// "Strangers on the internet send whatever they like": a call between two fake browsers through
// a real worker loses nothing while a third socket floods both transports' ports with garbage,
// bogus STUN, copies of real SRTP, RTP from a foreign address and ClientHellos, and the peers'
// own addresses carry replayed and forged SRTP and a second ClientHello; every datagram dropped
// is counted by kind in TRANSPORT_GET_STATS and nothing is answered. Also: DTLS with the wrong
// fingerprint, or with no common SRTP profile, fails the transport with a notification and a
// reason; a subscriber flooding PLI, FIR and NACK gets no more than the rate limits allow; a
// producer with more than 4 encodings is refused.
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "rtp/rtcp/fir.h"
#include "rtp/rtcp/nack.h"
#include "rtp/rtcp/pli.h"
#include "rtp/rtcp/receiver_report.h"
#include "rtp/rtp_packet.h"
#include "tests/router/rtp_test_packets.h"
#include "tests/worker/router_requests_fixture.h"
#include "transport/dtls_transport.h"
#include "transport/stun_message.h"
#include "transport/udp_socket.h"

namespace sb::worker {
namespace {

using router::testing::TestPacket;
using router::testing::Vp8DeltaFrame;
using router::testing::Vp8KeyFrame;
using router::testing::Vp8ProducerParams;
using testing::ChromiumCapabilities;
using testing::FakePeer;
using testing::kVp8RtxSsrc;
using testing::kVp8Ssrc;
using testing::Reply;
using testing::RouterRequestsTest;

// A stranger's socket on loopback: sends to the worker's ports, counts what comes back.
class Stranger : public transport::UdpSocket::Listener {
 public:
  explicit Stranger(uv_loop_t* loop) {
    auto socket = transport::UdpSocket::Create(loop, "127.0.0.1", 50000, 59999, this);
    EXPECT_TRUE(socket.ok()) << socket.status();
    if (socket.ok()) socket_ = *std::move(socket);
  }
  void Send(const std::vector<uint8_t>& bytes, uint16_t port) {
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(port);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_TRUE(socket_->Send(bytes.data(), bytes.size(), reinterpret_cast<const sockaddr*>(&to)));
  }
  void OnUdpPacket(uint8_t* /*data*/, size_t /*len*/, const sockaddr* /*from*/) override {
    ++received_;
  }
  int received() const { return received_; }

 private:
  std::unique_ptr<transport::UdpSocket> socket_;
  int received_ = 0;
};

// The first flight of a new DTLS client: one datagram with a ClientHello.
class ClientHelloCapture : public transport::DtlsTransport::Listener {
 public:
  static std::vector<uint8_t> Make(uv_loop_t* loop) {
    ClientHelloCapture capture;
    auto cert = transport::DtlsCertificate::Generate();
    EXPECT_TRUE(cert.ok());
    if (!cert.ok()) return {};
    auto dtls = transport::DtlsTransport::Create(loop, cert->get(), &capture);
    EXPECT_TRUE(dtls.ok());
    if (!dtls.ok()) return {};
    EXPECT_TRUE((*dtls)->Start(transport::DtlsRole::kClient).ok());
    (*dtls)->Close();
    EXPECT_FALSE(capture.first_.empty());
    return capture.first_;
  }
  void SendDtlsData(const uint8_t* data, size_t len) override {
    if (first_.empty()) first_.assign(data, data + len);
  }
  void OnDtlsStateChange(transport::DtlsState, const std::string&) override {}
  void OnDtlsConnected(transport::SrtpProfile, std::vector<uint8_t>,
                       std::vector<uint8_t>) override {}
  void OnDtlsApplicationData(const uint8_t*, size_t) override {}

 private:
  std::vector<uint8_t> first_;
};

struct CheckOptions {
  bool username = true;
  bool integrity = true;
  std::string ufrag;     // the transport's, unless a stranger's
  std::string password;  // the transport's, unless a guess
};

std::vector<uint8_t> BindingRequest(const CheckOptions& o, uint8_t salt) {
  uint8_t tid[12] = {'s', 't', 'r', 'a', 'n', 'g', 'e', 'r', 0, 0, 0, salt};
  transport::StunMessageBuilder b(transport::kStunMethodBinding, transport::StunClass::kRequest,
                                  tid);
  if (o.username) b.AddUsername(o.ufrag + ":stranger");
  b.AddPriority(0x6e7f1eff).AddIceControlling(0x0102030405060708ull).AddUseCandidate();
  if (o.integrity) b.AddMessageIntegrity(o.password);
  return b.AddFingerprint().Take();
}

// A counter's growth between two TRANSPORT_GET_STATS replies.
uint64_t Delta(const Reply& after, const Reply& before, const std::string& name) {
  auto a = after.counters.find(name);
  auto b = before.counters.find(name);
  EXPECT_TRUE(a != after.counters.end() && b != before.counters.end()) << name;
  if (a == after.counters.end() || b == before.counters.end()) return 0;
  return a->second - b->second;
}

class HostileInputTest : public RouterRequestsTest {
 protected:
  struct Side {
    Reply info;
    FakePeer* peer = nullptr;
    uint16_t port = 0;
  };
  // Router "room", transports "pub" and "sub" with a connected fake browser each, a VP8
  // producer on pub and its consumer "cv" on sub.
  void SetUpCall() {
    ASSERT_TRUE(CreateRouter("room").accepted);
    for (auto [side, id] : {std::pair{&pub_, "pub"}, std::pair{&sub_, "sub"}}) {
      side->info = CreateTransport("room", id);
      ASSERT_TRUE(side->info.accepted);
      ASSERT_EQ(side->info.candidates.size(), 1u);
      side->port = side->info.candidates[0].port;
      side->peer = ConnectPeer(id, side->info);
      ASSERT_NE(side->peer, nullptr);
    }
    ASSERT_TRUE(
        Produce("pub", "video", rtp::MediaKind::kVideo, Vp8ProducerParams(kVp8Ssrc, kVp8RtxSsrc))
            .accepted);
    Reply cv = Consume("sub", "cv", "video", ChromiumCapabilities(), "1");
    ASSERT_TRUE(cv.accepted);
    video_ssrc_ = cv.consumer_params->encodings[0].ssrc;
    rtx_ssrc_ = cv.consumer_params->encodings[0].rtx_ssrc;
  }

  // The publisher's video packet number i (a key frame first), `size` bytes of payload.
  std::vector<uint8_t> VideoPacket(int i, size_t size = 400) {
    std::vector<uint8_t> payload = i == 0 ? Vp8KeyFrame() : Vp8DeltaFrame();
    payload.resize(size, static_cast<uint8_t>(i));
    TestPacket p(96, static_cast<uint16_t>(kFirstSeq + i), static_cast<uint32_t>(3000 * i),
                 kVp8Ssrc, payload);
    EXPECT_TRUE(p.ok());
    return {p.get().data(), p.get().data() + p.get().size()};
  }

  // The subscriber's packets of one ssrc, in arrival order (copies, with their views).
  struct Received {
    std::vector<uint8_t> bytes;
    uint16_t seq = 0;
    uint8_t last_payload_byte = 0;
    size_t size = 0;
  };
  std::vector<Received> ReceivedOn(uint32_t ssrc) {
    std::vector<Received> out;
    for (auto bytes : sub_.peer->rtp()) {
      auto packet = rtp::RtpPacket::Parse(bytes.data(), bytes.size());
      if (!packet || packet->ssrc() != ssrc || packet->payload().empty()) continue;
      out.push_back({bytes, packet->sequence_number(), packet->payload().back(), bytes.size()});
    }
    return out;
  }

  static constexpr uint16_t kFirstSeq = 65400;  // wraps on the way
  Side pub_, sub_;
  uint32_t video_ssrc_ = 0, rtx_ssrc_ = 0;
};

TEST_F(HostileInputTest, CallLosesNothingUnderAFlood) {
  SetUpCall();
  ASSERT_FALSE(HasFatalFailure());
  Stranger stranger(&loop_);
  const std::vector<uint8_t> client_hello = ClientHelloCapture::Make(&loop_);
  ASSERT_FALSE(client_hello.empty());
  const Reply pub_before = Call(fbs::Method::TRANSPORT_GET_STATS, "pub");
  const Reply sub_before = Call(fbs::Method::TRANSPORT_GET_STATS, "sub");

  // What a stranger sends to one transport in one round.
  auto flood = [&](const Side& side, const std::vector<uint8_t>& srtp_copy, uint8_t round) {
    const CheckOptions real = {.ufrag = side.info.ufrag, .password = side.info.pwd};
    // Garbage: first bytes that name no protocol (RFC 7983).
    stranger.Send({0x10, 0x01, 0x02}, side.port);
    stranger.Send({0x44, 0x00, 0x00, 0x08, 1, 2, 3, 4}, side.port);
    stranger.Send(std::vector<uint8_t>(200, 0xEE), side.port);
    // Malformed STUN: random body, truncated, longer than its header says.
    std::vector<uint8_t> junk = {0x00, 0x01, 0x00, 0x50, 0x21, 0x12, 0xA4, 0x42};
    junk.resize(40, round);
    stranger.Send(junk, side.port);
    std::vector<uint8_t> check = BindingRequest(real, round);
    stranger.Send({check.begin(), check.end() - 8}, side.port);
    std::vector<uint8_t> oversized = check;
    oversized.resize(check.size() + 300, 0);
    stranger.Send(oversized, side.port);
    // Well-formed, unauthenticated: wrong password, no MESSAGE-INTEGRITY, no USERNAME, a
    // stranger's ufrag. None gets an answer (no reflection, no amplification).
    stranger.Send(BindingRequest({.ufrag = side.info.ufrag, .password = "guessed"}, round),
                  side.port);
    stranger.Send(BindingRequest({.username = true,
                                  .integrity = false,
                                  .ufrag = side.info.ufrag,
                                  .password = side.info.pwd},
                                 round),
                  side.port);
    stranger.Send(BindingRequest({.username = false,
                                  .integrity = true,
                                  .ufrag = side.info.ufrag,
                                  .password = side.info.pwd},
                                 round),
                  side.port);
    stranger.Send(BindingRequest({.ufrag = "notthisufrag1234", .password = side.info.pwd}, round),
                  side.port);
    // The peer's own nominating check, copied: authentic, but from the wrong address.
    stranger.Send(side.peer->last_binding_request(), side.port);
    // A keepalive indication: ignored, not an error.
    uint8_t tid[12] = {'i', 'n', 'd', round};
    stranger.Send(transport::StunMessageBuilder(transport::kStunMethodBinding,
                                                transport::StunClass::kIndication, tid)
                      .AddFingerprint()
                      .Take(),
                  side.port);
    // From an address no ICE check came from: a copy of real SRTP, plain RTP, a ClientHello.
    stranger.Send(srtp_copy, side.port);
    stranger.Send(VideoPacket(round), side.port);
    stranger.Send(client_hello, side.port);
  };

  // 400 video packets in rounds of 10 (loopback buffers never overflow); after each round, a
  // flood round on both ports, and the peers' own misdeeds.
  constexpr int kPackets = 400;
  constexpr int kRounds = kPackets / 10;
  std::vector<uint8_t> last_rtp, last_rtcp;
  for (int round = 0; round < kRounds; ++round) {
    for (int i = round * 10; i < round * 10 + 10; ++i) {
      const std::vector<uint8_t> plain = VideoPacket(i);
      last_rtp = pub_.peer->ProtectRtp(plain.data(), plain.size());
      ASSERT_TRUE(pub_.peer->SendRaw(last_rtp));
    }
    // The subscriber reports, as browsers do.
    rtp::ReceiverReport rr;
    rr.sender_ssrc = 0x5AB5C1BE;
    uint8_t buffer[128];
    const size_t len = rr.Serialize(buffer, sizeof(buffer));
    ASSERT_GT(len, 0u);
    last_rtcp = sub_.peer->ProtectRtcp(buffer, len);
    ASSERT_TRUE(sub_.peer->SendRaw(last_rtcp));

    const auto r = static_cast<uint8_t>(round);
    flood(pub_, last_rtp, r);
    flood(sub_, last_rtcp, r);
    // From the peers' own addresses: a replayed SRTP packet, a replayed SRTCP packet, a forged
    // copy of the publisher's next packet (sent for real next round), a second ClientHello.
    ASSERT_TRUE(pub_.peer->SendRaw(last_rtp));
    ASSERT_TRUE(sub_.peer->SendRaw(last_rtcp));
    if (round + 1 < kRounds) {
      const std::vector<uint8_t> next = VideoPacket((round + 1) * 10);
      std::vector<uint8_t> forged = pub_.peer->ProtectRtp(next.data(), next.size());
      forged[100] ^= 0x01;
      ASSERT_TRUE(pub_.peer->SendRaw(forged));
    }
    ASSERT_TRUE(pub_.peer->SendRaw(client_hello));
    ASSERT_TRUE(sub_.peer->SendRaw(client_hello));
    RunFor(std::chrono::milliseconds(10));
  }

  // Every packet, in order, none missing: the subscriber's numbers run on by one.
  ASSERT_TRUE(
      RunUntil([&] { return ReceivedOn(video_ssrc_).size() >= kPackets; }, std::chrono::seconds(3)))
      << "the subscriber got " << ReceivedOn(video_ssrc_).size() << " of " << kPackets;
  RunFor(std::chrono::milliseconds(100));
  const std::vector<Received> got = ReceivedOn(video_ssrc_);
  ASSERT_EQ(got.size(), static_cast<size_t>(kPackets));
  for (size_t i = 1; i < got.size(); ++i) {
    ASSERT_EQ(got[i].seq, static_cast<uint16_t>(got[0].seq + i)) << "at " << i;
    ASSERT_EQ(got[i].last_payload_byte, static_cast<uint8_t>(i)) << "at " << i;
  }
  EXPECT_EQ(sub_.peer->unprotect_failures(), 0u);
  EXPECT_EQ(stranger.received(), 0) << "a stranger was answered";

  const Reply pub_after = Call(fbs::Method::TRANSPORT_GET_STATS, "pub");
  const Reply sub_after = Call(fbs::Method::TRANSPORT_GET_STATS, "sub");
  for (const Reply* r : {&pub_after, &sub_after}) {
    EXPECT_EQ(r->ice_state, fbs::IceState::COMPLETED);
    EXPECT_EQ(r->dtls_state, fbs::DtlsState::CONNECTED);
  }
  EXPECT_EQ(pub_after.rtp_received - pub_before.rtp_received, static_cast<uint64_t>(kPackets));
  EXPECT_EQ(sub_after.rtp_sent - sub_before.rtp_sent, static_cast<uint64_t>(kPackets));
  const uint64_t rounds = kRounds;
  // What the stranger sent, the same to both.
  const std::map<std::string, uint64_t> stranger_counts = {{"unknown_packets", 3 * rounds},
                                                           {"stun_malformed", 3 * rounds},
                                                           {"stun_unauthenticated", 4 * rounds},
                                                           {"stun_replayed", rounds},
                                                           {"stun_ignored", rounds},
                                                           {"unknown_source", 3 * rounds}};
  for (const auto& [side, after, before] :
       {std::tuple{"pub", &pub_after, &pub_before}, std::tuple{"sub", &sub_after, &sub_before}}) {
    for (const auto& [name, count] : stranger_counts) {
      EXPECT_EQ(Delta(*after, *before, name), count) << side << " " << name;
    }
    EXPECT_EQ(Delta(*after, *before, "dtls_client_hellos_after_handshake"), rounds) << side;
    EXPECT_EQ(Delta(*after, *before, "srtp_replayed"), rounds) << side;
    for (const char* zero : {"dtls_dropped", "srtp_no_keys", "srtp_malformed", "rtp_malformed",
                             "rtcp_malformed", "rtp_unknown_ssrc", "dtls_fingerprint_mismatches"}) {
      EXPECT_EQ(Delta(*after, *before, zero), 0u) << side << " " << zero;
    }
  }
  EXPECT_EQ(Delta(pub_after, pub_before, "srtp_auth_failed"), rounds - 1);
  EXPECT_EQ(Delta(sub_after, sub_before, "srtp_auth_failed"), 0u);
  // packets_dropped: each drop once (the indications are not drops).
  EXPECT_EQ(Delta(pub_after, pub_before, "packets_dropped"),
            (3 + 3 + 4 + 1 + 3 + 1 + 1) * rounds + (rounds - 1));
  EXPECT_EQ(Delta(sub_after, sub_before, "packets_dropped"), (3 + 3 + 4 + 1 + 3 + 1 + 1) * rounds);
}

// The browser's certificate is not the one in its SDP: the worker refuses it in the handshake
// (the browser hears a bad_certificate alert), installs no SRTP keys, tells the control
// process, counts it, and closes the transport's port. A call on the same worker goes on.
TEST_F(HostileInputTest, WrongFingerprintFailsTheTransport) {
  SetUpCall();
  ASSERT_FALSE(HasFatalFailure());
  Reply info = CreateTransport("room", "bad");
  ASSERT_TRUE(info.accepted);
  auto peer = FakePeer::Create(&loop_);
  ASSERT_TRUE(peer.ok());
  auto other = transport::DtlsCertificate::Generate();
  ASSERT_TRUE(other.ok());
  ASSERT_TRUE(Connect("bad", (*other)->Fingerprints()).accepted);  // not the peer's
  (*peer)->SendBindingRequest(info.candidates[0].port, info.ufrag, info.pwd);
  ASSERT_TRUE(RunUntil([&] { return (*peer)->ice_completed(); }, std::chrono::seconds(3)));
  ASSERT_TRUE((*peer)->StartDtls(info.fingerprints).ok());
  ASSERT_TRUE(RunUntil(
      [&] {
        for (const auto& [id, state] : dtls_states_) {
          if (id == "bad" && state == fbs::DtlsState::FAILED) return true;
        }
        return false;
      },
      std::chrono::seconds(5)));
  std::string reason;
  for (size_t i = 0; i < dtls_states_.size(); ++i) {
    EXPECT_FALSE(dtls_states_[i].first == "bad" &&
                 dtls_states_[i].second == fbs::DtlsState::CONNECTED);
    if (dtls_states_[i].first == "bad") reason = dtls_reasons_[i];
  }
  EXPECT_EQ(reason, "remote fingerprint mismatch");
  ASSERT_TRUE(RunUntil([&] { return (*peer)->dtls_failed(); }, std::chrono::seconds(3)))
      << "the browser did not hear the refusal";

  Reply stats = Call(fbs::Method::TRANSPORT_GET_STATS, "bad");
  ASSERT_TRUE(stats.accepted);
  EXPECT_EQ(stats.dtls_state, fbs::DtlsState::FAILED);
  EXPECT_EQ(stats.ice_state, fbs::IceState::CLOSED);
  EXPECT_TRUE(stats.srtp_profile.empty()) << "SRTP keys installed";
  EXPECT_EQ(stats.counters["dtls_fingerprint_mismatches"], 1u);
  // The port is closed: checks go unanswered.
  const int answers = (*peer)->stun_responses();
  (*peer)->SendBindingRequest(info.candidates[0].port, info.ufrag, info.pwd);
  RunFor(std::chrono::milliseconds(200));
  EXPECT_EQ((*peer)->stun_responses(), answers);

  // The call next to it was not disturbed.
  for (int i = 0; i < 20; ++i) {
    const std::vector<uint8_t> packet = VideoPacket(i);
    ASSERT_TRUE(pub_.peer->SendRtp(packet.data(), packet.size()));
  }
  EXPECT_TRUE(
      RunUntil([&] { return ReceivedOn(video_ssrc_).size() == 20; }, std::chrono::seconds(3)));
  EXPECT_TRUE(Call(fbs::Method::TRANSPORT_CLOSE, "bad").accepted);
}

// A browser that offers no SRTP profile the worker accepts (RFC 5764 4.1.1): the handshake
// completes without one, and the transport fails with that reason instead of connecting.
TEST_F(HostileInputTest, NoCommonSrtpProfileFailsTheTransport) {
  ASSERT_TRUE(CreateRouter("room").accepted);
  Reply info = CreateTransport("room", "t");
  ASSERT_TRUE(info.accepted);
  auto peer = FakePeer::Create(&loop_);
  ASSERT_TRUE(peer.ok());
  ASSERT_TRUE(Connect("t", (*peer)->fingerprints()).accepted);
  (*peer)->SendBindingRequest(info.candidates[0].port, info.ufrag, info.pwd);
  ASSERT_TRUE(RunUntil([&] { return (*peer)->ice_completed(); }, std::chrono::seconds(3)));
  ASSERT_TRUE((*peer)->StartDtls(info.fingerprints, "SRTP_AES128_CM_SHA1_32").ok());
  ASSERT_TRUE(RunUntil(
      [&] { return !dtls_states_.empty() && dtls_states_.back().second == fbs::DtlsState::FAILED; },
      std::chrono::seconds(5)));
  EXPECT_EQ(dtls_reasons_.back(), "no DTLS-SRTP profile negotiated");
  for (const auto& [id, state] : dtls_states_) EXPECT_NE(state, fbs::DtlsState::CONNECTED);
  Reply stats = Call(fbs::Method::TRANSPORT_GET_STATS, "t");
  EXPECT_EQ(stats.dtls_state, fbs::DtlsState::FAILED);
  EXPECT_EQ(stats.ice_state, fbs::IceState::CLOSED);
  EXPECT_TRUE(stats.srtp_profile.empty());
}

// A subscriber that floods PLI, FIR and NACK while media flows: the publisher gets at most one
// PLI per 500 ms, retransmissions stay within half the media sent to the subscriber, and what
// was refused is counted.
TEST_F(HostileInputTest, SubscriberRtcpFloodIsBounded) {
  SetUpCall();
  ASSERT_FALSE(HasFatalFailure());
  ASSERT_NE(rtx_ssrc_, 0u);
  // The consumer's start asked for a key frame already: count from here.
  RunFor(std::chrono::milliseconds(50));
  const int plis_before = pub_.peer->PliCount(kVp8Ssrc);
  const Reply producer_before = Call(fbs::Method::PRODUCER_GET_STATS, "video");
  ASSERT_EQ(producer_before.streams.size(), 1u);
  using Clock = std::chrono::steady_clock;
  const Clock::time_point start = Clock::now();
  // 2 s of 1000-byte video at 100 packets/s; every 10 ms the subscriber sends a PLI, a FIR and a
  // NACK for everything it has received.
  constexpr int kPackets = 200;
  int requests = 0;
  uint32_t nacks = 0;
  uint8_t fir_seq = 0;
  for (int i = 0; i < kPackets; ++i) {
    const std::vector<uint8_t> packet = VideoPacket(i, 1000);
    ASSERT_TRUE(pub_.peer->SendRtp(packet.data(), packet.size()));
    RunFor(std::chrono::milliseconds(10));
    std::vector<uint16_t> seqs;
    for (const auto& r : ReceivedOn(video_ssrc_)) seqs.push_back(r.seq);
    if (seqs.size() > 100) seqs.erase(seqs.begin(), seqs.end() - 100);
    uint8_t buffer[1200];
    size_t len = 0;
    rtp::Pli pli;
    pli.sender_ssrc = 0x5AB5C1BE;
    pli.media_ssrc = video_ssrc_;
    len = pli.Serialize(buffer, sizeof(buffer));
    rtp::Fir fir;
    fir.sender_ssrc = 0x5AB5C1BE;
    fir.entries.push_back({video_ssrc_, fir_seq++});
    len += fir.Serialize(buffer + len, sizeof(buffer) - len);
    if (!seqs.empty()) {
      const auto nack = rtp::Nack::FromSequenceNumbers(0x5AB5C1BE, video_ssrc_, seqs);
      len += nack.Serialize(buffer + len, sizeof(buffer) - len);
      ++nacks;
    }
    ASSERT_TRUE(sub_.peer->SendRtcp(buffer, len));
    requests += 2;
  }
  RunFor(std::chrono::milliseconds(100));
  const auto elapsed_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();

  const int plis = pub_.peer->PliCount(kVp8Ssrc) - plis_before;
  EXPECT_GE(plis, 1);
  EXPECT_LE(plis, elapsed_ms / 500 + 1) << "more than one PLI per 500 ms in " << elapsed_ms;
  uint64_t media_bytes = 0, rtx_bytes = 0;
  for (const auto& r : ReceivedOn(video_ssrc_)) media_bytes += r.size;
  for (const auto& r : ReceivedOn(rtx_ssrc_)) rtx_bytes += r.size;
  EXPECT_EQ(ReceivedOn(video_ssrc_).size(), static_cast<size_t>(kPackets));
  EXPECT_GT(rtx_bytes, 0u);
  // Half of the media, with the slack of windows not aligned with the test's two seconds.
  EXPECT_LE(rtx_bytes, media_bytes / 2 + 24000) << "media " << media_bytes;

  Reply producer = Call(fbs::Method::PRODUCER_GET_STATS, "video");
  ASSERT_EQ(producer.streams.size(), 1u);
  const uint32_t plis_sent = producer.streams[0].pli_count - producer_before.streams[0].pli_count;
  EXPECT_EQ(plis_sent, static_cast<uint32_t>(plis));
  // Every request either made a PLI or was suppressed (a deferred PLI serves several).
  EXPECT_GE(producer.streams[0].key_frame_requests_suppressed -
                producer_before.streams[0].key_frame_requests_suppressed + plis_sent,
            static_cast<uint64_t>(requests));
  Reply consumer = Call(fbs::Method::CONSUMER_GET_STATS, "cv");
  ASSERT_EQ(consumer.streams.size(), 1u);
  const Reply::Stream& c = consumer.streams[0];
  EXPECT_GT(c.nack_over_budget, 0u);
  EXPECT_GT(c.nack_duplicates, 0u);
  EXPECT_EQ(c.nack_count, nacks);
  EXPECT_EQ(c.retransmitted, ReceivedOn(rtx_ssrc_).size());
  // The transports' stats carry the same sums.
  Reply pub_stats = Call(fbs::Method::TRANSPORT_GET_STATS, "pub");
  Reply sub_stats = Call(fbs::Method::TRANSPORT_GET_STATS, "sub");
  EXPECT_EQ(pub_stats.counters["key_frame_requests_suppressed"],
            producer.streams[0].key_frame_requests_suppressed);
  EXPECT_EQ(sub_stats.counters["nack_over_budget"], c.nack_over_budget);
  EXPECT_EQ(sub_stats.counters["nack_duplicates"], c.nack_duplicates);
  EXPECT_EQ(sub_stats.counters["nack_over_cap"], c.nack_over_cap);
  EXPECT_EQ(sub_stats.counters["nack_unavailable"], c.nack_unavailable);
}

// An offer may declare any number of simulcast encodings; each would reserve a packet history.
TEST_F(HostileInputTest, ProducerWithMoreThanFourEncodingsIsRefused) {
  ASSERT_TRUE(CreateRouter("room").accepted);
  ASSERT_TRUE(CreateTransport("room", "pub").accepted);
  rtp::RtpParameters params = router::testing::SimulcastVp8ProducerParams();
  params.encodings.clear();
  for (int i = 0; i < 1000; ++i) params.encodings.push_back({0, 0, "r" + std::to_string(i), 0});
  // Thousands are refused as the request is read (the IPC bound, 16)...
  Reply refused = Produce("pub", "many", rtp::MediaKind::kVideo, params);
  EXPECT_FALSE(refused.accepted);
  EXPECT_EQ(refused.error, "InvalidArgument");
  // ... and more than 4 by the router.
  params.encodings.resize(5);
  refused = Produce("pub", "five", rtp::MediaKind::kVideo, params);
  EXPECT_FALSE(refused.accepted);
  EXPECT_EQ(refused.error, "InvalidArgument");
  EXPECT_EQ(refused.reason,
            "producer has 5 encodings, at most 4 are accepted (each keeps its own packet "
            "history)");
  params.encodings.resize(4);
  EXPECT_TRUE(Produce("pub", "four", rtp::MediaKind::kVideo, params).accepted);
}

}  // namespace
}  // namespace sb::worker
