#include "bench/load/transport_feedback.h"

#include <array>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "rtp/byte_io.h"
#include "rtp/header_extensions.h"
#include "rtp/rtcp/receiver_report.h"
#include "rtp/rtp_packet.h"
#include "rtp/rtp_parameters.h"

namespace sb::bench {
namespace {

// A header longer than this (CSRCs and extensions) is not one the server sends.
constexpr size_t kMaxHeaderBytes = 256;

}  // namespace

std::optional<uint16_t> ReadTransportSequenceNumber(absl::Span<const uint8_t> packet, uint8_t id) {
  if (id == 0 || packet.size() < rtp::kRtpFixedHeaderSize) return std::nullopt;
  const uint8_t* data = packet.data();
  if ((data[0] & 0x10) == 0) return std::nullopt;  // no extension block
  const size_t block = rtp::kRtpFixedHeaderSize + size_t{4} * (data[0] & 0x0F);
  if (packet.size() < block + 4) return std::nullopt;
  const size_t end = block + 4 + size_t{4} * rtp::ReadU16(data + block + 2);
  if (end > packet.size() || end > kMaxHeaderBytes) return std::nullopt;
  // The header alone, without the P bit (the padding count is in the encrypted part): the
  // parser then validates the extension block and nothing after it.
  std::array<uint8_t, kMaxHeaderBytes> header;
  std::memcpy(header.data(), data, end);
  header[0] &= static_cast<uint8_t>(~0x20);
  auto parsed = rtp::RtpPacket::Parse(header.data(), end);
  if (!parsed) return std::nullopt;
  return rtp::ParseTransportSequenceNumber(parsed->GetExtension(id));
}

uint8_t ExtensionIdOf(const OfferedSection& section, std::string_view uri) {
  for (const std::string& value : section.extmaps) {
    // RFC 8285 8: <value>["/"<direction>] <URI> [<extension attributes>]
    std::vector<absl::string_view> f = absl::StrSplit(value, ' ', absl::SkipEmpty());
    if (f.size() < 2 || f[1] != absl::string_view(uri.data(), uri.size())) continue;
    const absl::string_view id_text = f[0].substr(0, f[0].find('/'));
    uint32_t id = 0;
    if (absl::SimpleAtoi(id_text, &id) && id >= 1 && id <= 255) return static_cast<uint8_t>(id);
  }
  return 0;
}

void TransportFeedbackSender::OnOffer(const SubscribeOffer& offer) {
  for (const OfferedSection& s : offer.sections) {
    if (!s.accepted()) continue;
    if (const uint8_t id = ExtensionIdOf(s, rtp::kUriTransportWideCc); id != 0) {
      extension_id_ = id;
      reduced_size_ = s.rtcp_rsize;
      return;
    }
  }
}

bool TransportFeedbackSender::OnPacket(absl::Span<const uint8_t> packet, int64_t arrival_us) {
  const auto seq = ReadTransportSequenceNumber(packet, extension_id_);
  if (!seq) return false;
  receiver_.OnPacket(*seq, arrival_us);
  media_ssrc_ = rtp::ReadU32(packet.data() + 8);
  return true;
}

size_t TransportFeedbackSender::Write(uint32_t sender_ssrc, const rtp::TransportFeedback& feedback,
                                      uint8_t* out) const {
  size_t len = 0;
  if (!reduced_size_) {
    // RFC 3550 6.1: without rtcp-rsize a compound starts with a report.
    rtp::ReceiverReport rr;
    rr.sender_ssrc = sender_ssrc;
    len = rr.Serialize(out, kMaxPacketBytes);
    if (len == 0) return 0;
  }
  const size_t n = feedback.Serialize(out + len, kMaxPacketBytes - len);
  return n == 0 ? 0 : len + n;
}

}  // namespace sb::bench
