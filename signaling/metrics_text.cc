#include "signaling/metrics_text.h"

#include "absl/strings/str_cat.h"

namespace sb::signaling {

void MetricsText::Head(absl::string_view name, absl::string_view type, absl::string_view help) {
  absl::StrAppend(&text_, "# HELP ", name, " ", help, "\n# TYPE ", name, " ", type, "\n");
}

void MetricsText::Gauge(absl::string_view name, absl::string_view help, uint64_t value) {
  Head(name, "gauge", help);
  absl::StrAppend(&text_, name, " ", value, "\n");
}

void MetricsText::Counter(absl::string_view name, absl::string_view help, uint64_t value) {
  Head(name, "counter", help);
  absl::StrAppend(&text_, name, " ", value, "\n");
}

void MetricsText::LabeledCounter(absl::string_view name, absl::string_view help,
                                 absl::string_view label,
                                 const std::vector<std::pair<std::string, uint64_t>>& samples) {
  Head(name, "counter", help);
  for (const auto& [value, count] : samples) {
    absl::StrAppend(&text_, name, "{", label, "=\"", value, "\"} ", count, "\n");
  }
}

}  // namespace sb::signaling
