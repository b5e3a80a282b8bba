// InterruptWatcher: takes SIGINT and SIGTERM for the whole process on one
// thread of its own and calls on_signal(sig, n) for each, n = 1 for the
// first. BlockInterrupts() must run before any other thread starts (gRPC's
// included), so that no other thread receives them. The destructor stops
// the watching thread and joins it.
#ifndef CHAOS_CONTROLLER_INTERRUPT_WATCHER_H_
#define CHAOS_CONTROLLER_INTERRUPT_WATCHER_H_

#include <signal.h>

#include <atomic>
#include <functional>
#include <thread>

namespace chaos::controller {

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

}  // namespace chaos::controller

#endif  // CHAOS_CONTROLLER_INTERRUPT_WATCHER_H_
