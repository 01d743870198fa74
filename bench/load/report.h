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
// a key frame on every video stream, no decryption failure, enough latency samples; with data
// channels also every channel open to the end and every chat and file message sent in the
// window delivered intact and in order (DataFlowed). `why` says what failed.
bool DataFlowed(const nlohmann::json& report, std::string* why);
bool MediaFlowed(const nlohmann::json& report, double max_loss_percent, std::string* why);

}  // namespace sb::bench
