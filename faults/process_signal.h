// ProcessKill and ProcessPause: signal chosen processes of the host.
//
// A selector matches processes by exactly one of pid, exact comm, RE2 over
// the command line (arguments joined by single spaces), or a pidfile. Of the
// matches, `count` or `percent` are chosen at random with a seed that is
// recorded (seed 0 picks one and reports it), so a run can be repeated on
// the same process table. Processes are identified by pid plus start time
// (process.h): a pid the kernel reused is never signalled.
//
// Never signalled: pid 1, the agent itself and its ancestors, kernel threads,
// zombies, and any process whose comm is in `protected_names`. A pid or
// pidfile target that names such a process is refused with
// PERMISSION_DENIED; name and regex matches silently skip them (the status
// reports how many were skipped), and NOT_FOUND results when nothing
// signallable is left. A selection of more processes than the selector's
// max_chosen (the host's cap) is refused with PERMISSION_DENIED, before any
// process is signalled; each repeated round is held to it too.
//
// ProcessKill sends `signal` (default SIGKILL) to the chosen processes; with
// an interval it re-selects and signals again every interval until the
// fault's duration ends or Revert() is called, on a thread of its own.
// A kill cannot be undone: Revert() stops the repetition. Undo state:
// {"seed": "<seed>"}.
//
// ProcessPause sends SIGSTOP; Revert() sends SIGCONT to exactly the processes
// it stopped. Each process is recorded before it is stopped, so an agent
// restarted after a crash resumes all of them. Undo state:
// {"stopped": "pid:start,..."}.
//
// Thread safety: as Fault (fault.h); Status() may run concurrently with the
// repeat thread.
#ifndef CHAOS_FAULTS_PROCESS_SIGNAL_H_
#define CHAOS_FAULTS_PROCESS_SIGNAL_H_

#include <sys/types.h>

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "faults/fault.h"
#include "faults/host_os.h"
#include "faults/process.h"

namespace chaos::faults {

struct ProcessSelector {
  // Exactly one of the next four is set (pid > 0, or a non-empty string).
  pid_t pid = 0;              // > 1
  std::string name;           // exact comm, 1..15 characters
  std::string cmdline_regex;  // RE2, searched (not anchored)
  std::string pidfile;        // absolute path, no ".." components
  // How many matches: count >= 1 or percent 1..100, at most one of them;
  // neither means all.
  uint32_t count = 0;
  uint32_t percent = 0;
  uint64_t seed = 0;  // 0: choose one and report it
  // The host's cap on how many processes one selection may signal (not from
  // the wire: the agent's policy sets it); 0: no cap.
  uint32_t max_chosen = 0;

  // INVALID_ARGUMENT naming "<prefix>.<field>".
  [[nodiscard]] absl::Status Validate(const std::string& prefix) const;
};

// A process that was signalled, for reports.
struct ProcessHit {
  ProcessId id;
  std::string comm;
};

struct ProcessKillParams {
  ProcessSelector target;
  int signal = 9;                     // 1..64 (SIGRTMAX)
  absl::Duration interval = absl::ZeroDuration();  // 0: once
  absl::Duration duration = absl::ZeroDuration();  // required with interval
  std::vector<std::string> protected_names;

  [[nodiscard]] absl::Status Validate() const;
};

struct ProcessPauseParams {
  ProcessSelector target;
  std::vector<std::string> protected_names;

  [[nodiscard]] absl::Status Validate() const;
};

// The processes a selector chooses right now, and how many matches were
// skipped because they are protected. `prefix` names fields in errors.
// PERMISSION_DENIED when more than `selector.max_chosen` would be chosen:
// nothing is signalled then.
struct Selection {
  std::vector<ProcessInfo> chosen;
  size_t matched = 0;  // signallable matches before count/percent
  size_t skipped_protected = 0;
};
[[nodiscard]] absl::StatusOr<Selection> SelectProcesses(
    ProcessOs& os, const ProcessSelector& selector,
    const std::vector<std::string>& protected_names, const std::string& prefix,
    std::mt19937_64& rng);

class ProcessKill final : public Fault {
 public:
  explicit ProcessKill(ProcessKillParams params, ProcessOs& os = RealProcessOs());
  ~ProcessKill() override;  // stops the repeat thread

  absl::Status Inject(const UndoRecorder& record) override;
  absl::Status Revert() override;
  absl::Status Adopt(const UndoState& undo) override;
  FaultStatus Status() const override;

  std::vector<ProcessHit> hits() const;
  uint64_t seed() const { return seed_; }
  int rounds() const;

 private:
  // One selection and signalling; appends to hits_.
  absl::Status Round();
  void RepeatLoop(absl::Time end);
  void StopRepeat();

  const ProcessKillParams params_;
  ProcessOs& os_;
  uint64_t seed_ = 0;
  std::mt19937_64 rng_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::vector<ProcessHit> hits_;
  int rounds_ = 0;
  std::string last_error_;
  std::thread repeater_;
  bool reverted_ = false;
};

class ProcessPause final : public Fault {
 public:
  explicit ProcessPause(ProcessPauseParams params, ProcessOs& os = RealProcessOs());
  ~ProcessPause() override;  // does not revert: the owner decides

  absl::Status Inject(const UndoRecorder& record) override;
  absl::Status Revert() override;
  absl::Status Adopt(const UndoState& undo) override;
  FaultStatus Status() const override;

  const std::vector<ProcessHit>& stopped() const { return stopped_; }
  uint64_t seed() const { return seed_; }

 private:
  const ProcessPauseParams params_;
  ProcessOs& os_;
  uint64_t seed_ = 0;
  std::vector<ProcessHit> stopped_;  // still to resume
  std::vector<ProcessHit> paused_;   // every process this fault stopped, for reports
  size_t resumed_ = 0;
  bool reverted_ = false;
};

}  // namespace chaos::faults

#endif  // CHAOS_FAULTS_PROCESS_SIGNAL_H_
