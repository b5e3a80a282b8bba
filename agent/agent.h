// Agent: the host-side engine behind the Agent RPC service.
//
// Owns every fault this host runs. Each inject is journaled in the
// FaultLedger before it touches the host, and each step after. Recover()
// reverts whatever a previous run of the agent left unreverted. Faults end
// when their caller reverts them, when their duration elapses (the agent's
// own timer, whatever the caller does), when their experiment's lease lapses
// without a KeepAlive, on Halt, and on Shutdown.
//
// Thread-safe. Locks: `mu_` guards the table and is held only briefly; each
// fault has its own `op_mu` serializing its inject and revert, so reverting
// one fault never waits behind another fault's inject.
#ifndef CHAOS_AGENT_AGENT_H_
#define CHAOS_AGENT_AGENT_H_

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "agent/fault_factory.h"
#include "agent/ledger.h"
#include "agent/policy.h"
#include "chaos/v1/agent.pb.h"
#include "faults/fault.h"

namespace chaos::agent {

struct AgentOptions {
  std::string state_dir = "/var/lib/chaos-agent";
  absl::Duration default_lease = absl::Seconds(15);
  Policy policy = Policy::Default();  // its max_duration caps every fault
  size_t max_active_faults = 64;
  // Ended faults remembered (so a late revert answers "already reverted").
  size_t max_ended_faults = 1000;
  std::map<std::string, std::string> labels;
  absl::Duration tick = absl::Milliseconds(50);
};

struct AgentCounters {
  std::atomic<uint64_t> injections{0};
  std::atomic<uint64_t> inject_failures{0};
  std::atomic<uint64_t> reverts{0};
  std::atomic<uint64_t> revert_failures{0};
  std::atomic<uint64_t> lease_expiries{0};
};

class Agent {
 public:
  // Opens the ledger in options.state_dir. Starts no timer until Start().
  static absl::StatusOr<std::unique_ptr<Agent>> Create(AgentOptions options);
  ~Agent();  // stops the timer; reverts nothing (see Shutdown)

  // Reverts every fault the ledger holds that is not reverted, from an
  // earlier run of this agent. Returns the number reverted; errors are
  // logged and leave the record for the next start.
  size_t Recover();

  // Starts the expiry timer (durations and leases).
  void Start();

  absl::StatusOr<chaos::v1::FaultStatus> Inject(const chaos::v1::InjectRequest& request,
                                                const std::string& peer);
  absl::StatusOr<chaos::v1::FaultStatus> Revert(const std::string& fault_id,
                                                const std::string& caller);
  std::vector<chaos::v1::FaultStatus> RevertExperiment(const std::string& experiment_id,
                                                       const std::string& caller);
  std::vector<chaos::v1::FaultStatus> List(const std::string& experiment_id,
                                           bool include_ended);
  absl::StatusOr<chaos::v1::KeepAliveResponse> KeepAlive(
      const chaos::v1::KeepAliveRequest& request);
  chaos::v1::DescribeResponse Describe();
  std::vector<chaos::v1::FaultStatus> Halt(const std::string& caller,
                                           const std::string& reason);
  void Resume(const std::string& caller);

  // Reverts everything and stops the timer (orderly exit).
  void Shutdown();

  // Runs the expiry checks once at `now` (the timer calls this).
  void Tick(absl::Time now);

  size_t active_faults();
  bool halted();
  const AgentCounters& counters() const { return counters_; }

 private:
  struct Entry {
    absl::Mutex op_mu;                       // serializes inject/revert
    std::unique_ptr<faults::Fault> fault;    // guarded by op_mu
    chaos::v1::LedgerRecord record;          // guarded by Agent::mu_
    bool inject_failed = false;              // guarded by Agent::mu_
  };
  struct Lease {
    absl::Time deadline;
    absl::Duration length;
  };

  Agent(AgentOptions options, std::unique_ptr<FaultLedger> ledger);

  // Reverts one entry; `reason` is recorded. Takes entry->op_mu.
  absl::StatusOr<chaos::v1::FaultStatus> RevertEntry(const std::shared_ptr<Entry>& entry,
                                                     const std::string& caller,
                                                     const std::string& reason);
  // Updates the entry's record under mu_ and writes it to the ledger.
  absl::Status Persist(Entry& entry, const std::function<void(chaos::v1::LedgerRecord&)>& edit);
  std::vector<std::shared_ptr<Entry>> EntriesWhere(
      const std::function<bool(const chaos::v1::LedgerRecord&)>& pred);
  void PruneEnded() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // What the faults must respect on this host, from the policy.
  FactoryOptions factory_options() const;
  void TimerLoop();

  const AgentOptions options_;
  std::unique_ptr<FaultLedger> ledger_;
  AgentCounters counters_;

  absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::shared_ptr<Entry>> faults_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, Lease> leases_ ABSL_GUARDED_BY(mu_);
  bool halted_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread timer_;
};

}  // namespace chaos::agent

#endif  // CHAOS_AGENT_AGENT_H_
