#include "bench/micro/test_packets.h"

#include "rtp/header_extensions.h"
#include "rtp/rtcp/pli.h"
#include "rtp/rtcp/receiver_report.h"
#include "rtp/rtcp/sdes.h"
#include "rtp/rtcp/sender_report.h"
#include "rtp/rtcp/transport_feedback.h"
#include "rtp/rtp_builder.h"

namespace sb::bench {

std::vector<uint8_t> ChromiumRtpPacket(uint16_t sequence_number, size_t payload_size) {
  uint8_t abs_send[rtp::kAbsSendTimeSize];
  rtp::WriteAbsSendTime(0x123456, abs_send, sizeof(abs_send));
  uint8_t twcc[rtp::kTransportSequenceNumberSize];
  rtp::WriteTransportSequenceNumber(sequence_number, twcc, sizeof(twcc));
  uint8_t level[1];
  rtp::WriteAudioLevel({true, 30}, level, sizeof(level));
  const uint8_t mid[] = {'1'};
  const rtp::ExtensionValue ext[] = {
      {kMidId, mid}, {kAbsSendTimeId, abs_send}, {kTransportCcId, twcc}, {kAudioLevelId, level}};
  rtp::RtpHeaderFields h;
  h.payload_type = 96;
  h.sequence_number = sequence_number;
  h.timestamp = 90000u * sequence_number;
  h.ssrc = 0x1A2B3C4D;
  const std::vector<uint8_t> payload(payload_size, 0x5A);
  std::vector<uint8_t> out(payload_size + 64);
  out.resize(rtp::BuildRtpPacket(h, ext, payload, 0, out.data(), out.size()));
  return out;
}

namespace {

template <typename P>
void Append(std::vector<uint8_t>& out, const P& packet) {
  const size_t at = out.size();
  out.resize(at + packet.Size());
  packet.Serialize(out.data() + at, packet.Size());
}

rtp::ReportBlock Block(uint32_t ssrc) {
  return {ssrc, 3, 120, 0x0001F000 + ssrc % 7, 45, 0x7F001234, 0x00012000};
}

}  // namespace

std::vector<uint8_t> SrSdesCompound() {
  rtp::SenderReport sr;
  sr.sender_ssrc = 0x1A2B3C4D;
  sr.ntp_seconds = 0xE8000000;
  sr.ntp_fraction = 0x40000000;
  sr.rtp_timestamp = 1234567;
  sr.packet_count = 5000;
  sr.octet_count = 5000000;
  rtp::Sdes sdes;
  sdes.chunks = {{0x1A2B3C4D, "Cq1TxYxLbTOBRPla", {}}};  // Chromium's CNAMEs are 16 characters
  std::vector<uint8_t> out;
  Append(out, sr);
  Append(out, sdes);
  return out;
}

std::vector<uint8_t> RrPliCompound() {
  rtp::ReceiverReport rr;
  rr.sender_ssrc = 1;
  rr.report_blocks = {Block(0x11), Block(0x22), Block(0x33), Block(0x44)};
  rtp::Pli pli{1, 0x22};
  std::vector<uint8_t> out;
  Append(out, rr);
  Append(out, pli);
  return out;
}

std::vector<uint8_t> TransportFeedbackPacket(size_t packets) {
  std::vector<rtp::TwccPacketStatus> statuses;
  for (size_t i = 0; i < packets; ++i) {
    if (i % 20 == 19) continue;  // lost
    // 1 ms apart with some jitter: mostly small (1-byte) deltas, a few large ones.
    const int32_t delta = (i % 25 == 0) ? 400 : static_cast<int32_t>(4 + i % 3);
    statuses.push_back({static_cast<uint16_t>(1000 + i), true, delta});
  }
  const auto fb = rtp::TransportFeedback::Build(1, 0x1A2B3C4D, 1000, 1, statuses);
  std::vector<uint8_t> out;
  Append(out, fb);
  return out;
}

}  // namespace sb::bench
