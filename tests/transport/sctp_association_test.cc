// Two SctpAssociations wired back to back in memory on a real libuv loop: each one's
// SendSctpPacket is queued and fed to the other's ProcessSctpPacket on the next loop turn (as
// DTLS would), optionally dropping packets.
#include "transport/sctp_association.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <usrsctp.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "tests/transport/test_loop.h"

namespace sb::transport {
namespace {

using Bytes = std::vector<uint8_t>;
using testing::TestLoop;

Bytes Text(const std::string& s) { return Bytes(s.begin(), s.end()); }

class Sha256 {
 public:
  Sha256() : ctx_(EVP_MD_CTX_new()) { EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr); }
  ~Sha256() { EVP_MD_CTX_free(ctx_); }
  void Update(absl::Span<const uint8_t> data) { EVP_DigestUpdate(ctx_, data.data(), data.size()); }
  Bytes Final() {
    Bytes out(32);
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx_, out.data(), &len);
    return out;
  }

 private:
  EVP_MD_CTX* ctx_;
};

// The in-memory link between side 0 and side 1. Packets queued during one loop turn are
// delivered in the next (an idle handle: a zero timer re-armed from its own callback would run
// again in the same turn, starving every other timer while traffic flows).
class Wire {
 public:
  explicit Wire(uv_loop_t* loop) : idle_(new uv_idle_t) {
    uv_idle_init(loop, idle_);
    idle_->data = this;
  }
  ~Wire() {
    uv_close(reinterpret_cast<uv_handle_t*>(idle_),
             [](uv_handle_t* h) { delete reinterpret_cast<uv_idle_t*>(h); });
  }

  void Attach(int side, SctpAssociation* association) { ends_[side] = association; }
  void Send(int from, const uint8_t* data, size_t len) {
    Observe(from, data, len);
    ++sent_;
    max_packet_ = std::max(max_packet_, len);
    // Deterministic loss: the same packets are dropped on every run.
    if (drop_percent_ > 0 && rng_() % 100 < drop_percent_) {
      ++dropped_;
      return;
    }
    queue_.push_back({1 - from, Bytes(data, data + len)});
    if (!paused_) Arm();
  }
  void set_drop_percent(unsigned percent) { drop_percent_ = percent; }
  // While paused, packets wait on the wire.
  void Pause() { paused_ = true; }
  void Resume() {
    paused_ = false;
    if (!queue_.empty()) Arm();
  }
  // Delivers a DATA chunk to side `to` as if its peer had sent it (RFC 9260 3.3.1): the
  // verification tag, TSN and SSN are the ones that side expects next, the checksum is right.
  // Only while paused: the peer's own next packets would collide with the injected TSN.
  void InjectData(int to, uint16_t stream_id, uint32_t ppid, const Bytes& payload) {
    ASSERT_TRUE(paused_);
    Seen& from = seen_[1 - to];
    Bytes packet(12 + 16 + ((payload.size() + 3) & ~size_t{3}), 0);
    PutU16(&packet[0], kSctpPort);
    PutU16(&packet[2], kSctpPort);
    PutU32(&packet[4], from.vtag);
    uint8_t* chunk = &packet[12];
    chunk[1] = 0x03;  // an ordered message in one chunk (B and E)
    PutU16(chunk + 2, static_cast<uint16_t>(16 + payload.size()));
    PutU32(chunk + 4, from.next_tsn++);
    PutU16(chunk + 8, stream_id);
    PutU16(chunk + 10, from.next_ssn[stream_id]++);
    PutU32(chunk + 12, ppid);
    std::copy(payload.begin(), payload.end(), chunk + 16);
    const uint32_t crc = usrsctp_crc32c(packet.data(), packet.size());  // in wire order
    std::memcpy(&packet[8], &crc, sizeof(crc));
    ends_[to]->ProcessSctpPacket(packet.data(), packet.size());
  }
  size_t sent() const { return sent_; }
  size_t dropped() const { return dropped_; }
  size_t max_packet() const { return max_packet_; }

 private:
  struct Packet {
    int to;
    Bytes bytes;
  };
  void Arm() {
    uv_idle_start(idle_, [](uv_idle_t* h) { static_cast<Wire*>(h->data)->Deliver(); });
  }
  void Deliver() {
    uv_idle_stop(idle_);
    if (paused_) return;
    std::vector<Packet> batch;
    batch.swap(queue_);
    for (const Packet& p : batch) {
      if (ends_[p.to] != nullptr) ends_[p.to]->ProcessSctpPacket(p.bytes.data(), p.bytes.size());
    }
    if (!queue_.empty() && !paused_) Arm();
  }

