// RTCP: the compound walk (ForEachRtcpPacket) and every packet type's Parse, with
// parse -> serialize -> parse round trips (the second parse must give the same value, and the
// serialized size must be the one Size() announced).
#include <cstddef>
#include <cstdint>
#include <vector>

#include "rtp/rtcp/app.h"
#include "rtp/rtcp/bye.h"
#include "rtp/rtcp/fir.h"
#include "rtp/rtcp/nack.h"
#include "rtp/rtcp/pli.h"
#include "rtp/rtcp/receiver_report.h"
#include "rtp/rtcp/remb.h"
#include "rtp/rtcp/report_block.h"
#include "rtp/rtcp/rtcp_packet.h"
#include "rtp/rtcp/sdes.h"
#include "rtp/rtcp/sender_report.h"
#include "rtp/rtcp/sli.h"
#include "rtp/rtcp/tmmb.h"
#include "rtp/rtcp/transport_feedback.h"
#include "rtp/rtcp/xr.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using namespace sb::rtp;

// Serializes a parsed value and parses it back; returns the reparsed value.
template <typename T>
T SerializeAndParse(const T& v) {
  const size_t size = v.Size();
  SB_FUZZ_CHECK(size >= kRtcpHeaderSize && size % 4 == 0);
  std::vector<uint8_t> out(size + 8);
  SB_FUZZ_CHECK(v.Serialize(out.data(), size - 1) == 0);  // too small: refused
  const size_t n = v.Serialize(out.data(), out.size());
  SB_FUZZ_CHECK(n == size);
  auto header = ParseRtcpHeader(absl::MakeConstSpan(out.data(), n));
  SB_FUZZ_CHECK(header.ok() && header->packet.size() == n);
  auto again = T::Parse(absl::MakeConstSpan(out.data(), n));
  SB_FUZZ_CHECK(again.has_value());
  // A second serialization is byte-identical (the form is canonical after one round).
  std::vector<uint8_t> out2(size + 8);
  SB_FUZZ_CHECK(again->Serialize(out2.data(), out2.size()) == n);
  SB_FUZZ_CHECK(std::equal(out.begin(), out.begin() + n, out2.begin()));
  return *again;
}

// parse -> serialize -> parse gives the same value.
template <typename T>
void RoundTrip(const T& v) {
  SB_FUZZ_CHECK(SerializeAndParse(v) == v);
}

template <typename T>
void Try(absl::Span<const uint8_t> packet) {
  if (auto v = T::Parse(packet)) RoundTrip(*v);
}

// REMB and TMMBR/TMMBN bitrates are mantissa << exp, which can exceed 64 bits: Parse saturates
// and Serialize rounds down to what the fields express (remb.h, tmmb.h). The first round may
// lower a bitrate; from then on the value is a fixed point.
template <typename T>
void TryBitrate(absl::Span<const uint8_t> packet) {
  auto v = T::Parse(packet);
  if (!v) return;
  T once = SerializeAndParse(*v);
  SB_FUZZ_CHECK(SerializeAndParse(once) == once);
}

void CheckTransportFeedback(absl::Span<const uint8_t> packet) {
  auto fb = TransportFeedback::Parse(packet);
  if (!fb) return;
  SB_FUZZ_CHECK(!fb->packets.empty() && fb->packets.size() <= TransportFeedback::kMaxPackets);
  size_t received = 0;
  for (size_t i = 0; i < fb->packets.size(); ++i) {
    const TwccPacketStatus& s = fb->packets[i];
    SB_FUZZ_CHECK(s.sequence_number == static_cast<uint16_t>(fb->base_sequence_number + i));
    if (s.received) {
      ++received;
    } else {
      SB_FUZZ_CHECK(s.delta_ticks == 0);
    }
  }
  SB_FUZZ_CHECK(fb->ArrivalTimesUs().size() == received);
  RoundTrip(*fb);
}

void CheckNack(absl::Span<const uint8_t> packet) {
  auto nack = Nack::Parse(packet);
  if (!nack) return;
  RoundTrip(*nack);
  std::vector<uint16_t> seqs = nack->SequenceNumbers();
  SB_FUZZ_CHECK(seqs.size() >= nack->items.size());
  Nack packed = Nack::FromSequenceNumbers(1, 2, seqs);
  SB_FUZZ_CHECK(packed.items.size() <= seqs.size());
}

void CheckOne(const RtcpHeader& h, absl::Span<const uint8_t> all) {
  SB_FUZZ_CHECK(h.packet.data() >= all.data() &&
                h.packet.data() + h.packet.size() <= all.data() + all.size());
  SB_FUZZ_CHECK(h.packet.size() >= kRtcpHeaderSize);
  SB_FUZZ_CHECK(h.body.data() == h.packet.data() + kRtcpHeaderSize);
  SB_FUZZ_CHECK(kRtcpHeaderSize + h.body.size() + h.padding_length == h.packet.size());
  SB_FUZZ_CHECK(h.count_or_fmt < 32);
  // Every parser sees every packet: each must reject the types it does not own.
  Try<SenderReport>(h.packet);
  Try<ReceiverReport>(h.packet);
  Try<Sdes>(h.packet);
  Try<Bye>(h.packet);
  Try<App>(h.packet);
  Try<Xr>(h.packet);
  Try<Pli>(h.packet);
  Try<Sli>(h.packet);
  Try<Fir>(h.packet);
  TryBitrate<Remb>(h.packet);
  TryBitrate<Tmmbr>(h.packet);
  TryBitrate<Tmmbn>(h.packet);
  CheckNack(h.packet);
  CheckTransportFeedback(h.packet);
  if (h.body.size() >= ReportBlock::kSize) {
    ReportBlock b = ReportBlock::Parse(h.body.data());
    uint8_t out[ReportBlock::kSize];
    b.Write(out);
    SB_FUZZ_CHECK(ReportBlock::Parse(out) == b);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<uint8_t> buf(data, data + size);  // exact size: ASan sees any overread
  const absl::Span<const uint8_t> all(buf.data(), buf.size());
  (void)IsRtcp(all);
  size_t total = 0;
  absl::Status status = ForEachRtcpPacket(all, [&](const RtcpHeader& h) {
    total += h.packet.size();
    CheckOne(h, all);
  });
  SB_FUZZ_CHECK(total <= size);
  if (status.ok()) SB_FUZZ_CHECK(total == size);
  return 0;
}
