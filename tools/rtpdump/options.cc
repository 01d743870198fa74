#include "tools/rtpdump/options.h"

#include <array>
#include <cctype>
#include <charconv>
#include <sstream>

#include "absl/status/status.h"
#include "rtp/rtp_parameters.h"

namespace sb::rtpdump {
namespace {

// Builds a message from std::string_views too (Debian's Abseil has its own string_view).
template <typename... T>
std::string Cat(const T&... parts) {
  std::ostringstream os;
  (os << ... << parts);
  return os.str();
}

struct KnownExtension {
  ExtKind kind;
  std::string_view name;
  std::string_view uri;
};

// AV1 RTP specification, appendix A.
constexpr char kUriDependencyDescriptor[] =
    "https://aomediacodec.github.io/av1-rtp-spec/#dependency-descriptor-rtp-header-extension";

constexpr std::array<KnownExtension, 11> kKnownExtensions = {{
    {ExtKind::kMid, "mid", rtp::kUriMid},
    {ExtKind::kRid, "rid", rtp::kUriRid},
    {ExtKind::kRepairedRid, "repaired-rid", rtp::kUriRepairedRid},
    {ExtKind::kAbsSendTime, "abs-send-time", rtp::kUriAbsSendTime},
    {ExtKind::kTransportCc, "transport-cc", rtp::kUriTransportWideCc},
    {ExtKind::kAudioLevel, "audio-level", rtp::kUriAudioLevel},
    {ExtKind::kVideoOrientation, "video-orientation", rtp::kUriVideoOrientation},
    {ExtKind::kToffset, "toffset", rtp::kUriToffset},
    {ExtKind::kPlayoutDelay, "playout-delay", rtp::kUriPlayoutDelay},
    {ExtKind::kAbsCaptureTime, "abs-capture-time", rtp::kUriAbsCaptureTime},
    {ExtKind::kDependencyDescriptor, "dependency-descriptor", kUriDependencyDescriptor},
}};

constexpr std::array<std::pair<Codec, std::string_view>, 5> kCodecs = {{
    {Codec::kVp8, "VP8"},
    {Codec::kVp9, "VP9"},
    {Codec::kH264, "H264"},
    {Codec::kAv1, "AV1"},
    {Codec::kOpus, "opus"},
}};

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

std::optional<unsigned> ParseNumber(std::string_view s) {
  unsigned value = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return value;
}

// Splits "N=VALUE" into its number (at most `max`, at least `min`) and value.
absl::StatusOr<std::pair<uint8_t, std::string_view>> ParseAssignment(std::string_view flag,
                                                                     std::string_view arg,
                                                                     unsigned min, unsigned max) {
  size_t eq = arg.find('=');
  if (eq == std::string_view::npos || eq + 1 == arg.size()) {
    return absl::InvalidArgumentError(Cat(flag, " wants N=VALUE, got '", arg, "'"));
  }
  std::optional<unsigned> n = ParseNumber(arg.substr(0, eq));
  if (!n || *n < min || *n > max) {
    return absl::InvalidArgumentError(
        Cat(flag, ": '", arg.substr(0, eq), "' is not a number in ", min, "..", max));
  }
  return std::make_pair(static_cast<uint8_t>(*n), arg.substr(eq + 1));
}

}  // namespace

const char kUsage[] = R"(usage: switchboard-rtpdump [flags] CAPTURE.pcap
       switchboard-rtpdump --hex [flags] < packets.txt

Prints every UDP packet of a capture as one JSON object per line, demultiplexed by its first
byte (RFC 7983): "kind" is stun, dtls, rtp, rtcp or unknown. A summary of the counts per kind
goes to standard error at the end.

Input
  CAPTURE          a pcap or pcapng file (link types Ethernet, Linux cooked v1/v2, BSD
                   loopback/NULL, raw IPv4/IPv6); IPv4 fragments and non-UDP frames are
                   printed as {"kind":"skipped","reason":...}.
  --hex            read UDP payloads from standard input instead: one packet per line, hex
                   digits, optionally separated by spaces or colons; '#' starts a comment.

Decoding
  --ext ID=NAME    header extension ID (1..255) carries NAME: a URI, or one of the short names
                   mid, rid, repaired-rid, abs-send-time, transport-cc, audio-level,
                   video-orientation, toffset, playout-delay, abs-capture-time,
                   dependency-descriptor. Mapped extensions get a decoded "value"; every
                   extension is printed with its id and raw hex anyway. Repeatable.
  --pt PT=CODEC    payload type PT (0..127) is CODEC: VP8, VP9, H264, AV1 or opus. Repeatable.
  --plain          RTP payloads are plain (not SRTP): decode the codec descriptor of mapped
                   payload types. In SRTP only the RTP header and its extensions are readable;
                   the payload (and the padding count) is encrypted, so without --plain no
                   descriptor is decoded and "payload_length" includes the auth tag.
  --help           this text

Output fields
  common  index (frame number in the file, or packet number for --hex), time (seconds since
          the epoch, pcap only), src and dst ("ip:port", pcap only), length (UDP payload bytes)
  stun    method, class, transaction_id, attributes (each with its type and decoded value),
          fingerprint_valid
  dtls    records: content_type, version, epoch, sequence_number, length, and for epoch-0
          handshakes the handshake message type (ClientHello, ServerHello, ...)
  rtp     version, padding, extension, marker, pt, seq, ts, ssrc, csrcs, extensions (id,
          hex, uri and value when mapped), payload_length, codec descriptor (with --plain)
  rtcp    packets: every sub-packet of the compound with its fields (SR, RR, SDES, BYE, APP,
          NACK, TMMBR/TMMBN, transport-cc feedback summary, PLI, SLI, FIR, REMB, XR). SRTCP
          encrypts all but the first 8 bytes: such packets print that header with
          "encrypted": true and the SRTCP index read from the E-flagged trailer.
  error   a malformed packet prints {"index":...,"error":"..."} and the tool goes on.

Exit status: 0 when the input was read, 1 when the file could not be read, 2 on bad flags.
)";