  // What a side's packets show: the tag its peer expects, its next TSN, each stream's next SSN.
  struct Seen {
    uint32_t vtag = 0;
    uint32_t next_tsn = 0;
    std::map<uint16_t, uint16_t> next_ssn;
  };
  static void PutU16(uint8_t* p, uint16_t v) {
    p[0] = static_cast<uint8_t>(v >> 8);
    p[1] = static_cast<uint8_t>(v);
  }
  static void PutU32(uint8_t* p, uint32_t v) {
    for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (24 - 8 * i));
  }
  static uint32_t GetU32(const uint8_t* p) {
    return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
  }
  void Observe(int from, const uint8_t* data, size_t len) {
    Seen& seen = seen_[from];
    for (size_t offset = 12; offset + 4 <= len;) {
      const uint8_t type = data[offset];
      const size_t length = size_t{data[offset + 2]} << 8 | data[offset + 3];
      if (length < 4 || offset + length > len) break;
      if (type != 1) seen.vtag = GetU32(data + 4);  // every packet but INIT carries it
      if (type == 0 && length >= 16) {
        seen.next_tsn = GetU32(data + offset + 4) + 1;
        const uint8_t flags = data[offset + 1];
        if ((flags & 0x04) == 0 && (flags & 0x01) != 0) {  // ordered, last fragment
          const uint16_t stream = static_cast<uint16_t>(data[offset + 8] << 8 | data[offset + 9]);
          const uint16_t ssn = static_cast<uint16_t>(data[offset + 10] << 8 | data[offset + 11]);
          seen.next_ssn[stream] = static_cast<uint16_t>(ssn + 1);
        }
      }
      offset += (length + 3) & ~size_t{3};
    }
  }

  uv_idle_t* idle_;  // freed by its close callback
  std::array<Seen, 2> seen_;
  std::array<SctpAssociation*, 2> ends_{nullptr, nullptr};
  std::vector<Packet> queue_;
  bool paused_ = false;
  unsigned drop_percent_ = 0;
  std::minstd_rand rng_{20261205};
  size_t sent_ = 0;
  size_t dropped_ = 0;
  size_t max_packet_ = 0;
};

struct Message {
  uint16_t stream_id;
  uint32_t ppid;
  Bytes data;
};

// One side: its association and everything its listener heard.
class Peer : public SctpAssociation::Listener {
 public:
  Peer(Wire* wire, int side) : wire_(wire), side_(side) {}
  ~Peer() override { Destroy(); }

  void Create(uv_loop_t* loop, SctpOptions options) {
    options.dtls_client = side_ == 0;
    auto a = SctpAssociation::Create(loop, this, options);
    ASSERT_TRUE(a.ok()) << a.status();
    association = std::move(*a);
    wire_->Attach(side_, association.get());
  }
  void Destroy() {
    wire_->Attach(side_, nullptr);
    association.reset();
  }
  SctpAssociation* operator->() { return association.get(); }

  void SendSctpPacket(const uint8_t* data, size_t len) override { wire_->Send(side_, data, len); }
  void OnSctpStateChange(SctpState state, const std::string& reason) override {
    states.push_back(state);
    last_reason = reason;
  }
  void OnDataChannelOpen(const DataChannelInfo& info) override { opened.push_back(info); }
  void OnDataChannelMessage(uint16_t stream_id, uint32_t ppid,
                            absl::Span<const uint8_t> data) override {
    ++message_count;
    if (on_message) {
      on_message(stream_id, ppid, data);
    } else {
      messages.push_back({stream_id, ppid, Bytes(data.begin(), data.end())});
    }
  }
  void OnDataChannelClosed(uint16_t stream_id) override { closed.push_back(stream_id); }
  void OnBufferedAmountLow(uint16_t stream_id) override { low.push_back(stream_id); }
  void OnSctpSendBufferAvailable() override {
    ++available;
    if (on_available) on_available();
  }

  SctpState state() const { return association ? association->state() : SctpState::kClosed; }
  bool Opened(uint16_t stream_id) const {
    return std::any_of(opened.begin(), opened.end(),
                       [&](const DataChannelInfo& i) { return i.stream_id == stream_id; });
  }
  bool Closed(uint16_t stream_id) const {
    return std::find(closed.begin(), closed.end(), stream_id) != closed.end();
  }

  std::unique_ptr<SctpAssociation> association;
  std::vector<SctpState> states;
  std::string last_reason;
  std::vector<DataChannelInfo> opened;
  std::vector<Message> messages;
  size_t message_count = 0;
  std::vector<uint16_t> closed;
  std::vector<uint16_t> low;
  int available = 0;
  std::function<void(uint16_t, uint32_t, absl::Span<const uint8_t>)> on_message;
  std::function<void()> on_available;

 private:
  Wire* wire_;
  int side_;
};

