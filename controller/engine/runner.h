// Runner: runs one experiment against a set of agents and always puts the
// hosts back.
//
// Before anything is injected it reaches every agent, resolves the target
// groups from their labels (random choice recorded with its seed), checks
// that each chosen agent can run the fault kinds asked of it, and checks
// the steady state. An agent that cannot be reached or cannot run its
// faults, or whose inject fails, stops the run, unless every group that
// chose it may lose one more agent (its maxUnavailable, never its last
// agent under `whenEmpty: fail`): then it is lost (journaled as `lost`,
// listed in the report) and the run goes on without it. A lost agent gets
// no further step, command or inject; a fault sent to it is still
// reverted, with the step's others, since an inject that timed out may
// have landed. While the method runs, guard probes are polled and a
// guard that trips aborts the run. Steps run as soon as the steps in
// their `after` list have ended (independent steps in parallel). A fault
// step injects on every agent, holds for its duration and reverts. A
// command (step, probe, rollback action) with a target runs on every agent
// of its group through RunCommand (remote_command.h), killed there when
// the run aborts. Every call to many agents goes through base::FanOut,
// options.fan_out at once, each call with its own deadline, so a slow or
// dead agent holds one thread and never delays the others' calls. A fault
// step fixes its end once, before its first inject (its start plus its
// duration), and sends each agent what remains of it (InjectRequest
// ends_in): every agent's own timer ends the fault at that instant, late by
// the one-way latency of its request, with or without this runner. Leases
// are renewed with KeepAlive for the whole run, in rounds (a call's deadline
// is a third of the lease, so a stuck agent never delays the next round's
// renewal of the others by more), so a runner that dies leaves the
// cleanup to the agents; a renewal that finds a fault of this run ended
// although the run did not revert it (and its duration has not elapsed)
// fails the run with "lease lapsed on AGENT", and so does an agent no
// renewal has reached for a whole lease (at once, whether it answers again
// or not); either loses the agent instead when its groups allow it. Under `rollback: never` a
// renewal is never shorter than what remains of the agent's faults of this
// run, so they last their full duration after the run. On every path that stops the run early
// (an inject failing anywhere, Interrupt()) the faults still in place are
// reverted in reverse order of injection, with retries, unless the
// experiment says `rollback: never`; then each agent is asked for its
// faults of this run to verify nothing remains. Recovery time is measured
// until the recovery probes hold K rounds in a row: from the end of the
// rollback, or, with `from: STEP`, from the moment that step ends, on its
// own thread while the rest of the method goes on. The run waits for the
// measurement, then checks the steady state again.
//
// Run() blocks; Interrupt() may be called from any thread.
#ifndef CHAOS_CONTROLLER_ENGINE_RUNNER_H_
#define CHAOS_CONTROLLER_ENGINE_RUNNER_H_

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "chaos/v1/agent.grpc.pb.h"
#include "base/subprocess.h"
#include "controller/metrics/metrics.h"
#include "controller/probes/probe.h"
#include "controller/report/run_report.h"
#include "experiments/experiment.h"
#include "rpc/channel_cache.h"
#include "rpc/credentials.h"

