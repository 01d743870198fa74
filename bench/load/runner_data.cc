// The runner's data channel accounting (bench/load/README.md, "Data channels"): how many
// channels each participant should receive, and what was sent and arrived on them.
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "bench/load/runner.h"

namespace sb::bench {

size_t Runner::ExpectedDataChannels() const {
  const size_t labels = scenario_.media.data.file() ? 2 : 1;
  return static_cast<size_t>(scenario_.participants - 1) * labels;
}

void Runner::CountData(Results& r) const {
  DataResults& d = r.data;
  std::vector<std::string> labels = {kChatLabel};
  if (scenario_.media.data.file()) labels.push_back(kFileLabel);
  auto label_results = [&](const std::string& label) -> DataLabelResults& {
    return label == kChatLabel ? d.chat : d.file;
  };
  for (const Member& m : members_) {
    const DataChannels* data = m.participant->data();
    if (!data) continue;
    DataParticipantTotals totals;
    totals.name = m.participant->name();
    std::vector<DataFlowReport> received;
    data->AppendReports(&received);
    for (const std::string& label : labels) {
      DataParticipantTotals::Counts& c = label == kChatLabel ? totals.chat : totals.file;
      c.sent_messages = data->sent(label).messages;
      c.sent_bytes = data->sent(label).bytes;
      for (const DataFlowReport& f : received) {
        if (f.label != label) continue;
        c.received_messages += f.messages;
        c.received_bytes += f.bytes;
      }
    }
    d.participants.push_back(std::move(totals));
    for (const std::string& label : labels) {
      const DataSentCounts& sent = data->sent(label);
      label_results(label).sent_messages += sent.counted_messages;
      label_results(label).sent_bytes += sent.counted_bytes;
      label_results(label).sends_refused += sent.refused;
    }
  }
  for (const Member& m : members_) {
    if (!m.present || !m.participant->has_data()) continue;
    std::vector<DataFlowReport> flows;
    if (const DataChannels* data = m.participant->data()) data->AppendReports(&flows);
    for (const DataFlowReport& f : flows) {
      DataLabelResults& l = label_results(f.label);
      l.sequence_errors += f.sequence_errors;
      l.corrupt += f.corrupt;
    }
    for (const Member& q : members_) {
      if (&q == &m || !q.present || q.room != m.room || !q.participant->has_data()) continue;
      const DataChannels* from = q.participant->data();
      for (const std::string& label : labels) {
        DataLabelResults& l = label_results(label);
        ++d.channels_expected;
        // The open channel from q, or else the last closed one.
        const DataFlowReport* flow = nullptr;
        for (const DataFlowReport& f : flows) {
          if (q.participant->joined() && f.sender == q.participant->id() && f.label == label &&
              (!flow || flow->closed)) {
            flow = &f;
          }
        }
        std::string reason;
        if (!flow) {
          reason = "never opened";
        } else if (flow->closed) {
          ++d.channels_closed;
          reason = absl::StrCat("closed by the server", flow->closed_reason.empty() ? "" : ": ",
                                flow->closed_reason);
        } else {
          ++d.channels_open;
        }
        if (!reason.empty() && d.missing_channels.size() < kMaxListedMissing) {
          d.missing_channels.push_back(
              {m.participant->name(), q.participant->name(), label, reason});
        }
        const DataSentCounts none;
        const DataSentCounts& sent = from ? from->sent(label) : none;
        const uint64_t got = flow ? flow->counted_messages : 0;
        l.expected_messages += sent.counted_messages;
        l.expected_bytes += sent.counted_bytes;
        l.received_messages += std::min(got, sent.counted_messages);
        l.received_bytes += flow ? std::min(flow->counted_bytes, sent.counted_bytes) : 0;
        l.missing_messages += sent.counted_messages - std::min(got, sent.counted_messages);
      }
    }
  }
}

}  // namespace sb::bench
