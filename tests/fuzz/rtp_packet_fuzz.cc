// RTP packets: RtpPacket::Parse, every typed header-extension parser (with write/parse round
// trips), the consumer's rewrite with a fixed id map, and RTX decapsulation/encapsulation.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

#include "rtp/header_extensions.h"
#include "rtp/rtp_packet.h"
#include "rtp/rtx.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using sb::rtp::ExtensionValue;
using sb::rtp::RtpPacket;
using sb::rtp::RtpRewrite;

bool SpanEq(absl::Span<const uint8_t> a, absl::Span<const uint8_t> b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size()) == 0);
}

template <typename T, typename ParseFn, typename WriteFn>
void RoundTrip(absl::Span<const uint8_t> value, ParseFn parse, WriteFn write) {
  std::optional<T> v = parse(value);
  if (!v) return;
  uint8_t buf[300];
  size_t n = write(*v, buf, sizeof(buf));
  if (n == 0) return;  // not every parsed value is writable (e.g. out-of-range fields)
  std::optional<T> again = parse(absl::Span<const uint8_t>(buf, n));
  SB_FUZZ_CHECK(again.has_value());
  SB_FUZZ_CHECK(*again == *v);
}

void CheckTypedExtensions(absl::Span<const uint8_t> v) {
  using namespace sb::rtp;
  RoundTrip<std::string_view>(v, ParseMid, WriteMid);
  RoundTrip<std::string_view>(v, ParseRid, WriteRid);
  RoundTrip<std::string_view>(v, ParseRepairedRid, WriteRepairedRid);
  RoundTrip<uint32_t>(v, ParseAbsSendTime, WriteAbsSendTime);
  RoundTrip<uint16_t>(v, ParseTransportSequenceNumber, WriteTransportSequenceNumber);
  RoundTrip<AudioLevel>(v, ParseAudioLevel, WriteAudioLevel);
  RoundTrip<VideoOrientation>(v, ParseVideoOrientation, WriteVideoOrientation);
  RoundTrip<int32_t>(v, ParseToffset, WriteToffset);
  RoundTrip<PlayoutDelay>(v, ParsePlayoutDelay, WritePlayoutDelay);
  RoundTrip<AbsCaptureTime>(v, ParseAbsCaptureTime, WriteAbsCaptureTime);
  if (auto t = ParseAbsSendTime(v)) {
    SB_FUZZ_CHECK(*t < (1u << 24));
    int64_t us = AbsSendTimeToUs(*t);
    SB_FUZZ_CHECK(us >= 0 && us < 64'000'000);
  }
}

// The consumer's map: ids 1..14 permuted (7 and 14 dropped), two-byte ids kept unless a
// multiple of 3; the consumer's mid is appended as id 3.
RtpRewrite MakeRewrite() {
  RtpRewrite rw;
  rw.ssrc = 0x11223344;
  rw.payload_type = 101;
  rw.sequence_number = 0xFFFE;
  rw.timestamp = 0xDEADBEEF;
  for (int id = 1; id <= 14; ++id) {
    rw.ext_id_map[id] = (id % 7 == 0) ? 0 : static_cast<uint8_t>((id * 5) % 14 + 1);
  }
  for (int id = 15; id < 256; ++id) {
    rw.ext_id_map[id] = (id % 3 == 0) ? 0 : static_cast<uint8_t>(id);
  }
  return rw;
}

constexpr uint8_t kMidId = 3;
constexpr uint8_t kMid[] = {'m', '1', '7'};

void CheckRewrite(const RtpPacket& in) {
  static const RtpRewrite base = MakeRewrite();
  RtpRewrite rw = base;
  const ExtensionValue extra[] = {{kMidId, absl::MakeConstSpan(kMid)}};
  rw.extra = extra;

  std::vector<uint8_t> out(in.size() + 4 * 256 + 64);
  size_t n = sb::rtp::WriteRewritten(in, rw, out.data(), out.size());
  SB_FUZZ_CHECK(n > 0);
  // Too small by one byte: refused, nothing claimed written.
  SB_FUZZ_CHECK(sb::rtp::WriteRewritten(in, rw, out.data(), n - 1) == 0);

  auto o = RtpPacket::Parse(out.data(), n);
  SB_FUZZ_CHECK(o.has_value());
  SB_FUZZ_CHECK(o->ssrc() == rw.ssrc && o->payload_type() == rw.payload_type);
  SB_FUZZ_CHECK(o->sequence_number() == rw.sequence_number && o->timestamp() == rw.timestamp);
  SB_FUZZ_CHECK(o->marker() == in.marker());
  SB_FUZZ_CHECK(o->csrc_count() == in.csrc_count());
  for (size_t i = 0; i < in.csrc_count(); ++i) SB_FUZZ_CHECK(o->csrc(i) == in.csrc(i));
  SB_FUZZ_CHECK(SpanEq(o->payload(), in.payload()));
  SB_FUZZ_CHECK(o->padding_length() == in.padding_length());
  SB_FUZZ_CHECK(SpanEq(o->GetExtension(kMidId), absl::MakeConstSpan(kMid)));
  // Every kept input element is in the output under its new id, with the same value.
  in.ForEachExtension([&](uint8_t id, absl::Span<const uint8_t> v) {
    uint8_t out_id = rw.ext_id_map[id];
    if (out_id == 0 || out_id == kMidId) return;
    bool found = false;
    o->ForEachExtension([&](uint8_t oid, absl::Span<const uint8_t> ov) {
      if (oid == out_id && SpanEq(ov, v)) found = true;
    });
    SB_FUZZ_CHECK(found);
  });
  // Nothing else: the output has exactly the kept elements plus the mid.
  size_t kept = 1;
  in.ForEachExtension([&](uint8_t id, absl::Span<const uint8_t>) {
    if (rw.ext_id_map[id] != 0 && rw.ext_id_map[id] != kMidId) ++kept;
  });
  size_t out_count = 0;
  o->ForEachExtension([&](uint8_t, absl::Span<const uint8_t>) { ++out_count; });
  SB_FUZZ_CHECK(out_count == kept);
}

