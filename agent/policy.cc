#include "agent/policy.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "agent/fault_factory.h"
#include "base/paths.h"
#include "base/status_macros.h"
#include "proto/duration.h"
#include "yaml-cpp/yaml.h"

namespace chaos::agent {
namespace {

absl::Status Deny(const std::string& rule, const std::string& why) {
  return absl::PermissionDeniedError(absl::StrCat("policy ", rule, ": ", why));
}

std::string Where(const std::string& name, const YAML::Node& n) {
  return absl::StrCat(name, ":", n.Mark().line + 1, ":", n.Mark().column + 1, ": ");
}

// Normalizes "a//b/./c/" lexically; ".." is refused by the caller.
std::string Clean(const std::string& path) {
  std::vector<std::string> parts;
  for (absl::string_view p : absl::StrSplit(path, '/', absl::SkipEmpty())) {
    if (p == ".") continue;
    parts.emplace_back(p);
  }
  return "/" + absl::StrJoin(parts, "/");
}

// A YAML list of strings, or INVALID_ARGUMENT at the value's position.
absl::StatusOr<std::vector<std::string>> StringList(const std::string& name,
                                                    const std::string& key, const YAML::Node& v) {
  if (!v.IsSequence()) {
    return absl::InvalidArgumentError(Where(name, v) + key + ": expected a list");
  }
  return v.as<std::vector<std::string>>();
}

// The kinds the protocol defines (KindNames), without probing the kernel
// for what it can run.
absl::Status ParseKinds(const std::string& name, const YAML::Node& v, Policy& p) {
  ASSIGN_OR_RETURN(std::vector<std::string> kinds, StringList(name, "kinds", v));
  const std::vector<std::string> known = KindNames();
  for (const std::string& k : kinds) {
    if (std::find(known.begin(), known.end(), k) == known.end()) {
      return absl::InvalidArgumentError(absl::StrCat(Where(name, v), "kinds: unknown kind \"", k,
                                                     "\" (known: ", absl::StrJoin(known, ", "),
                                                     ")"));
    }
  }
  p.kinds.emplace(kinds.begin(), kinds.end());
  return absl::OkStatus();
}

// fillRoots, dataRoots: absolute directories without "..".
absl::Status ParseRoots(const std::string& name, const std::string& key, const YAML::Node& v,
                        std::vector<std::string>* out) {
  ASSIGN_OR_RETURN(std::vector<std::string> roots, StringList(name, key, v));
  out->clear();
  for (const std::string& r : roots) {
    if (r.empty() || r[0] != '/' || absl::StrContains(r, "..")) {
      return absl::InvalidArgumentError(absl::StrCat(
          Where(name, v), key, ": \"", r, "\" must be an absolute path without .."));
    }
    out->push_back(Clean(r));
  }
  return absl::OkStatus();
}

absl::Status ParseMaxFillPercent(const std::string& name, const YAML::Node& v, Policy& p) {
  p.max_fill_percent = v.as<double>();
  if (!(p.max_fill_percent >= 0 && p.max_fill_percent <= 100)) {  // also rejects .nan
    return absl::InvalidArgumentError(Where(name, v) + "maxFillPercent: must be 0..100");
  }
  return absl::OkStatus();
}

absl::Status ParseMaxCpuPercent(const std::string& name, const YAML::Node& v, Policy& p) {
  const int n = v.as<int>();
  if (n < 1 || n > 100) {
    return absl::InvalidArgumentError(Where(name, v) + "maxCpuPercent: must be 1..100");
  }
  p.max_cpu_percent = static_cast<uint32_t>(n);
  return absl::OkStatus();
}

absl::Status ParseMaxProcesses(const std::string& name, const YAML::Node& v, Policy& p) {
  const int64_t n = v.as<int64_t>();
  if (n < 1 || n > 100000) {
    return absl::InvalidArgumentError(Where(name, v) + "maxProcessesPerFault: must be 1..100000");
  }
  p.max_processes_per_fault = static_cast<uint32_t>(n);
  return absl::OkStatus();
}

absl::Status ParseMaxDuration(const std::string& name, const YAML::Node& v, Policy& p) {
  absl::Duration d;
  if (!absl::ParseDuration(v.Scalar(), &d) || d <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(Where(name, v) + "maxDuration: expected a duration like 30m");
  }
  p.max_duration = d;
  return absl::OkStatus();
}

absl::Status ParseList(const std::string& name, const std::string& key, const YAML::Node& v,
                       std::vector<std::string>* out) {
  ASSIGN_OR_RETURN(*out, StringList(name, key, v));
  return absl::OkStatus();
}

// INVALID_ARGUMENT "FILE:LINE:COL: what" at `node`.
absl::Status Bad(const std::string& name, const YAML::Node& node, const std::string& what) {
  return absl::InvalidArgumentError(Where(name, node) + what);
}

// One RE2 pattern of a command rule, at `field`.
absl::StatusOr<policy::CommandPattern> ParsePattern(const std::string& name,
                                                    const std::string& field,
                                                    const YAML::Node& v) {
  if (!v.IsScalar()) return Bad(name, v, field + ": expected a string");
  absl::StatusOr<policy::CommandPattern> pattern = policy::CompileCommandPattern(v.Scalar());
  if (!pattern.ok()) return Bad(name, v, absl::StrCat(field, ": ", pattern.status().message()));
  return pattern;
}

// A command rule's path, resolved (see policy::ResolveRuleExecutable).
absl::Status ParseRulePath(const std::string& name, const std::string& field, const YAML::Node& v,
                           policy::CommandRule* rule) {
  if (!v.IsScalar()) return Bad(name, v, field + ": expected a string");
  rule->path = v.Scalar();
  absl::StatusOr<std::string> real = policy::ResolveRuleExecutable(rule->path);
  if (!real.ok()) return Bad(name, v, absl::StrCat(field, ": ", real.status().message()));
  rule->real = *std::move(real);
  return absl::OkStatus();
}

// One field of a command rule into *rule.
absl::Status ParseRuleField(const std::string& name, const std::string& path,
                            const YAML::Node& key, const YAML::Node& v,
                            policy::CommandRule* rule) {
  const std::string field = absl::StrCat(path, ".", key.Scalar());
  if (key.Scalar() == "path") return ParseRulePath(name, field, v, rule);
  if (key.Scalar() == "moreArgs") {
    ASSIGN_OR_RETURN(rule->more_args, ParsePattern(name, field, v));
    return absl::OkStatus();
  }
  if (key.Scalar() != "args") {
    return Bad(name, key, field + ": unknown field (known: path, args, moreArgs)");
  }
  if (!v.IsSequence()) return Bad(name, v, field + ": expected a list");
  for (size_t i = 0; i < v.size(); ++i) {
    ASSIGN_OR_RETURN(policy::CommandPattern pattern,
                     ParsePattern(name, absl::StrCat(field, "[", i, "]"), v[i]));
    rule->args.push_back(std::move(pattern));
  }
  return absl::OkStatus();
}

// commands: the host's command allow-list (see policy/command_allow_list.h).
absl::Status ParseCommands(const std::string& name, const YAML::Node& v, Policy& p) {
  if (!v.IsSequence()) {
    return Bad(name, v, "commands: expected a list of rules (path, args, moreArgs)");
  }
  std::vector<policy::CommandRule> rules;
  for (size_t i = 0; i < v.size(); ++i) {
    const std::string path = absl::StrCat("commands[", i, "]");
    if (!v[i].IsMap()) {
      return Bad(name, v[i], path + ": expected a mapping (fields: path, args, moreArgs)");
    }
    policy::CommandRule& rule = rules.emplace_back();
    for (const auto& kv : v[i]) {
      RETURN_IF_ERROR(ParseRuleField(name, path, kv.first, kv.second, &rule));
    }
    if (rule.real.empty()) return Bad(name, v[i], path + ".path: required");
  }
  p.commands = policy::CommandAllowList(std::move(rules));
  return absl::OkStatus();
}

// commandEnv: names of environment variables a RunCommand may set.
absl::Status ParseCommandEnv(const std::string& name, const YAML::Node& v, Policy& p) {
  ASSIGN_OR_RETURN(std::vector<std::string> names, StringList(name, "commandEnv", v));
  for (const std::string& n : names) {
    if (!IsEnvName(n)) {
      return Bad(name, v, absl::StrCat("commandEnv: \"", n,
                                       "\" is not a variable name ([A-Za-z_][A-Za-z0-9_]*)"));
    }
  }
  p.command_env = std::set<std::string>(names.begin(), names.end());
  return absl::OkStatus();
}

absl::Status ParseInterfaces(const std::string& name, const YAML::Node& v, Policy& p) {
  ASSIGN_OR_RETURN(std::vector<std::string> interfaces, StringList(name, "interfaces", v));
  p.interfaces.emplace(interfaces.begin(), interfaces.end());
  return absl::OkStatus();
}

// One top-level key of the policy file. May throw YAML::Exception (a value
// of the wrong type); Parse turns it into a position.
absl::Status ParseField(const std::string& name, const YAML::Node& key_node,
                        const YAML::Node& v, Policy& p) {
  const std::string key = key_node.Scalar();
  if (key == "kinds") return ParseKinds(name, v, p);
  if (key == "protectedProcesses") return ParseList(name, key, v, &p.protected_processes);
  if (key == "interfaces") return ParseInterfaces(name, v, p);
  if (key == "fillRoots") return ParseRoots(name, key, v, &p.fill_roots);
  if (key == "dataRoots") return ParseRoots(name, key, v, &p.data_roots);
  if (key == "maxFillPercent") return ParseMaxFillPercent(name, v, p);
  if (key == "maxCpuPercent") return ParseMaxCpuPercent(name, v, p);
  if (key == "maxDuration") return ParseMaxDuration(name, v, p);
  if (key == "commands") return ParseCommands(name, v, p);
  if (key == "commandEnv") return ParseCommandEnv(name, v, p);
  if (key == "maxProcessesPerFault") return ParseMaxProcesses(name, v, p);
  return absl::InvalidArgumentError(absl::StrCat(
      Where(name, key_node), key,
      ": unknown policy field (known: kinds, protectedProcesses, interfaces, fillRoots, "
      "dataRoots, maxFillPercent, maxCpuPercent, maxDuration, commands, commandEnv, "
      "maxProcessesPerFault)"));
}

// Data loss paths strictly below a data root, lexically, before the fault resolves symbolic links and checks again.
absl::Status CheckDataPaths(const std::vector<std::string>& data_roots,
                            const chaos::v1::DataLoss& loss) {
  for (const std::string& path : loss.paths()) {
    if (path.empty() || path[0] != '/' || absl::StrContains(path, "..")) continue;  // Validate()
    const std::string clean = Clean(path);
    bool allowed = false;
    for (const std::string& root : data_roots) allowed |= clean != root && base::IsWithin(clean, root);
    if (!allowed) {
      return Deny("dataRoots", absl::StrCat("path ", clean, " is not below ",
                                            data_roots.empty() ? std::string("any data root")
                                                               : absl::StrJoin(data_roots, ", ")));
    }
  }
  return absl::OkStatus();
}

}  // namespace

Policy Policy::Default() {
  Policy p;
  p.fill_roots = {"/var/tmp"};
  p.protected_processes = {"init",           "systemd",  "systemd-journal", "systemd-logind",
                           "sshd",           "dbus-daemon", "containerd",   "dockerd",
                           "kubelet",        "chaos-agent"};
  return p;
}

absl::StatusOr<Policy> Policy::Load(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::InvalidArgumentError(absl::StrCat(path, ": cannot read policy file"));
  std::stringstream ss;
  ss << in.rdbuf();
  return Parse(ss.str(), path);
}

absl::StatusOr<Policy> Policy::Parse(const std::string& yaml, const std::string& name) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml);
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(name, ":", e.mark.line + 1, ":",
                                                   e.mark.column + 1, ": malformed YAML: ", e.msg));
  }
  Policy p = Default();
  if (root.IsNull()) return p;
  if (!root.IsMap()) return absl::InvalidArgumentError(name + ": a policy is a mapping");
  try {
    for (const auto& kv : root) RETURN_IF_ERROR(ParseField(name, kv.first, kv.second, p));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(name, ":", e.mark.line + 1, ":",
                                                   e.mark.column + 1, ": ", e.msg));
  }
  return p;
}

