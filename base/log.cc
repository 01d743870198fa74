#include "base/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>

#include <string>

namespace sb::log {

bool ParseLevel(std::string_view text, Level* out) {
  if (text == "debug")
    *out = Level::kDebug;
  else if (text == "info")
    *out = Level::kInfo;
  else if (text == "warn")
    *out = Level::kWarn;
  else if (text == "error")
    *out = Level::kError;
  else if (text == "off")
    *out = Level::kOff;
  else
    return false;
  return true;
}

void SetLevel(Level level) {
  static constexpr spdlog::level::level_enum kMap[] = {spdlog::level::debug, spdlog::level::info,
                                                       spdlog::level::warn, spdlog::level::err,
                                                       spdlog::level::off};
  spdlog::set_level(kMap[static_cast<int>(level)]);
}

void Init(std::string_view process_tag, Level level) {
  // Logs go to stderr: a worker's stdout is not ours to use and stderr is inherited by the
  // control process, so one terminal shows every process.
  auto logger = spdlog::stderr_color_mt(std::string(process_tag));
  logger->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%L%$ " + std::string(process_tag) + ": %v");
  spdlog::set_default_logger(logger);
  SetLevel(level);
}

}  // namespace sb::log
