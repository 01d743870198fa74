// Invariant checks for the fuzz targets: a failed check prints where and traps, which libFuzzer
// reports as a crash and saves the input for.
#pragma once

#include <cstdio>

#define SB_FUZZ_CHECK(cond)                                                             \
  do {                                                                                  \
    if (!(cond)) {                                                                      \
      std::fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
      __builtin_trap();                                                                 \
    }                                                                                   \
  } while (0)
