#include "agent/expiry_timer.h"

#include <algorithm>

namespace chaos::agent {

ExpiryTimer::ExpiryTimer(Expire expire) : expire_(std::move(expire)) {}

ExpiryTimer::~ExpiryTimer() { Stop(); }

void ExpiryTimer::Start() {
  thread_ = std::thread([this] { Loop(); });
}

void ExpiryTimer::Schedule(absl::Time deadline) {
  absl::MutexLock lock(&mu_);
  next_ = std::min(next_, deadline);  // the sleeping thread's condition sees it
}

void ExpiryTimer::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

uint64_t ExpiryTimer::runs() {
  absl::MutexLock lock(&mu_);
  return runs_;
}

bool ExpiryTimer::WaitUntilDue() {
  for (;;) {
    if (stopping_) return false;
    const absl::Time wake = next_;
    if (absl::Now() >= wake) return true;
    // Wakes at `wake`, or when Schedule brings the deadline forward, or on Stop.
    auto changed = [this, wake]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return stopping_ || next_ < wake;
    };
    mu_.AwaitWithDeadline(absl::Condition(&changed), wake);
  }
}

void ExpiryTimer::Loop() {
  for (;;) {
    {
      absl::MutexLock lock(&mu_);
      if (!WaitUntilDue()) return;
      next_ = absl::InfiniteFuture();  // deadlines scheduled from here on are kept
      ++runs_;
    }
    Schedule(expire_(absl::Now()));
  }
}

}  // namespace chaos::agent
