// The end of a run: a human table on the terminal and the JSON report.
#pragma once

#include <string>

#include "bench/load/runner.h"
#include "nlohmann/json.hpp"

namespace sb::bench {

nlohmann::json ReportJson(const Results& r);
std::string ReportTable(const nlohmann::json& report);
// True when media flowed as the smoke test demands: every subscriber heard every publisher's
// every track to the end of the window, loss against what was sent under `max_loss_percent`,
// a key frame on every video stream, no decryption failure, enough latency samples. `why` says
// what failed.
bool MediaFlowed(const nlohmann::json& report, double max_loss_percent, std::string* why);

}  // namespace sb::bench