namespace chaos::controller {

using experiments::Canary;
using experiments::CommandSpec;
using experiments::Experiment;
using experiments::FaultKindKey;
using experiments::ProbeGuard;
using experiments::Recovery;
using experiments::RollbackPolicy;
using experiments::Step;
using experiments::TargetGroup;

// "<experiment-name-slug>-<UTC yyyymmddThhmmss>-<6 random hex digits>".
std::string NewRunId(const std::string& name);

// A journal event; its time is set when the runner emits it.
JournalEvent Event(std::string type, std::string step, std::string agent, std::string message);

// One line on how a command ended: "exit 0 after 1.2s: its last line",
// "timed out after 5s", "cancelled: the run is stopping", or why it could
// not start.
std::string CommandDetail(const base::CommandOutcome& out, absl::Duration timeout);

// The window an Inject sent at `sent` carries for a fault planned from
// `start` to `planned_end`: starts_in (zero: start on receipt) and ends_in,
// both counted from the agent's receipt. Sent 1 ms or more before the
// start, the agent waits for it and holds the fault for the whole window;
// sent later, the fault starts on receipt and ends at the planned end, and
// never holds longer than planned_end - start (what an agent accepts) nor
// less than 1 ms (0 means unset).
struct InjectWindow {
  absl::Duration starts_in;
  absl::Duration ends_in;
};
InjectWindow InjectWindowFor(absl::Time start, absl::Time planned_end, absl::Time sent);

// Every fault of run `run_id` the agent behind `stub` knows, the ended ones
// too: what a run's start confirmations, lapse checks and a recovery's
// verify read.
grpc::Status ListRunFaults(chaos::v1::Agent::Stub& stub, const std::string& run_id,
                           grpc::ClientContext* ctx, chaos::v1::ListFaultsResponse* resp);

// Receives events as they happen, on the runner's threads.
class RunObserver {
 public:
  virtual ~RunObserver() = default;
  // One call at a time, in the journal's order.
  virtual void OnEvent(const JournalEvent& event) = 0;
  // Called after each OnEvent, on the same thread, once the next event's
  // OnEvent may run: an observer that keeps events in batches (the
  // controller's journal) waits here until this thread's event is kept,
  // so that the runner's threads wait for their writes together, not one
  // after the other. The runner goes on from the event when it returns.
  virtual void AfterEvent() {}
};

// The --start-lead flag of chaosctl run and chaos-controller: "auto" (0,
// StartLead chooses), "off" (negative: inject on receipt) or a duration
// from 1ms to 5m ("500ms", "2s"). INVALID_ARGUMENT naming the flag.
absl::StatusOr<absl::Duration> ParseStartLead(const std::string& text);

struct RunOptions {
  std::vector<std::string> agents;  // host:port
  // Labels per agent address from an inventory file; merged over (and
  // taking precedence over) the labels each agent reports itself.
  std::map<std::string, std::map<std::string, std::string>> inventory_labels;
  std::string run_id;               // empty: generated
  // ${VARIABLES} the experiment file used, recorded in the report.
  std::map<std::string, std::string> variables;
  uint64_t seed = 0;                // target choice; 0: choose one and report it
  bool dry_run = false;             // resolve and check, print the plan, inject nothing
  // Where manual gates read "y" or "n" (the operator's terminal); -1: none,
  // gates are answered only through AnswerGate() (a controller's runs).
  int operator_fd = -1;
  absl::Duration lease = absl::Seconds(15);
  absl::Duration rpc_timeout = absl::Seconds(10);
  int revert_attempts = 3;
  std::string caller = "chaosctl";
  // The controller's --max-agents-per-run: a run whose target groups
  // together choose more distinct agents is refused in preflight (outcome
  // unavailable, nothing injected); 0: no limit.
  size_t max_agents_per_run = 0;
  // How many agents the run calls at once (preflight, inject, keep-alive,
  // revert, verify, commands with a target): the controller's --fan-out,
  // chaosctl's --fan-out. 0 counts as 1. Each call has its own deadline, so
  // one slow or dead agent holds one of these, never the others' calls.
  size_t fan_out = 64;
  // --start-lead: how far ahead of its sends a fault step on several
  // agents plans the faults' one start (InjectRequest.starts_in), so that
  // they start together however long the fan-out takes: 0 chooses it
  // (StartLead), a negative value injects on receipt instead.
  absl::Duration start_lead = absl::ZeroDuration();
  // How agents are reached: plaintext, or mutual TLS with this process's
  // certificate.
  rpc::TransportOptions transport;
  // Where the channels to the agents come from (the controller's, kept
  // across runs and shared with HaltAll); null: the run opens its own with
  // `transport`.
  rpc::ChannelCache* channels = nullptr;
  // The controller's metrics (its Inject and Revert RPCs, the faults its
  // runs hold, rollback failures); null for a local run.
  ControllerMetrics* metrics = nullptr;
  // Asked right before each inject, and each command step with a target,
  // is sent; a refusal sends nothing and fails the run with its message (a controller on etcd that may no
  // longer lead: Leadership::CheckLeading). Null: always allowed.
  std::function<absl::Status()> authority;
};

class Runner {
 public:
  Runner(Experiment experiment, RunOptions options, RunObserver* observer);
  ~Runner();

