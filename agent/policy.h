// Policy: what this host allows experiments to do, read from a YAML file.
//
//   kinds: [cpu_burn, process_kill, ...]   # allowed fault kinds; absent: all
//   protectedProcesses: [sshd, systemd]     # names never signalled
//   interfaces: [eth0]                      # allowed for netem/partition; absent: all
//   fillRoots: [/var/tmp, /data]            # directories disk fill may use; absent: none
//   dataRoots: [/srv/pg]                   # directories data loss may empty; absent: none
//   maxFillPercent: 90                      # disk fill may not push usage above this
//   maxCpuPercent: 100                      # per-worker load cap
//   maxDuration: 1h                         # longest fault, and longest command
//   maxProcessesPerFault: 5                 # processes one kill/pause may signal
//   commands:                               # what RunCommand may run; absent or []: nothing
//     - path: /usr/bin/systemctl            # absolute; symbolic links resolved at load
//       args: ["restart", "nginx|redis"]    # argument i full-matches RE2 pattern i
//     - path: /usr/bin/touch
//       moreArgs: "/var/tmp/chaos/[a-z]+"   # each further argument
//   commandEnv: [LANG, PGDATA]              # variables a RunCommand may set; absent: none
//
// Check() answers PERMISSION_DENIED naming the rule that refused, e.g.
// "policy maxCpuPercent: load 90% exceeds 50%". CheckProcessCount() holds a
// process kill/pause to maxProcessesPerFault once the agent has counted what
// its selector would signal on this host (count/percent of the matches, or
// all of them), before anything is recorded: "policy maxProcessesPerFault:
// selector matches 12 processes and would signal 12, cap is 5".
//
// `commands` is the host's command allow-list, the rule format and
// matching of policy::CommandAllowList (policy/command_allow_list.h), the
// same as the controller's --command-policy file. CheckCommand() judges a
// RunCommand's argv and environment by it: with no rule every command is
// refused, and the refusal says how to allow one; otherwise the refusal
// names the rule that failed: policy commands: command "touch" (resolved
// to /usr/bin/touch): argument 1 "/etc/x" does not match /[a-z]+/ of rule
// "/usr/bin/touch".
// Unknown keys in the file are errors. Immutable after loading; safe for
// concurrent use.
#ifndef CHAOS_AGENT_POLICY_H_
#define CHAOS_AGENT_POLICY_H_

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "agent/fault_factory.h"
#include "chaos/v1/faults.pb.h"
#include "policy/command_allow_list.h"

namespace chaos::agent {

// The longest environment variable name commandEnv and RunCommand take.
inline constexpr size_t kMaxEnvNameLength = 128;

// [A-Za-z_][A-Za-z0-9_]*, at most kMaxEnvNameLength characters.
bool IsEnvName(absl::string_view name);

struct Policy {
  std::optional<std::set<std::string>> kinds;       // nullopt: every kind
  std::vector<std::string> protected_processes;
  std::optional<std::set<std::string>> interfaces;  // nullopt: every interface
  std::vector<std::string> fill_roots;              // empty: disk fill refused
  std::vector<std::string> data_roots;              // empty: data loss refused
  double max_fill_percent = 95;
  uint32_t max_cpu_percent = 100;
  absl::Duration max_duration = absl::Hours(1);
  policy::CommandAllowList commands;     // empty: RunCommand refused
  std::set<std::string> command_env;     // variables a RunCommand may set
  uint32_t max_processes_per_fault = 5;  // >= 1

  // The built-in policy when no file is given: every kind, fills only under
  // /var/tmp, at most 95% usage, 1 hour, common system daemons protected.
  static Policy Default();
  // INVALID_ARGUMENT with file:line:column for a malformed file.
  static absl::StatusOr<Policy> Load(const std::string& path);
  static absl::StatusOr<Policy> Parse(const std::string& yaml, const std::string& name);

  absl::Status Check(const chaos::v1::FaultSpec& spec) const;
  // What faults built under this policy must respect (MakeFault), on an
  // agent whose state lives in `state_dir`.
  FactoryOptions ToFactoryOptions(const std::string& state_dir) const;
  // `matched` processes match a kill/pause selector, `chosen` of them would
  // be signalled: PERMISSION_DENIED when chosen exceeds the cap.
  absl::Status CheckProcessCount(size_t matched, size_t chosen) const;
  // A command and the variables it would set: PERMISSION_DENIED naming the
  // rule (commands, commandEnv) that refused.
  absl::Status CheckCommand(const std::vector<std::string>& argv,
                            const std::map<std::string, std::string>& env) const;
};

}  // namespace chaos::agent

#endif  // CHAOS_AGENT_POLICY_H_
