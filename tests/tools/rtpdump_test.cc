// switchboard-rtpdump's decoding, called directly: flags, hex input, link/IP/UDP unwrapping
// and the per-protocol JSON of STUN, DTLS, RTP and RTCP.
#include <arpa/inet.h>
#include <netinet/in.h>

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "rtp/byte_io.h"
#include "rtp/rtcp/bye.h"
#include "rtp/rtcp/nack.h"
#include "rtp/rtcp/remb.h"
#include "rtp/rtcp/sdes.h"
#include "rtp/rtcp/sender_report.h"
#include "tools/rtpdump/capture_frame.h"
#include "tools/rtpdump/hex_input.h"
#include "tools/rtpdump/options.h"
#include "tools/rtpdump/packet_decoder.h"
#include "transport/stun_message.h"

namespace sb::rtpdump {
namespace {

using Bytes = std::vector<uint8_t>;

Options MustParse(std::vector<std::string_view> args) {
  absl::StatusOr<Options> o = ParseOptions(args);
  EXPECT_TRUE(o.ok()) << o.status();
  return o.ok() ? *o : Options{};
}

Json DecodeWith(const Options& options, const Bytes& payload) {
  PacketDecoder decoder(options);
  Json j = Json::object();
  decoder.Decode(payload, j);
  return j;
}
Json Decode(const Bytes& payload) { return DecodeWith(Options{}, payload); }

TEST(RtpdumpOptionsTest, ParsesFlagsInBothForms) {
  Options o =
      MustParse({"--ext", "3=mid", "--ext=5=urn:ietf:params:rtp-hdrext:ssrc-audio-level", "--ext",
                 "7=urn:example:other", "--pt=96=vp8", "--pt", "111=opus", "--plain", "in.pcap"});
  EXPECT_EQ(o.file, "in.pcap");
  EXPECT_TRUE(o.plain);
  EXPECT_EQ(o.extensions.at(3).kind, ExtKind::kMid);
  EXPECT_EQ(o.extensions.at(5).kind, ExtKind::kAudioLevel);
  EXPECT_EQ(o.extensions.at(7).kind, ExtKind::kUnknown);
  EXPECT_EQ(o.payload_types.at(96), Codec::kVp8);
  EXPECT_EQ(o.payload_types.at(111), Codec::kOpus);
  EXPECT_TRUE(MustParse({"--hex"}).hex);
  EXPECT_TRUE(MustParse({"--help"}).help);
}

TEST(RtpdumpOptionsTest, RejectsBadFlags) {
  for (std::vector<std::string_view> args :
       std::vector<std::vector<std::string_view>>{{},
                                                  {"--hex", "file.pcap"},
                                                  {"a.pcap", "b.pcap"},
                                                  {"--bogus", "a.pcap"},
                                                  {"--ext", "0=mid", "a.pcap"},
                                                  {"--ext", "3=nosuchname", "a.pcap"},
                                                  {"--ext", "3", "a.pcap"},
                                                  {"--pt", "128=VP8", "a.pcap"},
                                                  {"--pt", "96=MPEG", "a.pcap"},
                                                  {"a.pcap", "--pt"}}) {
    EXPECT_FALSE(ParseOptions(args).ok()) << (args.empty() ? "" : args[0]);
  }
}

TEST(RtpdumpHexTest, ParsesSeparatorsAndComments) {
  auto p = ParseHexLine("80:6f 00 01  # an RTP start");
  ASSERT_TRUE(p.ok());
  ASSERT_TRUE(p->has_value());
  EXPECT_EQ(**p, (Bytes{0x80, 0x6F, 0x00, 0x01}));
  auto blank = ParseHexLine("   # only a comment");
  ASSERT_TRUE(blank.ok());
  EXPECT_FALSE(blank->has_value());
  EXPECT_FALSE(ParseHexLine("abc").ok());
  EXPECT_FALSE(ParseHexLine("zz").ok());
}

// An IPv4 + UDP datagram from 10.0.0.1:5000 to 10.0.0.2:6000 with `options_words` words of IP
// options.
Bytes Ipv4Udp(const Bytes& payload, size_t options_words = 0, uint16_t flags_offset = 0) {
  size_t ihl = 5 + options_words;
  size_t total = ihl * 4 + 8 + payload.size();
  Bytes p(ihl * 4, 0);
  p[0] = static_cast<uint8_t>(0x40 | ihl);
  rtp::WriteU16(&p[2], static_cast<uint16_t>(total));
  rtp::WriteU16(&p[6], flags_offset);
  p[8] = 64;
  p[9] = 17;
  p[12] = 10, p[15] = 1;
  p[16] = 10, p[19] = 2;
  for (size_t i = 20; i < p.size(); ++i) p[i] = 1;  // NOP options
  Bytes udp(8);
  rtp::WriteU16(&udp[0], 5000);
  rtp::WriteU16(&udp[2], 6000);
  rtp::WriteU16(&udp[4], static_cast<uint16_t>(8 + payload.size()));
  p.insert(p.end(), udp.begin(), udp.end());
  p.insert(p.end(), payload.begin(), payload.end());
  return p;
}

// IPv6 from ::1 port 5000 to ::2 port 6000 behind a hop-by-hop options header.
Bytes Ipv6HopByHopUdp(const Bytes& payload) {
  Bytes p(40, 0);
  p[0] = 0x60;
  rtp::WriteU16(&p[4], static_cast<uint16_t>(8 + 8 + payload.size()));
  p[6] = 0;  // hop-by-hop
  p[7] = 64;
  p[23] = 1;
  p[39] = 2;
  Bytes hbh = {17, 0, 1, 4, 0, 0, 0, 0};  // next: UDP; PadN option
  p.insert(p.end(), hbh.begin(), hbh.end());
  Bytes udp(8);
  rtp::WriteU16(&udp[0], 5000);
  rtp::WriteU16(&udp[2], 6000);
  rtp::WriteU16(&udp[4], static_cast<uint16_t>(8 + payload.size()));
  p.insert(p.end(), udp.begin(), udp.end());
  p.insert(p.end(), payload.begin(), payload.end());
  return p;
}

Bytes Concat(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

TEST(RtpdumpFrameTest, UnwrapsEveryLinkType) {
  const Bytes payload = {0xDE, 0xAD, 0xBE, 0xEF};
  const Bytes ip = Ipv4Udp(payload, 2);  // with IP options
  Bytes ethernet = Concat(Bytes(12, 0xAA), Concat({0x08, 0x00}, ip));
  ethernet.resize(ethernet.size() + 6, 0);  // Ethernet padding after the datagram
  Bytes vlan = Concat(Bytes(12, 0xAA), Concat({0x81, 0x00, 0x00, 0x05, 0x08, 0x00}, ip));
  Bytes sll = Concat(Bytes(14, 0), Concat({0x08, 0x00}, ip));
  Bytes sll2 = Concat({0x08, 0x00}, Concat(Bytes(18, 0), ip));
  Bytes null = Concat({2, 0, 0, 0}, ip);
  struct Case {
    int link_type;
    Bytes frame;
  };
  for (const Case& c : std::vector<Case>{{kLinkEthernet, ethernet},
                                         {kLinkEthernet, vlan},
                                         {kLinkLinuxSll, sll},
                                         {kLinkLinuxSll2, sll2},
                                         {kLinkNull, null},
                                         {kLinkLoop, null},
                                         {kLinkRaw, ip},
                                         {kLinkIpv4, ip}}) {
    FrameResult r = ParseFrame(c.link_type, c.frame);
    ASSERT_EQ(r.outcome, FrameResult::Outcome::kUdp) << c.link_type << " " << r.reason;
    EXPECT_EQ(r.src, "10.0.0.1:5000");
    EXPECT_EQ(r.dst, "10.0.0.2:6000");
    EXPECT_EQ(Bytes(r.payload.begin(), r.payload.end()), payload);
  }
  const Bytes v6_frame = Ipv6HopByHopUdp(payload);  // v6.payload points into it
  FrameResult v6 = ParseFrame(kLinkIpv6, v6_frame);
  ASSERT_EQ(v6.outcome, FrameResult::Outcome::kUdp) << v6.reason;
  EXPECT_EQ(v6.src, "[::1]:5000");
  EXPECT_EQ(v6.dst, "[::2]:6000");
  EXPECT_EQ(Bytes(v6.payload.begin(), v6.payload.end()), payload);
}

TEST(RtpdumpFrameTest, SkipsFragmentsAndOtherProtocolsAndRejectsTruncation) {
  const Bytes payload = {1, 2, 3, 4};
  EXPECT_EQ(ParseFrame(kLinkRaw, Ipv4Udp(payload, 0, 0x2000)).outcome,
            FrameResult::Outcome::kSkipped);  // MF
  EXPECT_EQ(ParseFrame(kLinkRaw, Ipv4Udp(payload, 0, 0x0010)).outcome,
            FrameResult::Outcome::kSkipped);  // offset
  Bytes tcp = Ipv4Udp(payload);
  tcp[9] = 6;
  EXPECT_EQ(ParseFrame(kLinkRaw, tcp).reason, "not UDP");
  Bytes arp = Concat(Bytes(12, 0), Bytes{0x08, 0x06, 0, 1});
  EXPECT_EQ(ParseFrame(kLinkEthernet, arp).outcome, FrameResult::Outcome::kSkipped);
  Bytes cut = Ipv4Udp(payload);
  cut.resize(cut.size() - 2);
  EXPECT_EQ(ParseFrame(kLinkRaw, cut).outcome, FrameResult::Outcome::kMalformed);
  EXPECT_EQ(ParseFrame(kLinkEthernet, Bytes(10, 0)).outcome, FrameResult::Outcome::kMalformed);
  Bytes v6 = Ipv6HopByHopUdp(payload);
  v6[41] = 200;  // the hop-by-hop header now runs past the packet
  EXPECT_EQ(ParseFrame(kLinkIpv6, v6).outcome, FrameResult::Outcome::kMalformed);
}

TEST(RtpdumpStunTest, DecodesAnIceCheckWithEveryAttribute) {
  const uint8_t tid[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  Bytes msg = transport::StunMessageBuilder(transport::kStunMethodBinding,
                                            transport::StunClass::kRequest, tid)
                  .AddUsername("remote:local")
                  .AddPriority(1853824767)
                  .AddIceControlling(0x0102030405060708)
                  .AddUseCandidate()
                  .AddMessageIntegrity("password")
                  .AddFingerprint()
                  .Take();
  Json j = Decode(msg);
  ASSERT_EQ(j["kind"], "stun") << j.dump();
  EXPECT_EQ(j["method"], "Binding");
  EXPECT_EQ(j["class"], "request");
  EXPECT_EQ(j["transaction_id"], "0102030405060708090a0b0c");
  const Json& a = j["attributes"];
  ASSERT_EQ(a.size(), 6u) << j.dump();
  EXPECT_EQ(a[0]["type"], "USERNAME");
  EXPECT_EQ(a[0]["value"], "remote:local");
  EXPECT_EQ(a[1]["value"], 1853824767);
  EXPECT_EQ(a[2]["tie_breaker"], "0102030405060708");
  EXPECT_EQ(a[3]["type"], "USE-CANDIDATE");
  EXPECT_EQ(a[4]["type"], "MESSAGE-INTEGRITY");
  EXPECT_EQ(a[5]["valid"], true);
  EXPECT_EQ(j["fingerprint_valid"], true);

  msg[msg.size() - 1] ^= 1;  // a broken fingerprint is reported, not an error
  EXPECT_EQ(Decode(msg)["fingerprint_valid"], false);
}

TEST(RtpdumpStunTest, DecodesResponsesAndRejectsMalformed) {
  const uint8_t tid[12] = {};
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(40000);
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  Bytes ok = transport::StunMessageBuilder(transport::kStunMethodBinding,
                                           transport::StunClass::kSuccessResponse, tid)
                 .AddXorMappedAddress(reinterpret_cast<const sockaddr*>(&addr))
                 .Take();
  EXPECT_EQ(Decode(ok)["attributes"][0]["value"], "127.0.0.1:40000");
  Bytes err = transport::StunMessageBuilder(transport::kStunMethodBinding,
                                            transport::StunClass::kErrorResponse, tid)
                  .AddErrorCode(487, "Role Conflict")
                  .Take();
  Json e = Decode(err);
  EXPECT_EQ(e["class"], "error_response");
  EXPECT_EQ(e["attributes"][0]["code"], 487);
  EXPECT_EQ(e["attributes"][0]["reason"], "Role Conflict");
  ok.resize(ok.size() - 4);  // length field no longer matches
  Json bad = Decode(ok);
  EXPECT_TRUE(bad.contains("error"));
  EXPECT_FALSE(bad.contains("kind"));
}

TEST(RtpdumpDtlsTest, DecodesHandshakeRecords) {
  // One ClientHello fragment (epoch 0), then an encrypted epoch-1 record, in one datagram.
  Bytes hs = {1, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 4, 0xFE, 0xFD, 0, 0};
  Bytes rec = {22, 0xFE, 0xFF, 0, 0, 0, 0, 0, 0, 0, 7, 0, static_cast<uint8_t>(hs.size())};
  rec.insert(rec.end(), hs.begin(), hs.end());
  Bytes enc = {23, 0xFE, 0xFD, 0, 1, 0, 0, 0, 0, 0, 9, 0, 3, 0xAA, 0xBB, 0xCC};
  Json j = Decode(Concat(rec, enc));
  ASSERT_EQ(j["kind"], "dtls") << j.dump();
  const Json& r = j["records"];
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0]["content_type"], "handshake");
  EXPECT_EQ(r[0]["version"], "DTLS 1.0");
  EXPECT_EQ(r[0]["sequence_number"], 7);
  EXPECT_EQ(r[0]["handshake"][0]["type"], "ClientHello");
  EXPECT_EQ(r[1]["content_type"], "application_data");
  EXPECT_EQ(r[1]["epoch"], 1);
  EXPECT_EQ(r[1]["encrypted"], true);

  rec[12] += 1;  // record length past the datagram
  EXPECT_TRUE(Decode(rec).contains("error"));
}

// RTP: pt 96, seq 0x1234, ts 0x11223344, ssrc 0xAABBCCDD, one-byte extensions mid "a" (id 1)
// and transport-cc 0x0102 (id 3), then `payload`.
Bytes RtpWithExtensions(const Bytes& payload, bool padding_bit = false) {
  Bytes p = {static_cast<uint8_t>(padding_bit ? 0xB0 : 0x90),
             0x60,
             0x12,
             0x34,
             0x11,
             0x22,
             0x33,
             0x44,
             0xAA,
             0xBB,
             0xCC,
             0xDD,
             0xBE,
             0xDE,
             0x00,
             0x02,
             0x10,
             'a',
             0x31,
             0x01,
             0x02,
             0x00,
             0x00,
             0x00};
  return Concat(p, payload);
}

TEST(RtpdumpRtpTest, PrintsHeaderAndRawExtensionsByDefault) {
  Json j = Decode(RtpWithExtensions({0x90, 0x80, 0x05, 0x00}));
  ASSERT_EQ(j["kind"], "rtp") << j.dump();
  EXPECT_EQ(j["pt"], 96);
  EXPECT_EQ(j["seq"], 0x1234);
  EXPECT_EQ(j["ts"], 0x11223344u);
  EXPECT_EQ(j["ssrc"], 0xAABBCCDDu);
  EXPECT_EQ(j["extension_profile"], "0xbede");
  ASSERT_EQ(j["extensions"].size(), 2u);
  EXPECT_EQ(j["extensions"][0]["id"], 1);
  EXPECT_EQ(j["extensions"][0]["hex"], "61");
  EXPECT_FALSE(j["extensions"][0].contains("value"));
  EXPECT_EQ(j["payload_length"], 4);
  EXPECT_FALSE(j.contains("descriptor"));
}

TEST(RtpdumpRtpTest, DecodesMappedExtensionsAndPlainDescriptors) {
  Options o = MustParse(
      {"--hex", "--ext", "1=mid", "--ext", "3=transport-cc", "--pt", "96=VP8", "--plain"});
  // VP8: X=1 S=1, I=1 with a 15-bit picture id 0x0123; then a key-frame payload header.
  Json j = DecodeWith(o, RtpWithExtensions({0x90, 0x80, 0x81, 0x23, 0x10, 0x02, 0x00}));
  ASSERT_EQ(j["kind"], "rtp") << j.dump();
  EXPECT_EQ(j["extensions"][0]["name"], "mid");
  EXPECT_EQ(j["extensions"][0]["value"], "a");
  EXPECT_EQ(j["extensions"][1]["value"], 0x0102);
  EXPECT_EQ(j["codec"], "VP8");
  EXPECT_EQ(j["descriptor"]["picture_id"], 0x0123);
  EXPECT_EQ(j["descriptor"]["key_frame"], true);

  o.payload_types[96] = Codec::kH264;
  Json h = DecodeWith(o, RtpWithExtensions({0x7C, 0x85, 0x88, 0x84}));  // FU-A start of IDR
  EXPECT_EQ(h["descriptor"]["packetization"], "FU-A");
  EXPECT_EQ(h["descriptor"]["nal_names"][0], "IDR");
  EXPECT_EQ(h["descriptor"]["key_frame"], true);
  Json stap = DecodeWith(o, RtpWithExtensions({0x78, 0x00, 0x02, 0x67, 0x42, 0x00, 0x01, 0x68}));
  EXPECT_EQ(stap["descriptor"]["nal_names"], Json::parse(R"(["SPS","PPS"])"));

  o.payload_types[96] = Codec::kOpus;
  Json opus = DecodeWith(o, RtpWithExtensions({0x78, 0x01, 0x02}));  // TOC config 15
  EXPECT_EQ(opus["descriptor"]["config"], 15);
  EXPECT_EQ(opus["descriptor"]["mode"], "hybrid");
}

TEST(RtpdumpRtpTest, SrtpPaddingBitDoesNotBreakParsing) {
  // With SRTP the last byte is part of the auth tag, not a padding count.
  Bytes p = RtpWithExtensions({0x11, 0x22, 0x33, 0x00});
  p[0] |= 0x20;
  Json j = Decode(p);
  ASSERT_EQ(j["kind"], "rtp") << j.dump();
  EXPECT_EQ(j["padding"], true);
  EXPECT_EQ(j["payload_length"], 4);
  Options plain;
  plain.plain = true;
  EXPECT_TRUE(DecodeWith(plain, p).contains("error"));  // a padding count of 0 is malformed
}

TEST(RtpdumpRtpTest, RejectsTruncatedHeaders) {
  Bytes p = RtpWithExtensions({});
  p.resize(18);  // extension block cut short
  EXPECT_TRUE(Decode(p).contains("error"));
  EXPECT_TRUE(Decode({0x80, 0x60, 0x00}).contains("error"));
}

template <typename T>
Bytes Serialize(const T& packet) {
  Bytes out(packet.Size());
  EXPECT_EQ(packet.Serialize(out.data(), out.size()), out.size());
  return out;
}

TEST(RtpdumpRtcpTest, DecodesEverySubPacketOfACompound) {
  rtp::SenderReport sr;
  sr.sender_ssrc = 1111;
  sr.packet_count = 10;
  rtp::ReportBlock block;
  block.ssrc = 2222;
  block.cumulative_lost = 3;
  sr.report_blocks.push_back(block);
  rtp::Sdes sdes;
  sdes.chunks.push_back({1111, "cname-1", {}});
  rtp::Nack nack = rtp::Nack::FromSequenceNumbers(1111, 2222, std::vector<uint16_t>{100, 102});
  rtp::Remb remb;
  remb.sender_ssrc = 1111;
  remb.bitrate_bps = 500000;
  remb.ssrcs = {2222};
  rtp::Bye bye;
  bye.ssrcs = {1111};
  Bytes compound = Concat(
      Concat(Concat(Concat(Serialize(sr), Serialize(sdes)), Serialize(nack)), Serialize(remb)),
      Serialize(bye));
  Json j = Decode(compound);
  ASSERT_EQ(j["kind"], "rtcp") << j.dump();
  const Json& p = j["packets"];
  ASSERT_EQ(p.size(), 5u) << j.dump();
  EXPECT_EQ(p[0]["type"], "SR");
  EXPECT_EQ(p[0]["packet_count"], 10);
  EXPECT_EQ(p[0]["report_blocks"][0]["cumulative_lost"], 3);
  EXPECT_EQ(p[1]["chunks"][0]["cname"], "cname-1");
  EXPECT_EQ(p[2]["type"], "NACK");
  EXPECT_EQ(p[2]["seqs"], Json::parse("[100,102]"));
  EXPECT_EQ(p[3]["type"], "REMB");
  EXPECT_EQ(p[3]["ssrcs"][0], 2222);
  EXPECT_EQ(p[4]["type"], "BYE");
  EXPECT_FALSE(j.contains("encrypted"));
}

TEST(RtpdumpRtcpTest, RecognisesSrtcpByItsTrailer) {
  // An RR header claiming one report block, then ciphertext, then E=1 and index 5 (AEAD).
  Bytes srtcp = {0x81, 201, 0x00, 0x07, 0x00, 0x00, 0x04, 0x57};
  srtcp.insert(srtcp.end(), 40, 0x5A);  // ciphertext; its first byte is not version 2
  srtcp.insert(srtcp.end(), {0x80, 0x00, 0x00, 0x05});
  Json j = Decode(srtcp);
  ASSERT_EQ(j["kind"], "rtcp") << j.dump();
  EXPECT_EQ(j["encrypted"], true);
  EXPECT_EQ(j["srtcp_index"], 5);
  EXPECT_EQ(j["packets"][0]["type"], "RR");
  EXPECT_EQ(j["packets"][0]["ssrc"], 1111);

  srtcp[srtcp.size() - 4] = 0x00;  // E = 0 and no other trailer fits: malformed
  srtcp[srtcp.size() - 14] &= 0x7F;
  srtcp[srtcp.size() - 8] &= 0x7F;
  EXPECT_TRUE(Decode(srtcp).contains("error"));
}

TEST(RtpdumpDemuxTest, ClassifiesByFirstByteAndCounts) {
  PacketDecoder decoder(Options{});
  Json j = Json::object();
  decoder.Decode(Bytes{0x45, 0, 0, 0}, j);  // TURN channel range
  EXPECT_EQ(j["kind"], "unknown");
  EXPECT_EQ(j["range"], "turn-channel");
  Json e = Json::object();
  decoder.Decode(Bytes{0x00, 0x01}, e);  // STUN range, too short
  EXPECT_TRUE(e.contains("error"));
  EXPECT_EQ(decoder.count(Kind::kUnknown), 1u);
  EXPECT_EQ(decoder.count(Kind::kError), 1u);
  EXPECT_NE(decoder.Summary().find("unknown 1"), std::string::npos);
}

}  // namespace
}  // namespace sb::rtpdump
