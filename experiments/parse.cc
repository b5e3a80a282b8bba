// ParseExperiment: reads each top-level section of an experiment file, then
// the method (whose steps name target groups), then checks that the names
// of probes and steps used across sections resolve. Probes are read in
// parse_probes.cc, the method and commands in parse_method.cc.
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "experiments/experiment.h"
#include "experiments/parse_sections.h"
#include "experiments/yaml_fields.h"

namespace chaos::experiments {
namespace {

// Where the file names probes or a step: the node errors point at.
struct NameUse {
  std::string path;
  YAML::Node node;
};

// The uses of names, checked once every section is read.
struct References {
  std::optional<NameUse> steady_before, steady_after, recovery_probes;  // the lists
  std::vector<NameUse> guard_probes;  // one per Experiment::guards entry
  std::optional<NameUse> recovery_from;
};

// A file as read so far.
struct Document {
  Experiment exp;
  std::optional<YAML::Node> method;  // read after every other section
  std::optional<YAML::Node> drill;   // checked once the method is read
  References refs;
};

// whenEmpty: fail (true) | skip (false).
bool GetFailWhenEmpty(const YAML::Node& node, const std::string& path, bool* out,
                      Diagnostics* diags) {
  return GetChoice<bool>(node, path, {{"fail", true}, {"skip", false}}, out, diags);
}

// maxUnavailable: a number of agents (0..100000) or a percentage ("10%",
// 0..100) of the group's chosen agents.
void GetMaxUnavailable(const YAML::Node& node, const std::string& path, TargetGroup* group,
                       Diagnostics* diags) {
  const std::string text = node.IsScalar() ? node.Scalar() : "";
  if (!absl::EndsWith(text, "%")) {
    int64_t n = 0;
    if (node.IsScalar() && !absl::SimpleAtoi(text, &n)) {
      diags->Add(node, absl::StrCat(path, ": expected a number of agents or a percentage "
                                          "(\"10%\"), got \"", text, "\""));
      return;
    }
    GetInt(node, path, 0, 100000, &group->max_unavailable, diags);
    return;
  }
  int64_t percent = -1;
  if (!absl::SimpleAtoi(text.substr(0, text.size() - 1), &percent) || percent < 0 ||
      percent > 100) {
    diags->Add(node, absl::StrCat(path, ": a percentage must be 0%..100%, got \"", text, "\""));
    return;
  }
  group->max_unavailable = static_cast<uint32_t>(percent);
  group->max_unavailable_percent = true;
}

void ParseTarget(const std::string& name, const YAML::Node& node, TargetGroup* group,
                 Diagnostics* diags) {
  const std::string path = absl::StrCat("targets.", name);
  group->name = name;
  auto amount = [group, diags](TargetGroup::Mode mode, int64_t max) -> FieldParser {
    return [=](NodeRef v, PathRef p) {
      if (GetInt(v, p, 1, max, &group->amount, diags)) group->mode = mode;
    };
  };
  ForFields(node, path,
            {{"selector", FieldInto(&GetStringMap, &group->selector, diags)},
             {"count", amount(TargetGroup::Mode::kCount, 100000)},
             {"percent", amount(TargetGroup::Mode::kPercent, 100)},
             {"whenEmpty", FieldInto(&GetFailWhenEmpty, &group->fail_when_empty, diags)},
             {"max", IntFieldInto(1, 100000, &group->max, diags)},
             {"maxPercent", IntFieldInto(1, 100, &group->max_percent, diags)},
             {"maxUnavailable",
              [=](NodeRef v, PathRef p) { GetMaxUnavailable(v, p, group, diags); }}},
            diags);
  if (node.IsMap() && node["count"] && node["percent"]) {
    diags->Add(node["percent"], absl::StrCat(path, ".percent: conflicts with count"));
  }
}

void ParseTargets(const YAML::Node& node, std::map<std::string, TargetGroup>* targets,
                  Diagnostics* diags) {
  if (!node.IsMap()) {
    diags->Add(node, "targets: expected a mapping of group names");
    return;
  }
  for (const auto& entry : node) {
    const std::string name = entry.first.Scalar();
    ParseTarget(name, entry.second, &(*targets)[name], diags);
  }
}

// A list of probe names, remembered for the check of references.
FieldParser ProbeList(std::vector<std::string>* names, std::optional<NameUse>* use,
                      Diagnostics* diags) {
  return [=](NodeRef v, PathRef p) {
    GetStringList(v, p, names, diags);
    use->emplace(NameUse{p, v});
  };
}

void ParseSteadyState(const YAML::Node& node, const std::string& path, Document* doc,
                      Diagnostics* diags) {
  ForFields(node, path,
            {{"before", ProbeList(&doc->exp.steady_before, &doc->refs.steady_before, diags)},
             {"after", ProbeList(&doc->exp.steady_after, &doc->refs.steady_after, diags)}},
            diags);
}

// One guard: a probe that may fail so many times in a row, or the run's
// maxDuration, or both.
void ParseGuard(const YAML::Node& node, const std::string& path, Document* doc,
                Diagnostics* diags) {
  ProbeGuard guard;
  std::optional<NameUse> probe;
  ForFields(node, path,
            {{"probe", [&](NodeRef v, PathRef p) {
                if (GetString(v, p, &guard.probe, diags)) probe.emplace(NameUse{p, v});
              }},
             {"failures", IntFieldInto(1, 1000, &guard.failures, diags)},
             {"maxDuration", FieldInto(&GetDuration, &doc->exp.max_duration, diags)}},
            diags);
  if (probe) {
    doc->exp.guards.push_back(guard);
    doc->refs.guard_probes.push_back(*probe);
  }
  if (node.IsMap() && !node["probe"] && !node["maxDuration"]) {
    diags->Add(node, absl::StrCat(path, ": needs probe or maxDuration"));
  }
}

void ParseRecovery(const YAML::Node& node, const std::string& path, Document* doc,
                   Diagnostics* diags) {
  Recovery& recovery = doc->exp.recovery;
  recovery.present = true;
  ForFields(node, path,
            {{"from", [&](NodeRef v, PathRef p) {
                std::string from;
                if (GetString(v, p, &from, diags) && from != "rollback") {
                  recovery.from_step = from;
                  doc->refs.recovery_from.emplace(NameUse{p, v});
                }
              }},
             {"probes", ProbeList(&recovery.probes, &doc->refs.recovery_probes, diags)},
             {"successes", IntFieldInto(1, 1000, &recovery.successes, diags)},
             {"timeout", FieldInto(&GetDuration, &recovery.timeout, diags)},
             {"objective", FieldInto(&GetDuration, &recovery.objective, diags)}},
            diags);
  RequireField(node, path, "probes", diags);
}

// rollback: always | on-abort | never.
bool GetRollbackPolicy(const YAML::Node& node, const std::string& path, RollbackPolicy* out,
                       Diagnostics* diags) {
  return GetChoice<RollbackPolicy>(node, path,
                                   {{"always", RollbackPolicy::kAlways},
                                    {"on-abort", RollbackPolicy::kOnAbort},
                                    {"never", RollbackPolicy::kNever}},
                                   out, diags);
}

void ParseRollbackActions(const YAML::Node& node, const std::string& path, Experiment* exp,
                          Diagnostics* diags) {
  ForItems(node, path, [&](NodeRef item, PathRef item_path) {
    ParseCommand(item, item_path, &exp->rollback_actions.emplace_back(), diags,
                 CommandTarget::kOwn);
  }, diags);
}

// Every top-level section, in the order messages list them.
FieldTable SectionFields(Document* doc, Diagnostics* diags) {
  Experiment* exp = &doc->exp;
  return {
      {"name", FieldInto(&GetString, &exp->name, diags)},
      {"description", FieldInto(&GetString, &exp->description, diags)},
      {"hypothesis", FieldInto(&GetString, &exp->hypothesis, diags)},
      {"labels", FieldInto(&GetStringMap, &exp->labels, diags)},
      {"targets", [=](NodeRef v, PathRef) { ParseTargets(v, &exp->targets, diags); }},
      {"probes", [=](NodeRef v, PathRef) { ParseProbes(v, &exp->probes, diags); }},
      {"steadyState", [=](NodeRef v, PathRef p) { ParseSteadyState(v, p, doc, diags); }},
      {"method", [=](NodeRef v, PathRef) {
         if (v.IsSequence()) doc->method.emplace(v);
         else diags->Add(v, "method: expected a list of steps");
       }},
      {"guards", [=](NodeRef v, PathRef p) {
         ForItems(v, p, [=](NodeRef g, PathRef gp) { ParseGuard(g, gp, doc, diags); }, diags);
       }},
      {"recovery", [=](NodeRef v, PathRef p) { ParseRecovery(v, p, doc, diags); }},
      {"drill", [=](NodeRef v, PathRef p) {
         doc->drill.emplace(v);
         ParseDrill(v, p, &exp->drill, diags);
       }},
      {"rollback", FieldInto(&GetRollbackPolicy, &exp->rollback, diags)},
      {"rollbackActions", [=](NodeRef v, PathRef p) { ParseRollbackActions(v, p, exp, diags); }},
  };
}

void CheckProbeNames(const Experiment& exp, const std::vector<std::string>& names,
                     const std::optional<NameUse>& use, Diagnostics* diags) {
  for (const std::string& name : names) {
    if (exp.FindProbe(name) != nullptr) continue;
    diags->Add(use.value().node,
               absl::StrCat(use.value().path, ": no probe named \"", name, "\""));
  }
}

// Probes and steps named across sections must exist.
void CheckReferences(const Experiment& exp, const References& refs, Diagnostics* diags) {
  CheckProbeNames(exp, exp.steady_before, refs.steady_before, diags);
  CheckProbeNames(exp, exp.steady_after, refs.steady_after, diags);
  CheckProbeNames(exp, exp.recovery.probes, refs.recovery_probes, diags);
  for (size_t i = 0; i < exp.guards.size(); ++i) {
    CheckProbeNames(exp, {exp.guards[i].probe}, refs.guard_probes[i], diags);
  }
  if (exp.recovery.from_step.empty()) return;
  for (const Step& step : exp.method) {
    if (step.id == exp.recovery.from_step) return;
  }
  diags->Add(refs.recovery_from.value().node,
             absl::StrCat("recovery.from: \"", exp.recovery.from_step,
                          "\" is neither rollback nor a step id"));
}

// The target groups that command probes and rollback actions name must
// exist (command steps are checked with the method).
void CheckCommandTargets(const Experiment& exp, const YAML::Node& root, Diagnostics* diags) {
  auto check = [&](const std::string& target, const YAML::Node& node, const std::string& path) {
    if (target.empty() || exp.targets.contains(target)) return;
    diags->Add(node, absl::StrCat(path, ": no target group named \"", target, "\""));
  };
  for (const ProbeSpec& probe : exp.probes) {
    const auto* c = std::get_if<CommandCheck>(&probe.check);
    if (c == nullptr) continue;
    check(c->target, root["probes"][probe.name]["command"]["target"],
          absl::StrCat("probes.", probe.name, ".command.target"));
  }
  for (size_t i = 0; i < exp.rollback_actions.size(); ++i) {
    check(exp.rollback_actions[i].target, root["rollbackActions"][i]["target"],
          absl::StrCat("rollbackActions[", i, "].target"));
  }
}

std::optional<Experiment> ParseDocument(const YAML::Node& root, Diagnostics* diags) {
  if (!root.IsMap()) {
    diags->Add(root, "an experiment file must be a mapping with name and method");
    return std::nullopt;
  }
  Document doc;
  ForFields(root, "", SectionFields(&doc, diags), diags);
  RequireField(root, "", "name", diags);
  if (!root["method"]) diags->Add(root, "method: required (a list of steps)");
  if (doc.method) ParseMethod(*doc.method, &doc.exp, diags);
  CheckReferences(doc.exp, doc.refs, diags);
  CheckCommandTargets(doc.exp, root, diags);
  if (doc.drill && doc.method) CheckDrill(doc.exp, *doc.drill, diags);
  if (!diags->empty()) return std::nullopt;
  return std::move(doc.exp);
}

}  // namespace

std::optional<Experiment> ParseExperiment(const std::string& text, Diagnostics* diags) {
  std::optional<Experiment> exp;
  ParseYamlText(text, [&](const YAML::Node& root) { exp = ParseDocument(root, diags); }, diags);
  return exp;
}

}  // namespace chaos::experiments
