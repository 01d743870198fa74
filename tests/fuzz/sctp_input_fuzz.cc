// SctpAssociation::ProcessSctpPacket on a connected association (A, the DTLS client) with a
// channel its peer (B) opened. The input is a list of operations; the harness writes what a
// fuzzer cannot guess so that the bytes get past usrsctp's checks into its chunk handling and
// our DCEP, reassembly, stream-reset and notification code:
//   op % 4 == 0  chunks:  u16 length, bytes: sent after a common header with ports 5000, the
//                         verification tag A expects and a correct CRC32c
//   op % 4 == 1  DATA:    flags, u16 stream (0xFFFF: B's channel), ppid selector, TSN delta,
//                         SSN delta (signed), u16 length, payload: one DATA chunk (RFC 9260
//                         3.3.1) with the next TSN and SSN A expects (plus the deltas) in
//                         such a packet
//   op % 4 == 2  raw:     u16 length, bytes: given to ProcessSctpPacket as they are
//   op % 4 == 3  timers:  one turn of the loop (usrsctp's timer, deferred reads)
// What A sends is dropped after the setup (B stays silent). A fresh pair is made whenever A is
// no longer connected. Invariants: messages A delivers are within its max-message-size and on
// streams it knows, packets it sends fit kSctpMtu, counters stay consistent.
#include <usrsctp.h>
#include <uv.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tests/fuzz/fuzz_check.h"
#include "transport/sctp_association.h"

namespace {

using namespace sb::transport;
using Bytes = std::vector<uint8_t>;

constexpr size_t kMaxMessage = 65536;  // A's max-message-size: partial delivery is reachable
constexpr uint32_t kPpids[8] = {kPpidDcep,        kPpidString,        kPpidStringPartial,
                                kPpidBinary,      kPpidBinaryPartial, kPpidStringEmpty,
                                kPpidBinaryEmpty, 0x12345678};

uint16_t ReadU16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
uint32_t ReadU32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) << 24 | static_cast<uint32_t>(p[1]) << 16 |
         static_cast<uint32_t>(p[2]) << 8 | p[3];
}
void PutU16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
void PutU32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (24 - 8 * i));
}

class Pair;

class Side : public SctpAssociation::Listener {
 public:
  Side(Pair* pair, int index) : pair_(pair), index_(index) {}
  void SendSctpPacket(const uint8_t* data, size_t len) override;
  void OnSctpStateChange(SctpState, const std::string&) override {}
  void OnDataChannelOpen(const DataChannelInfo& info) override { last_open = info.stream_id; }
  void OnDataChannelMessage(uint16_t stream_id, uint32_t ppid,
                            absl::Span<const uint8_t> data) override {
    SB_FUZZ_CHECK(data.size() <= kMaxMessage);
    SB_FUZZ_CHECK(ppid == kPpidString || ppid == kPpidBinary);
    SB_FUZZ_CHECK(association->channel(stream_id).has_value());
    ++messages;
  }
  void OnDataChannelClosed(uint16_t stream_id) override {
    SB_FUZZ_CHECK(!association->channel(stream_id).has_value());
  }
  void OnBufferedAmountLow(uint16_t) override {}
  void OnSctpSendBufferAvailable() override {}

  std::unique_ptr<SctpAssociation> association;
  int last_open = -1;
  size_t messages = 0;

 private:
  Pair* pair_;
  int index_;
};

class Pair {
 public:
  explicit Pair(uv_loop_t* loop) : a_(this, 0), b_(this, 1) {
    SctpOptions options;
    options.max_message_size = kMaxMessage;
    options.dtls_client = true;
    a_.association = std::move(SctpAssociation::Create(loop, &a_, options).value());
    options.dtls_client = false;
    b_.association = std::move(SctpAssociation::Create(loop, &b_, options).value());
    SB_FUZZ_CHECK(a_.association->Connect().ok());
    SB_FUZZ_CHECK(b_.association->Connect().ok());
    Flush();
    SB_FUZZ_CHECK(a().state() == SctpState::kConnected);
    DataChannelParams params;
    params.label = "fuzz";
    channel_ = b_.association->OpenChannel(params).value();
    const uint8_t hello[] = {'h', 'i'};
    SB_FUZZ_CHECK(b_.association->Send(channel_, kPpidString, hello).ok());
    Flush();
    SB_FUZZ_CHECK(a_.last_open == channel_ && a_.messages == 1);
    SB_FUZZ_CHECK(vtag_ != 0);
    setup_ = false;
  }
  ~Pair() {
    a_.association.reset();
    b_.association.reset();
  }

  SctpAssociation& a() { return *a_.association; }
  uint16_t channel() const { return channel_; }

  // Carries packets between the two until quiet (setup only).
  void Flush() {
    for (int rounds = 0; rounds < 1000 && !wire_.empty(); ++rounds) {
      auto [to, bytes] = std::move(wire_.front());
      wire_.pop_front();
      Side& side = to == 0 ? a_ : b_;
      side.association->ProcessSctpPacket(bytes.data(), bytes.size());
    }
  }

  void Outgoing(int from, const uint8_t* data, size_t len) {
    SB_FUZZ_CHECK(len <= kSctpMtu);
    if (from == 1 && len >= 12) Observe(data, len);
    if (setup_) wire_.push_back({1 - from, Bytes(data, data + len)});
  }

