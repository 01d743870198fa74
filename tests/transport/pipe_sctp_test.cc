// SCTP over a pipe (pipe_transport.h, sctp_app_packet.h): two pipes on real loopback UDP, plain
// and with SRTP, talking through a relay that can inject and tamper with datagrams. Data channels
// open both ways by DCEP and carry messages; media goes on beside them; hostile APP "SCTP"
// packets are counted and dropped.
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "tests/transport/test_loop.h"
#include "transport/pipe_transport.h"
#include "transport/sctp_app_packet.h"

namespace sb::transport {
namespace {

using Bytes = std::vector<uint8_t>;

Bytes Text(const std::string& s) { return Bytes(s.begin(), s.end()); }

Bytes Pattern(size_t size, uint8_t seed) {
  Bytes b(size);
  for (size_t i = 0; i < size; ++i) b[i] = static_cast<uint8_t>(seed + i * 7 + (i >> 8));
  return b;
}

// What an SCTP packet looks like to the framing: any 12+ bytes.
Bytes FakeSctp(size_t size) { return Pattern(size, 0x5C); }

Bytes App(uint32_t ssrc, const Bytes& sctp) {
  Bytes out(SctpAppPacketSize(sctp.size()));
  EXPECT_EQ(WriteSctpAppPacket(ssrc, sctp, absl::MakeSpan(out)), out.size());
  return out;
}

// RFC 3550 6.7, by hand: the layout the framing promises.
TEST(SctpAppPacketTest, LayoutAndRoundTrip) {
  const Bytes sctp = FakeSctp(13);
  const Bytes app = App(0x01020304, sctp);
  ASSERT_EQ(app.size(), 12u + 16u);
  EXPECT_EQ(app[0], 0x80 | 3) << "V=2, P=0, subtype = 3 bytes of padding";
  EXPECT_EQ(app[1], 204);
  EXPECT_EQ(app[2], 0);
  EXPECT_EQ(app[3], 6) << "7 words";
  EXPECT_EQ(Bytes(app.begin() + 4, app.begin() + 12), (Bytes{1, 2, 3, 4, 'S', 'C', 'T', 'P'}));
  EXPECT_EQ(Bytes(app.end() - 3, app.end()), Bytes(3, 0));
  EXPECT_TRUE(IsSctpAppPacket(app));
  auto parsed = ParseSctpAppPacket(app);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(Bytes(parsed->begin(), parsed->end()), sctp);
  for (size_t size : {12u, 14u, 15u, 16u, 1135u}) {
    const Bytes s = FakeSctp(size);
    const Bytes packet = App(7, s);
    auto p = ParseSctpAppPacket(packet);
    ASSERT_TRUE(p.ok()) << size;
    EXPECT_EQ(Bytes(p->begin(), p->end()), s);
  }
  Bytes small(SctpAppPacketSize(13) - 1);
  EXPECT_EQ(WriteSctpAppPacket(1, sctp, absl::MakeSpan(small)), 0u);
}

TEST(SctpAppPacketTest, MalformedIsRefused) {
  const Bytes good = App(9, FakeSctp(14));  // 2 bytes of padding
  auto with = [&](const std::function<void(Bytes&)>& change) {
    Bytes b = good;
    change(b);
    return b;
  };
  EXPECT_FALSE(IsSctpAppPacket(with([](Bytes& b) { b[1] = 201; })));
  EXPECT_FALSE(IsSctpAppPacket(with([](Bytes& b) { b[11] = 'Q'; })));
  EXPECT_FALSE(IsSctpAppPacket(Bytes(good.begin(), good.begin() + 11)));
  const std::vector<Bytes> bad = {
      Bytes(good.begin(), good.begin() + 12),           // no SCTP packet at all
      with([](Bytes& b) { b.resize(b.size() - 4); }),   // shorter than its length
      with([](Bytes& b) { b.insert(b.end(), 4, 0); }),  // longer than its length
      with([](Bytes& b) { b.pop_back(); }),             // not whole words
      with([](Bytes& b) { b[0] = 0x80 | 4; }),          // padding count past 3
      with([](Bytes& b) { b[0] = 0x80 | 0x20 | 2; }),   // P bit
      with([](Bytes& b) { b[0] = 0x40 | 2; }),          // version 1
      with([](Bytes& b) { b.back() = 1; }),             // padding not zero
      App(9, FakeSctp(8)),                              // shorter than SCTP's header
  };
  for (size_t i = 0; i < bad.size(); ++i) {
    EXPECT_FALSE(ParseSctpAppPacket(bad[i]).ok()) << "case " << i;
  }
}

struct MediaIn : PipeTransport::Listener {
  void OnRtpPacket(uint8_t* data, size_t len) override { rtp.emplace_back(data, data + len); }
  void OnRtcpPacket(const uint8_t* data, size_t len) override {
    rtcp.emplace_back(data, data + len);
  }
  std::vector<Bytes> rtp, rtcp;
};

struct Message {
  uint16_t stream_id;
  uint32_t ppid;
  Bytes data;
};

struct DataIn : PipeTransport::DataListener {
  void OnSctpStateChange(SctpState state, const std::string&) override { states.push_back(state); }
  void OnDataChannelOpen(const DataChannelInfo& info) override { opened.push_back(info); }
  void OnDataChannelMessage(uint16_t stream_id, uint32_t ppid,
                            absl::Span<const uint8_t> data) override {
    messages.push_back({stream_id, ppid, Bytes(data.begin(), data.end())});
  }
  void OnDataChannelClosed(uint16_t stream_id) override { closed.push_back(stream_id); }
  SctpState state() const { return states.empty() ? SctpState::kNew : states.back(); }
  std::vector<SctpState> states;
  std::vector<DataChannelInfo> opened;
  std::vector<Message> messages;
  std::vector<uint16_t> closed;
};

Bytes Rtp(uint16_t seq) {
  Bytes p = {0x80, 96, static_cast<uint8_t>(seq >> 8), static_cast<uint8_t>(seq), 0, 0, 0, 1, 1, 2,
             3,    4};
  for (int i = 0; i < 100; ++i) p.push_back(static_cast<uint8_t>(seq + i));
  return p;
}
// An empty receiver report (RFC 3550 6.4.2).
Bytes Rr() { return {0x80, 201, 0, 1, 0xAA, 0xBB, 0xCC, 0xDD}; }

bool Send(PipeTransport& pipe, Bytes packet, bool rtcp = false) {
  const size_t len = packet.size();
  packet.resize(len + SrtpMaxOverhead() + 4);
  return rtcp ? pipe.SendRtcp(packet.data(), len, packet.size())
              : pipe.SendRtp(packet.data(), len, packet.size());
}

// A UDP socket on loopback that hands what it receives to a function.
struct Socket : UdpSocket::Listener {
  explicit Socket(uv_loop_t* loop) { socket = *UdpSocket::Create(loop, "127.0.0.1", 0, 0, this); }
  void OnUdpPacket(uint8_t* data, size_t len, const sockaddr*) override {
    if (on_packet) on_packet(Bytes(data, data + len));
  }
  void SendTo(uint16_t port, const Bytes& bytes) {
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(port);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socket->Send(bytes.data(), bytes.size(), reinterpret_cast<const sockaddr*>(&to));
  }
  uint16_t port() const { return socket->local_port(); }
  std::unique_ptr<UdpSocket> socket;
  std::function<void(Bytes)> on_packet;
};

// Between pipe a and pipe b: a sends to to_a's port, b to to_b's. It forwards everything, notes
// the largest datagram, and may change what b sends to a; Inject sends to a as if from b.
class Relay {
 public:
  explicit Relay(uv_loop_t* loop) : to_a_(loop), to_b_(loop) {
    to_a_.on_packet = [this](Bytes b) {
      max_datagram = std::max(max_datagram, b.size());
      to_b_.SendTo(b_port, b);
    };
    to_b_.on_packet = [this](Bytes b) {
      max_datagram = std::max(max_datagram, b.size());
      if (tamper && tamper(b)) tamper = nullptr;
      to_a_.SendTo(a_port, b);
    };
  }
  uint16_t port_for_a() const { return to_a_.port(); }
  uint16_t port_for_b() const { return to_b_.port(); }
  void InjectToA(const Bytes& bytes) { to_a_.SendTo(a_port, bytes); }

