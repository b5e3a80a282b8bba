// ExpiryTimer: wakes at deadlines, and only then (no polling). No assertion
// here depends on how fast the machine is: waits for an event are bounded
// only to keep a broken timer from hanging the test, and "nothing more
// happens" checks cannot fail because the machine is slow.
#include "agent/expiry_timer.h"

#include <atomic>
#include <vector>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"

namespace chaos::agent {
namespace {

TEST(ExpiryTimerTest, IdleTimerNeverRuns) {
  ExpiryTimer timer([](absl::Time) { return absl::InfiniteFuture(); });
  timer.Start();
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_EQ(timer.runs(), 0u) << "an idle timer must sleep, not poll";
}

TEST(ExpiryTimerTest, RunsOnceAtTheDeadlineNotBefore) {
  std::atomic<int64_t> ran_at_ms{0};
  absl::Notification ran;
  ExpiryTimer timer([&](absl::Time now) {
    ran_at_ms = absl::ToUnixMillis(now);
    if (!ran.HasBeenNotified()) ran.Notify();
    return absl::InfiniteFuture();
  });
  timer.Start();
  const absl::Time deadline = absl::Now() + absl::Milliseconds(150);
  timer.Schedule(deadline);
  ASSERT_TRUE(ran.WaitForNotificationWithTimeout(absl::Seconds(60)));
  EXPECT_GE(ran_at_ms.load(), absl::ToUnixMillis(deadline));
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_EQ(timer.runs(), 1u) << "nothing was due after the deadline";
}

TEST(ExpiryTimerTest, AnEarlierDeadlineWakesTheSleepingTimer) {
  absl::Notification ran;
  ExpiryTimer timer([&](absl::Time) {
    if (!ran.HasBeenNotified()) ran.Notify();
    return absl::InfiniteFuture();
  });
  timer.Schedule(absl::Now() + absl::Hours(1));  // before Start: kept
  timer.Start();
  absl::SleepFor(absl::Milliseconds(50));
  timer.Schedule(absl::Now() + absl::Milliseconds(20));
  EXPECT_TRUE(ran.WaitForNotificationWithTimeout(absl::Seconds(60)));
  EXPECT_EQ(timer.runs(), 1u);
}

TEST(ExpiryTimerTest, FollowsTheDeadlinesExpireReturns) {
  std::atomic<int> left{3};
  absl::Notification last;
  ExpiryTimer timer([&](absl::Time now) {
    if (--left > 0) return now + absl::Milliseconds(30);
    last.Notify();
    return absl::InfiniteFuture();
  });
  timer.Start();
  timer.Schedule(absl::Now());
  ASSERT_TRUE(last.WaitForNotificationWithTimeout(absl::Seconds(60)));
  absl::SleepFor(absl::Milliseconds(100));
  EXPECT_EQ(timer.runs(), 3u);
}

TEST(ExpiryTimerTest, DeadlineScheduledDuringExpireIsKept) {
  absl::Notification in_expire, scheduled, second;
  std::atomic<int> calls{0};
  ExpiryTimer timer([&](absl::Time) {
    const int n = ++calls;
    if (n == 1) {
      in_expire.Notify();
      scheduled.WaitForNotification();
    }
    if (n == 2) second.Notify();
    return absl::InfiniteFuture();  // knows nothing of the new deadline
  });
  timer.Start();
  timer.Schedule(absl::Now());
  in_expire.WaitForNotification();
  timer.Schedule(absl::Now() + absl::Milliseconds(20));
  scheduled.Notify();
  ASSERT_TRUE(second.WaitForNotificationWithTimeout(absl::Seconds(60)));
  absl::SleepFor(absl::Milliseconds(100));
  EXPECT_EQ(calls.load(), 2);
}

// Stop wakes the sleeping timer: with a deadline an hour away, the test
// ends at once rather than at ctest's timeout.
TEST(ExpiryTimerTest, StopWakesTheTimerAndIsIdempotent) {
  ExpiryTimer timer([](absl::Time) { return absl::InfiniteFuture(); });
  timer.Start();
  timer.Schedule(absl::Now() + absl::Hours(1));
  timer.Stop();
  timer.Stop();
  timer.Schedule(absl::Now());  // after Stop: ignored, no crash
  EXPECT_EQ(timer.runs(), 0u);
}

}  // namespace
}  // namespace chaos::agent