std::optional<ExtMapping> LookupExtension(std::string_view name_or_uri) {
  for (const KnownExtension& e : kKnownExtensions) {
    if (name_or_uri == e.uri || EqualsIgnoreCase(name_or_uri, e.name)) {
      return ExtMapping{e.kind, std::string(e.uri)};
    }
  }
  // Any other URI is accepted and printed, but not decoded.
  if (name_or_uri.find(':') != std::string_view::npos) {
    return ExtMapping{ExtKind::kUnknown, std::string(name_or_uri)};
  }
  return std::nullopt;
}

std::string_view ExtKindName(ExtKind kind) {
  for (const KnownExtension& e : kKnownExtensions) {
    if (e.kind == kind) return e.name;
  }
  return "unknown";
}

std::string_view CodecName(Codec codec) {
  for (const auto& [c, name] : kCodecs) {
    if (c == codec) return name;
  }
  return "?";
}

absl::StatusOr<Options> ParseOptions(const std::vector<std::string_view>& args) {
  Options options;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string_view arg = args[i];
    // "--flag=value" and "--flag value" both work for the flags that take a value.
    auto value_of = [&](std::string_view flag) -> absl::StatusOr<std::string_view> {
      if (arg.size() > flag.size() && arg.substr(0, flag.size()) == flag &&
          arg[flag.size()] == '=') {
        return arg.substr(flag.size() + 1);
      }
      if (i + 1 >= args.size()) {
        return absl::InvalidArgumentError(Cat(flag, " needs a value"));
      }
      return args[++i];
    };
    auto is_flag = [&](std::string_view flag) {
      return arg == flag || (arg.substr(0, flag.size()) == flag && arg.size() > flag.size() &&
                             arg[flag.size()] == '=');
    };
    if (arg == "--help" || arg == "-h") {
      options.help = true;
    } else if (arg == "--hex") {
      options.hex = true;
    } else if (arg == "--plain") {
      options.plain = true;
    } else if (is_flag("--ext")) {
      absl::StatusOr<std::string_view> value = value_of("--ext");
      if (!value.ok()) return value.status();
      auto assignment = ParseAssignment("--ext", *value, 1, 255);
      if (!assignment.ok()) return assignment.status();
      std::optional<ExtMapping> mapping = LookupExtension(assignment->second);
      if (!mapping) {
        return absl::InvalidArgumentError(Cat("--ext: unknown extension name '", assignment->second,
                                              "' (use a URI or a name listed in --help)"));
      }
      options.extensions[assignment->first] = *mapping;
    } else if (is_flag("--pt")) {
      absl::StatusOr<std::string_view> value = value_of("--pt");
      if (!value.ok()) return value.status();
      auto assignment = ParseAssignment("--pt", *value, 0, 127);
      if (!assignment.ok()) return assignment.status();
      bool found = false;
      for (const auto& [codec, name] : kCodecs) {
        if (EqualsIgnoreCase(assignment->second, name)) {
          options.payload_types[assignment->first] = codec;
          found = true;
        }
      }
      if (!found) {
        return absl::InvalidArgumentError(
            Cat("--pt: unknown codec '", assignment->second, "' (VP8, VP9, H264, AV1 or opus)"));
      }
    } else if (arg.size() > 1 && arg[0] == '-') {
      return absl::InvalidArgumentError(Cat("unknown flag '", arg, "'"));
    } else if (!options.file.empty()) {
      return absl::InvalidArgumentError("more than one capture file given");
    } else {
      options.file = std::string(arg);
    }
  }
  if (options.help) return options;
  if (options.hex && !options.file.empty()) {
    return absl::InvalidArgumentError("--hex reads standard input: give no capture file");
  }
  if (!options.hex && options.file.empty()) {
    return absl::InvalidArgumentError("no capture file given (or --hex for standard input)");
  }
  return options;
}

}  // namespace sb::rtpdump