class SctpAssociationTest : public ::testing::Test {
 protected:
  void Connect(SctpOptions options = {}) { Connect(options, options); }
  void Connect(const SctpOptions& a_options, const SctpOptions& b_options) {
    a_.Create(loop_.get(), a_options);
    b_.Create(loop_.get(), b_options);
    ASSERT_TRUE(a_->Connect().ok());
    ASSERT_TRUE(b_->Connect().ok());
    ASSERT_TRUE(loop_.RunUntil([&] {
      return a_.state() == SctpState::kConnected && b_.state() == SctpState::kConnected;
    }));
    EXPECT_EQ(a_->outbound_streams(), kSctpMaxStreams);
    EXPECT_EQ(a_->inbound_streams(), kSctpMaxStreams);
  }
  // Opens a channel from `from` and waits until both sides see it open.
  uint16_t Open(Peer& from, Peer& to, const DataChannelParams& params) {
    auto id = from->OpenChannel(params);
    EXPECT_TRUE(id.ok()) << id.status();
    if (!id.ok()) return 0;
    EXPECT_TRUE(loop_.RunUntil([&] { return from.Opened(*id) && to.Opened(*id); }));
    return *id;
  }
  bool RunUntil(const std::function<bool()>& done, uint64_t timeout_ms = 10000) {
    return loop_.RunUntil(done, timeout_ms);
  }

  // Declared first: destroyed last, after everything that holds handles on it.
  TestLoop loop_;
  Wire wire_{loop_.get()};
  Peer a_{&wire_, 0};
  Peer b_{&wire_, 1};
};

TEST_F(SctpAssociationTest, ConnectsOpensChannelsBothWaysAndCarriesEveryKindOfMessage) {
  Connect();
  EXPECT_EQ(a_.states, (std::vector<SctpState>{SctpState::kConnected}));

  DataChannelParams chat;
  chat.label = "chat";
  chat.protocol = "json";
  const uint16_t chat_id = Open(a_, b_, chat);
  EXPECT_EQ(chat_id % 2, 0) << "the DTLS client opens even streams (RFC 8832 6)";
  ASSERT_EQ(b_.opened.size(), 1u);
  EXPECT_TRUE(b_.opened[0].opened_by_peer);
  EXPECT_EQ(b_.opened[0].label, "chat");
  EXPECT_EQ(b_.opened[0].protocol, "json");
  EXPECT_TRUE(b_.opened[0].reliability.reliable() && b_.opened[0].reliability.ordered);
  EXPECT_FALSE(a_.opened[0].opened_by_peer);

  DataChannelParams files;
  files.label = "files";
  files.reliability.ordered = false;
  files.priority = kDcepPriorityHigh;
  const uint16_t files_id = Open(b_, a_, files);
  EXPECT_EQ(files_id % 2, 1) << "the DTLS server opens odd streams";
  ASSERT_EQ(a_.opened.size(), 2u);
  EXPECT_EQ(a_.opened[1].label, "files");
  EXPECT_FALSE(a_.opened[1].reliability.ordered);
  EXPECT_EQ(a_.opened[1].priority, kDcepPriorityHigh);

  const Bytes binary = {0x00, 0xFF, 0x10, 0x80};
  ASSERT_TRUE(a_->Send(chat_id, kPpidString, Text("hello from a")).ok());
  ASSERT_TRUE(a_->Send(chat_id, kPpidBinary, binary).ok());
  ASSERT_TRUE(a_->Send(chat_id, kPpidString, {}).ok());
  ASSERT_TRUE(a_->Send(chat_id, kPpidBinary, {}).ok());
  ASSERT_TRUE(b_->Send(files_id, kPpidBinary, binary).ok());
  ASSERT_TRUE(b_->Send(chat_id, kPpidString, Text("hello from b")).ok());
  ASSERT_TRUE(RunUntil([&] { return b_.messages.size() == 4 && a_.messages.size() == 2; }));

  // Ordered channel: in order, each with its kind; empty messages arrive empty (RFC 8831 6.6).
  EXPECT_EQ(b_.messages[0].ppid, kPpidString);
  EXPECT_EQ(b_.messages[0].data, Text("hello from a"));
  EXPECT_EQ(b_.messages[1].ppid, kPpidBinary);
  EXPECT_EQ(b_.messages[1].data, binary);
  EXPECT_EQ(b_.messages[2].ppid, kPpidString);
  EXPECT_TRUE(b_.messages[2].data.empty());
  EXPECT_EQ(b_.messages[3].ppid, kPpidBinary);
  EXPECT_TRUE(b_.messages[3].data.empty());
  for (const Message& m : b_.messages) EXPECT_EQ(m.stream_id, chat_id);
  std::sort(a_.messages.begin(), a_.messages.end(),
            [](const Message& x, const Message& y) { return x.stream_id < y.stream_id; });
  EXPECT_EQ(a_.messages[0].stream_id, chat_id);
  EXPECT_EQ(a_.messages[0].data, Text("hello from b"));
  EXPECT_EQ(a_.messages[1].stream_id, files_id);
  EXPECT_EQ(a_.messages[1].data, binary);

  // Every packet fits one DTLS record within the DTLS MTU.
  EXPECT_LE(wire_.max_packet(), kSctpMtu);
  EXPECT_EQ(a_->stats().packets_invalid + b_->stats().packets_invalid, 0u);
  EXPECT_EQ(a_->stats().messages_sent, 4u);
  EXPECT_EQ(b_->stats().dcep_malformed + b_->stats().messages_unknown_stream, 0u);
}

