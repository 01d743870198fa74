#include "signaling/token_command.h"

#include <optional>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "signaling/auth.h"
#include "signaling/config.h"

namespace sb::signaling {
namespace {

// Ten years: an admin token for a metrics scraper may live long; anything longer is a typo.
constexpr int64_t kMaxTokenTtlSeconds = 10LL * 365 * 86400;

int Fail(std::FILE* err, const std::string& message) {
  std::fprintf(err, "switchboard token: %s\n(see switchboard token --help)\n", message.c_str());
  return 2;
}

}  // namespace

std::string TokenHelpText() {
  return absl::StrCat(
      "Usage: switchboard token --secret=SECRET --room=ROOM --identity=ID [--name=NAME]\n"
      "                         [--ttl=SECONDS] [--no-publish] [--no-subscribe]\n"
      "       switchboard token --secret=SECRET --admin [--ttl=SECONDS]\n"
      "Prints a token (a JWT signed with HS256) for a server run with --auth-secret=SECRET.\n"
      "A join token admits its holder to one room (web app links: ...&token=TOKEN; the\n"
      "protocol's join message: \"token\"); an admin token opens /api/* and /metrics\n"
      "(Authorization: Bearer TOKEN).\n\n"
      "Flags:\n"
      "  --secret=SECRET             the server's --auth-secret (32+ bytes)\n"
      "  --config=FILE               take the secret from the server's config file instead\n"
      "                              (its \"auth-secret\" key): it stays off command lines\n"
      "  --room=ROOM                 the room the token admits to\n"
      "  --identity=ID               who the participant is (the token's \"sub\"), 1-64 bytes\n"
      "  --name=NAME                 the display name others see (default: the identity)\n"
      "  --ttl=SECONDS               how long the token may be used to join (default ",
      kDefaultTokenTtlSeconds,
      ", 6 hours);\n"
      "                              it is checked at each join, not during the call\n"
      "  --no-publish                the participant may not send media (publish: forbidden)\n"
      "  --no-subscribe              the participant receives no one's media\n"
      "  --admin                     an admin token instead of a join token\n"
      "  --help                      this text\n");
}

int RunTokenCommand(int argc, char** argv, std::FILE* out, std::FILE* err, int64_t now_seconds) {
  std::string secret, config_file;
  TokenClaims claims;
  claims.can_publish = claims.can_subscribe = true;
  int64_t ttl = kDefaultTokenTtlSeconds;
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::fputs(TokenHelpText().c_str(), out);
      return 0;
    }
    if (arg == "--no-publish") {
      claims.can_publish = false;
      continue;
    }
    if (arg == "--no-subscribe") {
      claims.can_subscribe = false;
      continue;
    }
    if (arg == "--admin") {
      claims.admin = true;
      continue;
    }
    if (arg.substr(0, 2) != "--") return Fail(err, absl::StrCat("unexpected argument '", arg, "'"));
    arg.remove_prefix(2);
    absl::string_view name = arg, value;
    if (size_t eq = arg.find('='); eq != absl::string_view::npos) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      return Fail(err, absl::StrCat("--", name, " needs a value"));
    }
    if (name == "secret") {
      secret = std::string(value);
    } else if (name == "config") {
      config_file = std::string(value);
    } else if (name == "room") {
      claims.room = std::string(value);
    } else if (name == "identity") {
      claims.identity = std::string(value);
    } else if (name == "name") {
      claims.name = std::string(value);
    } else if (name == "ttl") {
      if (!absl::SimpleAtoi(value, &ttl) || ttl < 1 || ttl > kMaxTokenTtlSeconds) {
        return Fail(err, absl::StrCat("--ttl: '", value, "' is not a number of seconds from 1 to ",
                                      kMaxTokenTtlSeconds));
      }
    } else {
      return Fail(err, absl::StrCat("unknown flag --", name));
    }
  }
  if (!config_file.empty()) {
    std::string flag = "--config=" + config_file;
    std::vector<char*> config_argv = {const_cast<char*>("switchboard"), flag.data()};
    auto config = ParseConfig(static_cast<int>(config_argv.size()), config_argv.data());
    if (!config.ok()) return Fail(err, std::string(config.status().message()));
    if (secret.empty()) secret = config->auth_secret;
  }
  if (secret.empty()) return Fail(err, "--secret (or --config with an auth-secret) is needed");
  if (claims.admin) {
    if (!claims.room.empty() || !claims.identity.empty() || !claims.name.empty()) {
      return Fail(err, "--admin takes no --room, --identity or --name");
    }
  } else {
    if (claims.room.empty()) return Fail(err, "--room is needed (or --admin)");
    if (claims.identity.empty()) return Fail(err, "--identity is needed");
  }
  claims.exp = now_seconds + ttl;
  auto token = IssueToken(claims, secret, now_seconds);
  if (!token.ok()) return Fail(err, std::string(token.status().message()));
  std::fprintf(out, "%s\n", token->c_str());
  return 0;
}

}  // namespace sb::signaling
