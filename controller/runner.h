// Runner: runs one experiment against a set of agents and always puts the
// hosts back.
//
// Before anything is injected it reaches every agent, resolves the target
// groups from their labels (random choice recorded with its seed), checks
// that each chosen agent can run the fault kinds asked of it, and checks
// the steady state. While the method runs, guard probes are polled and a
// guard that trips aborts the run. Steps run as soon as the steps in
// their `after` list have ended (independent steps in parallel). A fault
// step injects on every agent, holds for its duration and reverts. Leases
// are renewed with KeepAlive for the whole run, so a runner that dies
// leaves the cleanup to the agents. On every path that stops the run early
// (an inject failing anywhere, Interrupt()) the faults still in place are
// reverted in reverse order of injection, with retries, unless the
// experiment says `rollback: never`; then each agent is asked for its
// faults of this run to verify nothing remains. Recovery time is measured
// from the end of a step or of the rollback until the recovery probes hold
// K rounds in a row; then the steady state is checked again.
//
// Run() blocks; Interrupt() may be called from any thread.
#ifndef CHAOS_CONTROLLER_RUNNER_H_
#define CHAOS_CONTROLLER_RUNNER_H_

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "chaos/v1/agent.grpc.pb.h"
#include "controller/experiment.h"
#include "controller/probe.h"

namespace chaos::controller {

enum class RunOutcome {
  kPassed,              // exit 0
  // exit 1: the hypothesis was not met (steady state, a guard, the recovery
  // objective) or a step failed (an inject, a command, a manual gate);
  // everything was rolled back.
  kFailed,
  kRollbackIncomplete,  // exit 3: something may still be injected
  kUnavailable,         // exit 4: an agent unreachable or unable; nothing injected
  kInterrupted,         // exit 130: SIGINT/SIGTERM, rolled back
};
int ExitCode(RunOutcome outcome);
// "<experiment-name-slug>-<UTC yyyymmddThhmmss>-<6 random hex digits>".
std::string NewRunId(const std::string& name);
const char* OutcomeName(RunOutcome outcome);

struct RunEvent {
  absl::Time at;
  std::string type;   // run, preflight, step, inject, revert, rollback, verify
  std::string step;   // step id, when about a step
  std::string agent;  // agent address, when about an agent
  std::string message;
};

// Receives events as they happen, on the runner's threads (serialized).
class RunObserver {
 public:
  virtual ~RunObserver() = default;
  virtual void OnEvent(const RunEvent& event) = 0;
};

struct RunOptions {
  std::vector<std::string> agents;  // host:port
  // Labels per agent address from an inventory file; merged over (and
  // taking precedence over) the labels each agent reports itself.
  std::map<std::string, std::map<std::string, std::string>> inventory_labels;
  std::string run_id;               // empty: generated
  uint64_t seed = 0;                // target choice; 0: choose one and report it
  bool dry_run = false;             // resolve and check, print the plan, inject nothing
  int operator_fd = 0;              // where manual gates read "y" or "n"
  absl::Duration lease = absl::Seconds(15);
  absl::Duration rpc_timeout = absl::Seconds(10);
  int revert_attempts = 3;
  std::string caller = "chaosctl";
};

struct FaultRecord {
  std::string agent;
  std::string step;
  std::string fault_id;
  std::string kind;
  std::string summary;
  absl::Time injected_at = absl::InfinitePast();
  absl::Time reverted_at = absl::InfinitePast();
  bool reverted = false;
  std::string error;  // last revert error, when not reverted
};

// One probe check as it happened.
struct ProbeSample {
  absl::Time at;
  std::string probe;
  // "steady-state-before", "guard", "recovery" or "steady-state-after".
  std::string phase;
  bool ok = false;
  absl::Duration latency;
  std::string detail;
};

struct StepRecord {
  std::string id;
  std::string kind;    // a fault kind key ("cpuBurn"), "wait", "command" or "manual"
  std::string target;  // target group of a fault step
  std::string state = "pending";  // pending, running, done, failed, skipped
  absl::Time started_at = absl::InfinitePast();
  absl::Time ended_at = absl::InfinitePast();
  std::string detail;
};

struct TargetResolution {
  std::string group;
  std::string selector;  // "role=web,zone=a" or "*"
  std::string mode;      // "all", "count 2", "percent 50"
  std::vector<std::string> agents;  // addresses chosen
};

struct RecoveryResult {
  bool measured = false;  // false: no recovery section, or it never started
  std::string from;       // "rollback" or "step:<id>"
  absl::Time started_at = absl::InfinitePast();
  absl::Time ended_at = absl::InfinitePast();
  bool recovered = false;  // the probes held `successes` times in a row in time
  absl::Duration time;     // ended_at - started_at, when recovered
  // Per probe: from started_at to the first success of its final streak.
  std::map<std::string, absl::Duration> per_probe;
  std::optional<absl::Duration> objective;
  bool objective_met = true;
};

struct RunReport {
  std::string run_id;
  std::string experiment;
  std::string description;
  std::string hypothesis;
  uint64_t seed = 0;
  RunOutcome outcome = RunOutcome::kPassed;
  std::string reason;  // why the run did not pass
  absl::Time started_at;
  absl::Time ended_at;
  std::vector<TargetResolution> targets;
  std::vector<StepRecord> steps;
  std::vector<FaultRecord> faults;
  std::vector<ProbeSample> probes;
  RecoveryResult recovery;
  // "complete", "incomplete", "not needed" or "skipped (rollback: never)".
  std::string rollback = "not needed";
  std::vector<RunEvent> events;
  // Exact commands that undo what could not be reverted.
  std::vector<std::string> manual_undo;
};

class Runner {
 public:
  Runner(Experiment experiment, RunOptions options, RunObserver* observer);
  ~Runner();

