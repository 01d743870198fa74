#include "signaling/config.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "signaling/auth.h"
#include "signaling/cluster/redis_client.h"
#include "signaling/origin.h"
#include "signaling/turn.h"

namespace sb::signaling {
namespace {

struct Option {
  const char* name;
  const char* value_name;
  const char* help;
  std::function<absl::Status(Config&, absl::string_view)> apply;
  // A switch: "--name" alone means true; "--name=false" (or false in the config file) off.
  bool is_switch = false;
  // May be given more than once on the command line: the values add up, as if separated by
  // commas (a config file gives them as one comma-separated string or an array of strings).
  bool repeatable = false;
};

absl::Status ParseBool(absl::string_view text, bool* out) {
  if (text == "true" || text == "1" || text == "yes") {
    *out = true;
  } else if (text == "false" || text == "0" || text == "no") {
    *out = false;
  } else {
    return absl::InvalidArgumentError(absl::StrCat("not true or false: '", text, "'"));
  }
  return absl::OkStatus();
}

absl::Status ParseReadableFile(absl::string_view text, std::string* out) {
  std::ifstream in{std::string(text)};
  if (!in) return absl::InvalidArgumentError(absl::StrCat("cannot read '", text, "'"));
  *out = std::string(text);
  return absl::OkStatus();
}

absl::Status ParsePort(absl::string_view text, uint16_t* out, bool allow_zero) {
  uint32_t value = 0;
  if (!absl::SimpleAtoi(text, &value) || value > 65535 || (!allow_zero && value == 0)) {
    return absl::InvalidArgumentError(absl::StrCat("not a port number: '", text, "'"));
  }
  *out = static_cast<uint16_t>(value);
  return absl::OkStatus();
}

absl::Status ParseInt(absl::string_view text, int min, int max, int* out) {
  int value = 0;
  if (!absl::SimpleAtoi(text, &value) || value < min || value > max) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", text, "' is not a whole number from ", min, " to ", max));
  }
  *out = value;
  return absl::OkStatus();
}

absl::Status ParseIp(absl::string_view text, std::string* out) {
  // Only literal addresses: we bind to them and put them in SDP candidates.
  unsigned char buf[16];
  std::string s(text);
  if (inet_pton(AF_INET, s.c_str(), buf) != 1 && inet_pton(AF_INET6, s.c_str(), buf) != 1) {
    return absl::InvalidArgumentError(absl::StrCat("not an IP address: '", text, "'"));
  }
  *out = s;
  return absl::OkStatus();
}

bool IsIpv6(absl::string_view ip) { return ip.find(':') != absl::string_view::npos; }

// A comma-separated list of literal addresses, at most `max_per_family` of each family.
absl::Status ParseIpList(absl::string_view text, size_t max_per_family,
                         std::vector<std::string>* out) {
  std::vector<std::string> ips;
  size_t v4 = 0, v6 = 0;
  for (absl::string_view item : absl::StrSplit(text, ',', absl::SkipWhitespace())) {
    std::string ip;
    if (auto s = ParseIp(absl::StripAsciiWhitespace(item), &ip); !s.ok()) return s;
    if (std::find(ips.begin(), ips.end(), ip) != ips.end()) continue;
    if (++(IsIpv6(ip) ? v6 : v4) > max_per_family) {
      return absl::InvalidArgumentError(absl::StrCat("at most ", max_per_family, " IPv4 and ",
                                                     max_per_family, " IPv6 address",
                                                     max_per_family == 1 ? "" : "es"));
    }
    ips.push_back(std::move(ip));
  }
  if (ips.empty()) return absl::InvalidArgumentError("no address given");
  *out = std::move(ips);
  return absl::OkStatus();
}

// Candidates a browser is offered per listen address: a handful is all anyone announces (public,
// private, a VPN's); each is one more line in every SDP and one more pair for each peer to check.
constexpr size_t kMaxAnnouncedPerFamily = 4;

absl::Status ParsePortRange(absl::string_view text, Config& c) {
  size_t dash = text.find('-');
  if (dash == absl::string_view::npos) {
    return absl::InvalidArgumentError("port range must look like 40000-49999");
  }
  uint16_t lo = 0, hi = 0;
  if (auto s = ParsePort(text.substr(0, dash), &lo, false); !s.ok()) return s;
  if (auto s = ParsePort(text.substr(dash + 1), &hi, false); !s.ok()) return s;
  if (lo > hi) return absl::InvalidArgumentError("port range is empty (min > max)");
  c.rtc_port_min = lo;
  c.rtc_port_max = hi;
  return absl::OkStatus();
}

absl::Status ParseSecret(absl::string_view text, Config& c) {
  if (text.size() < kMinAuthSecretBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("the secret must be at least ", kMinAuthSecretBytes,
                     " bytes (RFC 7518 3.2; e.g. openssl rand -hex 32)"));
  }
  c.auth_secret = std::string(text);
  return absl::OkStatus();
}

