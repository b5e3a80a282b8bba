// FanOut: every index once, never more calls at once than the limit, and a
// call that blocks does not hold the others back.
#include "base/fan_out.h"

#include <algorithm>
#include <atomic>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace chaos::base {
namespace {

TEST(FanOutTest, EveryIndexOnceAndNeverMoreAtOnceThanTheLimit) {
  for (size_t limit : {0, 1, 3, 64}) {
    std::vector<std::atomic<int>> calls(50);
    std::atomic<int> running{0}, most{0};
    FanOut(calls.size(), limit, [&](size_t i) {
      const int now = ++running;
      int seen = most.load();
      while (now > seen && !most.compare_exchange_weak(seen, now)) {
      }
      absl::SleepFor(absl::Microseconds(200));
      ++calls[i];
      --running;
    });
    for (size_t i = 0; i < calls.size(); ++i) EXPECT_EQ(calls[i], 1) << i;
    EXPECT_LE(most.load(), static_cast<int>(std::max<size_t>(limit, 1))) << limit;
  }
  FanOut(0, 4, [](size_t) { ADD_FAILURE() << "called with nothing to do"; });
}

TEST(FanOutTest, ACallThatBlocksDoesNotHoldTheOthersBack) {
  absl::Mutex mu;
  int others_done = 0;
  bool saw_them = false;
  FanOut(5, 2, [&](size_t i) {
    absl::MutexLock lock(&mu);
    if (i != 0) {
      ++others_done;
      return;
    }
    // Waits for the four others, which only a second thread can run. The
    // deadline only keeps a broken FanOut from hanging the test.
    auto all = [&] { return others_done == 4; };
    saw_them = mu.AwaitWithTimeout(absl::Condition(&all), absl::Seconds(30));
  });
  EXPECT_TRUE(saw_them);
}

}  // namespace
}  // namespace chaos::base
