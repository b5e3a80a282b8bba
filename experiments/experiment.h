// Experiment: the parsed form of an experiment file (see docs/EXPERIMENTS.md).
//
// ParseExperiment reports every error it finds at once, each with its
// line and column, and returns an experiment only when there are none.
// Unknown fields are errors, never ignored.
#ifndef CHAOS_EXPERIMENTS_EXPERIMENT_H_
#define CHAOS_EXPERIMENTS_EXPERIMENT_H_

#include <map>
#include <optional>
#include <set>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "chaos/v1/faults.pb.h"
#include "experiments/diagnostics.h"
#include "experiments/probe_spec.h"
#include "experiments/variables.h"

namespace chaos::experiments {

// A named group of agents, chosen by labels.
struct TargetGroup {
  std::string name;
  std::map<std::string, std::string> selector;  // every label must match; empty: all agents
  enum class Mode { kAll, kCount, kPercent } mode = Mode::kAll;
  uint32_t amount = 0;           // N for count, P for percent
  bool fail_when_empty = true;   // whenEmpty: fail (default) | skip
  // Caps on the chosen agents, applied after count/percent; 0: none. With
  // both, the smaller wins. maxPercent rounds up like percent (50 of 3 is 2).
  uint32_t max = 0;              // max: at most N agents
  uint32_t max_percent = 0;      // maxPercent: at most P% of the matching agents
  // maxUnavailable: how many of the chosen agents the run may lose and
  // carry on without (unreachable or unable in preflight, or an inject that
  // fails): N, or P% of the chosen agents rounded down. 0: none.
  uint32_t max_unavailable = 0;
  bool max_unavailable_percent = false;  // max_unavailable is P, not N

  // Whether an agent with these labels is in the group's selector.
  bool Matches(const std::map<std::string, std::string>& labels) const;
  // How many of `matching` agents the group takes: count/percent (percent
  // rounded up), then the caps.
  size_t Chosen(size_t matching) const;
  // How many of `chosen` agents the group may lose: maxUnavailable.
  size_t MayLose(size_t chosen) const;
};

// A command (no shell): run where the experiment runs (chaosctl's or the
// controller's machine), or, with a target, on each agent of that group
// through the agent's RunCommand RPC, under the agent's policy.
struct CommandSpec {
  std::vector<std::string> argv;
  absl::Duration timeout = absl::Minutes(5);
  // A target group; "" runs it where the experiment runs. A command step's
  // is the step's `target`, a rollback action's its own; drill canaries and
  // manifests have none.
  std::string target;
};

// A game-day gate: the operator confirms (y) or fails (n) the step.
struct ManualGate {
  std::string prompt;
  absl::Duration timeout = absl::Minutes(10);
};

struct Step {
  std::string id;
  // Exactly one of: a fault (spec with its kind and duration set; ids are
  // filled in at run time), a wait, a command, or a manual gate.
  std::optional<chaos::v1::FaultSpec> fault;
  // Target group: of a fault step, "" = every agent; of a command step, ""
  // = where the experiment runs (the same as command->target).
  std::string target;
  absl::Duration wait = absl::ZeroDuration();
  std::optional<CommandSpec> command;
  std::optional<ManualGate> manual;
  std::vector<std::string> after;  // ids of steps that must end first
  // A fault step that starts this one once it has injected on every agent
  // (the step starts while the fault holds); "" = none.
  std::string during;
  // Fault steps only: the fault is reverted as soon as this step ends, its
  // duration being the longest it holds; "" = at the end of its duration.
  std::string until;
  int line = 0;

  std::string Kind() const;  // fault kind key, "wait", "command" or "manual"
};

// Abort when a probe fails this many times in a row during the method.
struct ProbeGuard {
  std::string probe;
  int failures = 3;
};

struct Recovery {
  bool present = false;
  std::string from_step;  // "" = from the end of the rollback
  std::vector<std::string> probes;
  int successes = 3;      // consecutive rounds where every probe holds
  absl::Duration timeout = absl::Minutes(5);
  std::optional<absl::Duration> objective;  // fail the run when exceeded
};

// A canary writer and reader, for the drill's measured RPO. `write` runs
// every `interval` from the start of the method until the disaster, with
// the marker (milliseconds since the Unix epoch, the controller's clock when
// the write began) appended as its last argument; exit 0 acknowledges it.
// After the restore, `read` prints the newest marker present.
struct Canary {
  CommandSpec write;
  CommandSpec read;
  absl::Duration interval = absl::Seconds(1);
};

// A disaster-recovery drill: what the disaster is, what restores, and the
// objectives its figures must meet (docs/EXPERIMENTS.md, "Drills").
struct Drill {
  bool present = false;
  std::string disaster;  // a fault step: its first inject starts the RTO clock
  std::string restore;   // a command step: the restore
  std::string backup;    // the step that takes the backup; "" = none
  std::optional<Canary> canary;
  // Prints a digest of the dataset (canaries excluded), run when `backup`
  // ends and again once recovered; the two must match.
  std::optional<CommandSpec> manifest;
  // Prints the backup's size in bytes (the first number of its output), run
  // when `backup` ends: the restore's throughput is that size over the
  // restore step's time.
  std::optional<CommandSpec> backup_size;
  std::optional<absl::Duration> rto;  // objective: disaster to fully healthy
  std::optional<absl::Duration> rpo;  // objective: data lost, measured by the canary
  bool integrity_required = false;    // objective: the digests match
};

enum class RollbackPolicy { kAlways, kOnAbort, kNever };

struct Experiment {
  std::string name;
  std::string description;
  std::string hypothesis;
  std::map<std::string, std::string> labels;
  std::map<std::string, TargetGroup> targets;
  std::vector<ProbeSpec> probes;
  std::vector<std::string> steady_before;
  std::vector<std::string> steady_after;
  std::vector<Step> method;
  std::vector<ProbeGuard> guards;
  std::optional<absl::Duration> max_duration;  // guard on the whole run
  Recovery recovery;
  Drill drill;
  RollbackPolicy rollback = RollbackPolicy::kAlways;
  std::vector<CommandSpec> rollback_actions;

  // Longest time the method can take if nothing goes wrong (waits, fault
  // durations; commands and gates count as zero).
  absl::Duration PlannedDuration() const;
  const ProbeSpec* FindProbe(const std::string& name) const;
  // The target groups commands run on: those a command step, command probe
  // or rollback action names.
  std::set<std::string> CommandTargets() const;
  const Step* FindStep(const std::string& id) const;
  // The index in `method` of step `id`; nullopt when there is none.
  std::optional<size_t> StepIndex(const std::string& id) const;
};

// Parses YAML text. Returns nullopt and fills `diags` on any error.
std::optional<Experiment> ParseExperiment(const std::string& text, Diagnostics* diags);

// An experiment file as read: the parsed experiment, and the text it was
// parsed from after ${VARIABLES} were expanded, with the variables used.
struct LoadedExperiment {
  Experiment experiment;
  ExpandedText source;
};

// Reads a file, expands ${VARIABLES} from the environment, and parses it.
// A missing or unreadable file is one diagnostic.
std::optional<LoadedExperiment> LoadExperimentFile(const std::string& path, Diagnostics* diags);

// "cpuBurn", "netem"...: the file's name for a fault kind; "" when `spec`
// has none.
std::string FaultKindKey(const chaos::v1::FaultSpec& spec);

// Every fault kind a file can name, in the protocol's order.
std::vector<std::string> FaultKindKeys();

}  // namespace chaos::experiments

#endif  // CHAOS_EXPERIMENTS_EXPERIMENT_H_