  // A packet from "B" to A with a correct header and checksum.
  void SendChunks(const uint8_t* chunks, size_t len) {
    Bytes packet(12 + len);
    PutU16(packet.data(), kSctpPort);
    PutU16(packet.data() + 2, kSctpPort);
    PutU32(packet.data() + 4, vtag_);
    if (len > 0) std::memcpy(packet.data() + 12, chunks, len);
    // usrsctp_crc32c returns the value in the byte order the header carries.
    const uint32_t crc = usrsctp_crc32c(packet.data(), packet.size());
    std::memcpy(packet.data() + 8, &crc, sizeof(crc));
    a().ProcessSctpPacket(packet.data(), packet.size());
  }

  // The SSN for an injected DATA chunk: the stream's next one plus delta; a complete ordered
  // message (delta 0) moves the stream on.
  uint16_t TakeSsn(uint16_t stream, uint8_t flags, int8_t delta) {
    uint16_t& next = next_ssn_[stream];
    const auto ssn = static_cast<uint16_t>(next + delta);
    if (delta == 0 && (flags & 0x04) == 0 && (flags & 0x01) != 0) ++next;
    return ssn;
  }

  uint32_t TakeTsn(int8_t delta) {
    const uint32_t tsn = next_tsn_ + static_cast<uint32_t>(static_cast<int32_t>(delta));
    if (delta == 0) ++next_tsn_;
    return tsn;
  }

 private:
  // B's packets carry the tag A expects (all but B's INIT) and B's TSNs.
  void Observe(const uint8_t* data, size_t len) {
    const uint32_t tag = ReadU32(data + 4);
    size_t offset = 12;
    while (offset + 4 <= len) {
      const uint8_t type = data[offset];
      const uint16_t length = ReadU16(data + offset + 2);
      if (length < 4 || offset + length > len) break;
      if (type == 0 && length >= 16) {
        next_tsn_ = ReadU32(data + offset + 4) + 1;
        const uint8_t flags = data[offset + 1];
        // An ordered message's last fragment: the stream's next SSN follows it.
        if ((flags & 0x04) == 0 && (flags & 0x01) != 0) {
          next_ssn_[ReadU16(data + offset + 8)] = ReadU16(data + offset + 10) + 1;
        }
      }
      if (type != 1) vtag_ = tag;  // not INIT
      offset += (length + 3u) & ~3u;
    }
  }

  Side a_;
  Side b_;
  std::deque<std::pair<int, Bytes>> wire_;
  bool setup_ = true;
  uint32_t vtag_ = 0;
  uint32_t next_tsn_ = 0;
  std::map<uint16_t, uint16_t> next_ssn_;
  uint16_t channel_ = 0;
};

void Side::SendSctpPacket(const uint8_t* data, size_t len) { pair_->Outgoing(index_, data, len); }

uv_loop_t* Loop() {
  static uv_loop_t* loop = [] {
    auto* l = new uv_loop_t;
    uv_loop_init(l);
    return l;
  }();
  return loop;
}

std::unique_ptr<Pair> g_pair;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (!g_pair || g_pair->a().state() != SctpState::kConnected) {
    g_pair.reset();
    uv_run(Loop(), UV_RUN_NOWAIT);  // close callbacks of the old pair's timer
    g_pair = std::make_unique<Pair>(Loop());
  }
  Pair& pair = *g_pair;
  const auto before = pair.a().stats();
  size_t packets = 0;
  size_t i = 0;
  while (i < size) {
    const uint8_t op = data[i++] % 4;
    if (op == 3) {
      uv_run(Loop(), UV_RUN_NOWAIT);
      continue;
    }
    if (op == 1) {
      if (size - i < 8) break;
      const uint8_t flags = data[i];
      uint16_t stream = ReadU16(data + i + 1);
      const uint32_t ppid = kPpids[data[i + 3] % 8];
      const auto delta = static_cast<int8_t>(data[i + 4]);
      const auto ssn_delta = static_cast<int8_t>(data[i + 5]);
      const size_t len = std::min<size_t>(ReadU16(data + i + 6), size - i - 8);
      i += 8;
      if (stream == 0xFFFF) stream = pair.channel();
      Bytes chunk(16 + ((len + 3) & ~size_t{3}), 0);
      chunk[0] = 0;             // DATA
      chunk[1] = flags & 0x0F;  // I, U, B, E
      PutU16(chunk.data() + 2, static_cast<uint16_t>(16 + len));
      PutU32(chunk.data() + 4, pair.TakeTsn(delta));
      PutU16(chunk.data() + 8, stream);
      PutU16(chunk.data() + 10, pair.TakeSsn(stream, flags, ssn_delta));
      PutU32(chunk.data() + 12, ppid);
      if (len > 0) std::memcpy(chunk.data() + 16, data + i, len);
      i += len;
      pair.SendChunks(chunk.data(), chunk.size());
    } else {
      if (size - i < 2) break;
      const size_t len = std::min<size_t>(ReadU16(data + i), size - i - 2);
      i += 2;
      if (op == 0) {
        pair.SendChunks(data + i, len);
      } else {
        pair.a().ProcessSctpPacket(data + i, len);
      }
      i += len;
    }
    ++packets;
    if (pair.a().state() != SctpState::kConnected) break;
  }
  const auto& after = pair.a().stats();
  SB_FUZZ_CHECK(after.packets_received - before.packets_received == packets);
  SB_FUZZ_CHECK(after.packets_invalid - before.packets_invalid <= packets);
  SB_FUZZ_CHECK(pair.a().channel_count() <= pair.a().inbound_streams() + 1u);
  return 0;
}
