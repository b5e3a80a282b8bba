// CommandJournal: the agent's durable record of each command RunCommand
// runs, so that an agent killed outright finds, at its next start, what its
// commands left running (recovery.h, RecoverCommands).
//
// One file per command id under <state_dir>/commands/, framed like the
// fault ledger's records (record_file.h) and replaced atomically. The agent
// writes a command's record before the command starts, again once it has
// started (its process group and the start time of its first process), and
// removes it once the command has ended.
//
// Thread-safe: records of different ids touch different files; writes are
// serialized.
#ifndef CHAOS_AGENT_COMMAND_JOURNAL_H_
#define CHAOS_AGENT_COMMAND_JOURNAL_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "chaos/v1/ledger.pb.h"

namespace chaos::agent {

class CommandJournal {
 public:
  // Creates <state_dir>/commands when missing; FAILED_PRECONDITION when it
  // cannot be created.
  static absl::StatusOr<std::unique_ptr<CommandJournal>> Open(const std::string& state_dir);

  // Durably writes the record of record.command_id() (a valid id).
  [[nodiscard]] absl::Status Put(const chaos::v1::CommandRecord& record);
  // Deletes a command's record. OK when there is none.
  [[nodiscard]] absl::Status Remove(const std::string& command_id);

  struct Loaded {
    std::vector<chaos::v1::CommandRecord> records;
    // One line per file that failed its checks, and was deleted: "<path>:
    // <why>". Such a file names no process the agent could act on.
    std::vector<std::string> dropped;
  };
  absl::StatusOr<Loaded> Load();

 private:
  explicit CommandJournal(std::string dir) : dir_(std::move(dir)) {}
  std::string PathFor(const std::string& command_id) const;

  const std::string dir_;
  absl::Mutex mu_;
};

}  // namespace chaos::agent

#endif  // CHAOS_AGENT_COMMAND_JOURNAL_H_