absl::Status ParseOrigins(absl::string_view text, Config& c) {
  std::vector<std::string> origins;
  for (absl::string_view item : absl::StrSplit(text, ',', absl::SkipWhitespace())) {
    item = absl::StripAsciiWhitespace(item);
    if (item == "*") {
      origins.emplace_back("*");
      continue;
    }
    std::optional<std::string> origin = NormalizeOrigin(std::string_view(item.data(), item.size()));
    if (!origin) {
      return absl::InvalidArgumentError(
          absl::StrCat("'", item, "' is not an origin like https://meet.example.com[:port]"));
    }
    origins.push_back(*std::move(origin));
  }
  if (origins.empty()) return absl::InvalidArgumentError("no origin given");
  c.allowed_origins = std::move(origins);
  return absl::OkStatus();
}

// Far longer than any password Redis users pick; a bound so that a wrong path (a log, a device)
// is an error rather than a huge read.
constexpr size_t kMaxRedisPasswordBytes = 4096;

// The file's first line, without its line end. The messages never quote the file's content.
absl::Status ReadRedisPasswordFile(absl::string_view path, Config& c) {
  std::ifstream in{std::string(path), std::ios::binary};
  if (!in) return absl::InvalidArgumentError(absl::StrCat("cannot read '", path, "'"));
  std::string text(kMaxRedisPasswordBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.bad()) return absl::InvalidArgumentError(absl::StrCat("cannot read '", path, "'"));
  text.resize(static_cast<size_t>(in.gcount()));
  const size_t end = text.find('\n');
  if (end == std::string::npos && text.size() > kMaxRedisPasswordBytes) {
    return absl::InvalidArgumentError(absl::StrCat("the first line of '", path, "' is longer than ",
                                                   kMaxRedisPasswordBytes, " bytes"));
  }
  std::string password = text.substr(0, end);
  if (!password.empty() && password.back() == '\r') password.pop_back();  // Written on Windows.
  if (password.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", path, "' has no password on its first line"));
  }
  c.redis_password = std::move(password);
  return absl::OkStatus();
}

absl::Status ParseRedisUser(absl::string_view text, Config& c) {
  // Redis's ACL names its users in config lines split at spaces: none can hold one.
  if (text.empty() || text.size() > 256 || std::any_of(text.begin(), text.end(), [](char ch) {
        return absl::ascii_isspace(static_cast<unsigned char>(ch)) ||
               absl::ascii_iscntrl(static_cast<unsigned char>(ch));
      })) {
    return absl::InvalidArgumentError("a Redis ACL user name: 1-256 characters, no spaces");
  }
  c.redis_user = std::string(text);
  return absl::OkStatus();
}

absl::Status ParseTurnUrls(absl::string_view text, Config& c) {
  std::vector<std::string> urls;
  for (absl::string_view item : absl::StrSplit(text, ',', absl::SkipWhitespace())) {
    item = absl::StripAsciiWhitespace(item);
    auto url = ParseTurnUrl(std::string_view(item.data(), item.size()));
    if (!url.ok()) return url.status();
    urls.push_back(url->ToString());
  }
  if (urls.empty()) return absl::InvalidArgumentError("no URL given");
  c.turn_urls = std::move(urls);
  return absl::OkStatus();
}

// The message never repeats the value: it is a secret.
absl::Status ParseTurnSecret(absl::string_view text, Config& c) {
  if (text.size() < kMinTurnSecretBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("the secret must be at least ", kMinTurnSecretBytes,
                     " bytes (RFC 2104 section 3; e.g. openssl rand -hex 32)"));
  }
  c.turn_secret = std::string(text);
  return absl::OkStatus();
}

