// Hand-built RTP packets and producer parameters shared by the router tests.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "rtp/codecs/video_layers.h"
#include "rtp/rtp_builder.h"
#include "rtp/rtp_packet.h"
#include "rtp/rtp_parameters.h"

namespace sb::router::testing {

// VP8 payloads (RFC 7741 4.2 descriptor, then the VP8 frame header of RFC 6386 9.1 whose
// lowest bit P is 0 on key frames).
inline std::vector<uint8_t> Vp8KeyFrame() {
  return {0x10, 0x00, 0x00, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xf0, 0x00};
}
inline std::vector<uint8_t> Vp8DeltaFrame() { return {0x10, 0x01, 0x00, 0x00, 0xAA, 0xBB}; }
// A VP8 payload with the extended descriptor a simulcast sender writes: 15-bit picture id,
// TL0PICIDX and TID 0 (RFC 7741 4.2). `frame_start` false makes a later packet of the frame.
inline std::vector<uint8_t> Vp8Frame(bool key, uint16_t picture_id, uint8_t tl0_pic_idx,
                                     bool frame_start = true) {
  std::vector<uint8_t> p = {static_cast<uint8_t>(0x80 | (frame_start ? 0x10 : 0x00)),
                            0xE0,  // I L T
                            static_cast<uint8_t>(0x80 | ((picture_id >> 8) & 0x7F)),
                            static_cast<uint8_t>(picture_id),
                            tl0_pic_idx,
                            0x00};
  const std::vector<uint8_t> frame =
      key ? std::vector<uint8_t>{0x00, 0x00, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xf0, 0x00}
          : std::vector<uint8_t>{0x01, 0x00, 0x00, 0xAA, 0xBB};
  p.insert(p.end(), frame.begin(), frame.end());
  return p;
}
// The layers the producer reads from a VP8 packet (what the router passes a consumer).
inline rtp::VideoLayers Vp8Layers(const rtp::RtpPacket& packet) {
  return rtp::VideoLayerReader(rtp::VideoCodec::kVp8).Read(packet.payload(), {});
}
inline std::vector<uint8_t> OpusPayload() { return {0xFC, 0xFF, 0xFE, 0x01, 0x02}; }

// One packet in its own buffer, parsed as the transport would hand it to the router.
class TestPacket {
 public:
  TestPacket(uint8_t payload_type, uint16_t seq, uint32_t ts, uint32_t ssrc,
             const std::vector<uint8_t>& payload,
             const std::vector<std::pair<uint8_t, std::vector<uint8_t>>>& extensions = {},
             bool marker = false)
      : buffer_(1500) {
    std::vector<rtp::ExtensionValue> ext;
    for (const auto& [id, value] : extensions) ext.push_back({id, value});
    rtp::RtpHeaderFields h;
    h.marker = marker;
    h.payload_type = payload_type;
    h.sequence_number = seq;
    h.timestamp = ts;
    h.ssrc = ssrc;
    size_t len = rtp::BuildRtpPacket(h, ext, payload, 0, buffer_.data(), buffer_.size());
    buffer_.resize(len);
    packet_ = rtp::RtpPacket::Parse(buffer_.data(), buffer_.size());
  }
  bool ok() const { return packet_.has_value(); }
  const rtp::RtpPacket& get() const { return *packet_; }

 private:
  std::vector<uint8_t> buffer_;
  std::optional<rtp::RtpPacket> packet_;
};

inline rtp::RtpParameters OpusProducerParams(uint32_t ssrc, std::string mid = "0") {
  rtp::RtpParameters p;
  p.mid = std::move(mid);
  rtp::RtpCodecParameters opus;
  opus.mime_type = "audio/opus";
  opus.payload_type = 111;
  opus.clock_rate = 48000;
  opus.channels = 2;
  opus.parameters = {{"minptime", "10"}, {"useinbandfec", "1"}};
  p.codecs = {opus};
  p.encodings = {{ssrc, 0, "", 0}};
  p.header_extensions = {{rtp::kUriAudioLevel, 1},
                         {rtp::kUriAbsSendTime, 2},
                         {rtp::kUriTransportWideCc, 3},
                         {rtp::kUriMid, 4}};
  p.cname = "publisher-cname";
  return p;
}

inline rtp::RtpParameters Vp8ProducerParams(uint32_t ssrc, uint32_t rtx_ssrc,
                                            std::string mid = "1") {
  rtp::RtpParameters p;
  p.mid = std::move(mid);
  rtp::RtpCodecParameters vp8;
  vp8.mime_type = "video/VP8";
  vp8.payload_type = 96;
  vp8.clock_rate = 90000;
  vp8.rtcp_feedback = {{"nack", ""}, {"nack", "pli"}, {"ccm", "fir"}};
  rtp::RtpCodecParameters rtx;
  rtx.mime_type = "video/rtx";
  rtx.payload_type = 97;
  rtx.clock_rate = 90000;
  rtx.parameters = {{"apt", "96"}};
  p.codecs = {vp8, rtx};
  p.encodings = {{ssrc, rtx_ssrc, "", 0}};
  p.header_extensions = {{rtp::kUriAbsSendTime, 2},     {rtp::kUriMid, 4},
                         {rtp::kUriTransportWideCc, 5}, {rtp::kUriRid, 6},
                         {rtp::kUriToffset, 7},         {rtp::kUriVideoOrientation, 9}};
  p.cname = "publisher-cname";
  return p;
}

// Three simulcast encodings by rid, lowest quality first, ssrcs to be learned (what a browser's
// a=simulcast:send q;h;f offer gives).
inline rtp::RtpParameters SimulcastVp8ProducerParams(std::string mid = "1") {
  rtp::RtpParameters p = Vp8ProducerParams(0, 0, std::move(mid));
  p.header_extensions.push_back({rtp::kUriRepairedRid, 8});
  p.encodings = {{0, 0, "q", 0}, {0, 0, "h", 0}, {0, 0, "f", 0}};
  return p;
}

}  // namespace sb::router::testing
