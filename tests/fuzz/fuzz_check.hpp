#pragma once
// What a fuzz target asserts besides "no crash": a property that must hold for every input.
// A broken one aborts, so libFuzzer records the input as a crash (with the message on stderr).

#include <cstdio>
#include <cstdlib>

#define BG95_FUZZ_CHECK(condition)                                                               \
  do {                                                                                           \
    if (!(condition)) {                                                                          \
      std::fprintf(stderr, "%s:%d: fuzz property failed: %s\n", __FILE__, __LINE__, #condition); \
      std::abort();                                                                              \
    }                                                                                            \
  } while (false)
