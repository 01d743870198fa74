// /metrics in the Prometheus text exposition format (version 0.0.4): each metric once, with its
// HELP and TYPE lines, then its samples.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"

namespace sb::signaling {

class MetricsText {
 public:
  void Gauge(absl::string_view name, absl::string_view help, uint64_t value);
  void Counter(absl::string_view name, absl::string_view help, uint64_t value);
  // A counter with one label, one sample per value of it, e.g.
  // switchboard_joins_refused_total{reason="rooms"} 3.
  void LabeledCounter(absl::string_view name, absl::string_view help, absl::string_view label,
                      const std::vector<std::pair<std::string, uint64_t>>& samples);

  const std::string& text() const { return text_; }

 private:
  void Head(absl::string_view name, absl::string_view type, absl::string_view help);

  std::string text_;
};

}  // namespace sb::signaling
