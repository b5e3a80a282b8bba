// The `drill:` section: which steps are the disaster, the restore and the
// backup, the canary and the manifest, and the objectives; then the rules
// that tie it to the method and the recovery section.
#include <string>

#include "absl/strings/str_cat.h"
#include "experiments/parse_sections.h"
#include "experiments/yaml_fields.h"

namespace chaos::experiments {
namespace {

// A canary's commands answer fast or count as failed.
constexpr absl::Duration kCanaryTimeout = absl::Seconds(10);

void ParseCanary(const YAML::Node& node, const std::string& path, Canary* canary,
                 Diagnostics* diags) {
  canary->write.timeout = kCanaryTimeout;
  canary->read.timeout = kCanaryTimeout;
  ForFields(node, path,
            {{"write", [=](NodeRef v, PathRef p) { ParseCommand(v, p, &canary->write, diags); }},
             {"read", [=](NodeRef v, PathRef p) { ParseCommand(v, p, &canary->read, diags); }},
             {"interval", [=](NodeRef v, PathRef p) {
                if (GetDuration(v, p, &canary->interval, diags) &&
                    canary->interval <= absl::ZeroDuration()) {
                  diags->Add(v, absl::StrCat(p, ": must be greater than 0"));
                }
              }}},
            diags);
  RequireField(node, path, "write", diags);
  RequireField(node, path, "read", diags);
}

// integrity: required | optional.
bool GetIntegrityRequired(const YAML::Node& node, const std::string& path, bool* out,
                          Diagnostics* diags) {
  return GetChoice<bool>(node, path, {{"required", true}, {"optional", false}}, out, diags);
}

void ParseObjectives(const YAML::Node& node, const std::string& path, Drill* drill,
                     Diagnostics* diags) {
  ForFields(node, path,
            {{"rto", FieldInto(&GetDuration, &drill->rto, diags)},
             {"rpo", FieldInto(&GetDuration, &drill->rpo, diags)},
             {"integrity", FieldInto(&GetIntegrityRequired, &drill->integrity_required, diags)}},
            diags);
}

// An error at `field` of the drill node unless `id` names a step that
// `fits` ("a fault step").
template <typename Fits>
void CheckStepRef(const Experiment& exp, const YAML::Node& node, const std::string& field,
                  const std::string& what, Fits fits, Diagnostics* diags) {
  const std::string& id = node[field].IsDefined() ? node[field].Scalar() : "";
  if (id.empty()) return;
  const Step* step = exp.FindStep(id);
  if (step == nullptr) {
    diags->Add(node[field], absl::StrCat("drill.", field, ": no step has id \"", id, "\""));
  } else if (!fits(*step)) {
    diags->Add(node[field], absl::StrCat("drill.", field, ": \"", id, "\" must be ", what));
  }
}

// What needs what: an objective its measure, a manifest its backup, the
// drill a recovery section whose clock it sets.
void CheckDrillNeeds(const Experiment& exp, const YAML::Node& node, Diagnostics* diags) {
  const Drill& d = exp.drill;
  if (d.manifest && d.backup.empty()) {
    diags->Add(node["manifest"], "drill.manifest: needs drill.backup, the step after which "
                                 "the backup's digest is taken");
  }
  if (d.backup_size && d.backup.empty()) {
    diags->Add(node["backupSize"], "drill.backupSize: needs drill.backup, the step after which "
                                   "the backup's size is taken");
  }
  if (d.rpo && !d.canary) {
    diags->Add(node, "drill.objectives.rpo: needs drill.canary, which measures the data lost");
  }
  if (d.integrity_required && !d.manifest) {
    diags->Add(node, "drill.objectives.integrity: required needs drill.manifest");
  }
  if (!exp.recovery.present) {
    diags->Add(node, "drill: needs a recovery section (the probes that say the system is back)");
  } else if (!exp.recovery.from_step.empty()) {
    diags->Add(node, "recovery.from: a drill measures recovery from drill.disaster; "
                     "remove recovery.from");
  } else if (exp.recovery.objective) {
    diags->Add(node, "recovery.objective: in a drill the objective is drill.objectives.rto");
  }
}

}  // namespace

void ParseDrill(const YAML::Node& node, const std::string& path, Drill* drill,
                Diagnostics* diags) {
  drill->present = true;
  ForFields(node, path,
            {{"disaster", FieldInto(&GetString, &drill->disaster, diags)},
             {"restore", FieldInto(&GetString, &drill->restore, diags)},
             {"backup", FieldInto(&GetString, &drill->backup, diags)},
             {"canary", [=](NodeRef v, PathRef p) { ParseCanary(v, p, &drill->canary.emplace(), diags); }},
             {"manifest", [=](NodeRef v, PathRef p) {
                ParseCommand(v, p, &drill->manifest.emplace(), diags);
              }},
             {"backupSize", [=](NodeRef v, PathRef p) {
                ParseCommand(v, p, &drill->backup_size.emplace(), diags);
              }},
             {"objectives", [=](NodeRef v, PathRef p) { ParseObjectives(v, p, drill, diags); }}},
            diags);
  RequireField(node, path, "disaster", diags);
  RequireField(node, path, "restore", diags);
}

void CheckDrill(const Experiment& exp, const YAML::Node& node, Diagnostics* diags) {
  if (!node.IsMap()) return;  // ParseDrill said so
  CheckStepRef(exp, node, "disaster", "a fault step",
               [](const Step& s) { return s.fault.has_value(); }, diags);
  CheckStepRef(exp, node, "restore", "a command step",
               [](const Step& s) { return s.command.has_value(); }, diags);
  CheckStepRef(exp, node, "backup", "a step", [](const Step&) { return true; }, diags);
  CheckDrillNeeds(exp, node, diags);
}

}  // namespace chaos::experiments
