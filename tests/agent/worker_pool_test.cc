// WorkerPool: every posted piece runs once, on the pool's threads, and
// Stop() runs what was posted before it returns.
#include "agent/worker_pool.h"

#include <atomic>
#include <set>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"

namespace chaos::agent {
namespace {

TEST(WorkerPoolTest, StopRunsEverythingPostedOnThePoolsThreads) {
  std::atomic<int> ran{0};
  absl::Mutex mu;
  std::set<std::thread::id> threads;
  {
    WorkerPool pool(2, "test-pool");
    for (int i = 0; i < 100; ++i) {
      pool.Post([&] {
        ++ran;
        absl::MutexLock lock(&mu);
        threads.insert(std::this_thread::get_id());
      });
    }
    pool.Stop();
    EXPECT_EQ(ran.load(), 100);
  }
  EXPECT_EQ(threads.count(std::this_thread::get_id()), 0u);
  EXPECT_LE(threads.size(), 2u);
}

// A piece that blocks holds one thread; the other still runs the rest.
TEST(WorkerPoolTest, ABlockedPieceDoesNotHoldTheOthers) {
  WorkerPool pool(2, "test-pool");
  absl::Notification release, other_ran;
  pool.Post([&] { release.WaitForNotification(); });
  pool.Post([&] { other_ran.Notify(); });
  EXPECT_TRUE(other_ran.WaitForNotificationWithTimeout(absl::Seconds(60)));
  release.Notify();
}

}  // namespace
}  // namespace chaos::agent
