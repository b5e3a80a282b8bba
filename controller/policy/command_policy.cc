#include "controller/policy/command_policy.h"

#include <sys/stat.h>
#include <unistd.h>

#include <map>
#include <optional>
#include <variant>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/files.h"
#include "base/paths.h"
#include "base/status_macros.h"
#include "base/subprocess.h"
#include "experiments/yaml_fields.h"
#include "re2/re2.h"

namespace chaos::controller {

namespace {

struct Pattern {
  std::string text;
  std::shared_ptr<const RE2> re;
};

}  // namespace

struct CommandPolicy::Rule {
  std::string path;  // as the file writes it
  std::string real;  // resolved at load
  std::string name;  // in refusals: "\"/usr/bin/x\"", plus " (commands[i])" when ambiguous
  std::vector<Pattern> args;
  std::optional<Pattern> more;
};

namespace {

using experiments::Diagnostics;
using experiments::NodeRef;
using experiments::PathRef;
using Rule = CommandPolicy::Rule;

// Arguments and names in messages: quoted, escaped, cut at 200 bytes.
std::string Quote(const std::string& s) {
  constexpr size_t kShown = 200;
  const bool cut = s.size() > kShown;
  return absl::StrCat("\"", absl::CHexEscape(cut ? s.substr(0, kShown) : s), cut ? "...\"" : "\"");
}

// A compiled pattern, or nullopt after a diagnostic at `node`.
std::optional<Pattern> CompilePattern(NodeRef node, PathRef path, Diagnostics* diags) {
  std::string text;
  if (!experiments::GetString(node, path, &text, diags)) return std::nullopt;
  RE2::Options options;
  options.set_log_errors(false);
  auto re = std::make_shared<const RE2>(text, options);
  if (!re->ok()) {
    diags->Add(node, absl::StrCat(path, ": bad pattern ", Quote(text), ": ", re->error()));
    return std::nullopt;
  }
  return Pattern{text, std::move(re)};
}

// The rule's executable: an absolute path, resolved through its symbolic
// links now, naming an executable regular file. Sets rule->path and
// rule->real, or adds a diagnostic.
void ResolveRulePath(NodeRef node, PathRef path, Rule* rule, Diagnostics* diags) {
  if (!experiments::GetString(node, path, &rule->path, diags)) return;
  if (rule->path.empty() || rule->path[0] != '/') {
    diags->Add(node, absl::StrCat(path, ": ", Quote(rule->path), " is not an absolute path"));
    return;
  }
  absl::StatusOr<std::string> real = base::RealPath(rule->path);
  if (!real.ok()) {
    diags->Add(node, absl::StrCat(path, ": ", real.status().message()));
    return;
  }
  struct stat st;
  if (stat(real->c_str(), &st) != 0 || !S_ISREG(st.st_mode) || access(real->c_str(), X_OK) != 0) {
    diags->Add(node, absl::StrCat(path, ": ", rule->path,
                                  *real == rule->path ? "" : absl::StrCat(" (", *real, ")"),
                                  " is not an executable file"));
    return;
  }
  rule->real = *std::move(real);
}

// One entry of `commands`.
Rule ParseRule(NodeRef node, PathRef path, Diagnostics* diags) {
  Rule rule;
  experiments::ForFields(
      node, path,
      {{"path", [&](NodeRef v, PathRef p) { ResolveRulePath(v, p, &rule, diags); }},
       {"args",
        [&](NodeRef v, PathRef p) {
          experiments::ForItems(
              v, p,
              [&](NodeRef item, PathRef ip) {
                if (auto pattern = CompilePattern(item, ip, diags)) rule.args.push_back(*pattern);
              },
              diags);
        }},
       {"moreArgs", [&](NodeRef v, PathRef p) { rule.more = CompilePattern(v, p, diags); }}},
      diags);
  experiments::RequireField(node, path, "path", diags);
  return rule;
}

// Names each rule for refusals: its path, and its index when another rule
// has the same executable.
void NameRules(std::vector<Rule>& rules) {
  std::map<std::string, int> per_executable;
  for (const Rule& r : rules) ++per_executable[r.real];
  for (size_t i = 0; i < rules.size(); ++i) {
    rules[i].name = Quote(rules[i].path);
    if (per_executable[rules[i].real] > 1) absl::StrAppend(&rules[i].name, " (commands[", i, "])");
  }
}

// The last component of a path: the name a program is run as.
absl::string_view BaseName(absl::string_view path) {
  const size_t slash = path.rfind('/');
  return slash == absl::string_view::npos ? path : path.substr(slash + 1);
}

// Why `argv`, whose executable is the rule's, does not match `rule`, or ""
// when it does. The name counts too: a program that acts on the name it is
// run as (busybox, pg_wrapper behind /usr/bin/pg_ctl and /usr/bin/psql) is
// the same file under its every name.
std::string Mismatch(const Rule& rule, const std::vector<std::string>& argv) {
  if (BaseName(argv[0]) != BaseName(rule.path)) {
    return absl::StrCat("rule ", rule.name, " allows that file only when run as ",
                        Quote(std::string(BaseName(rule.path))));
  }
  const size_t n = argv.size() - 1;
  if (n < rule.args.size() || (!rule.more && n > rule.args.size())) {
    return absl::StrCat("rule ", rule.name, " takes ", rule.more ? "at least " : "",
                        rule.args.size(), " argument(s), got ", n);
  }
  for (size_t i = 1; i <= n; ++i) {
    const bool positional = i <= rule.args.size();
    const Pattern& p = positional ? rule.args[i - 1] : *rule.more;
    if (!RE2::FullMatch(argv[i], *p.re)) {
      return absl::StrCat("argument ", i, " ", Quote(argv[i]), " does not match /", p.text, "/",
                          positional ? "" : " (moreArgs)", " of rule ", rule.name);
    }
  }
  return "";
}

}  // namespace

CommandPolicy::CommandPolicy() : rules_(std::make_shared<const std::vector<Rule>>()) {}

absl::StatusOr<CommandPolicy> CommandPolicy::Load(const std::string& path) {
  absl::StatusOr<std::string> text = base::ReadFileUpTo(path, kMaxCommandPolicyBytes);
  if (!text.ok()) return text.status();
  return Parse(*text, path);
}

absl::StatusOr<CommandPolicy> CommandPolicy::Parse(const std::string& text,
                                                   const std::string& name) {
  Diagnostics diags;
  std::vector<Rule> rules;
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
  NameRules(rules);
  CommandPolicy policy;
  policy.configured_ = true;
  policy.file_ = name;
  policy.rules_ = std::make_shared<const std::vector<Rule>>(std::move(rules));
  return policy;
}

absl::Status CommandPolicy::Check(const experiments::Experiment& experiment) const {
  for (const experiments::ProbeSpec& probe : experiment.probes) {
    if (const auto* c = std::get_if<experiments::CommandCheck>(&probe.check)) {
      absl::Status s = CheckCommand(c->argv, absl::StrCat("probe ", Quote(probe.name)));
      if (!s.ok()) return s;
    }
  }
  for (const experiments::Step& step : experiment.method) {
    if (!step.command) continue;
    absl::Status s = CheckCommand(step.command->argv, absl::StrCat("step ", Quote(step.id)));
    if (!s.ok()) return s;
  }
  for (size_t i = 0; i < experiment.rollback_actions.size(); ++i) {
    absl::Status s =
        CheckCommand(experiment.rollback_actions[i].argv, absl::StrCat("rollbackActions[", i, "]"));
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
  const std::string what =
      absl::StrCat("command ", Quote(argv.empty() ? std::string() : argv[0]), " (", where);
  auto deny = [](const std::string& text) { return absl::PermissionDeniedError(text); };
  if (!configured_) {
    return deny(absl::StrCat(
        what, "): the controller runs no command from an experiment unless its operator allows "
              "it: start chaos-controller with --command-policy FILE listing this executable "
              "and its arguments (docs/CONTROLLER.md), or run the experiment from your own "
              "machine with chaosctl run FILE --agent ADDR"));
  }
  if (argv.empty()) return deny(absl::StrCat(what, "): empty command"));
  absl::StatusOr<std::string> found = base::ResolveExecutable(argv[0]);
  absl::StatusOr<std::string> real =
      found.ok() ? base::RealPath(*found) : absl::StatusOr<std::string>(found.status());
  if (!real.ok()) {
    return deny(absl::StrCat(what, "): not found on the controller (", real.status().message(),
                             "), so its command policy cannot allow it"));
  }
  const std::string resolved = *real == argv[0] ? "" : absl::StrCat(", resolved to ", *real);
  std::vector<std::string> mismatches;
  for (const Rule& rule : *rules_) {
    if (rule.real != *real) continue;
    std::string why = Mismatch(rule, argv);
    if (why.empty()) return absl::OkStatus();
    mismatches.push_back(std::move(why));
  }
  if (mismatches.empty()) {
    return deny(absl::StrCat(what, resolved,
                             "): not in the controller's command policy (--command-policy FILE)"));
  }
  return deny(absl::StrCat(what, resolved, "): ", absl::StrJoin(mismatches, "; ")));
}

std::string CommandPolicy::Summary() const {
  if (!configured_) {
    return "no --command-policy: experiments submitted here may run no command "
           "(probes, steps, rollback actions)";
  }
  std::vector<std::string> paths;
  for (const Rule& rule : *rules_) paths.push_back(rule.path);
  return absl::StrCat("command policy ", file_, ": ", rules_->size(), " rule(s)",
                      paths.empty() ? "" : ": ", absl::StrJoin(paths, ", "));
}

}  // namespace chaos::controller
