// RunReport: what one run did, as plain data: its outcome, targets, steps,
// faults, probe samples, recovery and journal. The engine fills it in; the
// JSON journal, the HTML page and the text summary are views of it, and the
// controller stores the JSON journal, so a run reads the same whether it ran
// locally or through the controller (docs/REPORT.md).
//
// Times not (yet) known are absl::InfinitePast(). Plain values: not
// synchronized.
#ifndef CHAOS_CONTROLLER_REPORT_RUN_REPORT_H_
#define CHAOS_CONTROLLER_REPORT_RUN_REPORT_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace chaos::controller {

enum class RunOutcome {
  kPassed,  // exit 0
  // exit 1: the hypothesis was not met (steady state, a guard, the recovery
  // objective) or a step failed (an inject, a command, a manual gate);
  // everything was rolled back.
  kFailed,
  kRollbackIncomplete,  // exit 3: something may still be injected
  kUnavailable,         // exit 4: an agent unreachable or unable; nothing injected
  kInterrupted,         // exit 130: SIGINT/SIGTERM or an abort, rolled back
};
int ExitCode(RunOutcome outcome);
const char* OutcomeName(RunOutcome outcome);
struct RunReport;
// The outcome as the report's views headline it: OutcomeName(), with the
// agents the run lost: "passed with 1 agent lost", "failed with 2 agents
// lost".
std::string OutcomeText(const RunReport& report);
// The same wording for an outcome named elsewhere (a stored run's state):
// `outcome` alone when `lost` is 0, else "<outcome> with <lost> agent(s)
// lost".
std::string WithLostAgents(const std::string& outcome, size_t lost);

enum class StepState { kPending, kRunning, kDone, kFailed, kSkipped };
const char* StepStateName(StepState state);  // "pending", "running", ...

enum class RollbackState {
  kNotNeeded,  // nothing was injected
  kComplete,   // every fault reverted and verified
  kIncomplete, // something may remain: see manual_undo
  kSkipped,    // rollback: never, and the run was aborted
};
const char* RollbackStateName(RollbackState state);  // "complete", ...

// One line of a run's journal.
struct JournalEvent {
  absl::Time at;
  // run, preflight, target, lost, plan, probe, step, inject, revert,
  // command, manual, abort, rollback, verify, recovery
  std::string type;
  std::string step;   // step id, when about a step
  std::string agent;  // agent address, when about an agent
  std::string message;
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
  // The Inject call: sent, and its answer received (also a failed one).
  absl::Time sent_at = absl::InfinitePast();
  absl::Time acked_at = absl::InfinitePast();
  // The end the agent's own timer holds (its expires_at), by its clock.
  absl::Time expires_at = absl::InfinitePast();
};

// An agent the run went on without, within its target groups'
// maxUnavailable (docs/EXPERIMENTS.md): unreachable or unable in preflight,
// or its inject failed. It is sent no further step; a fault sent to it is
// still reverted.
struct LostAgent {
  std::string agent;
  std::string step;    // the fault step whose inject failed; "" in preflight
  std::string reason;  // "cannot reach agent ...", "inject failed: DEADLINE_EXCEEDED: ..."
  absl::Time at = absl::InfinitePast();
};

// "127.0.0.1:7071 in preflight: cannot reach agent ...", "... at step burn:
// inject failed: ...": the agent, where it was lost and why, as the report
// and chaosctl name it.
std::string LostAgentText(const LostAgent& lost);

// The journal's `lost` event of an agent: the reason, then this.
inline constexpr char kLostEventSuffix[] =
    "; the run goes on without this agent (maxUnavailable)";

// The agents a journal's `lost` events name, in order: what a run that
// did not end in its own process (a controller crash) still tells.
std::vector<LostAgent> LostAgentsInJournal(const std::vector<JournalEvent>& events);

// One probe check as it happened.
struct ProbeSample {
  absl::Time at;
  std::string probe;
  // "steady-state-before", "guard", "watch" (observed through the run),
  // "recovery" or "steady-state-after".
  std::string phase;
  bool ok = false;
  absl::Duration latency;
  std::string detail;
};

