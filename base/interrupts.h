// SIGINT and SIGTERM, taken by one thread of the process's choosing.
//
// BlockInterrupts() must run before any other thread starts (gRPC's
// included), so that every thread inherits the mask and none receives them.
// Then either a daemon's main thread waits for one (WaitForInterrupt), or an
// InterruptWatcher takes them on a thread of its own and calls
// on_signal(sig, n) for each, n = 1 for the first; its destructor stops the
// watching thread and joins it.
#ifndef CHAOS_BASE_INTERRUPTS_H_
#define CHAOS_BASE_INTERRUPTS_H_

#include <signal.h>

#include <atomic>
#include <functional>
#include <thread>

namespace chaos::base {

inline sigset_t InterruptSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

// Blocks SIGINT and SIGTERM in the calling thread and the threads it starts.
inline void BlockInterrupts() {
  const sigset_t set = InterruptSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

// Waits until SIGINT or SIGTERM arrives (they must be blocked); returns it.
inline int WaitForInterrupt() {
  const sigset_t set = InterruptSignals();
  int sig = 0;
  while (sigwait(&set, &sig) != 0) {
  }
  return sig;
}

class InterruptWatcher {
 public:
  explicit InterruptWatcher(std::function<void(int sig, int n)> on_signal)
      : thread_([this, on_signal = std::move(on_signal)] {
          const sigset_t set = InterruptSignals();
          const timespec tick{0, 100'000'000};
          int n = 0;
          while (!done_) {
            const int sig = sigtimedwait(&set, nullptr, &tick);
            if (sig > 0) on_signal(sig, ++n);
          }
        }) {}
  ~InterruptWatcher() {
    done_ = true;
    thread_.join();
  }
  InterruptWatcher(const InterruptWatcher&) = delete;
  InterruptWatcher& operator=(const InterruptWatcher&) = delete;

 private:
  std::atomic<bool> done_{false};
  std::thread thread_;  // last: starts once done_ exists
};

}  // namespace chaos::base

#endif  // CHAOS_BASE_INTERRUPTS_H_
