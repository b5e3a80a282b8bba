// Experiment: the parsed form of an experiment file (see docs/EXPERIMENTS.md).
//
// ParseExperiment reports every error it finds at once, each with its
// line and column, and returns an experiment only when there are none.
// Unknown fields are errors, never ignored.
#ifndef CHAOS_EXPERIMENTS_EXPERIMENT_H_
#define CHAOS_EXPERIMENTS_EXPERIMENT_H_

#include <map>
#include <optional>
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

  // Whether an agent with these labels is in the group's selector.
  bool Matches(const std::map<std::string, std::string>& labels) const;
  // How many of `matching` agents the group takes: count/percent (percent
  // rounded up), then the caps.
  size_t Chosen(size_t matching) const;
};

// A command run on the controller's machine (no shell).
struct CommandSpec {
  std::vector<std::string> argv;
  absl::Duration timeout = absl::Minutes(5);
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
  std::string target;  // target group of a fault step; "" = every agent
  absl::Duration wait = absl::ZeroDuration();
  std::optional<CommandSpec> command;
  std::optional<ManualGate> manual;
  std::vector<std::string> after;  // ids of steps that must end first
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
  RollbackPolicy rollback = RollbackPolicy::kAlways;
  std::vector<CommandSpec> rollback_actions;

  // Longest time the method can take if nothing goes wrong (waits, fault
  // durations; commands and gates count as zero).
  absl::Duration PlannedDuration() const;
  const ProbeSpec* FindProbe(const std::string& name) const;
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
