// The `method:` section: steps (a fault, a wait, a command or a manual
// gate), their ids and the `after` links between them; and commands, which
// rollback actions share with command steps.
#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/ids.h"
#include "experiments/parse_sections.h"
#include "experiments/yaml_fields.h"
#include "experiments/yaml_proto.h"
#include "google/protobuf/descriptor.h"
#include "proto/duration.h"

namespace chaos::experiments {
namespace {

// {cpuBurn: {...}}: exactly one fault kind and its settings. Sets
// step->fault only when the settings have no error.
void ParseFault(const YAML::Node& node, const std::string& path, Step* step,
                Diagnostics* diags) {
  const std::vector<std::string> kinds = FaultKindKeys();
  if (!node.IsMap() || node.size() != 1) {
    diags->Add(node, absl::StrCat(path, ": expected exactly one fault kind (one of: ",
                                  absl::StrJoin(kinds, ", "), ")"));
    return;
  }
  const YAML::Node key = node.begin()->first;
  const google::protobuf::FieldDescriptor* field =
      FindFieldByYamlName(*chaos::v1::FaultSpec::descriptor(), key.Scalar());
  if (field == nullptr ||
      std::find(kinds.begin(), kinds.end(), field->json_name()) == kinds.end()) {
    diags->Add(key, absl::StrCat(path, ": unknown fault kind \"", key.Scalar(), "\" (known: ",
                                 absl::StrJoin(kinds, ", "), ")"));
    return;
  }
  chaos::v1::FaultSpec spec;
  const size_t errors_before = diags->items().size();
  YamlToProto(node, path, &spec, diags);
  if (diags->items().size() == errors_before) step->fault = std::move(spec);
}

void ParseManual(const YAML::Node& node, const std::string& path, ManualGate* gate,
                 Diagnostics* diags) {
  ForFields(node, path,
            {{"prompt", FieldInto(&GetString, &gate->prompt, diags)},
             {"timeout", FieldInto(&GetDuration, &gate->timeout, diags)}},
            diags);
}

void ParseStepId(const YAML::Node& node, const std::string& path, std::string* id,
                 Diagnostics* diags) {
  if (GetString(node, path, id, diags) && !base::IsValidId(*id, base::kStepIdRule)) {
    diags->Add(node, absl::StrCat(path, ": \"", *id, "\" must be 1-64 letters, digits, - or _"));
  }
}

// What a step's fields say beyond the Step itself, for the checks across
// fields.
struct StepExtras {
  int bodies = 0;  // how many of fault, wait, command, manual: must be one
  std::optional<absl::Duration> duration;
  std::optional<YAML::Node> duration_node;
};

FieldTable StepFields(Step* step, StepExtras* extras, Diagnostics* diags) {
  // A field that is the step's body.
  auto body = [extras](FieldParser parse) -> FieldParser {
    return [extras, parse](NodeRef v, PathRef p) {
      ++extras->bodies;
      parse(v, p);
    };
  };
  return {
      {"id", [=](NodeRef v, PathRef p) { ParseStepId(v, p, &step->id, diags); }},
      {"fault", body([=](NodeRef v, PathRef p) { ParseFault(v, p, step, diags); })},
      {"target", FieldInto(&GetString, &step->target, diags)},
      {"duration", [=](NodeRef v, PathRef p) {
         extras->duration_node.emplace(v);
         GetDuration(v, p, &extras->duration, diags);
       }},
      {"wait", body(FieldInto(&GetDuration, &step->wait, diags))},
      {"command", body([=](NodeRef v, PathRef p) {
         ParseCommand(v, p, &step->command.emplace(), diags);
       })},
      {"manual", body([=](NodeRef v, PathRef p) {
         ParseManual(v, p, &step->manual.emplace(), diags);
       })},
      {"after", FieldInto(&GetStringList, &step->after, diags)},
      {"during", FieldInto(&GetString, &step->during, diags)},
      {"until", FieldInto(&GetString, &step->until, diags)},
  };
}

// The rules across a step's fields: an id, one body, a duration for a
// fault step only, and a target for a fault or command step only.
void CheckStepShape(const YAML::Node& node, const std::string& path, const StepExtras& extras,
                    Diagnostics* diags) {
  RequireField(node, path, "id", diags);
  if (extras.bodies == 0) {
    diags->Add(node, absl::StrCat(path, ": needs one of fault, wait, command or manual"));
  } else if (extras.bodies > 1) {
    diags->Add(node, absl::StrCat(path, ": a step is one of fault, wait, command or manual, "
                                        "not several"));
  }
  const bool has_fault = static_cast<bool>(node["fault"]);
  if (has_fault && !node["duration"]) {
    diags->Add(node, absl::StrCat(path, ".duration: required for a fault step"));
  }
  if (!has_fault && extras.duration_node) {
    diags->Add(*extras.duration_node,
               absl::StrCat(path, ".duration: only a fault step has a duration"));
  }
  if (!has_fault && !node["command"] && node["target"]) {
    diags->Add(node["target"],
               absl::StrCat(path, ".target: only a fault or command step has a target"));
  }
  if (!has_fault && node["until"]) {
    diags->Add(node["until"], absl::StrCat(path, ".until: only a fault step ends with another"));
  }
  if (extras.duration && *extras.duration <= absl::ZeroDuration()) {
    diags->Add(*extras.duration_node, absl::StrCat(path, ".duration: must be greater than 0"));
  }
}

void ParseStep(const YAML::Node& node, size_t index, Step* step, Diagnostics* diags) {
  const std::string path = absl::StrCat("method[", index, "]");
  step->line = node.Mark().line + 1;
  StepExtras extras;
  ForFields(node, path, StepFields(step, &extras, diags), diags);
  if (!node.IsMap()) return;
  CheckStepShape(node, path, extras, diags);
  if (step->fault && extras.duration) ToProto(*extras.duration, step->fault->mutable_duration());
  if (step->command) step->command->target = step->target;
}

// Each step id and its index; a step whose id is taken is an error.
std::map<std::string, size_t> IndexStepIds(const std::vector<Step>& steps,
                                           const YAML::Node& method, Diagnostics* diags) {
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < steps.size(); ++i) {
    if (steps[i].id.empty()) continue;
    if (!index.emplace(steps[i].id, i).second) {
      diags->Add(method[i], absl::StrCat("method[", i, "].id: duplicate step id \"",
                                         steps[i].id, "\""));
    }
  }
  return index;
}

// One error for a link naming no step, or naming its own step.
bool CheckLinkId(const std::string& id, size_t i, const std::string& field,
                 const std::map<std::string, size_t>& index, const YAML::Node& method,
                 Diagnostics* diags) {
  auto it = index.find(id);
  if (it != index.end() && it->second != i) return true;
  diags->Add(method[i][field],
             absl::StrCat("method[", i, "].", field, ": ",
                          it == index.end() ? absl::StrCat("no step has id \"", id, "\"")
                                            : std::string("names its own step")));
  return false;
}

// False, with an error for each, when an `after`, `during` or `until`
// names no step (or its own), or `during` names a step that is no fault.
bool CheckLinkIds(const std::vector<Step>& steps, const std::map<std::string, size_t>& index,
                  const YAML::Node& method, Diagnostics* diags) {
  bool ok = true;
  for (size_t i = 0; i < steps.size(); ++i) {
    for (const std::string& a : steps[i].after) {
      ok &= CheckLinkId(a, i, "after", index, method, diags);
    }
    if (!steps[i].until.empty()) ok &= CheckLinkId(steps[i].until, i, "until", index, method, diags);
    if (steps[i].during.empty()) continue;
    if (!CheckLinkId(steps[i].during, i, "during", index, method, diags)) {
      ok = false;
    } else if (!method[index.at(steps[i].during)]["fault"]) {
      ok = false;
      diags->Add(method[i]["during"],
                 absl::StrCat("method[", i, "].during: \"", steps[i].during,
                              "\" is not a fault step"));
    }
  }
  return ok;
}

// The steps whose start or end a step waits for before it starts: its
// `after` steps (their end) and its `during` step (its start).
std::vector<std::string> StartWaits(const Step& step) {
  std::vector<std::string> waits = step.after;
  if (!step.during.empty()) waits.push_back(step.during);
  return waits;
}

// Depth-first search along `after` and `during` links, which all name a
// step: a cycle among them is a deadlock.
class CycleSearch {
 public:
  CycleSearch(const std::vector<Step>& steps, const std::map<std::string, size_t>& index)
      : steps_(steps), index_(index), color_(steps.size(), kUnseen) {}

