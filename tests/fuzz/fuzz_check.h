// FUZZ_CHECK(condition): a promise the code under test broke becomes a
// crash the fuzzer reports and saves (it aborts, printing the condition).
// For the fuzz targets in this folder only.
#ifndef CHAOS_TESTS_FUZZ_FUZZ_CHECK_H_
#define CHAOS_TESTS_FUZZ_FUZZ_CHECK_H_

#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(condition)                                                      \
  do {                                                                             \
    if (!(condition)) {                                                            \
      std::fprintf(stderr, "%s:%d: FUZZ_CHECK failed: %s\n", __FILE__, __LINE__, \
                   #condition);                                                    \
      std::abort();                                                                \
    }                                                                              \
  } while (0)

#endif  // CHAOS_TESTS_FUZZ_FUZZ_CHECK_H_
