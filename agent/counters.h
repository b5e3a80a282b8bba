// AgentCounters: what the agent has done since it started, for /metrics.
// Plain atomics: safe to bump and read from any thread.
#ifndef CHAOS_AGENT_COUNTERS_H_
#define CHAOS_AGENT_COUNTERS_H_

#include <atomic>
#include <cstdint>

namespace chaos::agent {

struct AgentCounters {
  std::atomic<uint64_t> injections{0};
  std::atomic<uint64_t> inject_failures{0};
  std::atomic<uint64_t> reverts{0};
  std::atomic<uint64_t> revert_failures{0};
  std::atomic<uint64_t> lease_expiries{0};
  std::atomic<uint64_t> sweeps{0};          // leftovers the start-up sweep removed
  std::atomic<uint64_t> sweep_failures{0};  // leftovers it found but could not remove
};

}  // namespace chaos::agent

#endif  // CHAOS_AGENT_COUNTERS_H_
