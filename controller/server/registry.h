// AgentRegistry: the agents that announced themselves to the controller.
//
// An agent registers (and heartbeats, by registering again) with its
// address, hostname and labels, and is told when to heartbeat next: the
// configured interval, or longer when the registered agents would
// otherwise send more than `max_heartbeats_per_second` together (0: no
// cap), so the controller's heartbeat load stays flat as the fleet grows.
// An agent is "lost" once no heartbeat arrived for `missed_heartbeats` of
// the intervals it was last told; a lost agent that heartbeats again is
// live again. It holds at most `capacity` agents (request_limits.h
// kMaxAgents): a new agent beyond it makes the registry forget its lost
// agents, and is refused RESOURCE_EXHAUSTED when none is lost.
//
// With a store, each agent's address, hostname and labels are kept there
// when they are new or change (not at every heartbeat), and forgotten
// agents are deleted from it; Load() reads them back, every one lost (last
// seen 0) until it heartbeats to this controller. So a restarted controller
// or the next leader lists, and halts, the whole fleet at once. A store
// write that fails is logged and tried again at the agent's next
// heartbeat; the registration itself is accepted.
//
// An operator forgets a lost agent (a decommissioned one) with ForgetLost:
// it leaves the registry and the store, so HaltAll no longer calls it and
// no controller loads it again. A live agent is not forgotten: its next
// heartbeat would register it again. Whoever keeps something per agent
// (the run manager's channels) learns of every agent that leaves, by
// ForgetLost or to make room, through OnForgotten.
//
// ResolveTargets gives the agents a run may use: every live agent. The
// experiment's own target groups (label selectors, count, percent) then
// choose among them in the run engine, with the registered labels as the
// inventory. FAILED_PRECONDITION when no agent is live, or when a target
// group a fault step uses would choose more live agents (by the registered
// labels, after its count/percent and max/maxPercent) than the controller's
// limit `max_agents_per_run` (0: none); the run engine checks the distinct
// agents of all groups together again in preflight.
// Thread safety: safe for concurrent use.
#ifndef CHAOS_CONTROLLER_REGISTRY_H_
#define CHAOS_CONTROLLER_REGISTRY_H_

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "chaos/v1/controller.pb.h"
#include "controller/server/clock.h"
#include "controller/server/request_limits.h"
#include "controller/store/history_store.h"
#include "experiments/experiment.h"

namespace chaos::controller {

class AgentRegistry {
 public:
  // `store` may be null: nothing kept.
  AgentRegistry(Clock* clock, absl::Duration heartbeat_interval, int missed_heartbeats = 3,
                size_t capacity = kMaxAgents, HistoryStore* store = nullptr,
                double max_heartbeats_per_second = 0);

  // Adds the store's agents this registry does not hold, as lost.
  [[nodiscard]] absl::Status Load();

  // The interval until the agent's next heartbeat. INVALID_ARGUMENT when
  // the address is not host:port; RESOURCE_EXHAUSTED for a new agent when
  // the registry is full of live ones.
  [[nodiscard]] absl::StatusOr<absl::Duration> Register(
      const chaos::v1::RegisterAgentRequest& request);
  // Sorted by address; `lost` and `last_seen_unix_ms` as of now.
  std::vector<chaos::v1::AgentInfo> List();
  // Addresses of agents that are not lost, sorted.
  std::vector<std::string> LiveAddresses();

  // Forgets the lost agent at `address`, in the store first, then here.
  // INVALID_ARGUMENT for an empty address; NOT_FOUND for an unknown one;
  // FAILED_PRECONDITION for a live agent (also one that heartbeats while it
  // is being forgotten: it stays, and is kept in the store again at its
  // next heartbeat); the store's error when it could not delete it (the
  // agent then stays, lost).
  [[nodiscard]] absl::Status ForgetLost(const std::string& address);

  // `forgotten` is called with the address of each agent that leaves the
  // registry from now on (ForgetLost, or a lost agent forgotten to make
  // room for a new one), after it has left, on the thread that forgot it,
  // without the registry's own lock held; it must not call OnForgotten.
  // Replaces the previous one (nullptr: none) once no call to it is in
  // progress, so what the previous one used may go away after this returns.
  void OnForgotten(std::function<void(const std::string&)> forgotten)
      ABSL_LOCKS_EXCLUDED(forgotten_mu_);

 private:
  struct Entry {
    chaos::v1::AgentInfo info;
    absl::Time last_seen;
    absl::Duration told;  // the interval it was told at `last_seen`
    bool stored = false;  // the store holds `info`
  };
  // Writes `info` to the store; marks the entry stored if it still holds it.
  void Keep(const chaos::v1::AgentInfo& info) ABSL_LOCKS_EXCLUDED(mu_);
  // Deletes `addresses` from the store; the first failure (every one is
  // logged).
  absl::Status Forget(const std::vector<std::string>& addresses) ABSL_LOCKS_EXCLUDED(mu_);
  // Calls the OnForgotten listener with each of `addresses`.
  void Announce(const std::vector<std::string>& addresses)
      ABSL_LOCKS_EXCLUDED(mu_, forgotten_mu_);
  bool Lost(const Entry& e, absl::Time now) const {
    return now - e.last_seen > e.told * missed_;
  }
  absl::Duration IntervalFor(size_t agents) const;

  Clock* const clock_;
  HistoryStore* const store_;
  const absl::Duration interval_;
  const int missed_;
  const size_t capacity_;
  const double max_per_second_;
  absl::Mutex mu_;
  std::map<std::string, Entry> agents_ ABSL_GUARDED_BY(mu_);
  bool store_failing_ ABSL_GUARDED_BY(mu_) = false;  // logged once until a write succeeds
  // Held while the listener runs, apart from mu_, so that it may call back.
  absl::Mutex forgotten_mu_;
  std::function<void(const std::string&)> forgotten_ ABSL_GUARDED_BY(forgotten_mu_);

  // Room for one more agent: forgets the lost ones when full, adding their
  // addresses to `forgotten`.
  absl::Status MakeRoom(std::vector<std::string>* forgotten) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
};

// The live agents `experiment` may run on, from the registry.
[[nodiscard]] absl::StatusOr<std::vector<std::string>> ResolveTargets(
    const experiments::Experiment& experiment, AgentRegistry& registry,
    size_t max_agents_per_run = 0);

}  // namespace chaos::controller

#endif  // CHAOS_CONTROLLER_REGISTRY_H_