  uint16_t a_port = 0, b_port = 0;
  size_t max_datagram = 0;
  // Called on each datagram from b to a until it returns true (it changed one).
  std::function<bool(Bytes&)> tamper;

 private:
  Socket to_a_, to_b_;
};

class PipeSctpTest : public ::testing::Test {
 protected:
  // a is the SCTP client (even stream ids), b the server.
  void Start(bool srtp) {
    PipeTransport::Options options;
    options.srtp = srtp;
    options.sctp = true;
    options.sctp_client = true;
    a_ = *PipeTransport::Create(loop_.get(), options, &a_media_);
    options.sctp_client = false;
    b_ = *PipeTransport::Create(loop_.get(), options, &b_media_);
    a_->set_data_listener(&a_data_);
    b_->set_data_listener(&b_data_);
    relay_.a_port = a_->local_port();
    relay_.b_port = b_->local_port();
    ASSERT_TRUE(a_->Connect("127.0.0.1", relay_.port_for_a(), b_->local_srtp_key()).ok());
    ASSERT_TRUE(b_->Connect("127.0.0.1", relay_.port_for_b(), a_->local_srtp_key()).ok());
    ASSERT_NE(a_->sctp(), nullptr);
    ASSERT_TRUE(loop_.RunUntil([&] {
      return a_data_.state() == SctpState::kConnected && b_data_.state() == SctpState::kConnected;
    }));
  }
  // Opens a channel from `from` by DCEP and waits until both ends have it; returns its id.
  uint16_t Open(PipeTransport& from, DataIn& from_data, DataIn& to_data,
                const DataChannelParams& params) {
    const size_t from_opened = from_data.opened.size(), to_opened = to_data.opened.size();
    auto id = from.sctp()->OpenChannel(params);
    EXPECT_TRUE(id.ok()) << id.status();
    EXPECT_TRUE(loop_.RunUntil([&] {
      return from_data.opened.size() > from_opened && to_data.opened.size() > to_opened;
    }));
    return id.value_or(0);
  }

