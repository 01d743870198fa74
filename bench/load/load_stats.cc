#include "bench/load/load_stats.h"

#include <dirent.h>
#include <unistd.h>
#include <uv.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>

namespace sb::bench {

void Histogram::Add(int64_t value_us) {
  if (value_us < 0) value_us = 0;
  size_t i = std::min(static_cast<size_t>(value_us / static_cast<int64_t>(bucket_us_)),
                      buckets_.size() - 1);
  ++buckets_[i];
  ++count_;
  max_us_ = std::max(max_us_, value_us);
}

double Histogram::PercentileMs(double fraction) const {
  if (count_ == 0) return 0;
  const uint64_t rank = static_cast<uint64_t>(fraction * static_cast<double>(count_ - 1)) + 1;
  uint64_t seen = 0;
  for (size_t i = 0; i < buckets_.size(); ++i) {
    seen += buckets_[i];
    if (seen >= rank) return static_cast<double>((i + 1) * bucket_us_) / 1000.0;
  }
  return MaxMs();
}

int64_t NowUs() { return static_cast<int64_t>(uv_hrtime() / 1000); }

uint64_t CountSentBetween(const std::vector<int64_t>& sent_us, int64_t from_us, int64_t to_us) {
  if (to_us < from_us) return 0;
  auto first = std::lower_bound(sent_us.begin(), sent_us.end(), from_us);
  auto last = std::upper_bound(first, sent_us.end(), to_us);
  return static_cast<uint64_t>(last - first);
}

double ProcessCpuSeconds(int pid) {
  std::ifstream in(pid == 0 ? std::string("/proc/self/stat")
                            : "/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(in, line);
  // proc(5): fields after the parenthesised command; utime and stime are fields 14 and 15.
  size_t close = line.rfind(')');
  if (close == std::string::npos || close + 2 > line.size()) return -1;
  std::istringstream rest(line.substr(close + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

double MachineBusySeconds() {
  std::ifstream in("/proc/stat");
  std::string label;
  unsigned long long total = 0, idle = 0, v = 0;
  if (!(in >> label) || label != "cpu") return -1;
  // user nice system idle iowait irq softirq steal (guest time is already in user).
  for (int i = 0; i < 8 && in >> v; ++i) {
    total += v;
    if (i == 3 || i == 4) idle += v;
  }
  return static_cast<double>(total - idle) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

double ProcessRssMb(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;  // kB
  }
  return -1;
}

int ProcessThreadCount(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("Threads:", 0) == 0) return std::stoi(line.substr(8));
  }
  return -1;
}

int ProcessFdCount(int pid) {
  DIR* dir = opendir(("/proc/" + std::to_string(pid) + "/fd").c_str());
  if (!dir) return -1;
  int n = 0;
  while (dirent* e = readdir(dir)) n += e->d_name[0] != '.' ? 1 : 0;
  closedir(dir);
  return n;
}

}  // namespace sb::bench
