// Process identity and exact signalling.
//
// A process is identified by its pid *and* its start time (field 22 of
// /proc/<pid>/stat, in clock ticks since boot), so a pid that the kernel
// reused for another process is never mistaken for the original. Signals go
// through a pidfd opened before the start time is checked, so the check and
// the signal refer to the same process.
//
// All functions are thread-safe.
#ifndef CHAOS_FAULTS_PROCESS_H_
#define CHAOS_FAULTS_PROCESS_H_

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace chaos::faults {

struct ProcessId {
  pid_t pid = 0;
  uint64_t start_ticks = 0;
  friend bool operator==(const ProcessId&, const ProcessId&) = default;
};

struct ProcessInfo {
  ProcessId id;
  pid_t ppid = 0;
  pid_t pgrp = 0;          // its process group
  char state = '?';        // R, S, D, T (stopped), Z (zombie), ...
  std::string comm;        // /proc/<pid>/comm, at most 15 characters
  std::string cmdline;     // arguments joined by single spaces
  bool kernel_thread = false;
  uint64_t cpu_ticks = 0;  // utime + stime, in clock ticks
};

// Reads /proc/<pid>. NOT_FOUND when no such process exists.
absl::StatusOr<ProcessInfo> ReadProcessInfo(pid_t pid);
// ReadProcessInfo without the cmdline (left empty): /proc/<pid>/stat only,
// for callers that need no more than its identity, parent and state.
absl::StatusOr<ProcessInfo> ReadProcessStat(pid_t pid);

// Sends `sig` to exactly the process `id`. NOT_FOUND when it is gone or the
// pid now belongs to another process; never signals that other process.
absl::Status SignalProcess(const ProcessId& id, int sig);

// True when `id` still names a live (not zombie) process.
bool ProcessAlive(const ProcessId& id);

// "pid:start,pid:start" and back, for undo states.
std::string FormatProcessIds(const std::vector<ProcessId>& ids);
absl::StatusOr<std::vector<ProcessId>> ParseProcessIds(const std::string& text);

// Options for LaunchChild.
struct ChildOptions {
  std::string name;  // comm of the child (tag), at most 15 characters
  int cpu = -1;      // pin to this CPU when >= 0
};

// Forks a child that runs `body` and then exits. The child is in its own
// process group, has SIGKILL as its parent-death signal, and has every file
// descriptor above 2 closed. The fork happens on one long-lived thread of
// this process, because the kernel sends the parent-death signal when the
// forking *thread* exits: so children die with the process, not earlier.
// `body` runs after fork in a multithreaded process: it must only call
// async-signal-safe functions and must not allocate.
absl::StatusOr<ProcessId> LaunchChild(const ChildOptions& options,
                                      std::function<void()> body);

// Kills a child of this process started by LaunchChild and reaps it.
// Idempotent: a child that is already gone is OK.
absl::Status KillAndReapChild(const ProcessId& id);

}  // namespace chaos::faults

#endif  // CHAOS_FAULTS_PROCESS_H_
