#include "signaling/sdp/sdp_session.h"

#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"

namespace sb::signaling::sdp {

void AttributeList::Add(std::string name, std::string value) {
  attributes_.push_back({std::move(name), std::move(value)});
}

bool AttributeList::Has(std::string_view name) const { return Get(name).has_value(); }

std::optional<std::string_view> AttributeList::Get(std::string_view name) const {
  for (const Attribute& a : attributes_) {
    if (a.name == name) return std::string_view(a.value);
  }
  return std::nullopt;
}

std::vector<std::string_view> AttributeList::GetAll(std::string_view name) const {
  std::vector<std::string_view> values;
  for (const Attribute& a : attributes_) {
    if (a.name == name) values.emplace_back(a.value);
  }
  return values;
}

namespace {

// RFC 8866 section 9: token-char.
bool IsTokenChar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return absl::string_view("!#$%&'*+-.^_`{|}~").find(c) != absl::string_view::npos;
}

bool IsToken(absl::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!IsTokenChar(c)) return false;
  }
  return true;
}

// proto = token *("/" token), e.g. "UDP/TLS/RTP/SAVPF".
bool IsProto(absl::string_view s) {
  for (absl::string_view part : absl::StrSplit(s, '/')) {
    if (!IsToken(part)) return false;
  }
  return true;
}

absl::Status LineError(size_t line_no, absl::string_view what, absl::string_view line) {
  constexpr size_t kShown = 80;
  std::string shown = absl::CHexEscape(line.substr(0, kShown));
  if (line.size() > kShown) shown += "...";
  return absl::InvalidArgumentError(
      absl::StrCat("SDP line ", line_no, ": ", what, " (\"", shown, "\")"));
}

std::optional<uint16_t> ParsePort(absl::string_view s) {
  uint32_t v = 0;
  if (s.empty() || s.size() > 5 || !absl::SimpleAtoi(s, &v) || v > 65535) return std::nullopt;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  return static_cast<uint16_t>(v);
}

bool ParseDecimal(absl::string_view s, uint64_t* out) {
  if (s.empty() || s.size() > 20) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return absl::SimpleAtoi(s, out);
}

std::optional<Connection> ParseConnection(absl::string_view value) {
  std::vector<absl::string_view> f = absl::StrSplit(value, ' ', absl::SkipEmpty());
  if (f.size() != 3 || !IsToken(f[0]) || !IsToken(f[1])) return std::nullopt;
  return Connection{std::string(f[0]), std::string(f[1]), std::string(f[2])};
}

std::optional<Origin> ParseOrigin(absl::string_view value) {
  std::vector<absl::string_view> f = absl::StrSplit(value, ' ', absl::SkipEmpty());
  if (f.size() != 6) return std::nullopt;
  Origin o;
  o.username = std::string(f[0]);
  if (!ParseDecimal(f[1], &o.session_id) || !ParseDecimal(f[2], &o.session_version)) {
    return std::nullopt;
  }
  if (!IsToken(f[3]) || !IsToken(f[4])) return std::nullopt;
  o.net_type = std::string(f[3]);
  o.addr_type = std::string(f[4]);
  o.address = std::string(f[5]);
  return o;
}

std::optional<MediaDescription> ParseMediaLine(absl::string_view value) {
  std::vector<absl::string_view> f = absl::StrSplit(value, ' ', absl::SkipEmpty());
  if (f.size() < 4 || !IsToken(f[0]) || !IsProto(f[2])) return std::nullopt;
  MediaDescription m;
  m.media = std::string(f[0]);
  std::pair<absl::string_view, absl::string_view> port =
      absl::StrSplit(f[1], absl::MaxSplits('/', 1));
  std::optional<uint16_t> p = ParsePort(port.first);
  if (!p) return std::nullopt;
  m.port = *p;
  if (f[1].find('/') != absl::string_view::npos) {
    std::optional<uint16_t> n = ParsePort(port.second);
    if (!n || *n == 0) return std::nullopt;
    m.port_count = *n;
  }
  m.proto = std::string(f[2]);
  for (size_t i = 3; i < f.size(); ++i) {
    if (!IsToken(f[i])) return std::nullopt;
    m.formats.emplace_back(f[i]);
  }
  return m;
}

std::optional<Attribute> ParseAttribute(absl::string_view value) {
  size_t colon = value.find(':');
  absl::string_view name = value.substr(0, colon);
  if (!IsToken(name)) return std::nullopt;
  Attribute a{std::string(name), {}};
  if (colon != absl::string_view::npos) a.value = std::string(value.substr(colon + 1));
  return a;
}

void AppendLine(std::string& out, char type, absl::string_view value) {
  out.push_back(type);
  out.push_back('=');
  out.append(value.data(), value.size());
  out.append("\r\n");
}

void AppendConnection(std::string& out, const Connection& c) {
  AppendLine(out, 'c', absl::StrCat(c.net_type, " ", c.addr_type, " ", c.address));
}

void AppendAttributes(std::string& out, const AttributeList& attrs) {
  for (const Attribute& a : attrs.all()) {
    AppendLine(out, 'a', a.value.empty() ? a.name : absl::StrCat(a.name, ":", a.value));
  }
}

void AppendLinesOfType(std::string& out, const std::vector<Line>& lines, char type) {
  for (const Line& l : lines) {
    if (l.type == type) AppendLine(out, l.type, l.value);
  }
}

}  // namespace

