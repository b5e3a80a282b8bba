#include "controller/policy/command_policy.h"

#include <optional>
#include <utility>
#include <variant>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/files.h"
#include "base/status_macros.h"
#include "experiments/yaml_fields.h"

namespace chaos::controller {

namespace {

using experiments::Diagnostics;
using experiments::NodeRef;
using experiments::PathRef;
using policy::CommandRule;

constexpr char kListName[] = "the controller's command policy (--command-policy FILE)";

// A compiled pattern, or nullopt after a diagnostic at `node`.
std::optional<policy::CommandPattern> ParsePattern(NodeRef node, PathRef path,
                                                   Diagnostics* diags) {
  std::string text;
  if (!experiments::GetString(node, path, &text, diags)) return std::nullopt;
  absl::StatusOr<policy::CommandPattern> pattern = policy::CompileCommandPattern(text);
  if (!pattern.ok()) {
    diags->Add(node, absl::StrCat(path, ": ", pattern.status().message()));
    return std::nullopt;
  }
  return *std::move(pattern);
}

// The rule's executable (see policy::ResolveRuleExecutable): sets
// rule->path and rule->real, or adds a diagnostic.
void ParseRulePath(NodeRef node, PathRef path, CommandRule* rule, Diagnostics* diags) {
  if (!experiments::GetString(node, path, &rule->path, diags)) return;
  absl::StatusOr<std::string> real = policy::ResolveRuleExecutable(rule->path);
  if (!real.ok()) {
    diags->Add(node, absl::StrCat(path, ": ", real.status().message()));
    return;
  }
  rule->real = *std::move(real);
}

// One entry of `commands`.
CommandRule ParseRule(NodeRef node, PathRef path, Diagnostics* diags) {
  CommandRule rule;
  experiments::ForFields(
      node, path,
      {{"path", [&](NodeRef v, PathRef p) { ParseRulePath(v, p, &rule, diags); }},
       {"args",
        [&](NodeRef v, PathRef p) {
          experiments::ForItems(
              v, p,
              [&](NodeRef item, PathRef ip) {
                if (auto pattern = ParsePattern(item, ip, diags)) rule.args.push_back(*pattern);
              },
              diags);
        }},
       {"moreArgs", [&](NodeRef v, PathRef p) { rule.more_args = ParsePattern(v, p, diags); }}},
      diags);
  experiments::RequireField(node, path, "path", diags);
  return rule;
}

std::string Quote(const std::string& s) { return policy::QuoteForRefusal(s); }

}  // namespace

CommandPolicy::CommandPolicy() = default;

absl::StatusOr<CommandPolicy> CommandPolicy::Load(const std::string& path) {
  absl::StatusOr<std::string> text = base::ReadFileUpTo(path, kMaxCommandPolicyBytes);
  if (!text.ok()) return text.status();
  return Parse(*text, path);
}

absl::StatusOr<CommandPolicy> CommandPolicy::Parse(const std::string& text,
                                                   const std::string& name) {
  Diagnostics diags;
  std::vector<CommandRule> rules;
  experiments::ParseYamlText(
      text,
      [&](NodeRef root) {
        if (root.IsNull()) return;  // an empty file: no command is allowed
        if (!root.IsMap()) {
          diags.Add(root, "a command policy is a mapping with a `commands` list");
          return;
        }
        experiments::ForFields(
            root, "",
            {{"commands",
              [&](NodeRef v, PathRef p) {
                experiments::ForItems(
                    v, p, [&](NodeRef item, PathRef ip) {
                      rules.push_back(ParseRule(item, ip, &diags));
                    },
                    &diags);
              }}},
            &diags);
      },
      &diags);
  if (!diags.empty()) {
    std::string first = diags.Format(name);
    first = first.substr(0, first.find('\n'));
    const size_t more = diags.items().size() - 1;
    if (more > 0) absl::StrAppend(&first, " (and ", more, " more error(s) in the file)");
    return absl::InvalidArgumentError(first);
  }
  CommandPolicy policy;
  policy.configured_ = true;
  policy.file_ = name;
  policy.rules_ = policy::CommandAllowList(std::move(rules));
  return policy;
}

absl::Status CommandPolicy::Check(const experiments::Experiment& experiment) const {
  // A command with a target runs on that group's agents, under their
  // policies: the controller runs only the others.
  for (const experiments::ProbeSpec& probe : experiment.probes) {
    const auto* c = std::get_if<experiments::CommandCheck>(&probe.check);
    if (c == nullptr || !c->target.empty()) continue;
    absl::Status s = CheckCommand(c->argv, absl::StrCat("probe ", Quote(probe.name)));
    if (!s.ok()) return s;
  }
  for (const experiments::Step& step : experiment.method) {
    if (!step.command || !step.command->target.empty()) continue;
    absl::Status s = CheckCommand(step.command->argv, absl::StrCat("step ", Quote(step.id)));
    if (!s.ok()) return s;
  }
  for (size_t i = 0; i < experiment.rollback_actions.size(); ++i) {
    const experiments::CommandSpec& action = experiment.rollback_actions[i];
    if (!action.target.empty()) continue;
    absl::Status s = CheckCommand(action.argv, absl::StrCat("rollbackActions[", i, "]"));
    if (!s.ok()) return s;
  }
  return CheckDrill(experiment.drill);
}

absl::Status CommandPolicy::CheckDrill(const experiments::Drill& drill) const {
  if (drill.canary) {
    // The write runs with a marker appended: checked with one.
    std::vector<std::string> write = drill.canary->write.argv;
    write.push_back(kSampleCanaryMarker);
    RETURN_IF_ERROR(CheckCommand(write, "drill.canary.write"));
    RETURN_IF_ERROR(CheckCommand(drill.canary->read.argv, "drill.canary.read"));
  }
  if (drill.manifest) RETURN_IF_ERROR(CheckCommand(drill.manifest->argv, "drill.manifest"));
  if (drill.backup_size) {
    RETURN_IF_ERROR(CheckCommand(drill.backup_size->argv, "drill.backupSize"));
  }
  return absl::OkStatus();
}

absl::Status CommandPolicy::CheckCommand(const std::vector<std::string>& argv,
                                         const std::string& where) const {
  if (!configured_) {
    return absl::PermissionDeniedError(absl::StrCat(
        "command ", Quote(argv.empty() ? std::string() : argv[0]), " (", where,
        "): the controller runs no command from an experiment unless its operator allows "
        "it: start chaos-controller with --command-policy FILE listing this executable "
        "and its arguments (docs/CONTROLLER.md), give the command a target group so that it "
        "runs on the agents (under their policies), or run the experiment from your own "
        "machine with chaosctl run FILE --agent ADDR"));
  }
  return rules_.Check(argv, where, {"the controller", kListName});
}

std::string CommandPolicy::Summary() const {
  if (!configured_) {
    return "no --command-policy: experiments submitted here may run no command on this "
           "machine (probes, steps, rollback actions without a target)";
  }
  const std::vector<std::string> paths = rules_.Paths();
  return absl::StrCat("command policy ", file_, ": ", paths.size(), " rule(s)",
                      paths.empty() ? "" : ": ", absl::StrJoin(paths, ", "));
}

}  // namespace chaos::controller