  RunReport Run();
  void Interrupt(const std::string& reason);
  // A second interrupt, while the run rolls back: the rollback action now
  // running is killed (TERM, then KILL) and the rest are not started; each
  // is listed as manual undo with `reason`. Fault reverts go on: they are
  // never cancelled.
  void CancelRollbackActions(const std::string& reason);
  // Answers the manual gate `step` while it waits: confirm lets the run go
  // on, !confirm fails the step. NOT_FOUND when the experiment has no such
  // manual step; FAILED_PRECONDITION when it is not waiting (not reached
  // yet, already answered, or the run is ending). Any thread.
  [[nodiscard]] absl::Status AnswerGate(const std::string& step, bool confirm,
                                        const std::string& who, const std::string& reason);
  // A copy of the report so far (a live run's journal). Any thread.
  RunReport Snapshot();

  const std::string& run_id() const { return options_.run_id; }

 private:
  struct Agent {
    std::string address;
    std::string hostname;
    std::map<std::string, std::string> labels;
    // Fault kind ("cpuBurn") -> "" when available, else why not.
    std::map<std::string, std::string> capabilities;
    std::unique_ptr<chaos::v1::Agent::Stub> stub;
    // Only its KeepAliveOnce call of a round touches these.
    bool keepalive_failing = false;
    absl::Time renewed = absl::InfinitePast();  // when its last renewal that arrived was sent
  };

