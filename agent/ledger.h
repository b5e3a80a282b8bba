// FaultLedger: the agent's durable, write-ahead record of every fault.
//
// One file per fault id under <state_dir>/ledger/. Each write goes to a
// temporary file, is fsync'ed, renamed over the old one, and the directory
// is fsync'ed, so a crash leaves either the old or the new record, never a
// torn one. The record of a fault whose revert has held (Put, kLazy) and
// the removal of an ended record are not waited for: what a crash of the
// host undoes there leaves nothing on the host (see each). Each file
// carries a magic, the payload length and a CRC-32 of the payload; a file
// that fails those checks or does not parse is moved to
// <state_dir>/quarantine/ by Load() and reported, never silently used.
//
// Thread-safe: Put/Remove/Load may be called concurrently (records of
// different ids touch different files; the same id is serialized).
#ifndef CHAOS_AGENT_LEDGER_H_
#define CHAOS_AGENT_LEDGER_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "base/files.h"
#include "chaos/v1/ledger.pb.h"

namespace chaos::agent {

class FaultLedger {
 public:
  // Creates the directories when missing. FAILED_PRECONDITION when the
  // state directory cannot be created or written.
  static absl::StatusOr<std::unique_ptr<FaultLedger>> Open(const std::string& state_dir);

  // Writes the record of record.status().spec().fault_id(), durably with
  // base::Sync::kDurable. kLazy, which does not wait for the disk, is only
  // for the record of a fault whose revert has held: a crash of the host
  // soon after may leave the record before it, whose undo state recovery
  // reverts again (reverts are idempotent), or, where a file system does
  // not write a renamed file's data first (ext4 does by default), an empty
  // file that Load() quarantines and reports. The host holds nothing
  // either way.
  [[nodiscard]] absl::Status Put(const chaos::v1::LedgerRecord& record,
                                 base::Sync sync = base::Sync::kDurable);

  // Deletes an ended record, without waiting for the disk (a record a crash
  // brings back is an ended one). OK when it does not exist.
  [[nodiscard]] absl::Status Remove(const std::string& fault_id);

  struct Loaded {
    std::vector<chaos::v1::LedgerRecord> records;
    // One line per quarantined file: "<path>: <why>".
    std::vector<std::string> quarantined;
  };
  // Reads every record; quarantines the unreadable ones.
  absl::StatusOr<Loaded> Load();

  const std::string& state_dir() const { return state_dir_; }

 private:
  explicit FaultLedger(std::string state_dir);
  std::string PathFor(const std::string& fault_id) const;

  const std::string state_dir_;
  const std::string ledger_dir_;
  const std::string quarantine_dir_;
  absl::Mutex mu_;  // serializes writes (cheap; writes are rare)
};

}  // namespace chaos::agent

#endif  // CHAOS_AGENT_LEDGER_H_
