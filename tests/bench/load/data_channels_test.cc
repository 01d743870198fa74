// The load generator's data channels: the chat and file message formats (every change to a
// message is caught), and DataChannels against a server-side SctpAssociation wired back to back
// in memory on a real loop, standing in for the worker: our channels open and carry what the
// options ask, and the channels the "server" opens to us are checked message by message.
#include "bench/load/data_channels.h"

#include <gtest/gtest.h>

#include <deque>
#include <string>
#include <vector>

#include "tests/transport/test_loop.h"

namespace sb::bench {
namespace {

using transport::testing::TestLoop;
using Bytes = std::vector<uint8_t>;

TEST(DataMessages, ChatMessagesRoundTripWithinTheirSizeAndCatchEveryChange) {
  size_t shortest = SIZE_MAX, longest = 0;
  for (uint64_t seq = 0; seq < 2000; ++seq) {
    const std::string text = BuildChatMessage(seq, 1234567890 + static_cast<int64_t>(seq));
    shortest = std::min(shortest, text.size());
    longest = std::max(longest, text.size());
    auto h = CheckChatMessage(text);
    ASSERT_TRUE(h.has_value()) << text;
    EXPECT_EQ(h->seq, seq);
    EXPECT_EQ(h->send_us, 1234567890 + static_cast<int64_t>(seq));
  }
  EXPECT_EQ(shortest, kChatMinBytes);
  EXPECT_EQ(longest, kChatMaxBytes);

  const std::string text = BuildChatMessage(41, 1000);
  std::string changed = text;
  changed[text.size() / 2] ^= 1;
  EXPECT_FALSE(CheckChatMessage(changed));
  EXPECT_FALSE(CheckChatMessage(text.substr(0, text.size() - 1)));
  EXPECT_FALSE(CheckChatMessage(text + "x"));
  // Another message's text under this one's header.
  EXPECT_FALSE(CheckChatMessage("41 1000 " + BuildChatMessage(42, 1000).substr(8)));
  EXPECT_FALSE(CheckChatMessage(""));
  EXPECT_FALSE(CheckChatMessage("41"));
  EXPECT_FALSE(CheckChatMessage("x y z"));
}

TEST(DataMessages, FileMessagesRoundTripWithinTheirSizeAndCatchEveryChange) {
  Bytes m;
  size_t shortest = SIZE_MAX, longest = 0;
  for (uint64_t seq = 0; seq < 300; ++seq) {
    BuildFileMessage(seq, 777, &m);
    ASSERT_EQ(m.size(), FileMessageSize(seq));
    shortest = std::min(shortest, m.size());
    longest = std::max(longest, m.size());
    auto h = CheckFileMessage(m);
    ASSERT_TRUE(h.has_value()) << seq;
    EXPECT_EQ(h->seq, seq);
    EXPECT_EQ(h->send_us, 777);
  }
  EXPECT_GE(shortest, kFileMinBytes);
  EXPECT_LE(longest, kFileMaxBytes);
  EXPECT_GT(longest - shortest, (kFileMaxBytes - kFileMinBytes) / 2) << "sizes spread";

  BuildFileMessage(5, 1, &m);
  for (size_t at : {size_t{0}, size_t{17}, size_t{24}, m.size() / 2, m.size() - 1}) {
    Bytes changed = m;
    changed[at] ^= 0x40;
    EXPECT_FALSE(CheckFileMessage(changed)) << "byte " << at;
  }
  EXPECT_FALSE(CheckFileMessage(absl::Span<const uint8_t>(m.data(), m.size() - 1)));
  EXPECT_FALSE(CheckFileMessage(absl::Span<const uint8_t>(m.data(), 10)));
  // Message 5's body under message 6's header (same size would still differ by offset).
  Bytes other;
  BuildFileMessage(6, 1, &other);
  std::copy(m.begin(), m.begin() + 24, other.begin());
  EXPECT_FALSE(CheckFileMessage(other));
}

// Carries SCTP packets between our DataChannels (the client) and a server association, one
// loop turn later, as DTLS over loopback would.
class Link {
 public:
  explicit Link(uv_loop_t* loop) : idle_(new uv_idle_t) {
    uv_idle_init(loop, idle_);
    idle_->data = this;
  }
  ~Link() {
    uv_close(reinterpret_cast<uv_handle_t*>(idle_),
             [](uv_handle_t* h) { delete reinterpret_cast<uv_idle_t*>(h); });
  }
  void Attach(DataChannels* client, transport::SctpAssociation* server) {
    client_ = client;
    server_ = server;
  }
  void Send(bool to_server, const uint8_t* data, size_t len) {
    queue_.push_back({to_server, Bytes(data, data + len)});
    uv_idle_start(idle_, [](uv_idle_t* h) { static_cast<Link*>(h->data)->Deliver(); });
  }