  void Emit(JournalEvent event);
  void RunExperiment();
  bool RunMethodAndRollback();
  void JudgeAfterMethod();
  void ListManualUndo() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool Preflight();
  // Describe on every agent at once: per agent, "" or why it cannot be used.
  std::vector<std::string> DescribeAll();
  bool ResolveTargets();
  // Loses each agent with a problem from preflight (DescribeAll); aborts,
  // naming every problem, when one cannot be lost.
  bool LoseUnavailable(const std::vector<std::string>& problems);
  // Whether any target group may lose an agent (maxUnavailable).
  bool MayLoseAny() const;
  // Records `agent` as lost (at `step`, "" in preflight, for `why`) when
  // every group that chose it may lose one more agent; false, recording
  // nothing, when one may not. Any thread.
  bool Lose(const Agent* agent, const std::string& step, const std::string& why);
  // Lose(), or when the groups do not allow it, fails the run for `why`.
  void LoseOrFail(const Agent* agent, const std::string& step, const std::string& why);
  bool IsLost(const std::string& address) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Whether group `name`, which chose `chosen` in ResolveTargets, may lose
  // one more agent than it has lost.
  bool GroupMayLose(const std::string& name, const std::vector<Agent*>& chosen)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Why `agent` cannot run fault step `step`; "" when it can.
  static std::string CapabilityProblem(const Agent& agent, const Step& step);
  bool CheckAgentLimit();  // options_.max_agents_per_run over groups_
  bool CheckCapabilities();
  void PrintPlan();
  // Runs each named probe once; false (and the run fails) if any fails.
  bool SteadyState(const std::vector<std::string>& probes, const std::string& phase);
  // A command probe is killed when `cancel` is (the run aborting).
  ProbeResult Probe(const ProbeSpec& probe, const std::string& phase,
                    const base::CancelToken* cancel = nullptr);
  void GuardLoop();
  // Polls every probe at its interval from the method's start until
  // StopWatching() (once recovery is measured), phase "watch", leaving a
  // probe to the guard or recovery loop while that one polls it: each
  // probe's state is known through the whole run.
  void WatchLoop();
  bool PolledElsewhere(const ProbeSpec& probe);
  void StopWatching();  // idempotent
  void RunStep(size_t index);
  void RunFaultStep(size_t index);
  // One agent's inject: its fault record (made before the call, also when
  // it fails) and, when it failed, why (journaled, naming the agent) and
  // whether the agent was lost; when it was not, the run is aborted.
  struct InjectOutcome {
    size_t fault = 0;  // index into report_.faults
    std::string error;
    bool lost = false;
    bool scheduled = false;  // the agent holds it until the planned start
    absl::Time latest_end;   // after which no renewal is needed
  };
  // How far ahead of the sends a step with `targets` agents plans its
  // faults' start: options_.start_lead, or by default twice the share of
  // the preflight's fan-out these targets took, from 100 ms to 30 s;
  // none (inject on receipt) for a single target or a negative start_lead.
  absl::Duration StartLead(size_t targets) const;
  // Sends step `index`'s inject to every target at once (up to the
  // fan-out), each to start at `start` (when still ahead) and end at
  // `planned_end`; nullopt for one not sent because the run was aborting.
  std::vector<std::optional<InjectOutcome>> SendInjects(const std::vector<Agent*>& targets,
                                                        size_t index, absl::Time start,
                                                        absl::Time planned_end);
  // Once `start` has passed, asks each agent that scheduled its fault how
  // the start went (ListFaults, again after 20 ms, doubling up to 320 ms),
  // fan-out at once, until it has started or failed or
  // options_.rpc_timeout has passed; a start that failed is an
  // inject that failed (FailInject). An abort cancels the calls in flight
  // and ends it at once.
  void ConfirmStarts(const std::vector<Agent*>& targets, size_t index, absl::Time start,
                     std::vector<std::optional<InjectOutcome>>* sent);
  void ConfirmStart(Agent* agent, size_t index, InjectOutcome* out);
  // Records an injected fault (its status from the agent; the step's
  // window counts it at `acked`: when its inject was acknowledged, or for a
  // scheduled one when the agent started it), holds it for the metrics and
  // journals it.
  void AcceptInject(Agent* agent, size_t index, size_t fault_index,
                    const chaos::v1::FaultStatus& status, absl::Time acked,
                    absl::Time latest_end);
  // Journals an inject that failed and loses its agent when the groups
  // allow it (true); otherwise aborts the run naming it (false).
  bool FailInject(Agent* agent, const std::string& step, const std::string& error);
  // options_.authority before step `index` sends an inject or a command;
  // a refusal aborts the run (kFailed, naming the step).
  bool Authorized(size_t index);
  // Fails the step and the run when an inject failed on an agent that was
  // not lost, naming every failure; otherwise notes the losses in the
  // step's detail. Returns the faults sent (to revert at the step's end).
  std::vector<size_t> JudgeInjects(const std::vector<Agent*>& targets, size_t index,
                                   const std::vector<std::optional<InjectOutcome>>& sent);
  InjectOutcome InjectOn(Agent* agent, size_t index, absl::Time start, absl::Time planned_end);
  // Reverts `faults` (indexes into report_.faults), options_.fan_out at once.
  void RevertAll(const std::vector<size_t>& faults);
  void RunCommandStep(size_t index);
  void RunManualStep(size_t index);
  struct GateAnswer {
    bool confirm = false;
    std::string who;
    std::string reason;
  };
  std::string GateHint(const std::string& step) const;
  std::optional<GateAnswer> ReadTerminalAnswer(const std::string& step, std::string* line,
                                               bool* closed);
  std::optional<GateAnswer> AwaitGate(const std::string& step, absl::Time deadline, bool* closed);
  void SetStep(size_t index, StepState state, const std::string& detail);
  bool WaitFor(absl::Duration d);  // false when interrupted or aborted
  bool Aborted();
  void Abort(RunOutcome outcome, const std::string& reason);
  bool RevertFault(size_t index);   // index into report_.faults
  // One Revert RPC attempt, timed for the metrics.
  grpc::Status RevertOnce(Agent* agent, const FaultRecord& rec, chaos::v1::RevertResponse* resp);
  // The metrics' count of faults this run holds (options_.metrics).
  void MetricsHold(size_t index);
  void MetricsRelease(size_t index);
  void MetricsReleaseAll();
  void Rollback();
  void RollbackActions();
  void Verify();
  void MeasureRecovery();
  void StartRecoveryClock(absl::Time start);
  // In a drill, an abort ends the measurement; otherwise only Interrupt().
  bool StopMeasuringRecovery();
  // A fault step holds until its planned end, or until its `until` step ends.
  void HoldFault(const Step& step, absl::Time planned_end);
  void MarkInjected(const std::string& step);

