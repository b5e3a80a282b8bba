// Mutex deadlock detection off for the shipped programs.
//
// Debian builds Abseil without NDEBUG, so every absl::Mutex (gRPC 1.51's
// locks are absl::Mutex too) runs Abseil's debug deadlock detection: each
// lock taken while another is held adds an edge to one process-wide graph
// of all the mutexes ever used. In a controller calling 1000 agents that
// graph cost about a quarter of its CPU (docs/BENCHMARKS.md, "Fleet: N
// agents through the controller"). The mains of chaos-agent,
// chaos-controller and chaosctl call UseReleaseMutexes() first; the tests
// keep the detection, which aborts on a lock-order inversion.
#ifndef CHAOS_BASE_MUTEX_MODE_H_
#define CHAOS_BASE_MUTEX_MODE_H_

namespace chaos::base {

// Turns Abseil's mutex deadlock detection off for this process. Call it at
// the start of main(), before any thread starts.
void UseReleaseMutexes();

}  // namespace chaos::base

#endif  // CHAOS_BASE_MUTEX_MODE_H_