 private:
  void Deliver() {
    uv_idle_stop(idle_);
    std::deque<std::pair<bool, Bytes>> batch;
    batch.swap(queue_);
    for (auto& [to_server, bytes] : batch) {
      if (to_server && server_) server_->ProcessSctpPacket(bytes.data(), bytes.size());
      if (!to_server && client_) client_->ProcessSctpPacket(bytes.data(), bytes.size());
    }
  }
  uv_idle_t* idle_;
  DataChannels* client_ = nullptr;
  transport::SctpAssociation* server_ = nullptr;
  std::deque<std::pair<bool, Bytes>> queue_;
};

// The worker's side: hears our channels and messages, opens channels to us.
class Server : public transport::SctpAssociation::Listener {
 public:
  explicit Server(Link* link) : link_(link) {}
  void SendSctpPacket(const uint8_t* data, size_t len) override { link_->Send(false, data, len); }
  void OnSctpStateChange(transport::SctpState, const std::string&) override {}
  void OnDataChannelOpen(const transport::DataChannelInfo& info) override {
    if (info.opened_by_peer) labels[info.stream_id] = info.label;
  }
  void OnDataChannelMessage(uint16_t stream_id, uint32_t ppid,
                            absl::Span<const uint8_t> data) override {
    const std::string& label = labels[stream_id];
    if (label == kChatLabel && ppid == transport::kPpidString &&
        CheckChatMessage(
            std::string_view(reinterpret_cast<const char*>(data.data()), data.size()))) {
      ++chat_ok;
    } else if (label == kFileLabel && ppid == transport::kPpidBinary && CheckFileMessage(data)) {
      ++file_ok;
      file_bytes += data.size();
    } else {
      ++bad;
    }
  }
  void OnDataChannelClosed(uint16_t) override {}
  void OnBufferedAmountLow(uint16_t) override {}
  void OnSctpSendBufferAvailable() override {}

  std::map<uint16_t, std::string> labels;
  int chat_ok = 0, file_ok = 0, bad = 0;
  uint64_t file_bytes = 0;

 private:
  Link* link_;
};

class DataChannelsTest : public ::testing::Test {
 protected:
  void Connect(const DataOptions& options) {
    client_ = std::make_unique<DataChannels>(
        loop_.get(), options, "r0-u1", &stats_,
        [this](const uint8_t* d, size_t n) { link_.Send(true, d, n); });
    auto server = transport::SctpAssociation::Create(loop_.get(), &server_, {});
    ASSERT_TRUE(server.ok());
    association_ = *std::move(server);
    link_.Attach(client_.get(), association_.get());
    ASSERT_TRUE(association_->Connect().ok());
    ASSERT_TRUE(client_->Start(transport::kSctpMaxMessageSize).ok());
  }
  // The server's channel for participant `from`'s channel `label`, as the worker opens it.
  uint16_t OpenFrom(const std::string& from, const char* label) {
    transport::DataChannelParams p;
    p.label = label;
    p.protocol = from;
    auto id = association_->OpenChannel(p);
    EXPECT_TRUE(id.ok());
    return id.ok() ? *id : 0;
  }
  void Send(uint16_t id, uint32_t ppid, absl::Span<const uint8_t> data) {
    ASSERT_TRUE(association_->Send(id, ppid, data).ok());
  }
  void SendChat(uint16_t id, uint64_t seq, int64_t send_us) {
    const std::string t = BuildChatMessage(seq, send_us);
    Send(id, transport::kPpidString,
         absl::Span<const uint8_t>(reinterpret_cast<const uint8_t*>(t.data()), t.size()));
  }
  std::vector<DataFlowReport> Reports() const {
    std::vector<DataFlowReport> out;
    client_->AppendReports(&out);
    return out;
  }

