// The one logging module: spdlog underneath, a short area tag in front of every line.
// Per-packet logging stays at debug level (compiled in, off by default).
#pragma once

#include <spdlog/spdlog.h>

#include <string_view>

namespace sb::log {

enum class Level { kDebug, kInfo, kWarn, kError, kOff };

// Parses "debug", "info", "warn", "error", "off"; nullopt-like false on anything else.
bool ParseLevel(std::string_view text, Level* out);
void SetLevel(Level level);
// Prefix every line with a process tag, e.g. "worker 3" or "switchboard".
void Init(std::string_view process_tag, Level level);

}  // namespace sb::log

#define SB_LOG_DEBUG(area, ...) \
  SPDLOG_LOGGER_CALL(spdlog::default_logger_raw(), spdlog::level::debug, "[" area "] " __VA_ARGS__)
#define SB_LOG_INFO(area, ...) spdlog::info("[" area "] " __VA_ARGS__)
#define SB_LOG_WARN(area, ...) spdlog::warn("[" area "] " __VA_ARGS__)
#define SB_LOG_ERROR(area, ...) spdlog::error("[" area "] " __VA_ARGS__)
