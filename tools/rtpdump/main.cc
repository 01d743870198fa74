// switchboard-rtpdump: prints the UDP packets of a capture (or hex lines on standard input) as
// JSON lines. See kUsage in options.cc.
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "tools/rtpdump/capture_frame.h"
#include "tools/rtpdump/hex_input.h"
#include "tools/rtpdump/options.h"
#include "tools/rtpdump/packet_decoder.h"
#include "tools/rtpdump/pcap_source.h"

namespace sb::rtpdump {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitUnreadable = 1;
constexpr int kExitBadFlags = 2;

void Print(const Json& j) {
  // Strings from packets may hold any bytes: replace invalid UTF-8 rather than throw.
  std::cout << j.dump(-1, ' ', false, Json::error_handler_t::replace) << '\n';
}

int RunCapture(const Options& options, PacketDecoder& decoder) {
  bool warned_link_type = false;
  absl::Status status = ForEachCapturedFrame(options.file, [&](const CapturedFrame& frame) {
    if (!IsSupportedLinkType(frame.link_type) && !warned_link_type) {
      std::cerr << "switchboard-rtpdump: unsupported link type " << frame.link_type << '\n';
      warned_link_type = true;
    }
    Json j = Json::object();
    j["index"] = frame.index;
    // Through text, so the number printed is the capture's microseconds exactly.
    char time[48];
    std::snprintf(time, sizeof(time), "%lld.%06lld", static_cast<long long>(frame.seconds),
                  static_cast<long long>(frame.microseconds));
    j["time"] = std::strtod(time, nullptr);
    if (frame.bytes.size() < frame.original_length) {
      // Cut by the snap length: the datagram is not all here.
      j["error"] = "frame truncated by the capture's snap length";
      decoder.Count(Kind::kError);
      Print(j);
      return;
    }
    FrameResult udp = ParseFrame(frame.link_type, frame.bytes);
    switch (udp.outcome) {
      case FrameResult::Outcome::kSkipped:
        j["kind"] = "skipped";
        j["reason"] = udp.reason;
        decoder.Count(Kind::kSkipped);
        break;
      case FrameResult::Outcome::kMalformed:
        j["error"] = udp.reason;
        decoder.Count(Kind::kError);
        break;
      case FrameResult::Outcome::kUdp:
        j["src"] = udp.src;
        j["dst"] = udp.dst;
        j["length"] = udp.payload.size();
        decoder.Decode(udp.payload, j);
        break;
    }
    Print(j);
  });
  if (absl::IsDataLoss(status)) {
    // The frames before the damage were printed: the file was read, as far as it goes.
    std::cerr << "switchboard-rtpdump: " << options.file << ": " << status.message() << '\n';
    return kExitOk;
  }
  if (!status.ok()) {
    std::cerr << "switchboard-rtpdump: " << status.message() << '\n';
    return kExitUnreadable;
  }
  return kExitOk;
}

int RunHex(PacketDecoder& decoder) {
  std::string line;
  uint64_t index = 0;
  uint64_t line_number = 0;
  while (std::getline(std::cin, line)) {
    ++line_number;
    auto packet = ParseHexLine(line);
    if (packet.ok() && !packet->has_value()) continue;  // blank or comment
    Json j = Json::object();
    j["index"] = ++index;
    j["line"] = line_number;
    if (!packet.ok()) {
      j["error"] = "hex: " + std::string(packet.status().message());
      decoder.Count(Kind::kError);
    } else {
      j["length"] = (*packet)->size();
      decoder.Decode(**packet, j);
    }
    Print(j);
  }
  return kExitOk;
}

int Main(int argc, char** argv) {
  std::vector<std::string_view> args(argv + 1, argv + argc);
  absl::StatusOr<Options> options = ParseOptions(args);
  if (!options.ok()) {
    std::cerr << "switchboard-rtpdump: " << options.status().message()
              << "\n(switchboard-rtpdump --help for usage)\n";
    return kExitBadFlags;
  }
  if (options->help) {
    std::cout << kUsage;
    return kExitOk;
  }
  std::ios::sync_with_stdio(false);
  PacketDecoder decoder(*options);
  int rc = options->hex ? RunHex(decoder) : RunCapture(*options, decoder);
  std::cout.flush();
  if (rc == kExitOk) std::cerr << "switchboard-rtpdump: " << decoder.Summary() << '\n';
  return rc;
}

}  // namespace
}  // namespace sb::rtpdump

int main(int argc, char** argv) { return sb::rtpdump::Main(argc, argv); }