  // The drill (drill.cc). Its figures live in report_.drill.
  void InitDrill();
  // Writes a canary every interval until the disaster (or the method's end).
  void CanaryLoop();
  // Before the method: waits for the first canary write, and aborts the run
  // before any step when it was not acknowledged.
  void AwaitFirstCanary();
  // Just before the disaster's first inject is sent; `at` is when its
  // faults start (the planned start), from which the RTO counts.
  void MarkDisaster(absl::Time at);
  void StartDrillClock();   // once the disaster has injected everywhere
  bool RestoreStarted();    // true outside a drill
  void NoteFirstProbeOk(absl::Time round);
  // Runs the manifest when the backup step ends; false (run aborted) on error.
  bool RecordBackupDigest();
  // Runs backupSize when the backup step ends; a failure is recorded, not fatal.
  void RecordBackupSize();
  void RecordDrillPhases();
  void MeasureRpo();
  void CheckIntegrity();
  // RPO and integrity once recovered, then the objectives; false (run
  // failed with the figures) when one is missed.
  bool JudgeDrill();
  // A drill command's output, trimmed; nullopt with *error when it fails or
  // prints nothing.
  std::optional<std::string> DrillCommand(const CommandSpec& cmd,
                                          const std::vector<std::string>& extra_args,
                                          std::string* error);
  // Commands with a target, on the agents of their group (remote_command.cc).
  struct AgentOutcome {
    const Agent* agent = nullptr;  // one of groups_' agents, which outlive the run
    base::CommandOutcome out;
  };
  using OnAgentDone = std::function<void(const AgentOutcome&)>;
  // Runs `cmd` on `agents` in parallel, `id` naming it there; `on_done`
  // (may be empty) sees each outcome as it comes, on that agent's thread.
  // `margin`: see RemoteCall.
  std::vector<AgentOutcome> RunOnGroup(const CommandSpec& cmd, const std::vector<Agent*>& agents,
                                       const std::string& id, absl::Duration margin,
                                       const base::CancelToken* cancel,
                                       const OnAgentDone& on_done);
  void RunRemoteCommandStep(size_t index);
  // Whether a command step's failure on one agent loses that agent: when
  // the agent did not run the command to its end (the call failed, or the
  // agent killed it) and its groups allow it (Lose()).
  bool LoseOnCommand(const AgentOutcome& a, const std::string& step, const std::string& detail);
  ProbeResult RunRemoteProbe(const ProbeSpec& probe, const base::CancelToken* cancel);
  void RunRemoteRollbackAction(const CommandSpec& cmd, size_t index);