absl::StatusOr<SessionDescription> SessionDescription::Parse(std::string_view input) {
  // Debian's Abseil has its own string_view type; work in it.
  const absl::string_view text(input.data(), input.size());
  if (text.size() > kMaxSdpSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("SDP is ", text.size(), " bytes, more than the limit of ", kMaxSdpSize));
  }
  SessionDescription sd;
  // 0: expect v=, 1: expect o=, 2: expect s=, 3: session lines, 4: media lines.
  int state = 0;
  bool have_timing = false;
  size_t section_lines = 0;
  size_t line_no = 0;
  size_t last_line_no = 0;

  std::vector<absl::string_view> raw_lines = absl::StrSplit(text, '\n');
  for (absl::string_view line : raw_lines) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;  // tolerated: blank lines, the final newline
    last_line_no = line_no;
    for (char c : line) {
      unsigned char u = static_cast<unsigned char>(c);
      if ((u < 0x20 && c != '\t') || u == 0x7f) {
        return LineError(line_no, "control character in line", line);
      }
    }
    if (line.size() < 2 || line[1] != '=' || line[0] < 'a' || line[0] > 'z') {
      return LineError(line_no, "not a <type>=<value> line", line);
    }
    const char type = line[0];
    const absl::string_view value = line.substr(2);

    if (++section_lines > kMaxLinesPerSection) {
      return LineError(
          line_no, absl::StrCat("more than ", kMaxLinesPerSection, " lines in a section"), line);
    }
    if (state == 0) {
      if (type != 'v') return LineError(line_no, "SDP must start with v=", line);
      if (value != "0") return LineError(line_no, "unsupported SDP version", line);
      state = 1;
      continue;
    }
    if (state == 1) {
      if (type != 'o') return LineError(line_no, "expected o= after v=", line);
      std::optional<Origin> origin = ParseOrigin(value);
      if (!origin) return LineError(line_no, "bad o= line", line);
      sd.origin = std::move(*origin);
      state = 2;
      continue;
    }
    if (state == 2) {
      if (type != 's') return LineError(line_no, "expected s= after o=", line);
      if (value.empty()) return LineError(line_no, "empty s= line", line);
      sd.session_name = std::string(value);
      state = 3;
      continue;
    }
    if (type == 'm') {
      if (!have_timing) return LineError(line_no, "m= before any t= line", line);
      if (sd.media.size() == kMaxMediaSections) {
        return LineError(line_no, absl::StrCat("more than ", kMaxMediaSections, " m= sections"),
                         line);
      }
      std::optional<MediaDescription> m = ParseMediaLine(value);
      if (!m) return LineError(line_no, "bad m= line", line);
      sd.media.push_back(std::move(*m));
      state = 4;
      section_lines = 1;
      continue;
    }
    if (type == 'a') {
      std::optional<Attribute> a = ParseAttribute(value);
      if (!a) return LineError(line_no, "bad attribute name", line);
      AttributeList& attrs = state == 4 ? sd.media.back().attributes : sd.attributes;
      attrs.Add(std::move(a->name), std::move(a->value));
      continue;
    }
    if (type == 'c') {
      std::optional<Connection>& slot = state == 4 ? sd.media.back().connection : sd.connection;
      if (slot) return LineError(line_no, "second c= line in a section", line);
      slot = ParseConnection(value);
      if (!slot) return LineError(line_no, "bad c= line", line);
      continue;
    }
    const absl::string_view allowed = state == 4 ? "ibk" : "iuepbtrzk";
    if (allowed.find(type) == absl::string_view::npos) {
      return LineError(line_no, "line type not allowed here", line);
    }
    if (type == 't') {
      std::vector<absl::string_view> f = absl::StrSplit(value, ' ', absl::SkipEmpty());
      uint64_t start = 0, stop = 0;
      if (f.size() != 2 || !ParseDecimal(f[0], &start) || !ParseDecimal(f[1], &stop)) {
        return LineError(line_no, "bad t= line", line);
      }
      have_timing = true;
    }
    std::vector<Line>& lines = state == 4 ? sd.media.back().lines : sd.lines;
    lines.push_back({type, std::string(value)});
  }
  if (state < 3) {
    return absl::InvalidArgumentError(absl::StrCat("SDP line ", last_line_no + 1,
                                                   ": incomplete SDP (needs v=, o= and s= lines)"));
  }
  if (!have_timing) {
    return absl::InvalidArgumentError(
        absl::StrCat("SDP line ", last_line_no + 1, ": missing t= line"));
  }
  return sd;
}

std::string SessionDescription::Serialize() const {
  std::string out;
  out.reserve(1024 + media.size() * 2048);
  AppendLine(out, 'v', "0");
  AppendLine(out, 'o',
             absl::StrCat(origin.username, " ", origin.session_id, " ", origin.session_version, " ",
                          origin.net_type, " ", origin.addr_type, " ", origin.address));
  AppendLine(out, 's', session_name.empty() ? "-" : session_name);
  for (char type : absl::string_view("iuep")) AppendLinesOfType(out, lines, type);
  if (connection) AppendConnection(out, *connection);
  AppendLinesOfType(out, lines, 'b');
  bool has_timing = false;
  for (const Line& l : lines) has_timing |= l.type == 't';
  if (!has_timing) AppendLine(out, 't', "0 0");
  for (char type : absl::string_view("trzk")) AppendLinesOfType(out, lines, type);
  AppendAttributes(out, attributes);

  for (const MediaDescription& m : media) {
    std::string port =
        m.port_count ? absl::StrCat(m.port, "/", m.port_count) : absl::StrCat(m.port);
    AppendLine(out, 'm',
               absl::StrCat(m.media, " ", port, " ", m.proto, " ", absl::StrJoin(m.formats, " ")));
    AppendLinesOfType(out, m.lines, 'i');
    if (m.connection) AppendConnection(out, *m.connection);
    AppendLinesOfType(out, m.lines, 'b');
    AppendLinesOfType(out, m.lines, 'k');
    AppendAttributes(out, m.attributes);
  }
  return out;
}

}  // namespace sb::signaling::sdp