void CheckRtx(const RtpPacket& rtx) {
  std::vector<uint8_t> orig(rtx.size() + 16);
  size_t n = sb::rtp::RtxDecapsulate(rtx, 96, 0xCAFEBABE, orig.data(), orig.size());
  if (rtx.payload().size() < sb::rtp::kRtxOsnSize) {
    SB_FUZZ_CHECK(n == 0);
    return;
  }
  SB_FUZZ_CHECK(n > 0);
  auto o = RtpPacket::Parse(orig.data(), n);
  SB_FUZZ_CHECK(o.has_value());
  const uint16_t osn = static_cast<uint16_t>(rtx.payload()[0] << 8 | rtx.payload()[1]);
  SB_FUZZ_CHECK(o->sequence_number() == osn);
  SB_FUZZ_CHECK(o->payload_type() == 96 && o->ssrc() == 0xCAFEBABE);
  SB_FUZZ_CHECK(o->timestamp() == rtx.timestamp() && o->marker() == rtx.marker());
  SB_FUZZ_CHECK(!o->has_padding());
  SB_FUZZ_CHECK(SpanEq(o->payload(), rtx.payload().subspan(sb::rtp::kRtxOsnSize)));

  // Encapsulating the restored packet again and restoring it gives the same bytes.
  std::vector<uint8_t> again(n + 16);
  size_t m = sb::rtp::RtxEncapsulate(*o, 97, 0x0BADF00D, 4242, again.data(), again.size());
  SB_FUZZ_CHECK(m == n + sb::rtp::kRtxOsnSize);
  auto r = RtpPacket::Parse(again.data(), m);
  SB_FUZZ_CHECK(r.has_value());
  SB_FUZZ_CHECK(r->sequence_number() == 4242 && r->ssrc() == 0x0BADF00D);
  std::vector<uint8_t> restored(m + 16);
  size_t k = sb::rtp::RtxDecapsulate(*r, 96, 0xCAFEBABE, restored.data(), restored.size());
  SB_FUZZ_CHECK(k == n && std::memcmp(restored.data(), orig.data(), n) == 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Parse works in place on a mutable buffer of exactly the input's size (ASan catches overreads).
  std::vector<uint8_t> buf(data, data + size);
  auto pkt = RtpPacket::Parse(buf.data(), buf.size());
  if (!pkt) return 0;

  SB_FUZZ_CHECK(pkt->size() == size);
  SB_FUZZ_CHECK(pkt->header_size() + pkt->payload().size() + pkt->padding_length() == size);
  SB_FUZZ_CHECK(pkt->header_size() >= sb::rtp::kRtpFixedHeaderSize + 4u * pkt->csrc_count());
  const uint8_t* begin = buf.data();
  const uint8_t* end = buf.data() + buf.size();
  pkt->ForEachExtension([&](uint8_t id, absl::Span<const uint8_t> v) {
    SB_FUZZ_CHECK(id != 0);
    SB_FUZZ_CHECK(v.data() >= begin && v.data() + v.size() <= begin + pkt->header_size());
    SB_FUZZ_CHECK(pkt->HasExtension(id));
    CheckTypedExtensions(v);
  });
  for (int id = 0; id < 256; ++id) {
    auto v = pkt->GetExtension(static_cast<uint8_t>(id));
    SB_FUZZ_CHECK(v.empty() || (v.data() >= begin && v.data() + v.size() <= end));
  }

  CheckRewrite(*pkt);
  CheckRtx(*pkt);

  // The setters change only their field.
  RtpPacket copy = *pkt;
  const uint32_t ts = pkt->timestamp();
  copy.SetSequenceNumber(static_cast<uint16_t>(pkt->sequence_number() + 1));
  copy.SetSsrc(~pkt->ssrc());
  copy.SetPayloadType(static_cast<uint8_t>((pkt->payload_type() + 1) & 0x7F));
  copy.SetMarker(!pkt->marker());
  SB_FUZZ_CHECK(copy.timestamp() == ts);
  auto reparsed = RtpPacket::Parse(buf.data(), buf.size());
  SB_FUZZ_CHECK(reparsed.has_value() && reparsed->header_size() == pkt->header_size());
  return 0;
}