  // Renews the leases on every agent each third of the lease, a round at a
  // time through FanOut, until the run finishes.
  void KeepAliveLoop();
  void KeepAliveOnce(Agent* agent, absl::Duration deadline);
  // Describe on one agent: its hostname, labels and capabilities; "" when
  // it can run faults, else why not ("cannot reach ...", "... is halted").
  std::string DescribeAgent(Agent* agent);
  // This run's faults on `agent` it injected and has not started to revert.
  std::vector<size_t> HeldFaults(const std::string& agent) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void CheckLapsed(Agent* agent, const std::vector<size_t>& held, absl::Duration deadline);
  // After a keep-alive that did not reach `agent`: once no renewal or
  // inject of `held` has reached it for a whole lease, its own timer has
  // ended them (or it is gone): it is lost when its groups allow it, else
  // the run fails.
  void LoseWhenLeaseLapsed(Agent* agent, const std::vector<size_t>& held,
                           const grpc::Status& status);
  void JournalKeepAliveReach(Agent* agent, const grpc::Status& status);
  // The agents of a target group that the run has not lost, and with
  // kSentAFault also those it lost after it sent them a fault (which may
  // have landed: a rollback action goes to them too).
  enum class Lost { kLeftOut, kSentAFault };
  std::vector<Agent*> AgentsOf(const std::string& group, Lost lost = Lost::kLeftOut);

  const Experiment experiment_;
  RunOptions options_;
  RunObserver* observer_;
  std::vector<Agent> agents_;
  // agents_ by address; set by the constructor, then read only.
  std::map<std::string, Agent*> by_address_;
  // Set by ResolveTargets, then read only; lost agents stay in it.
  std::map<std::string, std::vector<Agent*>> groups_;

  absl::Mutex mu_;
  RunReport report_ ABSL_GUARDED_BY(mu_);
  bool aborted_ ABSL_GUARDED_BY(mu_) = false;
  bool method_done_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  std::set<std::string> waiting_gates_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, GateAnswer> gate_answers_ ABSL_GUARDED_BY(mu_);
  // Set when the recovery clock starts (end of a step, or the rollback).
  std::optional<absl::Time> recovery_start_ ABSL_GUARDED_BY(mu_);
  // Measures recovery `from: STEP` once that step ends; joined before judging.
  std::thread recovery_thread_;
  // The watch of every probe (WatchLoop), stopped by StopWatching().
  std::thread watch_thread_;
  bool watch_done_ ABSL_GUARDED_BY(mu_) = false;
  bool recovery_measuring_ ABSL_GUARDED_BY(mu_) = false;
  // The drill's canary writer, from the method's start to the disaster.
  std::thread canary_thread_;
  std::string canary_error_ ABSL_GUARDED_BY(mu_);  // the last failed write
  // Fault steps whose injects have all returned (or that were skipped).
  std::set<std::string> injected_steps_ ABSL_GUARDED_BY(mu_);
  // Faults (index into report_.faults) whose revert the run has started.
  std::set<size_t> reverting_ ABSL_GUARDED_BY(mu_);
  // ConfirmStart's calls in flight, which Abort() cancels.
  std::set<grpc::ClientContext*> confirming_ ABSL_GUARDED_BY(mu_);
  // Faults counted as held in options_.metrics: injected, not yet reverted.
  std::set<size_t> metrics_held_ ABSL_GUARDED_BY(mu_);
  // When each injected fault ends at the latest, by this runner's clock.
  std::map<size_t, absl::Time> fault_ends_ ABSL_GUARDED_BY(mu_);
  // How long the preflight's Describe of every agent took (StartLead).
  absl::Duration preflight_took_ = absl::ZeroDuration();
  // Each agent's faults (index into report_.faults), and the agents lost:
  // a fleet's keep-alive round and revert never scan every fault.
  std::map<std::string, std::vector<size_t>> faults_on_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> lost_ ABSL_GUARDED_BY(mu_);
  absl::Mutex emit_mu_;
  // Cancelled on abort: a command step still running is killed at once.
  base::CancelToken stop_commands_;
  // Cancelled by CancelRollbackActions.
  base::CancelToken stop_rollback_actions_;
  std::string rollback_cancel_reason_ ABSL_GUARDED_BY(mu_);
};

}  // namespace chaos::controller

#endif  // CHAOS_CONTROLLER_ENGINE_RUNNER_H_
