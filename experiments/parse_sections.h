// Internal to experiments/: the parsers of the sections of an experiment
// file that live outside parse.cc, where ParseExperiment reads the rest.
// Each reports every error it finds to `diags` (see yaml_fields.h) and
// fills what it can; yaml-cpp's exceptions pass through to ParseExperiment.
#ifndef CHAOS_EXPERIMENTS_PARSE_SECTIONS_H_
#define CHAOS_EXPERIMENTS_PARSE_SECTIONS_H_

#include <string>
#include <vector>

#include "experiments/diagnostics.h"
#include "experiments/experiment.h"
#include "experiments/probe_spec.h"
#include "yaml-cpp/yaml.h"

namespace chaos::experiments {

// `probes:`, a mapping of probe names (parse_probes.cc). Appends one probe
// per entry, in the file's order, also when it has errors.
void ParseProbes(const YAML::Node& node, std::vector<ProbeSpec>* probes, Diagnostics* diags);

// `method:`, a list of steps (parse_method.cc). Read after `targets:`, as
// steps name target groups: appends the steps to exp->method and checks
// their ids, targets and `after` order (unique ids, known ids, no cycle).
void ParseMethod(const YAML::Node& method, Experiment* exp, Diagnostics* diags);

// Whether a command's own fields may name its target group: a rollback
// action's do; a command step's target is the step's, and a drill's
// canaries and manifest run where the experiment runs.
enum class CommandTarget { kNone, kOwn };

// {run: [program, args...], timeout: 5m}, and with kOwn `target: GROUP`: a
// command step, rollback action or drill command (parse_method.cc).
void ParseCommand(const YAML::Node& node, const std::string& path, CommandSpec* cmd,
                  Diagnostics* diags, CommandTarget target = CommandTarget::kNone);

// `drill:` (parse_drill.cc): its fields, into *drill.
void ParseDrill(const YAML::Node& node, const std::string& path, Drill* drill,
                Diagnostics* diags);

// The drill's rules across sections, once the method is read: the steps it
// names exist and have the right kind, each objective has what measures it,
// and the recovery section is there without its own clock or objective.
void CheckDrill(const Experiment& exp, const YAML::Node& node, Diagnostics* diags);

}  // namespace chaos::experiments

#endif  // CHAOS_EXPERIMENTS_PARSE_SECTIONS_H_
