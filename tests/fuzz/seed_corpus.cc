// Writes the fuzz targets' seed corpora (tests/fuzz/corpus/<target>/) from our own builders and
// hand-assembled payloads, so every seed is a well-formed example of what the target parses.
// Built only in the fuzz build; run: build-fuzz/tests/fuzz/fuzz_seed_corpus tests/fuzz/corpus
// The SDP seeds are copies of tests/data/*.sdp (see README.md).
#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "fbs/message_generated.h"
#include "rtp/rtcp/bye.h"
#include "rtp/rtcp/fir.h"
#include "rtp/rtcp/nack.h"
#include "rtp/rtcp/pli.h"
#include "rtp/rtcp/receiver_report.h"
#include "rtp/rtcp/remb.h"
#include "rtp/rtcp/sdes.h"
#include "rtp/rtcp/sender_report.h"
#include "rtp/rtcp/transport_feedback.h"
#include "rtp/rtcp/xr.h"
#include "rtp/rtp_builder.h"
#include "rtp/rtp_parameters.h"
#include "tests/bit_writer.h"
#include "transport/stun_message.h"
#include "worker/fbs/frame_codec.h"
#include "worker/fbs/message_builder.h"
#include "worker/fbs/rtp_parameters_convert.h"

namespace {

using Bytes = std::vector<uint8_t>;
namespace fs = std::filesystem;
using namespace sb::rtp;

fs::path g_root;

void Write(const std::string& target, const std::string& name, const Bytes& bytes) {
  fs::create_directories(g_root / target);
  std::ofstream out(g_root / target / name, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

void WriteText(const std::string& target, const std::string& name, std::string_view text) {
  Write(target, name, Bytes(text.begin(), text.end()));
}

// --- RTP: what Chromium sends, audio and video, with one-byte and two-byte extensions.

Bytes Rtp(const RtpHeaderFields& h, const std::vector<ExtensionValue>& ext, const Bytes& payload,
          uint8_t padding = 0, ExtensionFormChoice form = ExtensionFormChoice::kAuto) {
  Bytes out(1500);
  size_t n = BuildRtpPacket(h, ext, payload, padding, out.data(), out.size(), form);
  out.resize(n);
  return out;
}

void RtpSeeds() {
  const uint8_t mid[] = {'0'};
  const uint8_t abs_send[] = {0x12, 0x34, 0x56};
  const uint8_t twcc[] = {0x01, 0x02};
  const uint8_t level[] = {0x80 | 40};
  const uint8_t rid[] = {'h'};
  const uint8_t orientation[] = {0x01};
  const uint8_t playout[] = {0x00, 0x10, 0x20};
  const uint8_t capture[] = {1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 0, 0, 0, 0, 9};
  const uint32_t csrcs[] = {0x11111111, 0x22222222};
  RtpHeaderFields audio{false, 111, 1000, 48000, 0xA1A1A1A1, {}};
  Write("rtp_packet_fuzz", "opus_mid_abs_twcc_level",
        Rtp(audio, {{4, mid}, {2, abs_send}, {3, twcc}, {1, level}}, Bytes(60, 0xAB)));
  RtpHeaderFields video{true, 96, 65535, 90000, 0xB2B2B2B2, {}};
  Write("rtp_packet_fuzz", "vp8_rid_orientation",
        Rtp(video, {{4, mid}, {10, rid}, {13, orientation}, {12, playout}},
            Bytes{0x90, 0xE0, 0x80, 0x01, 0x05, 0x40, 0x10, 0x02, 0x00}));
  video.csrcs = csrcs;
  Write("rtp_packet_fuzz", "two_byte_csrc_padding",
        Rtp(video, {{4, mid}, {20, capture}, {3, twcc}}, Bytes(20, 0x55), 4,
            ExtensionFormChoice::kTwoByte));
  // RTX: OSN 0x1234 then the original payload.
  RtpHeaderFields rtx{false, 97, 7, 90000, 0xC3C3C3C3, {}};
  Write("rtp_packet_fuzz", "rtx", Rtp(rtx, {{4, mid}}, Bytes{0x12, 0x34, 0x90, 0x80, 0x01}));
  Write("rtp_packet_fuzz", "no_extensions", Rtp(audio, {}, Bytes(10, 1)));
}

// --- remb_fuzz: [length (2 bytes), arrival step in 0.1 ms, RTP packet] steps: a publisher's
// paced video with abs-send-time (id 2), a probe-like burst, and a value of the wrong length.

void RembSeeds() {
  Bytes steps;
  auto step = [&](uint8_t arrival_step, const Bytes& packet) {
    steps.push_back(static_cast<uint8_t>(packet.size() >> 8));
    steps.push_back(static_cast<uint8_t>(packet.size()));
    steps.push_back(arrival_step);
    steps.insert(steps.end(), packet.begin(), packet.end());
  };
  RtpHeaderFields video{false, 96, 100, 90000, 0xB2B2B2B2, {}};
  uint32_t send_time = 0xFFF000;  // near the 64 s wrap
  for (int i = 0; i < 60; ++i) {
    const bool burst = i >= 40 && i < 50;  // 10 packets 2 ms apart, the rest 10 ms
    send_time = (send_time + (burst ? 524 : 2621)) & 0xFFFFFF;
    const uint8_t abs[] = {static_cast<uint8_t>(send_time >> 16),
                           static_cast<uint8_t>(send_time >> 8), static_cast<uint8_t>(send_time)};
    ++video.sequence_number;
    step(burst ? 20 : 100, Rtp(video, {{2, abs}}, Bytes(1100, 0x42)));
  }
  const uint8_t short_abs[] = {0x01, 0x02};
  step(100, Rtp(video, {{2, short_abs}}, Bytes(1100, 0x42)));
  Write("remb_fuzz", "paced_video_probe_and_short_value", steps);
}

// --- RTCP compounds as receivers and senders emit them.

template <typename... P>
Bytes Compound(const P&... packets) {
  Bytes out;
  auto add = [&](const auto& p) {
    size_t at = out.size();
    out.resize(at + p.Size());
    p.Serialize(out.data() + at, p.Size());
  };
  (add(packets), ...);
  return out;
}

void RtcpSeeds() {
  ReportBlock block{0xB2B2B2B2, 12, 345, 0x00012345, 678, 0x11223344, 0x00010000};
  SenderReport sr;
  sr.sender_ssrc = 0xA1A1A1A1;
  sr.ntp_seconds = 0xE5000000;
  sr.ntp_fraction = 0x80000000;
  sr.rtp_timestamp = 123456;
  sr.packet_count = 100;
  sr.octet_count = 10000;
  sr.report_blocks = {block};
  Sdes sdes;
  sdes.chunks = {{0xA1A1A1A1, "cname-abcdefgh", {}}};
  Write("rtcp_fuzz", "sr_sdes", Compound(sr, sdes));

  ReceiverReport rr;
  rr.sender_ssrc = 1;
  rr.report_blocks = {block, block, block, block};
  Pli pli{1, 0xB2B2B2B2};
  Write("rtcp_fuzz", "rr4_pli", Compound(rr, pli));

  Nack nack =
      Nack::FromSequenceNumbers(1, 0xB2B2B2B2, std::vector<uint16_t>{10, 11, 15, 40, 65535});
  Fir fir{1, 0, {{0xB2B2B2B2, 3}}};
  Remb remb{1, 1500000, {0xB2B2B2B2, 0xC3C3C3C3}};
  Write("rtcp_fuzz", "rr_nack_fir_remb", Compound(rr, nack, fir, remb));

  std::vector<TwccPacketStatus> statuses;
  for (uint16_t i = 0; i < 40; ++i) {
    if (i % 7 != 3) statuses.push_back({static_cast<uint16_t>(65530 + i), true, (i % 5) * 4});
  }
  statuses.push_back({static_cast<uint16_t>(65530 + 60), true, -300});  // a gap, a big delta
  TransportFeedback fb = TransportFeedback::Build(1, 0xB2B2B2B2, 1000, 7, statuses);
  Write("rtcp_fuzz", "rr_transport_feedback", Compound(rr, fb));

  Xr xr;
  xr.sender_ssrc = 1;
  xr.rrtrs = {{0xE500000080000000ull}};
  xr.dlrrs = {{{{0xB2B2B2B2, 0x00008000, 0x00000100}}}};
  Bye bye{{0xA1A1A1A1}, "bye"};
  Write("rtcp_fuzz", "xr_bye", Compound(xr, bye));
}

// --- STUN: an ICE connectivity check and its answers.

void StunSeeds() {
  const uint8_t tid[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  auto request = sb::transport::StunMessageBuilder(sb::transport::kStunMethodBinding,
                                                   sb::transport::StunClass::kRequest, tid)
                     .AddUsername("srvufrag:cliufrag")
                     .AddPriority(1853817087)
                     .AddIceControlling(0x0102030405060708ull)
                     .AddUseCandidate()
                     .AddMessageIntegrity("fuzz-ice-password-0123")
                     .AddFingerprint()
                     .Take();
  Write("stun_fuzz", "binding_request", request);
  auto parsed = sb::transport::StunMessage::Parse(request);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(50000);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  Write("stun_fuzz", "binding_success",
        sb::transport::BuildBindingSuccessResponse(
            *parsed, reinterpret_cast<const sockaddr*>(&addr), "fuzz-ice-password-0123"));
  Write("stun_fuzz", "error_401",
        sb::transport::BuildErrorResponse(*parsed, 401, "Unauthorized", ""));
  sockaddr_in6 addr6{};
  addr6.sin6_family = AF_INET6;
  addr6.sin6_port = htons(50001);
  addr6.sin6_addr = in6addr_loopback;
  Write("stun_fuzz", "binding_success_v6",
        sb::transport::StunMessageBuilder(sb::transport::kStunMethodBinding,
                                          sb::transport::StunClass::kSuccessResponse, tid)
            .AddXorMappedAddress(reinterpret_cast<const sockaddr*>(&addr6))
            .AddSoftware("switchboard")
            .AddMessageIntegrity("pw")
            .AddFingerprint()
            .Take());
}

// --- Codec payloads, assembled by hand from the payload format RFCs.

using sb::testing::BitWriter;

void CodecSeeds() {
  // VP8 (RFC 7741 4.2): X S PID=0, I L T K, 15-bit picture id, TL0PICIDX, TID/Y/KEYIDX, then a
  // key-frame payload header (P = 0) and the start code.
  Write("codecs_fuzz", "vp8_key",
        Bytes{0x90, 0xF0, 0x81, 0x23, 0x05, 0x20, 0x10, 0x02, 0x00, 0x9D, 0x01, 0x2A, 0x80, 0x02});
  Write("codecs_fuzz", "vp8_delta", Bytes{0x80, 0x80, 0x17, 0x31, 0x00, 0x00});
  // VP9 (RFC 9628 4.2) non-flexible key frame: I L B E V, picture id, layer indices, TL0PICIDX,
  // SS with two spatial layers (320x180, 640x360) and a one-entry picture group.
  Write("codecs_fuzz", "vp9_key_ss",
        Bytes{0xAE, 0x92, 0x34, 0x00, 0x05, 0x38, 0x01, 0x40, 0x00, 0xB4,
              0x02, 0x80, 0x01, 0x68, 0x01, 0x04, 0x01, 0x82, 0x49, 0x83});
  // VP9 flexible mode inter frame: I P L F B, 7-bit picture id, TID 1, one P_DIFF.
  Write("codecs_fuzz", "vp9_flexible_delta", Bytes{0xF8, 0x12, 0x20, 0x02, 0x86, 0x00});
  // H264 (RFC 6184): STAP-A with SPS and PPS, an FU-A start of an IDR, a non-IDR slice.
  Write("codecs_fuzz", "h264_stapa_sps_pps",
        Bytes{0x78, 0x00, 0x06, 0x67, 0x42, 0xC0, 0x1F, 0xDA, 0x01, 0x00, 0x04, 0x68, 0xCE, 0x3C,
              0x80});
  Write("codecs_fuzz", "h264_fua_idr", Bytes{0x7C, 0x85, 0x88, 0x84, 0x00, 0x33});
  Write("codecs_fuzz", "h264_slice", Bytes{0x41, 0x9A, 0x02, 0x10});
  // AV1 (AV1 RTP spec 4.4): N=1, W=2; a sequence header OBU with a length, then a frame OBU.
  Write("codecs_fuzz", "av1_new_sequence",
        Bytes{0x28, 0x04, 0x08, 0x00, 0x00, 0x00, 0x30, 0x10, 0x20, 0x30});
  // W=0: every element has a length; a continuation (Z=1) packet.
  Write("codecs_fuzz", "av1_continuation", Bytes{0x80, 0x03, 0x01, 0x02, 0x03, 0x02, 0x30, 0x01});
  // Opus (RFC 6716 3.1): a 20 ms fullband CELT frame, a code-3 packet with 3 frames.
  Write("codecs_fuzz", "opus_celt", Bytes{0xFC, 0xFF, 0xFE, 0x01, 0x02});
  Write("codecs_fuzz", "opus_code3", Bytes{0x7B, 0x03, 0x01, 0x02, 0x03});
  // Dependency descriptor (AV1 RTP spec A.2): mandatory fields only, then a key frame carrying
  // an L1T2 structure (two decode targets, one chain, a 640x360 resolution).
  Write("codecs_fuzz", "dd_mandatory", Bytes{0x80, 0x00, 0x01});
  BitWriter w;
  w.Bits(1, 1).Bits(0, 1).Bits(0, 6).Bits(1, 16);     // start of frame, template 0, frame 1
  w.Bits(1, 1).Bits(0, 4);                            // structure present, no custom fields
  w.Bits(0, 6).Bits(1, 5);                            // template_id_offset 0, 2 decode targets
  w.Bits(0, 2).Bits(1, 2).Bits(3, 2);                 // templates (S0,T0) (S0,T0) (S0,T1)
  w.Bits(0b1010, 4).Bits(0b1010, 4).Bits(0b0001, 4);  // DTIs: S S, S S, - D
  w.Bits(0, 1).Bits(1, 1).Bits(1, 4).Bits(0, 1).Bits(1, 1).Bits(0, 4).Bits(0, 1);  // fdiffs
  w.Bits(0b10, 2).Bits(0, 4).Bits(2, 4).Bits(1, 4);  // chains ns(3) = 1; chain fdiffs 0, 2, 1
  w.Bits(1, 1).Bits(639, 16).Bits(359, 16);          // resolution
  Write("codecs_fuzz", "dd_l1t2_structure", w.bytes());
}

// --- IPC frames the control process sends and the worker answers.

Bytes Frame(const flatbuffers::FlatBufferBuilder& fbb) { return sb::ipc::EncodeFrame(fbb); }

void IpcSeeds() {
  RtpParameters params;
  params.mid = "0";
  params.cname = "cname";
  params.codecs = {{"video/VP8", 96, 90000, 0, {}, {{"nack", ""}, {"nack", "pli"}}},
                   {"video/rtx", 97, 90000, 0, {{"apt", "96"}}, {}}};
  params.encodings = {{0x11111111, 0x22222222, "h", 1500000}};
  params.header_extensions = {{kUriMid, 4}, {kUriAbsSendTime, 2}, {kUriTransportWideCc, 3}};

  flatbuffers::FlatBufferBuilder produce;
  auto pbody =
      sb::fbs::CreateProduceRequest(produce, produce.CreateString("producer1"),
                                    sb::fbs::MediaKind::VIDEO, sb::ipc::ToFbs(produce, params));
  sb::ipc::BuildRequest(produce, 7, sb::fbs::Method::TRANSPORT_PRODUCE, "transport1",
                        sb::fbs::RequestBody::ProduceRequest, pbody.Union());
  Write("ipc_fuzz", "produce_request", Frame(produce));

  flatbuffers::FlatBufferBuilder consume;
  auto cbody = sb::fbs::CreateConsumeRequest(
      consume, consume.CreateString("consumer1"), consume.CreateString("producer1"),
      sb::ipc::ToFbs(consume, RouterCapabilities()), consume.CreateString("1"));
  sb::ipc::BuildRequest(consume, 8, sb::fbs::Method::TRANSPORT_CONSUME, "transport2",
                        sb::fbs::RequestBody::ConsumeRequest, cbody.Union());
  Write("ipc_fuzz", "consume_request", Frame(consume));

  flatbuffers::FlatBufferBuilder response;
  auto rbody = sb::fbs::CreateConsumeResponse(response, sb::fbs::MediaKind::VIDEO,
                                              sb::ipc::ToFbs(response, params));
  sb::ipc::BuildResponseOk(response, 8, sb::fbs::ResponseBody::ConsumeResponse, rbody.Union());
  Bytes two = Frame(response);
  flatbuffers::FlatBufferBuilder error;
  sb::ipc::BuildResponseError(error, 9, sb::ipc::error::kNotFound, "no such transport");
  Bytes err = Frame(error);
  two.insert(two.end(), err.begin(), err.end());
  Write("ipc_fuzz", "consume_response_and_error", two);

  flatbuffers::FlatBufferBuilder log;
  sb::ipc::BuildLog(log, sb::fbs::LogLevel::INFO, "worker started");
  Write("ipc_fuzz", "log", Frame(log));
}

// --- Signaling JSON messages (docs/protocol.md).

void JsonSeeds() {
  WriteText("signaling_json_fuzz", "join",
            R"({"type":"join","room":"demo","name":"Ada","requestId":1,"rtpCapabilities":)"
            R"({"audio":{"codecs":[{"mimeType":"audio/opus","clockRate":48000,"channels":2,)"
            R"("sdpFmtpLine":"minptime=10;useinbandfec=1"}],"headerExtensions":[{"uri":)"
            R"("urn:ietf:params:rtp-hdrext:ssrc-audio-level"}]},"video":{"codecs":[{"mimeType":)"
            R"("video/VP8","clockRate":90000},{"mimeType":"video/rtx","clockRate":90000,)"
            R"("sdpFmtpLine":"apt=96"},{"mimeType":"video/H264","clockRate":90000,"sdpFmtpLine":)"
            R"("level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"}],)"
            R"("headerExtensions":[{"uri":"urn:ietf:params:rtp-hdrext:sdes:mid"}]}}})");
  WriteText("signaling_json_fuzz", "sequence",
            R"([{"type":"ping","requestId":"a"},{"type":"join","room":"r1","name":"B"},)"
            R"({"type":"publish","sdp":"v=0\r\n","requestId":2},{"type":"mute","kind":"audio",)"
            R"("muted":true},{"type":"subscribe-answer","sdp":""},{"type":"leave"},)"
            R"({"type":"candidate","candidate":{}},{"type":"nope"}])");
  WriteText("signaling_json_fuzz", "fmtp", R"("profile-level-id=42e01f;packetization-mode=1")");
  WriteText("signaling_json_fuzz", "caps_null", "null");
  // Hostile shapes (docs/protocol.md, "Limits"): nesting past the limit, an object requestId.
  WriteText("signaling_json_fuzz", "nested_request_id",
            R"({"type":"ping","requestId":)" + std::string(40, '[') + std::string(40, ']') + "}");
  WriteText("signaling_json_fuzz", "object_request_id",
            R"({"type":"ping","requestId":{"a":["x","y"],"b":"\"[{"}})");
  // A publish naming its screen share (docs/protocol.md, "Screen sharing").
  WriteText("signaling_json_fuzz", "publish_sources",
            R"({"type":"publish","sdp":"v=0\r\n","sources":{"0":"microphone","1":"screen"}})");
}

// --- HTTP requests as browsers send them (RFC 9112).

void HttpSeeds() {
  // Request heads as libwebsockets hands their fields over (the URI already decoded).
  WriteText("http_request_fuzz", "get_keep_alive",
            "GET /app.js?v=3 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: Mozilla/5.0\r\n"
            "Accept: */*\r\nAccept-Encoding: gzip, deflate, br\r\nConnection: keep-alive\r\n");
  WriteText("http_request_fuzz", "websocket_upgrade",
            "GET /ws HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nConnection: Upgrade\r\n"
            "Upgrade: websocket\r\nOrigin: http://127.0.0.1:8080\r\nSec-WebSocket-Version: 13\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n");
  WriteText("http_request_fuzz", "post_with_length",
            "POST /api/rooms HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\n"
            "Content-Length: 0015\r\nAuthorization: Bearer eyJ0eXAi.eyJyb29tIjoiZGVtbyJ9.c2ln\r\n");
  WriteText("http_request_fuzz", "http10_head", "HEAD /app.js HTTP/1.0\r\n");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
    return 2;
  }
  g_root = argv[1];
  RtpSeeds();
  RembSeeds();
  RtcpSeeds();
  StunSeeds();
  CodecSeeds();
  IpcSeeds();
  JsonSeeds();
  HttpSeeds();
  return 0;
}
