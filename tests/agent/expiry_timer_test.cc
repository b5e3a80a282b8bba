// ExpiryTimer: wakes at deadlines, and only then (no polling).
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

TEST(ExpiryTimerTest, RunsOnceAtTheDeadline) {
  std::atomic<int64_t> ran_at_ms{0};
  ExpiryTimer timer([&](absl::Time now) {
    ran_at_ms = absl::ToUnixMillis(now);
    return absl::InfiniteFuture();
  });
  timer.Start();
  const absl::Time deadline = absl::Now() + absl::Milliseconds(150);
  timer.Schedule(deadline);
  absl::SleepFor(absl::Milliseconds(500));
  EXPECT_EQ(timer.runs(), 1u);
  EXPECT_GE(ran_at_ms.load(), absl::ToUnixMillis(deadline));
  EXPECT_LT(ran_at_ms.load(), absl::ToUnixMillis(deadline) + 300);
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
  EXPECT_TRUE(ran.WaitForNotificationWithTimeout(absl::Seconds(2)));
  EXPECT_EQ(timer.runs(), 1u);
}

TEST(ExpiryTimerTest, FollowsTheDeadlinesExpireReturns) {
  std::atomic<int> left{3};
  ExpiryTimer timer([&](absl::Time now) {
    return --left > 0 ? now + absl::Milliseconds(30) : absl::InfiniteFuture();
  });
  timer.Start();
  timer.Schedule(absl::Now());
  absl::SleepFor(absl::Milliseconds(400));
  EXPECT_EQ(timer.runs(), 3u);
}

TEST(ExpiryTimerTest, DeadlineScheduledDuringExpireIsKept) {
  absl::Notification in_expire, scheduled;
  std::atomic<int> calls{0};
  ExpiryTimer timer([&](absl::Time) {
    if (++calls == 1) {
      in_expire.Notify();
      scheduled.WaitForNotification();
    }
    return absl::InfiniteFuture();  // knows nothing of the new deadline
  });
  timer.Start();
  timer.Schedule(absl::Now());
  in_expire.WaitForNotification();
  timer.Schedule(absl::Now() + absl::Milliseconds(20));
  scheduled.Notify();
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_EQ(calls.load(), 2);
}

TEST(ExpiryTimerTest, StopIsPromptAndIdempotent) {
  ExpiryTimer timer([](absl::Time) { return absl::InfiniteFuture(); });
  timer.Start();
  timer.Schedule(absl::Now() + absl::Hours(1));
  const absl::Time t0 = absl::Now();
  timer.Stop();
  timer.Stop();
  EXPECT_LT(absl::Now() - t0, absl::Seconds(1));
  timer.Schedule(absl::Now());  // after Stop: ignored, no crash
  EXPECT_EQ(timer.runs(), 0u);
}

}  // namespace
}  // namespace chaos::agent
