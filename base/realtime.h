// Microseconds of CLOCK_REALTIME: the clock of the kernel's packet timestamps (SIOCGSTAMPNS).
#pragma once

#include <time.h>

#include <cstdint>

namespace sb {

inline int64_t TimespecToUs(const timespec& t) {
  return static_cast<int64_t>(t.tv_sec) * 1'000'000 + t.tv_nsec / 1000;
}

inline int64_t RealtimeNowUs() {
  timespec t{};
  clock_gettime(CLOCK_REALTIME, &t);
  return TimespecToUs(t);
}

}  // namespace sb