  // The ids around the first cycle reachable from step `i` ("a", "b",
  // "a"), or an empty list.
  std::vector<std::string> From(size_t i) {
    trail_.clear();
    if (color_[i] == kUnseen && Visit(i)) return trail_;
    return {};
  }

 private:
  enum Color { kUnseen, kOnTrail, kDone };

  bool Visit(size_t i) {
    color_[i] = kOnTrail;
    trail_.push_back(steps_[i].id);
    for (const std::string& a : StartWaits(steps_[i])) {
      const size_t j = index_.at(a);
      if (color_[j] == kOnTrail) {
        trail_.push_back(a);
        return true;
      }
      if (color_[j] == kUnseen && Visit(j)) return true;
    }
    color_[i] = kDone;
    trail_.pop_back();
    return false;
  }

  const std::vector<Step>& steps_;
  const std::map<std::string, size_t>& index_;
  std::vector<Color> color_;
  std::vector<std::string> trail_;
};

// Whether step `from` cannot start before step `fault` ends: along `after`
// links (an end) and `during` links (a start, which a step's end follows).
bool WaitsForEnd(const std::vector<Step>& steps, const std::map<std::string, size_t>& index,
                 size_t from, size_t fault, std::vector<bool>* seen) {
  if ((*seen)[from]) return false;
  (*seen)[from] = true;
  for (const std::string& a : steps[from].after) {
    const size_t j = index.at(a);
    if (j == fault || WaitsForEnd(steps, index, j, fault, seen)) return true;
  }
  const auto d = index.find(steps[from].during);
  return d != index.end() && d->second != fault &&
         WaitsForEnd(steps, index, d->second, fault, seen);
}

// A fault step's `until` step must not wait for the fault to end.
void CheckUntil(const std::vector<Step>& steps, const std::map<std::string, size_t>& index,
                const YAML::Node& method, Diagnostics* diags) {
  for (size_t i = 0; i < steps.size(); ++i) {
    if (steps[i].until.empty()) continue;
    std::vector<bool> seen(steps.size(), false);
    if (WaitsForEnd(steps, index, index.at(steps[i].until), i, &seen)) {
      diags->Add(method[i]["until"],
                 absl::StrCat("method[", i, "].until: step \"", steps[i].until,
                              "\" waits for this step to end, so it cannot end it"));
    }
  }
}

// Unique ids, links naming known ids, and no cycle (reported once).
void CheckOrder(const std::vector<Step>& steps, const YAML::Node& method, Diagnostics* diags) {
  const std::map<std::string, size_t> index = IndexStepIds(steps, method, diags);
  if (!CheckLinkIds(steps, index, method, diags)) return;
  CheckUntil(steps, index, method, diags);
  CycleSearch search(steps, index);
  for (size_t i = 0; i < steps.size(); ++i) {
    const std::vector<std::string> cycle = search.From(i);
    if (!cycle.empty()) {
      diags->Add(method[i], absl::StrCat("method: steps wait for each other in a cycle: ",
                                         absl::StrJoin(cycle, " -> ")));
      return;
    }
  }
}

}  // namespace