TEST_F(SctpAssociationTest, EveryReliabilityIsAnnouncedAndWorks) {
  Connect();
  std::vector<DataChannelReliability> kinds = {{true, std::nullopt, std::nullopt},
                                               {false, std::nullopt, std::nullopt},
                                               {true, 2, std::nullopt},
                                               {false, 0, std::nullopt},
                                               {true, std::nullopt, 500},
                                               {false, std::nullopt, 100}};
  for (size_t i = 0; i < kinds.size(); ++i) {
    DataChannelParams params;
    params.label = "c" + std::to_string(i);
    params.reliability = kinds[i];
    const uint16_t id = Open(a_, b_, params);
    EXPECT_EQ(b_.opened.back().reliability, kinds[i]) << i;
    ASSERT_TRUE(a_->Send(id, kPpidString, Text(params.label)).ok());
  }
  ASSERT_TRUE(RunUntil([&] { return b_.messages.size() == kinds.size(); }));

  // Negotiated out of band: no DCEP, both sides declare the same stream.
  DataChannelParams negotiated;
  negotiated.negotiated = true;
  negotiated.stream_id = 101;
  ASSERT_TRUE(a_->OpenChannel(negotiated).ok());
  ASSERT_TRUE(b_->OpenChannel(negotiated).ok());
  ASSERT_TRUE(a_->Send(101, kPpidString, Text("negotiated")).ok());
  ASSERT_TRUE(RunUntil([&] { return b_.messages.size() == kinds.size() + 1; }));
  EXPECT_EQ(b_.messages.back().stream_id, 101);

  // Misuse is refused with a reason.
  DataChannelParams wrong_parity;
  wrong_parity.stream_id = 7;
  EXPECT_EQ(a_->OpenChannel(wrong_parity).status().code(), absl::StatusCode::kInvalidArgument);
  DataChannelParams both;
  both.reliability = {true, 1, 100};
  EXPECT_EQ(a_->OpenChannel(both).status().code(), absl::StatusCode::kInvalidArgument);
  DataChannelParams beyond;
  beyond.stream_id = kSctpMaxStreams;
  EXPECT_EQ(a_->OpenChannel(beyond).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(a_->Send(500, kPpidString, Text("x")).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(a_->Send(101, kPpidDcep, Text("x")).code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(SctpAssociationTest, TwentyMegabytesEachWayInMaxMessageSizePieces) {
  SctpOptions options;
  options.remote_max_message_size = kSctpMaxMessageSize;  // as a browser's SDP says
  Connect(options);
  DataChannelParams params;
  params.label = "file";
  const uint16_t ab = Open(a_, b_, params);
  const uint16_t ba = Open(b_, a_, params);
  EXPECT_EQ(a_->max_send_message_size(), kSctpMaxMessageSize);

  static constexpr size_t kTotal = size_t{20} * 1024 * 1024;
  static constexpr size_t kPiece = kSctpMaxMessageSize;
  Bytes source(kTotal);
  std::minstd_rand rng(7);
  for (auto& byte : source) byte = static_cast<uint8_t>(rng());
  Sha256 source_hash;
  source_hash.Update(source);
  const Bytes expected = source_hash.Final();

  struct Direction {
    Peer* from = nullptr;
    uint16_t stream_id = 0;
    size_t offset = 0;
    size_t max_buffered = 0;
    Sha256 received_hash;
    size_t received = 0;
    size_t pieces = 0;
  };
  Direction forward;
  forward.from = &a_;
  forward.stream_id = ab;
  Direction backward;
  backward.from = &b_;
  backward.stream_id = ba;
  auto pump = [&](Direction& d) {
    while (d.offset < kTotal) {
      const size_t n = std::min(kPiece, kTotal - d.offset);
      absl::Status s = (*d.from)->Send(d.stream_id, kPpidBinary,
                                       absl::MakeConstSpan(source.data() + d.offset, n));
      if (s.code() == absl::StatusCode::kResourceExhausted) return;  // wait for the buffer
      ASSERT_TRUE(s.ok()) << s;
      d.offset += n;
      d.max_buffered = std::max(d.max_buffered, (*d.from)->buffered_amount());
    }
  };
  auto receive = [](Direction& d) {
    return [&d](uint16_t, uint32_t ppid, absl::Span<const uint8_t> data) {
      EXPECT_EQ(ppid, kPpidBinary);
      EXPECT_EQ(data.size(), std::min(kPiece, kTotal - d.received));
      d.received_hash.Update(data);
      d.received += data.size();
      ++d.pieces;
    };
  };
  b_.on_message = receive(forward);
  a_.on_message = receive(backward);
  a_.on_available = [&] { pump(forward); };
  b_.on_available = [&] { pump(backward); };
  pump(forward);
  pump(backward);
  ASSERT_TRUE(
      RunUntil([&] { return forward.received == kTotal && backward.received == kTotal; }, 60000))
      << forward.received << " and " << backward.received << " of " << kTotal;
  EXPECT_EQ(forward.received_hash.Final(), expected);
  EXPECT_EQ(backward.received_hash.Final(), expected);
  EXPECT_EQ(forward.pieces, kTotal / kPiece);
  // Full packets, each small enough for one DTLS record within the DTLS MTU.
  EXPECT_LE(wire_.max_packet(), kSctpMtu);
  EXPECT_GT(wire_.max_packet(), kSctpMtu - 16);
  // The sender met back-pressure and its buffer stayed bounded.
  EXPECT_GT(a_->stats().sends_refused_buffer_full, 0u);
  EXPECT_GT(a_.available, 0);
  EXPECT_LE(forward.max_buffered, kSctpSendBufferSize + kSctpSendBufferSize / 8);
  ASSERT_TRUE(RunUntil([&] { return a_->buffered_amount() == 0 && b_->buffered_amount() == 0; }));
  EXPECT_EQ(a_->buffered_amount(ab), 0u);
  EXPECT_EQ(a_->stats().messages_too_large + b_->stats().messages_too_large, 0u);
}

TEST_F(SctpAssociationTest, MessageOverThePeersLimitIsRefused) {
  // The peer's SDP said nothing: 64 KiB (RFC 8841 6.1).
  Connect();
  DataChannelParams params;
  const uint16_t id = Open(a_, b_, params);
  EXPECT_EQ(a_->max_send_message_size(), kSctpDefaultRemoteMaxMessageSize);
  const Bytes too_big(kSctpDefaultRemoteMaxMessageSize + 1, 'x');
  absl::Status s = a_->Send(id, kPpidBinary, too_big);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("max-message-size 65536"), std::string::npos) << s;
  EXPECT_EQ(a_->stats().sends_refused_too_large, 1u);
  const Bytes just_fits(kSctpDefaultRemoteMaxMessageSize, 'y');
  ASSERT_TRUE(a_->Send(id, kPpidBinary, just_fits).ok());
  ASSERT_TRUE(RunUntil([&] { return b_.messages.size() == 1; }));
  EXPECT_EQ(b_.messages[0].data, just_fits);
  // A later SDP can raise it.
  a_->SetRemoteMaxMessageSize(kSctpMaxMessageSize);
  EXPECT_TRUE(a_->Send(id, kPpidBinary, too_big).ok());
  ASSERT_TRUE(RunUntil([&] { return b_.messages.size() == 2; }));
}

TEST_F(SctpAssociationTest, IncomingMessageOverOurLimitResetsItsChannel) {
  SctpOptions small;
  small.max_message_size = 100000;  // what b advertises and accepts
  SctpOptions sender;
  sender.remote_max_message_size = 0;  // a misbehaving peer that ignores b's limit
  Connect(sender, small);
  const uint16_t id = Open(a_, b_, {});
  ASSERT_TRUE(a_->Send(id, kPpidBinary, Bytes(99999, 'a')).ok());
  ASSERT_TRUE(a_->Send(id, kPpidBinary, Bytes(300000, 'b')).ok());  // gathered in pieces
  ASSERT_TRUE(RunUntil([&] { return b_.Closed(id) && a_.Closed(id); }));
  ASSERT_EQ(b_.messages.size(), 1u);
  EXPECT_EQ(b_.messages[0].data.size(), 99999u);
  EXPECT_EQ(b_->stats().messages_too_large, 1u);
  EXPECT_EQ(b_->state(), SctpState::kConnected);
  // The association goes on: a new channel works.
  const uint16_t next = Open(a_, b_, {});
  ASSERT_TRUE(a_->Send(next, kPpidString, Text("after")).ok());
  ASSERT_TRUE(RunUntil([&] { return b_.messages.size() == 2; }));
}

TEST_F(SctpAssociationTest, BigMessagesArriveWhole) {
  SctpOptions big;
  big.max_message_size = size_t{4} * 1024 * 1024;
  big.remote_max_message_size = size_t{4} * 1024 * 1024;
  big.send_buffer_size = size_t{8} * 1024 * 1024;
  Connect(big);
  const uint16_t id = Open(a_, b_, {});
  Bytes message(3 * 1024 * 1024 + 17);
  for (size_t i = 0; i < message.size(); ++i) message[i] = static_cast<uint8_t>(i * 31 + 7);
  ASSERT_TRUE(a_->Send(id, kPpidBinary, message).ok());
  ASSERT_TRUE(RunUntil([&] { return b_.messages.size() == 1; }, 30000));
  EXPECT_EQ(b_.messages[0].data, message);
}

TEST_F(SctpAssociationTest, UnreliableChannelUnderLossDeliversMostAndNeverBlocks) {
  Connect();
  DataChannelParams lossy;
  lossy.label = "telemetry";
  lossy.reliability.ordered = false;
  lossy.reliability.max_retransmits = 0;
  const uint16_t id = Open(a_, b_, lossy);
  wire_.set_drop_percent(5);

  constexpr int kMessages = 1000;
  int sent = 0;
  std::vector<bool> seen(kMessages, false);
  b_.on_message = [&](uint16_t, uint32_t, absl::Span<const uint8_t> data) {
    ASSERT_EQ(data.size(), 1000u);
    const int index = data[0] | data[1] << 8;
    ASSERT_LT(index, kMessages);
    seen[index] = true;
  };
  // 10 messages a millisecond, as a sender that does not wait for anything.
  auto send_some = [&] {
    for (int i = 0; i < 10 && sent < kMessages; ++i, ++sent) {
      Bytes m(1000, 0x5A);
      m[0] = static_cast<uint8_t>(sent);
      m[1] = static_cast<uint8_t>(sent >> 8);
      absl::Status s = a_->Send(id, kPpidBinary, m);
      ASSERT_TRUE(s.ok()) << "send " << sent << ": " << s;
    }
  };
  const bool all_sent = loop_.RunUntil([&] { return sent == kMessages; }, 10000, send_some);
  ASSERT_TRUE(all_sent);
  // Losses at the end of a burst wait for a retransmission timeout (at least 400 ms) before
  // they are abandoned and what follows them moves on: measured 0.3 to 1 s to reach 85 %.
  const size_t wanted = kMessages * 85 / 100;
  ASSERT_TRUE(RunUntil(
      [&] { return static_cast<size_t>(std::count(seen.begin(), seen.end(), true)) >= wanted; },
      10000))
      << "delivered " << std::count(seen.begin(), seen.end(), true) << " of " << kMessages;
  // Lost messages are abandoned (FORWARD-TSN, RFC 3758), not retransmitted forever: the send
  // buffer empties although some messages never arrived.
  ASSERT_TRUE(RunUntil([&] { return a_->buffered_amount() == 0; }, 15000))
      << a_->buffered_amount() << " bytes still buffered";
  const auto delivered = static_cast<size_t>(std::count(seen.begin(), seen.end(), true));
  EXPECT_GT(wire_.dropped(), 0u);
  EXPECT_LT(delivered, static_cast<size_t>(kMessages)) << "nothing was lost: no loss tested";
  EXPECT_GE(delivered, wanted);
  EXPECT_EQ(a_.state(), SctpState::kConnected);
}

TEST_F(SctpAssociationTest, StreamResetClosesTheChannelOnBothSides) {
  Connect();
  const uint16_t id = Open(a_, b_, {});
  // Messages sent before the close arrive before it (RFC 8831 6.7).
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(a_->Send(id, kPpidString, Text("bye")).ok());
  ASSERT_TRUE(a_->CloseChannel(id).ok());
  EXPECT_EQ(a_->Send(id, kPpidString, Text("late")).code(), absl::StatusCode::kFailedPrecondition);

  ASSERT_TRUE(RunUntil([&] { return a_.Closed(id) && b_.Closed(id); }));
  EXPECT_EQ(b_.messages.size(), 3u);
  EXPECT_EQ(a_->channel_count(), 0u);
  EXPECT_EQ(b_->channel_count(), 0u);
  EXPECT_EQ(b_->Send(id, kPpidString, Text("x")).code(), absl::StatusCode::kFailedPrecondition);

  // The id is free again; the peer may close a channel it did not open.
  const uint16_t again = Open(a_, b_, {});
  EXPECT_EQ(again, id);
  ASSERT_TRUE(b_->CloseChannel(again).ok());
  ASSERT_TRUE(RunUntil([&] { return a_.closed.size() == 2 && b_.closed.size() == 2; }));
  // Several at once.
  std::vector<uint16_t> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(Open(a_, b_, {}));
  for (uint16_t i : ids) ASSERT_TRUE(a_->CloseChannel(i).ok());
  ASSERT_TRUE(RunUntil([&] { return a_.closed.size() == 7 && b_.closed.size() == 7; }));
  EXPECT_EQ(a_.state(), SctpState::kConnected);
}

TEST_F(SctpAssociationTest, FullSendBufferRefusesThenRecovers) {
  Connect();
  DataChannelParams params;
  params.label = "bulk";
  const uint16_t id = Open(a_, b_, params);
  const uint16_t other = Open(a_, b_, params);
  a_->SetBufferedAmountLowThreshold(id, 0);
  // The peer reads nothing while the wire holds every packet: the buffer fills.
  wire_.Pause();
  const Bytes chunk(60000, 0xAB);
  int accepted = 0;
  absl::Status s;
  while ((s = a_->Send(accepted % 2 ? other : id, kPpidBinary, chunk)).ok()) ++accepted;
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted) << s;
  EXPECT_NE(s.message().find("send buffer full"), std::string::npos);
  EXPECT_EQ(a_->stats().sends_refused_buffer_full, 1u);
  EXPECT_GE(accepted, 14);  // about 1 MiB of 60 KB messages
  EXPECT_LE(accepted, 18);
  EXPECT_GT(a_->buffered_amount(), kSctpSendBufferSize * 3 / 4);
  EXPECT_GT(a_->buffered_amount(id), 0u);
  EXPECT_LE(a_->buffered_amount(id) + a_->buffered_amount(other), a_->buffered_amount());
  // Still refused while nothing drains.
  EXPECT_FALSE(a_->Send(id, kPpidBinary, chunk).ok());

  wire_.Resume();
  ASSERT_TRUE(RunUntil([&] { return a_.available == 1; }));
  EXPECT_LE(a_->buffered_amount(), kSctpSendBufferSize / 2);
  EXPECT_TRUE(a_->Send(id, kPpidBinary, chunk).ok());
  ++accepted;
  ASSERT_TRUE(RunUntil([&] { return b_.messages.size() == static_cast<size_t>(accepted); }));
  for (const Message& m : b_.messages) EXPECT_EQ(m.data, chunk);
  ASSERT_TRUE(RunUntil([&] {
    return a_->buffered_amount() == 0 && std::count(a_.low.begin(), a_.low.end(), id) > 0;
  }));
  EXPECT_EQ(a_->buffered_amount(id), 0u);
  EXPECT_EQ(a_->buffered_amount(other), 0u);
}

TEST_F(SctpAssociationTest, DestroyingMidTransferIsClean) {
  Connect();
  const uint16_t id = Open(a_, b_, {});
  const Bytes chunk(50000, 0x11);
  a_.on_available = [&] {
    while (a_->Send(id, kPpidBinary, chunk).ok()) {
    }
  };
  a_.on_available();
  ASSERT_TRUE(RunUntil([&] { return b_.message_count >= 5; }));
  a_.Destroy();
  // Packets in flight to it are dropped by the wire.
  ASSERT_FALSE(RunUntil([&] { return false; }, 200));
  EXPECT_EQ(b_.state(), SctpState::kConnected);  // not told: Destroy is silent
  b_.Destroy();
  EXPECT_EQ(UsrsctpRuntime::connections(), 0u);
  // usrsctp freed everything and finished: its one thread (the idle "SCTP iterator" that even
  // usrsctp_init_nothreads starts) is gone with it.
  EXPECT_FALSE(UsrsctpRuntime::initialized());
  size_t threads = 0;
  for ([[maybe_unused]] const auto& entry :
       std::filesystem::directory_iterator("/proc/self/task")) {
    ++threads;
  }
  EXPECT_EQ(threads, 1u);
}

TEST_F(SctpAssociationTest, CloseAbortsThePeer) {
  Connect();
  const uint16_t id = Open(a_, b_, {});
  ASSERT_TRUE(a_->Send(id, kPpidBinary, Bytes(60000, 0x22)).ok());
  a_->Close();
  EXPECT_EQ(a_->state(), SctpState::kClosed);
  EXPECT_FALSE(a_->Send(id, kPpidString, Text("x")).ok());
  ASSERT_TRUE(RunUntil([&] { return b_.state() == SctpState::kFailed; }));
  EXPECT_NE(b_.last_reason.find("lost"), std::string::npos) << b_.last_reason;
  a_->ProcessSctpPacket(nullptr, 0);  // ignored once closed
}

TEST_F(SctpAssociationTest, ListenerMayDestroyTheAssociationFromACallback) {
  Connect();
  const uint16_t id = Open(a_, b_, {});
  b_.on_message = [&](uint16_t, uint32_t, absl::Span<const uint8_t>) { b_.Destroy(); };
  ASSERT_TRUE(a_->Send(id, kPpidString, Text("one")).ok());
  ASSERT_TRUE(a_->Send(id, kPpidString, Text("two")).ok());
  ASSERT_TRUE(RunUntil([&] { return b_.association == nullptr; }));
  EXPECT_EQ(b_.message_count, 1u);
}

TEST_F(SctpAssociationTest, CloseFromACallbackEndsListenerCalls) {
  Connect();
  const uint16_t id = Open(a_, b_, {});
  b_.on_message = [&](uint16_t, uint32_t, absl::Span<const uint8_t>) { b_->Close(); };
  ASSERT_TRUE(a_->Send(id, kPpidString, Text("one")).ok());
  ASSERT_TRUE(a_->Send(id, kPpidString, Text("two")).ok());
  ASSERT_TRUE(RunUntil([&] { return a_.state() == SctpState::kFailed; }));  // b's ABORT
  EXPECT_EQ(b_.message_count, 1u);
  EXPECT_EQ(b_.states, (std::vector<SctpState>{SctpState::kConnected}));
  EXPECT_TRUE(b_.closed.empty());
  EXPECT_EQ(b_->state(), SctpState::kClosed);
}

TEST_F(SctpAssociationTest, PeerProtocolErrorsAreCountedAndSurvived) {
  Connect();
  const uint16_t id = Open(a_, b_, {});
  // Data on a stream b has no channel for (a declared a negotiated one, b did not).
  DataChannelParams only_a;
  only_a.negotiated = true;
  only_a.stream_id = 20;
  ASSERT_TRUE(a_->OpenChannel(only_a).ok());
  ASSERT_TRUE(a_->Send(20, kPpidString, Text("nobody listens")).ok());
  // An OPEN for a stream b already uses (b declared it negotiated): refused by closing the
  // channel on that stream (RFC 8832 6), on both sides.
  DataChannelParams on_b;
  on_b.negotiated = true;
  on_b.stream_id = 30;
  ASSERT_TRUE(b_->OpenChannel(on_b).ok());
  DataChannelParams clash;
  clash.stream_id = 30;
  ASSERT_TRUE(a_->OpenChannel(clash).ok());
  ASSERT_TRUE(RunUntil([&] {
    return b_->stats().messages_unknown_stream == 1 && b_->stats().dcep_unexpected == 1 &&
           b_.Closed(30) && a_.Closed(30);
  }));
  EXPECT_FALSE(a_.Opened(30));

  // What a broken or hostile peer could send, injected as a's next DATA chunks.
  wire_.Pause();
  const Bytes truncated_open = {0x03, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x09};
  wire_.InjectData(1, 42, kPpidDcep, truncated_open);
  EXPECT_EQ(b_->stats().dcep_malformed, 1u);
  wire_.InjectData(1, 44, kPpidDcep, Bytes{0x07});  // unknown DCEP message type
  EXPECT_EQ(b_->stats().dcep_malformed, 2u);
  wire_.InjectData(1, 46, kPpidDcep, Bytes{0x02});  // an ACK for nothing b opened
  EXPECT_EQ(b_->stats().dcep_unexpected, 2u);
  // An OPEN with b's own parity (b is the DTLS server: odd ids are its to pick) is refused
  // with a reset of that stream, and no channel.
  auto odd_open = BuildDcepOpen(DcepOpenFor({}, kDcepPriorityNormal, "odd", ""));
  const size_t packets_before = wire_.sent();
  wire_.InjectData(1, 43, kPpidDcep, *odd_open);
  EXPECT_EQ(b_->stats().dcep_unexpected, 3u);
  EXPECT_GT(wire_.sent(), packets_before);  // b's RE-CONFIG (and SACK)
  EXPECT_FALSE(b_->channel(43).has_value());
  wire_.InjectData(1, id, kPpidStringPartial, Text("deprecated"));
  wire_.InjectData(1, id, 0x12345678, Text("unknown"));
  EXPECT_EQ(b_->stats().messages_unknown_ppid, 2u);
  wire_.InjectData(1, id, kPpidString, Text("a real one"));
  ASSERT_EQ(b_.messages.size(), 1u);
  EXPECT_EQ(b_.messages[0].data, Text("a real one"));
  EXPECT_EQ(b_.opened.size(), 1u);  // none of the bad OPENs made a channel
  EXPECT_EQ(b_->state(), SctpState::kConnected);
  EXPECT_EQ(b_->stats().packets_invalid, 0u);
}

TEST_F(SctpAssociationTest, GarbageIsCountedAndHarmless) {
  Connect();
  const uint16_t id = Open(a_, b_, {});
  const Bytes short_packet = {1, 2, 3};
  b_->ProcessSctpPacket(short_packet.data(), short_packet.size());
  Bytes junk(200);
  std::minstd_rand rng(3);
  for (auto& byte : junk) byte = static_cast<uint8_t>(rng());
  junk[0] = 0x13;
  junk[1] = 0x88;  // source port 5000
  junk[2] = 0x13;
  junk[3] = 0x88;                                   // destination port 5000
  b_->ProcessSctpPacket(junk.data(), junk.size());  // bad checksum
  EXPECT_EQ(b_->stats().packets_invalid, 2u);
  ASSERT_TRUE(a_->Send(id, kPpidString, Text("still fine")).ok());
  ASSERT_TRUE(RunUntil([&] { return b_.messages.size() == 1; }));
  EXPECT_EQ(b_.state(), SctpState::kConnected);
}

TEST_F(SctpAssociationTest, NothingBeforeConnected) {
  a_.Create(loop_.get(), {});
  EXPECT_EQ(a_->state(), SctpState::kNew);
  EXPECT_EQ(a_->OpenChannel({}).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(a_->Send(0, kPpidString, Text("x")).code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(a_->Connect().ok());
  EXPECT_FALSE(a_->Connect().ok());
  EXPECT_EQ(UsrsctpRuntime::connections(), 1u);
}

}  // namespace
}  // namespace sb::transport