absl::Status Policy::Check(const chaos::v1::FaultSpec& spec) const {
  const std::string kind = KindName(spec);
  if (kinds && !kinds->contains(kind)) {
    return Deny("kinds", absl::StrCat("fault kind ", kind, " is not allowed on this host"));
  }
  const absl::Duration d = FromProto(spec.duration());
  if (d > max_duration) {
    return Deny("maxDuration", absl::StrCat("duration ", absl::FormatDuration(d), " exceeds ",
                                            absl::FormatDuration(max_duration)));
  }
  auto check_target = [&](const chaos::v1::ProcessSelector& t) -> absl::Status {
    for (const std::string& name : protected_processes) {
      if (t.name() == name) {
        return Deny("protectedProcesses", absl::StrCat("process ", name, " is protected"));
      }
    }
    return absl::OkStatus();
  };
  switch (spec.kind_case()) {
    case chaos::v1::FaultSpec::kCpuBurn:
      if (spec.cpu_burn().load_percent() > max_cpu_percent ||
          (spec.cpu_burn().load_percent() == 0 && max_cpu_percent < 100)) {
        return Deny("maxCpuPercent",
                    absl::StrCat("load ",
                                 spec.cpu_burn().load_percent() == 0 ? 100
                                                                     : spec.cpu_burn().load_percent(),
                                 "% exceeds ", max_cpu_percent, "%"));
      }
      break;
    case chaos::v1::FaultSpec::kProcessKill:
      return check_target(spec.process_kill().target());
    case chaos::v1::FaultSpec::kProcessPause:
      return check_target(spec.process_pause().target());
    case chaos::v1::FaultSpec::kDiskFill: {
      const std::string& dir = spec.disk_fill().directory();
      if (dir.empty() || dir[0] != '/' || absl::StrContains(dir, "..")) break;  // Validate() says why
      const std::string clean = Clean(dir);
      bool allowed = false;
      for (const std::string& root : fill_roots) allowed |= base::IsWithin(clean, root);
      if (!allowed) {
        return Deny("fillRoots", absl::StrCat("directory ", clean, " is not under ",
                                              fill_roots.empty() ? std::string("any fill root")
                                                                 : absl::StrJoin(fill_roots, ", ")));
      }
      if (spec.disk_fill().size_case() == chaos::v1::DiskFill::kTargetPercent &&
          spec.disk_fill().target_percent() > max_fill_percent) {
        return Deny("maxFillPercent", absl::StrCat("target ", spec.disk_fill().target_percent(),
                                                   "% exceeds ", max_fill_percent, "%"));
      }
      break;
    }
    case chaos::v1::FaultSpec::kDataLoss:
      return CheckDataPaths(data_roots, spec.data_loss());
    case chaos::v1::FaultSpec::kNetem:
      if (interfaces && !interfaces->contains(spec.netem().interface())) {
        return Deny("interfaces", absl::StrCat("interface ", spec.netem().interface(),
                                               " is not allowed"));
      }
      break;
    default:
      break;
  }
  return absl::OkStatus();
}

