// Policy: what this host allows experiments to do, read from a YAML file.
//
//   kinds: [cpu_burn, process_kill, ...]   # allowed fault kinds; absent: all
//   protectedProcesses: [sshd, systemd]     # names never signalled
//   interfaces: [eth0]                      # allowed for netem/partition; absent: all
//   fillRoots: [/var/tmp, /data]            # directories disk fill may use; absent: none
//   dataRoots: [/srv/pg]                   # directories data loss may empty; absent: none
//   maxFillPercent: 90                      # disk fill may not push usage above this
//   maxCpuPercent: 100                      # per-worker load cap
//   maxDuration: 1h                         # longest fault
//   commands: []                            # host commands experiments may run (none)
//   maxProcessesPerFault: 5                 # processes one kill/pause may signal
//
// Check() answers PERMISSION_DENIED naming the rule that refused, e.g.
// "policy maxCpuPercent: load 90% exceeds 50%". CheckProcessCount() holds a
// process kill/pause to maxProcessesPerFault once the agent has counted what
// its selector would signal on this host (count/percent of the matches, or
// all of them), before anything is recorded: "policy maxProcessesPerFault:
// selector matches 12 processes and would signal 12, cap is 5". Unknown
// keys in the file are errors. Immutable after loading; safe for concurrent
// use.
#ifndef CHAOS_AGENT_POLICY_H_
#define CHAOS_AGENT_POLICY_H_

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "agent/fault_factory.h"
#include "chaos/v1/faults.pb.h"

namespace chaos::agent {

struct Policy {
  std::optional<std::set<std::string>> kinds;       // nullopt: every kind
  std::vector<std::string> protected_processes;
  std::optional<std::set<std::string>> interfaces;  // nullopt: every interface
  std::vector<std::string> fill_roots;              // empty: disk fill refused
  std::vector<std::string> data_roots;              // empty: data loss refused
  double max_fill_percent = 95;
  uint32_t max_cpu_percent = 100;
  absl::Duration max_duration = absl::Hours(1);
  std::vector<std::string> commands;
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
};

}  // namespace chaos::agent

#endif  // CHAOS_AGENT_POLICY_H_
