#include "base/mutex_mode.h"

#include "absl/synchronization/mutex.h"
#include "gtest/gtest.h"

namespace chaos::base {
namespace {

// Takes a then b, then b then a: a lock-order inversion (no deadlock here,
// one thread), which Abseil's deadlock detection reports.
void InvertLockOrder() {
  absl::Mutex a, b;
  {
    absl::MutexLock la(&a);
    absl::MutexLock lb(&b);
  }
  {
    absl::MutexLock lb(&b);
    absl::MutexLock la(&a);
  }
}

// Death tests run first: this one sees the default, before
// UseReleaseMutexes() ran in this process. It shows that the detection is
// on by default in the Abseil we build with, which is why the function
// exists.
TEST(MutexModeDeathTest, DefaultDetectionAbortsOnAnInversion) {
  EXPECT_DEATH(InvertLockOrder(), "Potential Mutex deadlock");
}

TEST(MutexModeTest, ReleaseMutexesDoNotCheckLockOrder) {
  UseReleaseMutexes();
  InvertLockOrder();  // would abort the test binary with the detection on
  SUCCEED();
}

}  // namespace
}  // namespace chaos::base
