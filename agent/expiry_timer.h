// ExpiryTimer: runs `expire(now)` on a thread of its own when the earliest
// deadline it knows of has come, and sleeps until then: it never polls. An
// idle agent (no deadline) sleeps until Schedule() or Stop().
//
// `expire` does the due work and returns the next deadline it wants
// (absl::InfiniteFuture() for none). Schedule() adds a deadline from any
// thread and wakes the timer when that deadline is earlier than the one it
// sleeps towards; a deadline already past makes `expire` run at once. A
// deadline scheduled while `expire` runs is kept, never lost.
//
// Thread-safe. `expire` runs only on the timer's thread, never concurrently
// with itself, and without the timer's lock held, so it may call Schedule().
// Stop() is idempotent and waits for a running `expire` to return; it must
// not be called from `expire`. The destructor stops the timer.
#ifndef CHAOS_AGENT_EXPIRY_TIMER_H_
#define CHAOS_AGENT_EXPIRY_TIMER_H_

#include <cstdint>
#include <functional>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace chaos::agent {

class ExpiryTimer {
 public:
  using Expire = std::function<absl::Time(absl::Time now)>;

  explicit ExpiryTimer(Expire expire);
  ~ExpiryTimer();
  ExpiryTimer(const ExpiryTimer&) = delete;
  ExpiryTimer& operator=(const ExpiryTimer&) = delete;

  // Starts the thread. Deadlines scheduled before Start() are kept.
  void Start();

  // Makes `expire` run no later than shortly after `deadline`.
  void Schedule(absl::Time deadline);

  void Stop();

  // How many times `expire` has run (for tests and metrics).
  uint64_t runs();

 private:
  // Sleeps until the next deadline has come (true) or Stop() (false).
  bool WaitUntilDue() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Loop();

  const Expire expire_;
  absl::Mutex mu_;
  absl::Time next_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t runs_ ABSL_GUARDED_BY(mu_) = 0;
  std::thread thread_;
};

}  // namespace chaos::agent

#endif  // CHAOS_AGENT_EXPIRY_TIMER_H_
