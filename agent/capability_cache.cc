#include "agent/capability_cache.h"

#include <utility>

namespace chaos::agent {

CapabilityCache::CapabilityCache(Probe probe) : probe_(std::move(probe)) {}

CapabilityCache::Capabilities CapabilityCache::Get() {
  absl::MutexLock lock(&mu_);
  if (!cached_) cached_ = probe_();
  return *cached_;
}

CapabilityCache::Capabilities CapabilityCache::Refresh() {
  absl::MutexLock lock(&mu_);
  cached_ = probe_();
  return *cached_;
}

}  // namespace chaos::agent
