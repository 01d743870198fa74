#include "tools/rtpdump/pcap_source.h"

#include <pcap/pcap.h>

#include <memory>

namespace sb::rtpdump {
namespace {

struct PcapCloser {
  void operator()(pcap_t* p) const { pcap_close(p); }
};

}  // namespace

absl::Status ForEachCapturedFrame(const std::string& path,
                                  absl::FunctionRef<void(const CapturedFrame&)> fn) {
  char error[PCAP_ERRBUF_SIZE] = {};
  std::unique_ptr<pcap_t, PcapCloser> pcap(pcap_open_offline(path.c_str(), error));
  if (!pcap) return absl::InvalidArgumentError(std::string(error));
  const int link_type = pcap_datalink(pcap.get());
  CapturedFrame frame;
  frame.link_type = link_type;
  pcap_pkthdr* header = nullptr;
  const u_char* data = nullptr;
  int rc = 0;
  while ((rc = pcap_next_ex(pcap.get(), &header, &data)) == 1) {
    ++frame.index;
    frame.seconds = header->ts.tv_sec;
    frame.microseconds = header->ts.tv_usec;
    frame.original_length = header->len;
    frame.bytes = absl::Span<const uint8_t>(data, header->caplen);
    fn(frame);
  }
  if (rc == PCAP_ERROR) {
    return absl::DataLossError(std::string(pcap_geterr(pcap.get())));
  }
  return absl::OkStatus();
}

}  // namespace sb::rtpdump