FactoryOptions Policy::ToFactoryOptions(const std::string& state_dir) const {
  FactoryOptions f;
  f.state_dir = state_dir;
  f.fill_roots = fill_roots;
  f.data_roots = data_roots;
  f.protected_names = protected_processes;
  f.max_processes_per_fault = max_processes_per_fault;
  return f;
}

absl::Status Policy::CheckProcessCount(size_t matched, size_t chosen) const {
  if (chosen <= max_processes_per_fault) return absl::OkStatus();
  return Deny("maxProcessesPerFault",
              absl::StrCat("selector matches ", matched, " processes and would signal ", chosen,
                           ", cap is ", max_processes_per_fault));
}

}  // namespace chaos::agent

namespace chaos::agent {

bool IsEnvName(absl::string_view name) {
  if (name.empty() || name.size() > kMaxEnvNameLength || absl::ascii_isdigit(name[0])) return false;
  for (char c : name) {
    if (!absl::ascii_isalnum(c) && c != '_') return false;
  }
  return true;
}

absl::Status Policy::CheckCommand(const std::vector<std::string>& argv,
                                  const std::map<std::string, std::string>& env) const {
  if (commands.empty()) {
    return Deny("commands",
                "this agent runs no command: its policy allows none (list the executable and "
                "patterns for its arguments under commands: in the agent's --policy file, "
                "docs/AGENT.md)");
  }
  absl::Status allowed = commands.Check(
      argv, "", {"this host", "the agent's policy (commands: in its --policy file)"});
  if (!allowed.ok()) return Deny("commands", std::string(allowed.message()));
  for (const auto& [name, value] : env) {
    if (command_env.contains(name)) continue;
    return Deny("commandEnv",
                absl::StrCat("variable ", name, " may not be set (",
                             command_env.empty() ? std::string("the policy allows none")
                                                 : absl::StrCat("allowed: ",
                                                                absl::StrJoin(command_env, ", ")),
                             ")"));
  }
  return absl::OkStatus();
}

}  // namespace chaos::agent
