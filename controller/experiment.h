// Experiment: the parsed form of an experiment file (see docs/EXPERIMENTS.md).
//
// ParseExperiment reports every error it finds at once, each with its
// line and column, and returns an experiment only when there are none.
// Unknown fields are errors, never ignored.
#ifndef CHAOS_CONTROLLER_EXPERIMENT_H_
#define CHAOS_CONTROLLER_EXPERIMENT_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "chaos/v1/faults.pb.h"
#include "controller/diagnostics.h"

namespace chaos::controller {

struct Step {
  std::string id;
  // Exactly one of: a fault (spec with its kind and duration set; ids are
  // filled in at run time), or a wait.
  std::optional<chaos::v1::FaultSpec> fault;
  absl::Duration wait = absl::ZeroDuration();
  std::vector<std::string> after;  // ids of steps that must end first
  int line = 0;
};

enum class RollbackPolicy { kAlways, kOnAbort, kNever };

struct Experiment {
  std::string name;
  std::string description;
  std::string hypothesis;
  std::map<std::string, std::string> labels;
  std::vector<Step> method;
  RollbackPolicy rollback = RollbackPolicy::kAlways;

  // Longest time the method can take if nothing goes wrong.
  absl::Duration PlannedDuration() const;
};

// Parses YAML text. Returns nullopt and fills `diags` on any error.
std::optional<Experiment> ParseExperiment(const std::string& text, Diagnostics* diags);

// Reads and parses a file. A missing or unreadable file is one diagnostic.
std::optional<Experiment> LoadExperimentFile(const std::string& path, Diagnostics* diags);

// "cpuBurn", "netem"...: the file's name for a fault kind.
std::string FaultKindKey(const chaos::v1::FaultSpec& spec);

}  // namespace chaos::controller

#endif  // CHAOS_CONTROLLER_EXPERIMENT_H_
