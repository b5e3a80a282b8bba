// Fuzz target: an experiment file as chaosctl and the controller read it:
// ${VARIABLES} expanded (ExpandVariables), then parsed (ParseExperiment).
// Any input ends in an experiment or in diagnostics, never in a crash, a
// sanitizer report or a hang; and a parsed experiment holds what the
// parser promises (experiment.h, docs/EXPERIMENTS.md).
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "experiments/experiment.h"
#include "experiments/variables.h"
#include "proto/duration.h"
#include "tests/fuzz/fuzz_check.h"

namespace chaos::experiments {
namespace {

// Some variables are set, the rest are not: both sides of ${NAME:-default}.
std::optional<std::string> Lookup(const std::string& name) {
  static const std::map<std::string, std::string> kSet = {
      {"HEARTBEAT", "/var/tmp/heartbeat"}, {"VICTIM_PIDFILE", "/run/victim.pid"},
      {"WEB_HOST", "127.0.0.1"},           {"WEB_PORT", "8080"},
      {"IFACE", "lo"},                     {"DELAY", "100ms"},
      {"EMPTY", ""},                       {"COLON", "a: b"}};
  auto it = kSet.find(name);
  if (it == kSet.end()) return std::nullopt;
  return it->second;
}

void CheckSteps(const Experiment& e) {
  FUZZ_CHECK(!e.method.empty());
  std::set<std::string> ids;
  for (const Step& s : e.method) {
    FUZZ_CHECK(!s.id.empty());
    FUZZ_CHECK(ids.insert(s.id).second);
  }
  for (const Step& s : e.method) {
    for (const std::string& a : s.after) FUZZ_CHECK(ids.contains(a));
    FUZZ_CHECK(s.target.empty() || e.targets.contains(s.target));
    const int bodies = s.fault.has_value() + s.command.has_value() + s.manual.has_value();
    FUZZ_CHECK(bodies <= 1);
    if (s.command) FUZZ_CHECK(!s.command->argv.empty());
    if (!s.fault) continue;
    FUZZ_CHECK(!FaultKindKey(*s.fault).empty());
    // What the agent will check first: every duration one protobuf defines.
    FUZZ_CHECK(ValidateDurations(*s.fault).ok());
    FUZZ_CHECK(FromProto(s.fault->duration()) > absl::ZeroDuration());
  }
}

void CheckReferences(const Experiment& e) {
  for (const auto& names : {e.steady_before, e.steady_after, e.recovery.probes}) {
    for (const std::string& n : names) FUZZ_CHECK(e.FindProbe(n) != nullptr);
  }
  for (const ProbeGuard& g : e.guards) FUZZ_CHECK(e.FindProbe(g.probe) != nullptr);
  if (!e.recovery.from_step.empty()) {
    bool found = false;
    for (const Step& s : e.method) found |= s.id == e.recovery.from_step;
    FUZZ_CHECK(found);
  }
  for (const CommandSpec& c : e.rollback_actions) FUZZ_CHECK(!c.argv.empty());
}

}  // namespace
}  // namespace chaos::experiments

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace chaos::experiments;
  const std::string text(reinterpret_cast<const char*>(data), size);
  Diagnostics diags;
  std::optional<ExpandedText> expanded = ExpandVariables(text, Lookup, &diags);
  FUZZ_CHECK(expanded.has_value() == diags.empty());
  if (!expanded) return 0;
  for (const auto& [name, value] : expanded->variables) FUZZ_CHECK(!name.empty());
  std::optional<Experiment> experiment = ParseExperiment(expanded->text, &diags);
  FUZZ_CHECK(experiment.has_value() == diags.empty());
  if (!experiment) {
    for (const Diagnostic& d : diags.items()) FUZZ_CHECK(!d.message.empty());
    (void)diags.Format("fuzz.yaml");
    return 0;
  }
  CheckSteps(*experiment);
  CheckReferences(*experiment);
  FUZZ_CHECK(experiment->PlannedDuration() >= absl::ZeroDuration());
  return 0;
}
