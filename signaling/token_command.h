// `switchboard token ...`: prints a join token (or with --admin an admin token) signed with the
// server's secret, for links (`&token=`), clients and scrapers. See TokenHelpText().
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

namespace sb::signaling {

// The default lifetime of a token: long enough for a working day's meeting and its reloads (the
// token is checked at each join, not during the call).
inline constexpr int64_t kDefaultTokenTtlSeconds = 6 * 3600;

// argv[0] is "token". Prints the token and a newline on `out`; returns the exit status: 0, or 2
// with a message on `err` for bad flags. `now_seconds` is the issue time.
int RunTokenCommand(int argc, char** argv, std::FILE* out, std::FILE* err, int64_t now_seconds);

std::string TokenHelpText();

}  // namespace sb::signaling
