// Packets the micro-benchmarks work on, shaped like Chromium's: the header extensions a
// Chromium publisher sends with its default extmap ids, and compound RTCP as receivers send it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace sb::bench {

// Chromium's default extmap ids for the extensions an SFU reads on every packet.
inline constexpr uint8_t kAudioLevelId = 1;
inline constexpr uint8_t kAbsSendTimeId = 2;
inline constexpr uint8_t kTransportCcId = 3;
inline constexpr uint8_t kMidId = 4;

// Typical video MTU-sized payload (Chromium packetizes video to about 1200 bytes).
inline constexpr size_t kVideoPayloadSize = 1100;

// A video packet with mid, abs-send-time, transport-cc and (as audio would) audio level, in
// the one-byte form; `payload_size` bytes of payload.
std::vector<uint8_t> ChromiumRtpPacket(uint16_t sequence_number, size_t payload_size);

// SR + SDES (CNAME): what a sender sends every second or so.
std::vector<uint8_t> SrSdesCompound();
// RR with 4 report blocks + PLI: a subscriber reporting on 4 streams and asking a key frame.
std::vector<uint8_t> RrPliCompound();
// Transport-wide feedback reporting `packets` sequence numbers, 1 in 20 lost.
std::vector<uint8_t> TransportFeedbackPacket(size_t packets);

}  // namespace sb::bench