  TestLoop loop_;
  Link link_{loop_.get()};
  Server server_{&link_};
  GeneratorStats stats_;
  std::unique_ptr<transport::SctpAssociation> association_;
  std::unique_ptr<DataChannels> client_;
};

TEST_F(DataChannelsTest, OpensChatAndFileAndSendsAtTheirRates) {
  DataOptions o;
  o.enabled = true;
  o.chat_rate = 50;
  o.file_kbps = 4000;  // 500 KB/s: about 12 messages of 40 KiB in a second
  Connect(o);
  ASSERT_TRUE(loop_.RunUntil([&] { return client_->Ready(0); }));
  EXPECT_EQ(server_.labels.size(), 2u);
  client_->StartCounting(NowUs());
  const int64_t start = NowUs();
  ASSERT_TRUE(loop_.RunUntil([&] { return NowUs() - start >= 1'000'000; }, 3000));
  client_->StopSending();
  loop_.RunUntil([] { return false; }, 200);
  EXPECT_EQ(server_.bad, 0);
  const DataSentCounts& chat = client_->sent(kChatLabel);
  const DataSentCounts& file = client_->sent(kFileLabel);
  EXPECT_EQ(static_cast<uint64_t>(server_.chat_ok), chat.messages);
  EXPECT_EQ(static_cast<uint64_t>(server_.file_ok), file.messages);
  // One second at 50 messages/s and 500 KB/s (the bucket starts with up to 128 KiB).
  EXPECT_NEAR(static_cast<double>(chat.counted_messages), 50, 6);
  EXPECT_GT(file.counted_bytes, 400'000u);
  EXPECT_LT(file.counted_bytes, 500'000u + 2 * kFileMaxBytes);
}

TEST_F(DataChannelsTest, ChecksWhatTheServerForwardsMessageByMessage) {
  DataOptions o;
  o.enabled = true;
  Connect(o);
  ASSERT_TRUE(loop_.RunUntil([&] { return client_->connected(); }));
  const uint16_t alice = OpenFrom("alice-id", kChatLabel);
  const uint16_t bob = OpenFrom("bob-id", kChatLabel);
  ASSERT_TRUE(loop_.RunUntil([&] { return client_->Ready(2); }));
  const int64_t start = NowUs();
  client_->StartCounting(start);
  // Alice: a message from before counting, then 3, 4, 6 (5 lost), a changed one, 8.
  SendChat(alice, 2, start - 1000);
  SendChat(alice, 3, start);
  SendChat(alice, 4, start);
  SendChat(alice, 6, start);
  std::string changed = BuildChatMessage(7, start);
  changed.back() ^= 1;
  Send(alice, transport::kPpidString,
       absl::Span<const uint8_t>(reinterpret_cast<const uint8_t*>(changed.data()), changed.size()));
  SendChat(alice, 8, start);
  // Bob: 0-2 in order, then message 3 as binary (not what was sent).
  for (uint64_t seq = 0; seq < 3; ++seq) SendChat(bob, seq, start);
  const std::string three = BuildChatMessage(3, start);
  Send(bob, transport::kPpidBinary,
       absl::Span<const uint8_t>(reinterpret_cast<const uint8_t*>(three.data()), three.size()));
  ASSERT_TRUE(loop_.RunUntil([&] {
    uint64_t n = 0;
    for (const auto& r : Reports()) n += r.messages;
    return n == 10;
  }));
  auto reports = Reports();
  ASSERT_EQ(reports.size(), 2u);
  for (const DataFlowReport& r : reports) {
    EXPECT_EQ(r.receiver, "r0-u1");
    EXPECT_EQ(r.label, kChatLabel);
    if (r.sender == "alice-id") {
      EXPECT_EQ(r.messages, 6u);
      EXPECT_EQ(r.counted_messages, 4u) << "3, 4, 6 and 8; not 2 (before) nor the changed one";
      EXPECT_EQ(r.sequence_errors, 2u) << "6 after 4, and 8 after 6";
      EXPECT_EQ(r.corrupt, 1u);
    } else {
      EXPECT_EQ(r.sender, "bob-id");
      EXPECT_EQ(r.counted_messages, 3u);
      EXPECT_EQ(r.sequence_errors, 0u);
      EXPECT_EQ(r.corrupt, 1u);
    }
  }
  EXPECT_EQ(stats_.chat_latency.count(), 7u);

  // The server closes Bob's channel and says why.
  ASSERT_TRUE(association_->CloseChannel(bob).ok());
  client_->OnClosedByServer("bob-id", kChatLabel, "receiver-too-slow");
  ASSERT_TRUE(loop_.RunUntil([&] { return client_->open_peer_channels() == 1; }));
  reports = Reports();
  ASSERT_EQ(reports.size(), 2u);
  EXPECT_TRUE(reports[1].closed);
  EXPECT_EQ(reports[1].closed_reason, "receiver-too-slow");
  EXPECT_EQ(stats_.data_channels_closed_by_server, 1u);
  client_->Close();
}

}  // namespace
}  // namespace sb::bench
