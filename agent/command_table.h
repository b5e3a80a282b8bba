// CommandTable: the commands this agent runs now for RunCommand, each with
// the switch that stops it, and the gate that admits new ones (closed while
// the agent is halted, and for good once it stops).
//
// A command is Add()ed before it starts and Remove()d once it has ended;
// Stop() flips the switch of every command a predicate selects (its process
// group is killed by base::RunCommand, which watches the switch's token)
// and may wait until they have all ended. A switch remembers the first
// reason it was stopped for, which the command's answer and audit line
// carry. The table never starts or kills a process itself.
//
// Thread-safe: one internal mutex, never held while a command runs.
#ifndef CHAOS_AGENT_COMMAND_TABLE_H_
#define CHAOS_AGENT_COMMAND_TABLE_H_

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "base/subprocess.h"

namespace chaos::agent {

// Stops one command: shared by the table, the call that asked for the
// command and the thread that runs it. Safe from any thread.
class CommandSwitch {
 public:
  // Kills the command (if it has not ended); the first reason sticks.
  void Stop(const std::string& reason);
  bool stopped() const { return token_.cancelled(); }
  // Why it was stopped; "" when it was not.
  std::string reason() const;
  // What base::RunCommand watches.
  const base::CancelToken& token() const { return token_; }

 private:
  base::CancelToken token_;
  mutable absl::Mutex mu_;
  std::string reason_ ABSL_GUARDED_BY(mu_);
};

struct RunningCommand {
  std::string command_id;
  std::string experiment_id;
  std::string caller;
  std::shared_ptr<CommandSwitch> stop;
};

class CommandTable {
 public:
  explicit CommandTable(size_t max_running) : max_running_(max_running) {}

  // Admits a command that is about to start. While closed: the status
  // given to Close(). ALREADY_EXISTS when a command of that id runs now;
  // RESOURCE_EXHAUSTED when max_running commands run.
  [[nodiscard]] absl::Status Add(RunningCommand command);
  // Forgets a command that has ended. Unknown id: no-op.
  void Remove(const std::string& command_id);

  using Predicate = std::function<bool(const RunningCommand&)>;
  // Stops every command `pred` selects with `reason`, then waits up to
  // `wait` for them to end. Returns their ids, sorted.
  std::vector<std::string> Stop(const Predicate& pred, const std::string& reason,
                                absl::Duration wait);

  // Refuses Add() with `why` (not OK) until Reopen(); with `for_good`,
  // Reopen() no longer reopens (the agent is stopping).
  void Close(absl::Status why, bool for_good = false);
  void Reopen();

  // Commands running now: all of them, or one experiment's.
  size_t Count(const std::string& experiment_id = "");
  // The experiments that have a command running now, sorted.
  std::vector<std::string> Experiments();

 private:
  const size_t max_running_;
  absl::Mutex mu_;
  std::map<std::string, RunningCommand> running_ ABSL_GUARDED_BY(mu_);  // by command id
  absl::Status closed_ ABSL_GUARDED_BY(mu_);  // OK: open
  bool closed_for_good_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace chaos::agent

#endif  // CHAOS_AGENT_COMMAND_TABLE_H_
