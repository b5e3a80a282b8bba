// RunCommand: runs an argv vector (never a shell string) with a time limit,
// capturing stdout and stderr together. When the time runs out its process
// group gets SIGKILL. When the caller cancels, the group gets SIGTERM, then
// SIGKILL after a 2 s grace period if the command is still running, and
// SIGKILL once more after the command ends, so nothing it started in its
// group outlives it.
//
// The command gets /dev/null on stdin, its own process group, default
// signal dispositions, SIGKILL when the thread that started it dies (so a
// caller killed outright does not leave it behind; what it started in its
// group is another matter, and the kernel drops this for a set-user-ID
// program or one with file capabilities) and no descriptor of ours beyond
// 0-2. argv[0]
// is looked up in PATH when it has no '/'. At most 64 KiB of output is
// kept (kMaxCommandOutput), and the outcome says when more was dropped.
// RunCommand never throws: a command that cannot be started is an outcome
// with `error` set. Thread-safe: commands may run concurrently.
#ifndef CHAOS_BASE_SUBPROCESS_H_
#define CHAOS_BASE_SUBPROCESS_H_

#include <sys/types.h>

#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace chaos::base {

// A one-way switch that RunCommand watches while a command runs: Cancel()
// stops the command's process group at once (SIGTERM, then SIGKILL). Backed by an eventfd, so a
// waiting command wakes immediately, with no polling. Safe to Cancel() from
// any thread, any number of times.
class CancelToken {
 public:
  CancelToken();
  ~CancelToken();
  CancelToken(const CancelToken&) = delete;
  CancelToken& operator=(const CancelToken&) = delete;

  void Cancel();
  bool cancelled() const;
  int fd() const { return fd_; }  // readable once cancelled

 private:
  int fd_;
};

// The most output a command's outcome keeps: its first 64 KiB.
inline constexpr size_t kMaxCommandOutput = 64 * 1024;

struct CommandOutcome {
  int exit_code = -1;      // exit status, or 128 + signal
  bool timed_out = false;  // killed because the time ran out
  bool cancelled = false;  // killed because the token was cancelled
  std::string output;      // stdout and stderr interleaved, at most kMaxCommandOutput
  bool output_truncated = false;  // the command wrote more than `output` holds
  absl::Duration took;
  std::string error;  // set when the command could not be started

  // True when the command ran to exit code 0.
  bool ok() const { return error.empty() && !timed_out && !cancelled && exit_code == 0; }
  // "exit 1", "timed out", "cancelled" or the start error.
  std::string Summary() const;
};

// `cancel` may be null. A token already cancelled starts nothing.
// Where RunCommand finds argv[0] `name`: as given when it has a '/', else
// the first executable regular file along PATH (a default path when PATH is
// unset). NOT_FOUND "NAME: command not found in PATH" when there is none,
// INVALID_ARGUMENT for an empty name.
[[nodiscard]] absl::StatusOr<std::string> ResolveExecutable(const std::string& name);

CommandOutcome RunCommand(const std::vector<std::string>& argv, absl::Duration timeout,
                          const CancelToken* cancel = nullptr);

// Where and with what a command runs, beyond its argv.
struct CommandOptions {
  absl::Duration timeout = absl::Minutes(5);
  const CancelToken* cancel = nullptr;  // may be null
  // Set in the command's environment over this process's own.
  std::map<std::string, std::string> env;
  // The command's working directory; "" keeps this process's. A directory
  // it cannot change into is an outcome with `error` "chdir DIR: strerror".
  std::string working_dir;
  // Called with the command's pid, which is also its process group, once
  // its process exists and before it execs: the command does not start
  // until on_start returns, so whatever on_start records (a journal) is
  // there before the command can act. If the exec then fails, the outcome
  // has `error`. May be empty.
  std::function<void(pid_t)> on_start;
};
CommandOutcome RunCommand(const std::vector<std::string>& argv, const CommandOptions& options);

}  // namespace chaos::base

#endif  // CHAOS_BASE_SUBPROCESS_H_