struct StepRecord {
  std::string id;
  std::string kind;    // a fault kind key ("cpuBurn"), "wait", "command" or "manual"
  std::string target;  // target group of a fault step
  StepState state = StepState::kPending;
  absl::Time started_at = absl::InfinitePast();
  absl::Time ended_at = absl::InfinitePast();
  std::string detail;
  // A fault step's window: its injects are sent together (up to the
  // fan-out), acknowledged between first_ack and last_ack (the spread), and
  // end at planned_end on every agent (fixed once, before the first send).
  // On several agents they start at planned_start (also fixed before the
  // first send; infinite past when the step injected on receipt), and then
  // first_ack and last_ack are the agents' own start stamps.
  absl::Time planned_start = absl::InfinitePast();
  absl::Time first_ack = absl::InfinitePast();
  absl::Time last_ack = absl::InfinitePast();
  absl::Time planned_end = absl::InfinitePast();
  // last_ack - first_ack over the injects that succeeded; infinite when none.
  absl::Duration InjectSpread() const;
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

// What a drill measured (experiments' `drill:` section; docs/EXPERIMENTS.md).
// Times are those of the controller's clock; InfinitePast() when the phase
// was never reached.
struct DrillResult {
  bool present = false;  // the experiment has a drill section
  std::string disaster_step;
  std::string restore_step;
  // RTO: from the disaster (its fault's first inject) to fully healthy, by
  // phase.
  absl::Time disaster_at = absl::InfinitePast();
  absl::Time restore_started_at = absl::InfinitePast();
  absl::Time restore_ended_at = absl::InfinitePast();
  absl::Time first_probe_ok_at = absl::InfinitePast();  // every recovery probe held once
  absl::Time healthy_at = absl::InfinitePast();         // the final streak began
  std::optional<absl::Duration> rto;                    // healthy_at - disaster_at
  std::optional<absl::Duration> rto_objective;
  // RPO: canary markers are the controller's clock when each write began.
  int canaries_written = 0;       // acknowledged (exit 0) before the disaster
  int canaries_failed = 0;        // writes that failed before the disaster
  absl::Time last_acknowledged = absl::InfinitePast();  // newest marker acknowledged
  absl::Time newest_present = absl::InfinitePast();     // newest marker after the restore
  std::optional<absl::Duration> rpo;  // last_acknowledged - newest_present, at least 0
  std::optional<absl::Duration> rpo_objective;
  std::string rpo_error;          // why the RPO could not be measured
  // Size and throughput: the backup's size (drill.backupSize) over the
  // restore step's time.
  std::optional<uint64_t> backup_bytes;
  std::optional<double> restore_bytes_per_second;
  std::string size_error;  // a backupSize command that failed or printed no number
  // Integrity: the manifest's digest after the backup and after the restore.
  bool integrity_checked = false;  // the drill has a manifest
  bool integrity_required = false;
  std::string backup_digest;
  std::string restored_digest;
  std::string integrity_error;     // a manifest command that failed, or never ran
  // "ok", "mismatch", "error" (a manifest command failed), "not measured"
  // (the run ended before both digests were taken) or "not checked" (no
  // manifest).
  std::string IntegrityState() const;
  // Every objective set was measured and met.
  bool ObjectivesMet() const;
};

struct RunReport {
  std::string run_id;
  std::string experiment;
  std::string description;
  std::string hypothesis;
  uint64_t seed = 0;
  // ${VARIABLES} the experiment file used, with the values they had.
  std::map<std::string, std::string> variables;
  RunOutcome outcome = RunOutcome::kPassed;
  std::string reason;  // why the run did not pass
  std::vector<LostAgent> lost_agents;  // in the order they were lost
  absl::Time started_at = absl::InfinitePast();
  absl::Time ended_at = absl::InfinitePast();
  std::vector<TargetResolution> targets;
  std::vector<StepRecord> steps;
  std::vector<FaultRecord> faults;
  std::vector<ProbeSample> probes;
  RecoveryResult recovery;
  DrillResult drill;
  RollbackState rollback = RollbackState::kNotNeeded;
  std::vector<JournalEvent> events;
  // Exact commands that undo what could not be reverted.
  std::vector<std::string> manual_undo;
};

// What a run's samples say about one probe, every phase together.
struct ProbeSummary {
  std::string probe;
  int samples = 0;
  int failures = 0;
  // Samples taken while faults were in place: from the first inject to the
  // last revert (to the run's end when one was never reverted).
  int during_faults = 0;
  int ok_during_faults = 0;
  // ok_during_faults / during_faults; nullopt when no sample fell there.
  std::optional<double> availability_during_faults;
  // From the first inject to the first failed sample after it: how long
  // the loss of health took to show; nullopt when it never failed.
  std::optional<absl::Duration> time_to_detect;
};

// One summary per probe that has samples, in the order probes first
// appear in the samples.
std::vector<ProbeSummary> SummarizeProbes(const RunReport& report);

// RFC 3339, UTC, milliseconds: 2026-11-24T07:45:32.123Z; the report's and
// the journal's time format.
std::string Rfc3339(absl::Time t);

}  // namespace chaos::controller

#endif  // CHAOS_CONTROLLER_REPORT_RUN_REPORT_H_
