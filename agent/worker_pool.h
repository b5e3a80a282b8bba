// WorkerPool: a fixed number of threads that run posted work, first posted
// first started, each piece on whichever thread is free. An idle thread
// waits on a condition, so an idle pool costs no CPU.
//
// Stop() (also the destructor) lets the threads finish what was posted,
// then joins them. Posting after Stop() is a programming error.
#ifndef CHAOS_AGENT_WORKER_POOL_H_
#define CHAOS_AGENT_WORKER_POOL_H_

#include <deque>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"

namespace chaos::agent {

class WorkerPool {
 public:
  // `name` names the threads (as `top -H` and `perf` show them; at most 15
  // characters).
  WorkerPool(int threads, const std::string& name);
  ~WorkerPool() { Stop(); }
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  void Post(std::function<void()> work);
  void Stop();

 private:
  void Work();

  absl::Mutex mu_;
  std::deque<std::function<void()>> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace chaos::agent

#endif  // CHAOS_AGENT_WORKER_POOL_H_
