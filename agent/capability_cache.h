// CapabilityCache: which fault kinds this host can run, probed once and
// kept, so that Describe never probes the kernel per call (probing netem
// and partition support loads modules and builds a network namespace).
// Refresh() probes again, for a host that gained a module since start-up.
//
// Thread-safe. One mutex guards the cache and is held during a probe, so
// concurrent callers wait for a probe in progress rather than start their
// own, and a refresh is never overwritten by an older probe.
#ifndef CHAOS_AGENT_CAPABILITY_CACHE_H_
#define CHAOS_AGENT_CAPABILITY_CACHE_H_

#include <functional>
#include <optional>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "chaos/v1/agent.pb.h"

namespace chaos::agent {

class CapabilityCache {
 public:
  using Capabilities = std::vector<chaos::v1::FaultCapability>;
  using Probe = std::function<Capabilities()>;

  // `probe` is called on first use and on each Refresh(), never otherwise.
  explicit CapabilityCache(Probe probe);

  // The cached capabilities; probes when nothing is cached yet.
  Capabilities Get();

  // Probes now, caches the result and returns it.
  Capabilities Refresh();

 private:
  const Probe probe_;
  absl::Mutex mu_;
  std::optional<Capabilities> cached_ ABSL_GUARDED_BY(mu_);
};

}  // namespace chaos::agent

#endif  // CHAOS_AGENT_CAPABILITY_CACHE_H_
