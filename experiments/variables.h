// ${VARIABLES} in experiment files.
//
// ${NAME} is replaced by the variable's value and ${NAME:-default} by the
// value or, when it is unset, the default. NAME is letters, digits and '_'.
// Expansion happens on the operator's side, where the file is read, the
// same way for a local run and for a run submitted to a controller; the
// run records which variables it used and their values.
#ifndef CHAOS_EXPERIMENTS_VARIABLES_H_
#define CHAOS_EXPERIMENTS_VARIABLES_H_

#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "experiments/diagnostics.h"

namespace chaos::experiments {

using VariableLookup = std::function<std::optional<std::string>(const std::string&)>;

// The process environment.
VariableLookup EnvironmentLookup();
// No variable is set: only defaults apply.
VariableLookup NoVariables();

struct ExpandedText {
  std::string text;
  // Every variable the text referred to, with the value it got (a default
  // included).
  std::map<std::string, std::string> variables;
};

// Expands every reference in `text`. An unset variable without a default,
// or a malformed reference, is an error at its line and column; returns
// nullopt after adding every error to `diags`.
std::optional<ExpandedText> ExpandVariables(const std::string& text, const VariableLookup& lookup,
                                            Diagnostics* diags);

// The most an experiment's text may hold, as a file (ReadExperimentFile)
// or as submitted to a controller (SubmitRun, CreateSchedule): 1 MiB.
inline constexpr size_t kMaxExperimentBytes = size_t{1} << 20;

// Reads `path` and expands it from the environment. A missing or
// unreadable file, or one over kMaxExperimentBytes, is one diagnostic
// without a position.
std::optional<ExpandedText> ReadExperimentFile(const std::string& path, Diagnostics* diags);

}  // namespace chaos::experiments

#endif  // CHAOS_EXPERIMENTS_VARIABLES_H_