  testing::TestLoop loop_;
  Relay relay_{loop_.get()};
  MediaIn a_media_, b_media_;
  DataIn a_data_, b_data_;
  std::unique_ptr<PipeTransport> a_, b_;
};

class PipeSctpBothTest : public PipeSctpTest, public ::testing::WithParamInterface<bool> {};

// Channels opened by DCEP from each end open on the other with their label and reliability;
// messages of every kind cross both ways, in order and whole (256 KiB, the largest allowed,
// included), every datagram within 1200 bytes; closing a channel closes it on both ends.
TEST_P(PipeSctpBothTest, DataChannelsCrossThePipe) {
  Start(GetParam());
  DataChannelParams chat;
  chat.label = "chat";
  chat.protocol = "json";
  const uint16_t chat_id = Open(*a_, a_data_, b_data_, chat);
  EXPECT_EQ(chat_id % 2, 0);
  ASSERT_EQ(b_data_.opened.size(), 1u);
  EXPECT_TRUE(b_data_.opened[0].opened_by_peer);
  EXPECT_EQ(b_data_.opened[0].label, "chat");
  EXPECT_EQ(b_data_.opened[0].protocol, "json");
  EXPECT_TRUE(b_data_.opened[0].reliability.reliable() && b_data_.opened[0].reliability.ordered);

  DataChannelParams lossy;
  lossy.label = "lossy";
  lossy.reliability.ordered = false;
  lossy.reliability.max_retransmits = 2;
  const uint16_t lossy_id = Open(*b_, b_data_, a_data_, lossy);
  EXPECT_EQ(lossy_id % 2, 1);
  ASSERT_EQ(a_data_.opened.size(), 2u);
  EXPECT_EQ(a_data_.opened[1].label, "lossy");
  EXPECT_EQ(a_data_.opened[1].reliability, lossy.reliability);

  const Bytes big_a = Pattern(kSctpMaxMessageSize, 1), big_b = Pattern(kSctpMaxMessageSize, 2);
  const Bytes binary = {0x00, 0xFF, 0x10, 0x80};
  ASSERT_TRUE(a_->sctp()->Send(chat_id, kPpidString, Text("hello from a")).ok());
  ASSERT_TRUE(a_->sctp()->Send(chat_id, kPpidBinary, binary).ok());
  ASSERT_TRUE(a_->sctp()->Send(chat_id, kPpidBinary, big_a).ok());
  ASSERT_TRUE(a_->sctp()->Send(chat_id, kPpidString, Text("after the big one")).ok());
  ASSERT_TRUE(b_->sctp()->Send(chat_id, kPpidBinary, big_b).ok());
  ASSERT_TRUE(b_->sctp()->Send(chat_id, kPpidString, Text("hello from b")).ok());
  ASSERT_TRUE(b_->sctp()->Send(lossy_id, kPpidBinary, binary).ok());
  ASSERT_TRUE(
      loop_.RunUntil([&] { return b_data_.messages.size() == 4 && a_data_.messages.size() == 3; }));

  EXPECT_EQ(b_data_.messages[0].ppid, kPpidString);
  EXPECT_EQ(b_data_.messages[0].data, Text("hello from a"));
  EXPECT_EQ(b_data_.messages[1].ppid, kPpidBinary);
  EXPECT_EQ(b_data_.messages[1].data, binary);
  EXPECT_EQ(b_data_.messages[2].data, big_a);
  EXPECT_EQ(b_data_.messages[3].data, Text("after the big one"));
  for (const Message& m : b_data_.messages) EXPECT_EQ(m.stream_id, chat_id);
  std::vector<Message> on_chat, on_lossy;
  for (const Message& m : a_data_.messages)
    (m.stream_id == chat_id ? on_chat : on_lossy).push_back(m);
  ASSERT_EQ(on_chat.size(), 2u);
  EXPECT_EQ(on_chat[0].data, big_b);
  EXPECT_EQ(on_chat[1].data, Text("hello from b"));
  EXPECT_EQ(on_chat[1].ppid, kPpidString);
  ASSERT_EQ(on_lossy.size(), 1u);
  EXPECT_EQ(on_lossy[0].data, binary);

  EXPECT_LE(relay_.max_datagram, 1200u);
  EXPECT_GT(b_->stats().sctp_received, 200u);
  EXPECT_GT(a_->stats().sctp_sent, 200u);
  EXPECT_EQ(a_->stats().sctp_malformed + b_->stats().sctp_malformed, 0u);
  EXPECT_EQ(a_->stats().sctp_unexpected + b_->stats().sctp_unexpected, 0u);
  EXPECT_EQ(a_->sctp()->stats().packets_invalid + b_->sctp()->stats().packets_invalid, 0u);
  // Nothing of SCTP reaches the RTP listener.
  EXPECT_TRUE(a_media_.rtcp.empty() && b_media_.rtcp.empty());
  EXPECT_EQ(a_->stats().rtcp_received + b_->stats().rtcp_received, 0u);

  ASSERT_TRUE(a_->sctp()->CloseChannel(chat_id).ok());
  ASSERT_TRUE(loop_.RunUntil([&] { return !a_data_.closed.empty() && !b_data_.closed.empty(); }));
  EXPECT_EQ(a_data_.closed, std::vector<uint16_t>{chat_id});
  EXPECT_EQ(b_data_.closed, std::vector<uint16_t>{chat_id});
  EXPECT_FALSE(b_->sctp()->channel(chat_id).has_value());
  EXPECT_TRUE(b_->sctp()->channel(lossy_id).has_value());
}

// RTP and ordinary RTCP go on reaching the RTP listener, untouched, while a large message
// crosses both ways.
TEST_P(PipeSctpBothTest, MediaGoesOnBesideSctp) {
  Start(GetParam());
  const uint16_t id = Open(*a_, a_data_, b_data_, {});
  ASSERT_TRUE(a_->sctp()->Send(id, kPpidBinary, Pattern(kSctpMaxMessageSize, 3)).ok());
  ASSERT_TRUE(b_->sctp()->Send(id, kPpidBinary, Pattern(kSctpMaxMessageSize, 4)).ok());
  for (uint16_t seq = 0; seq < 40; ++seq) {
    ASSERT_TRUE(Send(*a_, Rtp(seq)));
    ASSERT_TRUE(Send(*b_, Rtp(seq)));
    if (seq % 10 == 0) {
      ASSERT_TRUE(Send(*a_, Rr(), /*rtcp=*/true));
      ASSERT_TRUE(Send(*b_, Rr(), /*rtcp=*/true));
    }
    loop_.RunUntil([] { return false; }, 2);
  }
  ASSERT_TRUE(loop_.RunUntil([&] {
    return a_data_.messages.size() == 1 && b_data_.messages.size() == 1 &&
           a_media_.rtp.size() == 40 && b_media_.rtp.size() == 40;
  }));
  for (uint16_t seq = 0; seq < 40; ++seq) {
    EXPECT_EQ(a_media_.rtp[seq], Rtp(seq));
    EXPECT_EQ(b_media_.rtp[seq], Rtp(seq));
  }
  EXPECT_EQ(a_media_.rtcp, std::vector<Bytes>(4, Rr()));
  EXPECT_EQ(b_media_.rtcp, std::vector<Bytes>(4, Rr()));
  EXPECT_EQ(a_data_.messages[0].data, Pattern(kSctpMaxMessageSize, 4));
  EXPECT_EQ(b_data_.messages[0].data, Pattern(kSctpMaxMessageSize, 3));
  EXPECT_EQ(b_->stats().rtcp_received, 4u);
}

// Close aborts the association: the other end hears it fail; the closed end hears nothing more.
TEST_P(PipeSctpBothTest, CloseAbortsTheOtherEnd) {
  Start(GetParam());
  Open(*a_, a_data_, b_data_, {});
  const size_t a_states = a_data_.states.size();
  a_->Close();
  EXPECT_EQ(a_->sctp(), nullptr);
  ASSERT_TRUE(loop_.RunUntil([&] { return b_data_.state() == SctpState::kFailed; }));
  EXPECT_EQ(a_data_.states.size(), a_states);
}

INSTANTIATE_TEST_SUITE_P(PlainAndSrtp, PipeSctpBothTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "Srtp" : "Plain"; });

// Hostile APP "SCTP" packets from the connected address: each malformed one is counted and
// dropped, random bytes in a well-formed one reach the association, which drops them (bad
// checksum); the association and media go on.
TEST_F(PipeSctpTest, HostileAppPacketsAreCountedAndDropped) {
  Start(/*srtp=*/false);
  const uint16_t id = Open(*a_, a_data_, b_data_, {});
  const Bytes good = App(42, FakeSctp(14));
  std::vector<Bytes> malformed = {
      Bytes(good.begin(), good.begin() + 12),  // no SCTP packet
      App(42, FakeSctp(4)),                    // shorter than SCTP's common header
      good,
      good,
      good,
  };
  malformed[2].insert(malformed[2].end(), 4, 0);  // longer than its length field
  malformed[3][0] = 0x80 | 7;                     // padding count past 3
  malformed[4].back() = 0xFF;                     // padding not zero
  for (const Bytes& b : malformed) relay_.InjectToA(b);
  std::mt19937 rng(14);
  for (int i = 0; i < 5; ++i) {
    Bytes noise(20 + i * 37);
    for (auto& byte : noise) byte = static_cast<uint8_t>(rng());
    relay_.InjectToA(App(42, noise));
  }
  const uint64_t invalid_before = a_->sctp()->stats().packets_invalid;
  ASSERT_TRUE(loop_.RunUntil([&] {
    return a_->stats().sctp_malformed == malformed.size() &&
           a_->sctp()->stats().packets_invalid >= invalid_before + 5;
  }));
  EXPECT_EQ(a_data_.state(), SctpState::kConnected);
  EXPECT_TRUE(a_media_.rtcp.empty());

  ASSERT_TRUE(b_->sctp()->Send(id, kPpidString, Text("still here")).ok());
  ASSERT_TRUE(a_->sctp()->Send(id, kPpidString, Text("me too")).ok());
  ASSERT_TRUE(Send(*b_, Rtp(5)));
  ASSERT_TRUE(loop_.RunUntil([&] {
    return a_data_.messages.size() == 1 && b_data_.messages.size() == 1 && a_media_.rtp.size() == 1;
  }));
  EXPECT_EQ(a_data_.messages[0].data, Text("still here"));
  EXPECT_EQ(a_media_.rtp[0], Rtp(5));
}

// A pipe without SCTP drops APP "SCTP" packets (counted) and gives other APP packets and media
// to its listener as before.
TEST(PipeWithoutSctpTest, AppSctpIsUnexpected) {
  testing::TestLoop loop;
  MediaIn media;
  auto pipe = *PipeTransport::Create(loop.get(), {}, &media);
  Socket peer(loop.get());
  ASSERT_TRUE(pipe->Connect("127.0.0.1", peer.port()).ok());
  EXPECT_EQ(pipe->sctp(), nullptr);
  peer.SendTo(pipe->local_port(), App(1, FakeSctp(40)));
  Bytes other_app = App(1, FakeSctp(40));
  other_app[8] = 'X';
  peer.SendTo(pipe->local_port(), other_app);
  peer.SendTo(pipe->local_port(), Rtp(9));
  ASSERT_TRUE(loop.RunUntil([&] { return pipe->stats().packets_received == 3; }));
  EXPECT_EQ(pipe->stats().sctp_unexpected, 1u);
  EXPECT_EQ(media.rtcp, std::vector<Bytes>{other_app});
  EXPECT_EQ(media.rtp, std::vector<Bytes>{Rtp(9)});
}

// With SRTP, a datagram carrying SCTP that was changed on the way fails authentication and is
// counted; SCTP retransmits what it carried, and so does a plain (unprotected) APP "SCTP" packet.
TEST_F(PipeSctpTest, TamperedSrtcpIsRefused) {
  Start(/*srtp=*/true);
  const uint16_t id = Open(*a_, a_data_, b_data_, {});
  relay_.tamper = [](Bytes& b) {
    if (b[1] != kRtcpTypeApp || b.size() < 100) return false;  // SRTCP leaves the header clear
    b[60] ^= 0x01;
    return true;
  };
  ASSERT_TRUE(b_->sctp()->Send(id, kPpidBinary, Pattern(3000, 9)).ok());
  relay_.InjectToA(App(42, FakeSctp(100)));
  ASSERT_TRUE(loop_.RunUntil([&] { return a_data_.messages.size() == 1; }));
  EXPECT_EQ(relay_.tamper, nullptr) << "a datagram was tampered with";
  EXPECT_EQ(a_data_.messages[0].data, Pattern(3000, 9));
  EXPECT_EQ(a_->stats().srtp_auth_failed + a_->stats().srtp_malformed, 2u);
  EXPECT_GE(a_->stats().srtp_auth_failed, 1u);
  EXPECT_EQ(a_->stats().sctp_malformed, 0u);
  EXPECT_EQ(a_data_.state(), SctpState::kConnected);
}

}  // namespace
}  // namespace sb::transport
