// A generic SDP (RFC 8866) session description: parse and serialize, no WebRTC meaning.
// Strict about syntax (every line checked, bounded sizes, errors name the line), tolerant
// about the things real peers vary in (CRLF or LF, blank lines, unknown attributes).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace sb::signaling::sdp {

// Bounds on what we parse. A subscriber's answer has one m-line per track it receives: in a
// room of 100 where everyone publishes audio and video about 200, each 0.5-2 KiB (Chromium's
// video section is ~120 lines); the WebSocket carries messages of up to 1 MiB.
inline constexpr size_t kMaxSdpSize = 1024 * 1024;
inline constexpr size_t kMaxMediaSections = 1024;
inline constexpr size_t kMaxLinesPerSection = 1024;

// "a=<name>" (value empty) or "a=<name>:<value>" (value kept verbatim after the first ':').
struct Attribute {
  std::string name;
  std::string value;
  bool operator==(const Attribute&) const = default;
};

// Attributes in the order they appear; names compare case-sensitively as peers write them.
class AttributeList {
 public:
  void Add(std::string name, std::string value = {});
  bool Has(std::string_view name) const;
  // Value of the first attribute with this name.
  std::optional<std::string_view> Get(std::string_view name) const;
  // Values of every attribute with this name, in order.
  std::vector<std::string_view> GetAll(std::string_view name) const;
  const std::vector<Attribute>& all() const { return attributes_; }
  size_t size() const { return attributes_.size(); }

 private:
  std::vector<Attribute> attributes_;
};

// Any other line ("i=", "b=", "t=", ...), kept verbatim.
struct Line {
  char type = 0;
  std::string value;
};

// c=<nettype> <addrtype> <address> (RFC 8866 section 5.7).
struct Connection {
  std::string net_type = "IN";
  std::string addr_type = "IP4";
  std::string address;
};

// o=<username> <sess-id> <sess-version> <nettype> <addrtype> <address> (section 5.2).
struct Origin {
  std::string username = "-";
  uint64_t session_id = 0;
  uint64_t session_version = 0;
  std::string net_type = "IN";
  std::string addr_type = "IP4";
  std::string address = "127.0.0.1";
};

// m=<media> <port>[/<number of ports>] <proto> <fmt> ... and the lines under it.
struct MediaDescription {
  std::string media;  // "audio", "video", "application", ...
  uint16_t port = 0;
  uint16_t port_count = 0;  // 0 = not written
  std::string proto;
  std::vector<std::string> formats;
  std::optional<Connection> connection;
  std::vector<Line> lines;  // i=, b=, k= in order
  AttributeList attributes;
};

struct SessionDescription {
  Origin origin;
  std::string session_name = "-";
  std::optional<Connection> connection;
  std::vector<Line> lines;  // i=, u=, e=, p=, b=, t=, r=, z=, k= in order; t= defaults to "0 0"
  AttributeList attributes;
  std::vector<MediaDescription> media;

  // Parses CRLF- or LF-terminated SDP. Errors are InvalidArgument and name the line number.
  static absl::StatusOr<SessionDescription> Parse(std::string_view text);
  // Writes CRLF-terminated SDP in RFC 8866 line order.
  std::string Serialize() const;
};

}  // namespace sb::signaling::sdp