const std::vector<Option>& Options() {
  static const std::vector<Option> options = {
      {"listen", "IP", "address for HTTP and WebSocket (default 127.0.0.1)",
       [](Config& c, absl::string_view v) { return ParseIp(v, &c.listen_ip); }},
      {"port", "N", "port for HTTP and WebSocket (default 8080; 0 picks a free one)",
       [](Config& c, absl::string_view v) { return ParsePort(v, &c.port, true); }},
      {"rtc-listen", "IP[,IP]",
       "address(es) the media sockets bind: one IPv4 and/or one IPv6, e.g. 0.0.0.0,:: (default "
       "127.0.0.1)",
       [](Config& c, absl::string_view v) { return ParseIpList(v, 1, &c.rtc_listen_ips); }},
      {"announced-ip", "IP,...",
       "address(es) put in ICE candidates instead of the rtc-listen one of their family, e.g. a "
       "public and a private one (comma-separated or repeated; default: the rtc-listen "
       "addresses)",
       [](Config& c, absl::string_view v) {
         return ParseIpList(v, kMaxAnnouncedPerFamily, &c.announced_ips);
       },
       false, true},
      {"rtc-port", "N",
       "one UDP port per worker for all its transports: worker i uses N+i (default 40000; a "
       "worker whose default port is busy uses --rtc-ports instead, with a warning; a port given "
       "here must be free; 0: always a port per transport from --rtc-ports)",
       [](Config& c, absl::string_view v) {
         c.rtc_port_strict = true;
         return ParsePort(v, &c.rtc_port, true);
       }},
      {"rtc-ports", "MIN-MAX",
       "UDP port range for a port per transport (--rtc-port=0, or when the default --rtc-port is "
       "busy) (default 40000-49999)",
       [](Config& c, absl::string_view v) { return ParsePortRange(v, c); }},
      {"ice-tcp", "",
       "offer ICE over TCP for clients whose UDP is blocked (default on; --ice-tcp=false: UDP "
       "only)",
       [](Config& c, absl::string_view v) { return ParseBool(v, &c.ice_tcp); }, true},
      {"ice-tcp-port", "N",
       "TCP port of worker 0 for ICE-TCP; worker i listens on N+i (default 50000; 0: each worker "
       "a free one)",
       [](Config& c, absl::string_view v) { return ParsePort(v, &c.ice_tcp_port, true); }},
      {"workers", "N", "media worker processes (default: one per core)",
       [](Config& c, absl::string_view v) { return ParseInt(v, 1, 256, &c.workers); }},
      {"room-capacity", "N", "participants per room (default 16)",
       // A webinar spread over workers holds thousands (docs/performance.md); what one
       // subscriber receives stays bounded by its m-lines (sdp::kMaxMediaSections).
       [](Config& c, absl::string_view v) { return ParseInt(v, 1, 100'000, &c.room_capacity); }},
      {"room-shard-size", "N",
       "participants per worker in one room: beyond, the room spreads to another worker and its "
       "tracks are piped there (default 50; 0: a room stays on one worker)",
       [](Config& c, absl::string_view v) { return ParseInt(v, 0, 100'000, &c.room_shard_size); }},
      {"last-n", "N",
       "video of at most N others per subscriber, the most recent speakers and pinned ones "
       "first; audio from everyone (default 0: all)",
       [](Config& c, absl::string_view v) { return ParseInt(v, 0, 1000, &c.last_n); }},
      {"dynacast", "",
       "tell simulcast publishers to stop the layers no subscriber wants and start them again "
       "when one does (default on; --dynacast=false: every layer is always sent)",
       [](Config& c, absl::string_view v) { return ParseBool(v, &c.dynacast); }, true},
      {"resume-grace", "SECONDS",
       "how long a participant whose connection broke may resume (default 20; 0: never)",
       [](Config& c, absl::string_view v) {
         return ParseInt(v, 0, 3600, &c.resume_grace_seconds);
       }},
      {"answer-timeout", "SECONDS",
       "a subscribe-offer unanswered this long is offered afresh (default 10)",
       [](Config& c, absl::string_view v) {
         return ParseInt(v, 1, 3600, &c.answer_timeout_seconds);
       }},
      {"max-connections", "N", "TCP connections to the HTTP/WebSocket port (default 4096)",
       [](Config& c, absl::string_view v) {
         return ParseInt(v, 1, 1'000'000, &c.max_connections);
       }},
      {"max-connections-per-ip", "N", "connections from one address (default 256)",
       [](Config& c, absl::string_view v) {
         return ParseInt(v, 1, 1'000'000, &c.max_connections_per_ip);
       }},
      {"messages-per-second", "N",
       "client messages a second per WebSocket, bursts of 4x (default 50)",
       [](Config& c, absl::string_view v) {
         return ParseInt(v, 1, 100'000, &c.messages_per_second);
       }},
      {"joins-per-second", "N", "joins a second, server-wide, bursts of 2x (default 100)",
       [](Config& c, absl::string_view v) { return ParseInt(v, 1, 100'000, &c.joins_per_second); }},
      {"max-rooms", "N", "rooms open at once (default 1000)",
       [](Config& c, absl::string_view v) { return ParseInt(v, 1, 1'000'000, &c.max_rooms); }},
      {"max-participants-per-worker", "N", "participants on one media worker (default 2000)",
       [](Config& c, absl::string_view v) {
         return ParseInt(v, 1, 1'000'000, &c.max_participants_per_worker);
       }},
      {"websocket-ping", "SECONDS",
       "a WebSocket silent this long is pinged; silent 3x this long, it is closed (default 15)",
       [](Config& c, absl::string_view v) {
         return ParseInt(v, 1, 3600, &c.websocket_ping_seconds);
       }},
      {"auth-secret", "SECRET",
       "joins need a token signed with SECRET (32+ bytes; see `switchboard token`), /api/* and "
       "/metrics an admin token (default: none, open to anyone)",
       [](Config& c, absl::string_view v) { return ParseSecret(v, c); }},
      {"allowed-origins", "ORIGIN,...",
       "web origins whose pages may open the WebSocket, e.g. https://meet.example.com; * for any "
       "(default: the server's own, from the Host header)",
       [](Config& c, absl::string_view v) { return ParseOrigins(v, c); }},
      {"worker-heartbeat", "SECONDS",
       "each worker is sent a heartbeat this often (default 2; 0: no heartbeat)",
       [](Config& c, absl::string_view v) {
         return ParseInt(v, 0, 3600, &c.worker_heartbeat_seconds);
       }},
      {"worker-hang-timeout", "SECONDS",
       "a worker that leaves a heartbeat unanswered this long is killed and replaced (default 10)",
       [](Config& c, absl::string_view v) {
         return ParseInt(v, 1, 3600, &c.worker_hang_timeout_seconds);
       }},
      {"tls-cert", "FILE",
       "serve HTTPS and WSS with this PEM certificate (a chain is fine); needs --tls-key "
       "(default: plain HTTP)",
       [](Config& c, absl::string_view v) { return ParseReadableFile(v, &c.tls_cert_file); }},
      {"tls-key", "FILE", "the PEM private key of --tls-cert",
       [](Config& c, absl::string_view v) { return ParseReadableFile(v, &c.tls_key_file); }},
      {"tls-self-signed", "",
       "serve HTTPS and WSS with a certificate generated at startup (EC P-256, 30 days, for the "
       "listen and announced addresses and localhost; its SHA-256 fingerprint is logged), for a "
       "trial on a LAN",
       [](Config& c, absl::string_view v) { return ParseBool(v, &c.tls_self_signed); }, true},
      {"turn-url", "URL,...",
       "TURN relay(s) clients may use, e.g. turn:turn.example.com:3478?transport=udp, "
       "turn:turn.example.com:3478?transport=tcp, turns:turn.example.com:5349 (comma-separated or "
       "repeated; needs --turn-secret; see docs/deploy.md) (default: none)",
       [](Config& c, absl::string_view v) { return ParseTurnUrls(v, c); }, false, true},
      {"redis", "HOST:PORT",
       "join a cluster of nodes sharing this Redis as their directory (default: none, a node "
       "alone)",
       [](Config& c, absl::string_view v) -> absl::Status {
         if (auto address = cluster::ParseRedisAddress(v); !address.ok()) return address.status();
         c.redis = std::string(v);
         return absl::OkStatus();
       }},
      {"redis-user", "NAME",
       "authenticate to --redis as this ACL user (Redis 6+; needs a password) (default: the "
       "default user)",
       [](Config& c, absl::string_view v) { return ParseRedisUser(v, c); }},
      {"redis-password-file", "FILE",
       "authenticate to --redis with the password on the first line of FILE (requirepass, or "
       "--redis-user's); or set SWITCHBOARD_REDIS_PASSWORD instead (default: no AUTH)",
       [](Config& c, absl::string_view v) { return ReadRedisPasswordFile(v, c); }},
      {"node-id", "ID", "this node's id in the cluster (default: HOSTNAME-PORT)",
       [](Config& c, absl::string_view v) -> absl::Status {
         if (v.empty() || v.size() > 64) return absl::InvalidArgumentError("1-64 characters");
         c.node_id = std::string(v);
         return absl::OkStatus();
       }},
      {"node-address", "IP",
       "the address other nodes and clients reach this node at (default: --listen's)",
       [](Config& c, absl::string_view v) -> absl::Status {
         if (v.empty()) return absl::InvalidArgumentError("an address");
         c.node_address = std::string(v);
         return absl::OkStatus();
       }},
      {"turn-secret", "SECRET",
       "the relay's static-auth-secret (coturn use-auth-secret; 20+ bytes): `joined` carries "
       "credentials made with it",
       [](Config& c, absl::string_view v) { return ParseTurnSecret(v, c); }},
      {"turn-ttl", "SECONDS",
       "how long the TURN credentials in `joined` stay valid (default 86400: a day)",
       [](Config& c, absl::string_view v) {
         return ParseInt(v, 60, 30 * 86400, &c.turn_ttl_seconds);
       }},
      {"web-root", "DIR", "folder of the web app to serve (default: the bundled web/)",
       [](Config& c, absl::string_view v) {
         c.web_root = std::string(v);
         return absl::OkStatus();
       }},
      {"worker-binary", "PATH", "switchboard-worker executable (default: next to this one)",
       [](Config& c, absl::string_view v) {
         c.worker_binary = std::string(v);
         return absl::OkStatus();
       }},
      {"log-level", "LEVEL", "debug, info, warn, error or off (default info)",
       [](Config& c, absl::string_view v) {
         if (!log::ParseLevel(std::string_view(v.data(), v.size()), &c.log_level)) {
           return absl::InvalidArgumentError(absl::StrCat("unknown log level '", v, "'"));
         }
         return absl::OkStatus();
       }},
  };
  return options;
}

const Option* FindOption(absl::string_view name) {
  for (const auto& o : Options()) {
    if (name == o.name) return &o;
  }
  return nullptr;
}

// A config file is a JSON object whose keys are the flag names: {"port": 8080, ...}.
absl::Status ApplyConfigFile(const std::string& path, Config& config) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read config file ", path));
  std::stringstream text;
  text << in.rdbuf();
  nlohmann::json json = nlohmann::json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": not a JSON object"));
  }
  for (const auto& [key, value] : json.items()) {
    const Option* option = FindOption(key);
    if (!option) return absl::InvalidArgumentError(absl::StrCat(path, ": unknown key '", key, "'"));
    std::string text_value = value.is_string() ? value.get<std::string>() : value.dump();
    // A list of strings (e.g. "turn-url": ["turn:a", "turn:b"]) is the comma-separated list.
    if (value.is_array() && std::all_of(value.begin(), value.end(),
                                        [](const nlohmann::json& v) { return v.is_string(); })) {
      std::vector<std::string> items;
      for (const auto& item : value) items.push_back(item.get<std::string>());
      text_value = absl::StrJoin(items, ",");
    }
    if (auto s = option->apply(config, text_value); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": ", key, ": ", s.message()));
    }
  }
  return absl::OkStatus();
}

// After the flags: the password from the environment, and the combinations that make no sense.
// A node alone ignores the variable (it may be set for every process on the host).
absl::Status ApplyRedisCredentials(Config& config) {
  if (config.redis.empty()) {
    if (!config.redis_user.empty() || !config.redis_password.empty()) {
      return absl::InvalidArgumentError(
          "--redis-user and --redis-password-file need --redis=HOST:PORT");
    }
    return absl::OkStatus();
  }
  if (const char* env = std::getenv(kRedisPasswordEnv); env != nullptr) {
    // Two sources could disagree without anyone noticing which one won.
    if (!config.redis_password.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--redis-password-file and ", kRedisPasswordEnv, " both give a password: keep one"));
    }
    if (*env == '\0') {
      return absl::InvalidArgumentError(absl::StrCat(kRedisPasswordEnv, " is set but empty"));
    }
    config.redis_password = env;
  }
  if (!config.redis_user.empty() && config.redis_password.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--redis-user needs a password (--redis-password-file or ", kRedisPasswordEnv, ")"));
  }
  return absl::OkStatus();
}

}  // namespace

std::string HelpText() {
  std::string text =
      "Usage: switchboard [--flag=value ...]\n"
      "       switchboard token --secret=SECRET (--room=ROOM --identity=ID | --admin) [...]\n"
      "Runs the Switchboard SFU: HTTP, WebSocket signaling and the web app on one port, and\n"
      "media worker processes. With no flags it serves http://127.0.0.1:8080/.\n"
      "`switchboard token` prints a join or admin token for --auth-secret (token --help).\n\n"
      "Flags:\n";
  // Flag names in a column of 28, help wrapped at 100 columns.
  constexpr size_t kIndent = 28, kWidth = 100;
  for (const auto& o : Options()) {
    std::string line = o.is_switch ? absl::StrCat("  --", o.name)
                                   : absl::StrCat("  --", o.name, "=", o.value_name);
    if (line.size() >= kIndent) {
      absl::StrAppend(&text, line, "\n");
      line.clear();
    }
    line.resize(kIndent, ' ');
    bool first = true;
    for (absl::string_view word : absl::StrSplit(o.help, ' ', absl::SkipEmpty())) {
      if (!first && line.size() + 1 + word.size() > kWidth) {
        absl::StrAppend(&text, line, "\n");
        line = std::string(kIndent, ' ');
        first = true;
      }
      absl::StrAppend(&line, first ? "" : " ", word);
      first = false;
    }
    absl::StrAppend(&text, line, "\n");
  }
  absl::StrAppend(
      &text,
      "  --config=FILE             JSON object of the same keys (e.g. \"auth-secret\", to\n"
      "                            keep it off the command line), applied before the\n"
      "                            flags that follow it\n"
      "  --help                    this text\n\n"
      "Environment:\n"
      "  SWITCHBOARD_REDIS_PASSWORD  the password for --redis, instead of --redis-password-file\n");
  return text;
}

absl::StatusOr<Config> ParseConfig(int argc, char** argv) {
  Config config;
  // Values of repeatable flags so far on the command line, by name.
  std::map<std::string, std::string, std::less<>> repeated;
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") return absl::NotFoundError(HelpText());
    if (arg.substr(0, 2) != "--") {
      return absl::InvalidArgumentError(absl::StrCat("unexpected argument '", arg, "'"));
    }
    arg.remove_prefix(2);
    absl::string_view name = arg, value;
    bool has_value = false;
    if (size_t eq = arg.find('='); eq != absl::string_view::npos) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
      has_value = true;
    } else if (const Option* option = FindOption(name); option != nullptr && option->is_switch) {
      value = "true";
      has_value = true;
    } else if (i + 1 < argc) {
      value = argv[++i];
      has_value = true;
    }
    if (!has_value) return absl::InvalidArgumentError(absl::StrCat("--", name, " needs a value"));
    if (name == "config") {
      if (auto s = ApplyConfigFile(std::string(value), config); !s.ok()) return s;
      continue;
    }
    const Option* option = FindOption(name);
    if (!option) return absl::InvalidArgumentError(absl::StrCat("unknown flag --", name));
    std::string joined;
    if (option->repeatable) {
      std::string& so_far = repeated[std::string(name)];
      so_far = so_far.empty() ? std::string(value) : absl::StrCat(so_far, ",", value);
      joined = so_far;
      value = joined;
    }
    if (auto s = option->apply(config, value); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("--", name, ": ", s.message()));
    }
  }
  for (const std::string& ip : config.announced_ips) {
    const bool has_family =
        std::any_of(config.rtc_listen_ips.begin(), config.rtc_listen_ips.end(),
                    [&](const std::string& listen) { return IsIpv6(listen) == IsIpv6(ip); });
    if (!has_family) {
      return absl::InvalidArgumentError(absl::StrCat("--announced-ip ", ip,
                                                     ": no --rtc-listen address of its family (IPv",
                                                     IsIpv6(ip) ? 6 : 4, ") to announce it for"));
    }
  }
  if (config.tls_cert_file.empty() != config.tls_key_file.empty()) {
    return absl::InvalidArgumentError("--tls-cert and --tls-key go together");
  }
  if (config.tls_self_signed && !config.tls_cert_file.empty()) {
    return absl::InvalidArgumentError("--tls-self-signed or --tls-cert/--tls-key, not both");
  }
  if (auto s = ApplyRedisCredentials(config); !s.ok()) return s;
  if (config.turn_urls.empty() != config.turn_secret.empty()) {
    return absl::InvalidArgumentError(
        "--turn-url and --turn-secret go together (the relay checks credentials made with the "
        "secret it shares: coturn's use-auth-secret)");
  }
  return config;
}

std::vector<std::string> Config::AnnouncedFor(const std::string& listen_ip) const {
  std::vector<std::string> out;
  for (const std::string& ip : announced_ips) {
    if (IsIpv6(ip) == IsIpv6(listen_ip)) out.push_back(ip);
  }
  return out;
}

}  // namespace sb::signaling