  RunReport Run();
  void Interrupt(const std::string& reason);

  const std::string& run_id() const { return options_.run_id; }

 private:
  struct Agent {
    std::string address;
    std::string hostname;
    std::map<std::string, std::string> labels;
    // Fault kind ("cpuBurn") -> "" when available, else why not.
    std::map<std::string, std::string> capabilities;
    std::unique_ptr<chaos::v1::Agent::Stub> stub;
  };

  void Emit(RunEvent event);
  bool Preflight();
  bool ResolveTargets();
  bool CheckCapabilities();
  void PrintPlan();
  // Runs each named probe once; false (and the run fails) if any fails.
  bool SteadyState(const std::vector<std::string>& probes, const std::string& phase);
  ProbeResult Probe(const ProbeSpec& probe, const std::string& phase);
  void GuardLoop();
  void RunStep(size_t index);
  void RunFaultStep(size_t index);
  void RunCommandStep(size_t index);
  void RunManualStep(size_t index);
  void SetStep(size_t index, const std::string& state, const std::string& detail);
  bool WaitFor(absl::Duration d);  // false when interrupted or aborted
  bool Aborted();
  void Abort(RunOutcome outcome, const std::string& reason);
  bool RevertFault(size_t index);   // index into report_.faults
  void Rollback();
  void RollbackActions();
  void Verify();
  void MeasureRecovery();
  void KeepAliveLoop();
  std::vector<Agent*> AgentsOf(const std::string& group);
  std::unique_ptr<grpc::ClientContext> Context() const;

  const Experiment experiment_;
  RunOptions options_;
  RunObserver* observer_;
  std::vector<Agent> agents_;
  std::map<std::string, std::vector<Agent*>> groups_;  // set by ResolveTargets

  absl::Mutex mu_;
  RunReport report_ ABSL_GUARDED_BY(mu_);
  bool aborted_ ABSL_GUARDED_BY(mu_) = false;
  bool method_done_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  // Set when the recovery clock starts (end of a step, or the rollback).
  std::optional<absl::Time> recovery_start_ ABSL_GUARDED_BY(mu_);
  absl::Mutex emit_mu_;
};

}  // namespace chaos::controller

#endif  // CHAOS_CONTROLLER_RUNNER_H_
