// The control process's settings: embedded defaults, then an optional JSON config file, then
// command-line flags, each overriding the one before.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "base/log.h"

namespace sb::signaling {

struct Config {
  std::string listen_ip = "127.0.0.1";  // HTTP + WebSocket
  uint16_t port = 8080;
  // Media sockets bind these (at most one IPv4 and one IPv6 address); candidates announce
  // announced_ips instead, each for the listen address of its family (none for a family: the
  // listen address itself).
  std::vector<std::string> rtc_listen_ips = {"127.0.0.1"};
  std::vector<std::string> announced_ips;
  // One UDP port per worker for all its transports: worker i uses rtc_port + i (measured at no
  // cost in forwarding, docs/performance.md). 0: off, a port per transport from the range.
  // Unless --rtc-port was given (rtc_port_strict), a worker whose port is busy (another server
  // on the host) falls back to the range with a warning; given, it is an error.
  uint16_t rtc_port = 40000;
  bool rtc_port_strict = false;
  uint16_t rtc_port_min = 40000;
  uint16_t rtc_port_max = 49999;
  // The announced addresses for one listen address (those of its family).
  std::vector<std::string> AnnouncedFor(const std::string& listen_ip) const;
  // ICE-TCP (RFC 6544) for clients whose UDP is blocked: worker i listens on TCP
  // ice_tcp_port + i (0: each worker a free port) and offers a passive TCP candidate.
  bool ice_tcp = true;
  uint16_t ice_tcp_port = 50000;
  int workers = 0;  // 0: one per core
  int room_capacity = 16;
  // A room spreads over workers (signaling/room_media.h) once its routers hold this many
  // participants each: the next ones go to another worker, and what they consume is piped.
  // 0: a room stays on one worker.
  int room_shard_size = 50;
  // Last-N: each subscriber gets the video of at most this many others, the most recent
  // speakers first, plus those it pins; audio from everyone. 0: everyone's video.
  int last_n = 0;
  // Dynacast: a simulcast publisher is told to stop the layers no subscriber wants (`layers`).
  bool dynacast = true;
  int resume_grace_seconds = 20;    // a participant whose connection broke may resume
  int answer_timeout_seconds = 10;  // an unanswered subscribe-offer is offered afresh
  // Limits (docs/security.md): beyond them a clear error, and a counter in /metrics.
  int max_connections = 4096;        // TCP connections to the HTTP/WebSocket port
  int max_connections_per_ip = 256;  // from one address (an office shares one)
  int messages_per_second = 50;      // per WebSocket, bursts of 4x that
  int joins_per_second = 100;        // server-wide, bursts of 2x that
  int max_rooms = 1000;
  int max_participants_per_worker = 2000;
  int websocket_ping_seconds = 15;  // a silent WebSocket is pinged; 3x this: closed
  // Authentication (docs/security.md): with a secret, a join needs a token signed with it
  // (signaling/auth.h) and /api/* and /metrics an admin token. Empty: open to anyone.
  std::string auth_secret;
  // Origins (normalized, signaling/origin.h) whose pages may open the WebSocket; empty: the
  // server's own origin as the request's Host header names it; "*": any.
  std::vector<std::string> allowed_origins;
  // TLS (docs/security.md): HTTPS and WSS on `port` with this PEM certificate (chain) and key,
  // or with a certificate generated at startup (a LAN trial). Neither: plain HTTP.
  std::string tls_cert_file;
  std::string tls_key_file;
  bool tls_self_signed = false;
  bool tls() const { return tls_self_signed || !tls_cert_file.empty(); }
  // TURN relays (docs/deploy.md, signaling/turn.h): `joined` and `resumed` carry these URLs
  // (normalized turn:/turns: URLs) with credentials made from the secret the relay shares,
  // valid this long. No URLs: clients get no ICE servers.
  std::vector<std::string> turn_urls;
  std::string turn_secret;
  int turn_ttl_seconds = 24 * 3600;  // signaling/turn.h kDefaultTurnTtlSeconds

  // A cluster of nodes (issue 14, signaling/cluster_node.h): the shared Redis as HOST:PORT
  // (empty: a node alone), this node's id in it (empty: HOSTNAME-PORT) and the address other
  // nodes and clients reach it at (empty: the HTTP listen address).
  std::string redis;
  std::string node_id;
  std::string node_address;
  // Credentials for that Redis (requirepass, or a Redis 6 ACL user): the password comes from
  // --redis-password-file or the environment (kRedisPasswordEnv), never from a flag's value,
  // which `ps` would show. Empty: no AUTH.
  std::string redis_user;
  std::string redis_password;
  std::string web_root;       // empty: the web/ folder found next to the binary or source
  std::string worker_binary;  // empty: switchboard-worker next to this binary
  log::Level log_level = log::Level::kInfo;

  // Worker supervision (docs/security.md, Processes).
  int worker_heartbeat_seconds = 2;      // each worker is sent a heartbeat this often; 0: never
  int worker_hang_timeout_seconds = 10;  // unanswered this long: the worker is killed, replaced
};

// The environment variable that may hold the Redis password instead of --redis-password-file
// (for containers and service managers that hand secrets over that way).
inline constexpr char kRedisPasswordEnv[] = "SWITCHBOARD_REDIS_PASSWORD";

// Parses flags (and --config=FILE), and reads kRedisPasswordEnv when --redis is given. Returns
// the config, or an error naming the bad flag. `--help` yields a NotFound status whose message
// is the help text.
absl::StatusOr<Config> ParseConfig(int argc, char** argv);

std::string HelpText();

}  // namespace sb::signaling