void ParseCommand(const YAML::Node& node, const std::string& path, CommandSpec* cmd,
                  Diagnostics* diags, CommandTarget target) {
  FieldTable fields = {
      {"run", [&](const YAML::Node& v, const std::string& p) {
         if (!v.IsSequence() || v.size() == 0) {
           diags->Add(v, absl::StrCat(p, ": expected a non-empty list: [program, args...] "
                                         "(no shell)"));
           return;
         }
         GetStringList(v, p, &cmd->argv, diags);
       }},
      {"timeout", FieldInto(&GetDuration, &cmd->timeout, diags)}};
  if (target == CommandTarget::kOwn) {
    fields.push_back({"target", FieldInto(&GetString, &cmd->target, diags)});
  }
  ForFields(node, path, fields, diags);
  RequireField(node, path, "run", diags);
}

void ParseMethod(const YAML::Node& method, Experiment* exp, Diagnostics* diags) {
  if (method.size() == 0) diags->Add(method, "method: needs at least one step");
  for (size_t i = 0; i < method.size(); ++i) {
    Step step;
    ParseStep(method[i], i, &step, diags);
    if (!step.target.empty() && !exp->targets.contains(step.target)) {
      diags->Add(method[i]["target"],
                 absl::StrCat("method[", i, "].target: no target group named \"", step.target,
                              "\""));
    }
    exp->method.push_back(std::move(step));
  }
  CheckOrder(exp->method, method, diags);
}

}  // namespace chaos::experiments
