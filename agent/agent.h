// Agent: the host-side engine behind the Agent RPC service, and the thin
// coordinator of the units that do the work:
// - FaultTable (fault_table.h): the faults and their state machine, each
//   journaled in the FaultLedger before it touches the host;
// - LeaseTable (lease_table.h): each experiment's lease;
// - ExpiryTimer (expiry_timer.h): wakes at the next fault or lease deadline;
// - recovery (recovery.h): reverts what an earlier run left behind;
// - sweep (sweep.h): removes tagged leftovers no ledger record names;
// - CapabilityCache (capability_cache.h): what this host can run, probed at
//   start-up and on request, never per Describe;
// - CommandTable (command_table.h): the commands RunCommand runs now, each
//   holding its experiment's lease like a fault, and each journaled in the
//   CommandJournal (command_journal.h) from before it starts until it ends;
// - ScheduledStarts (scheduled_starts.h): injects held until their start
//   (InjectRequest.starts_in), which the timer runs; Revert,
//   RevertExperiment, Halt, Shutdown and a lapsed lease cancel them.
// Faults end when their caller reverts them, when their duration elapses
// (the agent's own timer, whatever the caller does), when their
// experiment's lease lapses without a KeepAlive, on Halt, and on Shutdown;
// so do running commands (their process groups are killed), and on a
// RevertExperiment of their experiment too; what commands of an agent
// killed outright left running is killed at the next start
// (RecoverCommands).
// A revert that fails is retried by the same timer with capped exponential
// backoff (AgentOptions::revert_retry) until it holds, an operator abandons
// the fault (Abandon), or the agent is halted (Halt tries once more; no
// retry runs until Resume).
//
// Thread-safe: every method may be called from any thread. Reverting one
// fault never waits behind another fault's inject (see fault_table.h).
#ifndef CHAOS_AGENT_AGENT_H_
#define CHAOS_AGENT_AGENT_H_

#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "agent/capability_cache.h"
#include "agent/command_journal.h"
#include "agent/command_table.h"
#include "agent/counters.h"
#include "agent/expiry_timer.h"
#include "agent/fault_factory.h"
#include "agent/fault_table.h"
#include "agent/lease_table.h"
#include "agent/ledger.h"
#include "agent/policy.h"
#include "agent/scheduled_starts.h"
#include "chaos/v1/agent.pb.h"

namespace chaos::agent {

struct AgentOptions {
  std::string state_dir = "/var/lib/chaos-agent";
  absl::Duration default_lease = absl::Seconds(15);
  Policy policy = Policy::Default();  // its max_duration caps every fault
  size_t max_active_faults = 64;
  // Cap on commands RunCommand runs at once.
  size_t max_running_commands = 16;
  // Ended faults remembered (so a late revert answers "already reverted").
  size_t max_ended_faults = 1000;
  std::map<std::string, std::string> labels;
  // Backoff of the timer's retries of a failed revert.
  RetryBackoff revert_retry;
  // Finds what this host can run (see CapabilityCache); tests swap it.
  CapabilityCache::Probe probe_capabilities = Capabilities;
};

class Agent {
 public:
  // Opens the ledger and the command journal in options.state_dir. Starts
  // no timer and probes nothing until Start().
  static absl::StatusOr<std::unique_ptr<Agent>> Create(AgentOptions options);
  ~Agent();  // stops the timer; reverts nothing (see Shutdown)

  // Reverts every fault the ledger holds that is not reverted, from an
  // earlier run of this agent (see recovery.h). Returns the number
  // reverted; errors are logged and leave the record for the next start.
  size_t Recover();

  // Kills what commands of an earlier run of this agent left running (see
  // recovery.h, RecoverCommands). Returns the number of processes killed.
  size_t RecoverCommands();

  // After Recover: removes tagged leftovers that no live record names (see
  // sweep.h), fill files under the policy's fill roots included. Returns
  // the number removed; failures are logged and counted.
  size_t Sweep();

  // Probes the host's capabilities and starts the expiry timer (which
  // retries at once the reverts Recover could not finish).
  void Start();

  // `caller` is who asks (rpc::CallerOf), for the audit log; here and below.
  absl::StatusOr<chaos::v1::FaultStatus> Inject(const chaos::v1::InjectRequest& request,
                                                const std::string& caller);
  // See agent.proto: a failed revert returns its error and is retried.
  absl::StatusOr<chaos::v1::FaultStatus> Revert(const std::string& fault_id,
                                                const std::string& caller);
  // See FaultTable::Abandon; NOT_FOUND for an unknown id.
  absl::StatusOr<chaos::v1::FaultStatus> Abandon(const std::string& fault_id,
                                                 const std::string& caller,
                                                 const std::string& reason);
  // Kills the experiment's running commands (waiting until they are gone;
  // their ids into *stopped_commands when given), then reverts its live
  // faults; *outcome gets each one's status. FAILED_PRECONDITION naming
  // every fault whose revert failed.
  absl::Status RevertExperiment(const std::string& experiment_id, const std::string& caller,
                                std::vector<chaos::v1::FaultStatus>* outcome,
                                std::vector<std::string>* stopped_commands = nullptr);
  std::vector<chaos::v1::FaultStatus> List(const std::string& experiment_id,
                                           bool include_ended);
  absl::StatusOr<chaos::v1::KeepAliveResponse> KeepAlive(
      const chaos::v1::KeepAliveRequest& request);
  // Capabilities come from the cache; refresh_capabilities probes again.
  chaos::v1::DescribeResponse Describe(bool refresh_capabilities = false);
  // Halts (no inject and no command until Resume), kills every running
  // command, then reverts every live fault, trying a failed one once more;
  // *outcome, *stopped_commands and the status as RevertExperiment's.
  absl::Status Halt(const std::string& caller, const std::string& reason,
                    std::vector<chaos::v1::FaultStatus>* outcome,
                    std::vector<std::string>* stopped_commands = nullptr);
  void Resume(const std::string& caller);

  // Runs one command the policy allows to its end (agent.proto,
  // RunCommand): checks the request and the policy (refusals audited),
  // holds the experiment's lease, audits the start and the end. `stop`
  // kills it early: the caller flips it when the call is cancelled, and
  // Halt, RevertExperiment, a lapsed lease and StopCommands do through the
  // command table. Blocks for as long as the command runs.
  absl::StatusOr<chaos::v1::RunCommandResponse> RunCommand(
      const chaos::v1::RunCommandRequest& request, const std::string& caller,
      std::shared_ptr<CommandSwitch> stop);
  // Refuses new commands for good and kills the running ones, waiting
  // until they are gone: the first step of an orderly exit, before the
  // server waits for its calls to end.
  void StopCommands(const std::string& reason);

  // Kills the running commands, reverts everything and stops the timer
  // (orderly exit).
  void Shutdown();

  // Runs the expiry checks once at `now` (the timer calls this): reverts
  // active faults whose lease lapsed or whose duration elapsed (and cancels
  // the scheduled starts of a lapsed lease), injects the scheduled starts
  // that are due, and retries the failed reverts that are due (not while
  // halted).
  void Tick(absl::Time now);

  size_t active_faults();
  size_t running_commands();
  // An inject in progress or a command running: a call that ends faults
  // (Revert, RevertExperiment, Halt) may have to wait for it.
  bool MayWait();
  // Failed reverts the timer will retry (next_retry_unix_ms set).
  size_t revert_retries_pending();
  bool halted();
  const AgentCounters& counters() const { return counters_; }

 private:
  Agent(AgentOptions options, std::unique_ptr<FaultLedger> ledger,
        std::unique_ptr<CommandJournal> journal);

  // Halt and the cap on active and scheduled faults, checked before
  // anything is built.
  absl::Status CheckAdmission();
  // The fault `spec` names, when its parameters and the host's policy
  // allow it (a refusal is audited).
  absl::StatusOr<std::unique_ptr<faults::Fault>> BuildAllowed(const chaos::v1::FaultSpec& spec,
                                                              const std::string& caller);
  // Holds the lease and injects through the fault table; schedules the timer.
  absl::StatusOr<chaos::v1::FaultStatus> InjectNow(const chaos::v1::FaultSpec& spec,
                                                   std::unique_ptr<faults::Fault> fault,
                                                   const std::string& caller,
                                                   absl::Duration lease,
                                                   std::optional<absl::Time> ends_at);
  // Injects the scheduled starts due at `now` (Tick), each one's outcome
  // kept by the ScheduledStarts.
  void StartDue(absl::Time now);
  absl::Status StartScheduled(const ScheduledStarts::Start& start, absl::Time now);
  // Cancels the scheduled starts `pred` selects (ScheduledStarts::Cancel),
  // each audited as action=cancel.
  std::vector<chaos::v1::FaultStatus> CancelStarts(const ScheduledStarts::SpecPredicate& pred,
                                                   const std::string& caller,
                                                   const std::string& reason);
  // Reverts one fault and schedules the timer for its retry when it fails.
  absl::StatusOr<chaos::v1::FaultStatus> RevertOne(const FaultTable::Ref& fault,
                                                   const std::string& caller,
                                                   const std::string& reason);
  // Reverts every fault `pred` selects, newest first, each up to `attempts`
  // times; *outcome gets their statuses. FAILED_PRECONDITION naming each
  // fault still not reverted.
  absl::Status RevertAll(const FaultTable::Predicate& pred, const std::string& caller,
                         const std::string& reason, int attempts,
                         std::vector<chaos::v1::FaultStatus>* outcome);
  // Tick, then the next deadline the timer should wake at.
  absl::Time Expire(absl::Time now);
  absl::Time NextDeadline();
  // What the faults must respect on this host, from the policy.
  FactoryOptions factory_options() const;
  // How long Halt, RevertExperiment and StopCommands wait for the commands
  // they kill to end: base::RunCommand gives one 2 s between SIGTERM and
  // SIGKILL.
  static constexpr absl::Duration kCommandStopWait = absl::Seconds(5);
  // Kills the commands `pred` selects (see CommandTable::Stop); the agent's
  // side of RunCommand is in agent_commands.cc.
  std::vector<std::string> StopCommandsOf(const CommandTable::Predicate& pred,
                                          const std::string& reason, absl::Duration wait);

  const AgentOptions options_;
  std::unique_ptr<FaultLedger> ledger_;
  std::unique_ptr<CommandJournal> journal_;
  AgentCounters counters_;
  FaultTable faults_;
  ScheduledStarts starts_;
  LeaseTable leases_;
  CapabilityCache capabilities_;
  CommandTable commands_;
  std::atomic<bool> halted_{false};
  ExpiryTimer timer_;  // last: its thread uses everything above
};

}  // namespace chaos::agent

#endif  // CHAOS_AGENT_AGENT_H_
