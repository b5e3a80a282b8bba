// DataLoss: makes files or directories disappear, reversibly.
//
// Each listed path is renamed into the quarantine directory of its data
// root, "<data root>/.chaos-quarantine-<tag>", as "<index>-<name>". A rename on
// one filesystem is atomic and instant and copies nothing, so a drill's
// "disaster" destroys nothing: whatever happens to the restore, the
// original is still there.
//
// Refused before anything moves:
// - a path whose parent directory, symbolic links resolved, is not strictly
//   below one of `allowed_roots` (PERMISSION_DENIED);
// - a path that is, holds or lies in the agent's `state_dir`
//   (PERMISSION_DENIED);
// - a path on another filesystem than its data root, a mount point
//   included: a rename cannot move it (FAILED_PRECONDITION);
// - a path that does not exist (NOT_FOUND).
// Renames never replace anything (renameat2 RENAME_NOREPLACE).
//
// Inject records the whole undo state, every path and where it goes, before
// the quarantine directory is made or anything is renamed. A failure part
// way moves back what was moved.
//
// Revert, for each path whose original is still in quarantine:
// - the path is free: the original is renamed back;
// - the path exists again (a restore recreated it), by `when_restored`:
//   kKeepOriginalAside leaves the restored data and the original where it
//   is (Status() names it); kDiscardOriginal leaves the restored data and
//   deletes the original (never following a symbolic link, never leaving
//   its filesystem); kPutOriginalBack moves the restored data into
//   quarantine as "<index>-<name>.restored" and the original back.
// Each quarantine directory is removed when empty. Revert is idempotent and
// converges when retried after a failure (e.g. a parent directory that
// the restore has not recreated yet). Adopt accepts only destinations in a
// directory named ".chaos-quarantine-<tag>".
//
// The start-up sweep never touches a quarantine directory: it holds data.
//
// Undo state: {"when_restored", "count", "path.<i>", "dest.<i>"}.
#ifndef CHAOS_FAULTS_DATA_LOSS_H_
#define CHAOS_FAULTS_DATA_LOSS_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "faults/fault.h"

namespace chaos::faults {

struct DataLossParams {
  enum class WhenRestored { kKeepOriginalAside, kDiscardOriginal, kPutOriginalBack };

  std::vector<std::string> paths;  // 1..64, absolute, no "..", distinct, none inside another
  std::string tag = "loss";        // [A-Za-z0-9._-]{1,64}, part of the quarantine's name
  std::vector<std::string> allowed_roots;  // the policy's dataRoots; empty refuses everything
  std::string state_dir;                   // the agent's state; "" when none
  WhenRestored when_restored = WhenRestored::kKeepOriginalAside;

  // INVALID_ARGUMENT naming "data_loss.<field>".
  [[nodiscard]] absl::Status Validate() const;
};

class DataLoss final : public Fault {
 public:
  explicit DataLoss(DataLossParams params);
  ~DataLoss() override;  // does not revert: the owner decides

  absl::Status Inject(const UndoRecorder& record) override;
  absl::Status Revert() override;
  absl::Status Adopt(const UndoState& undo) override;
  FaultStatus Status() const override;

  // One listed path: where it is, where its original waits while injected.
  struct Move {
    std::string path;  // symbolic links of its parent resolved
    std::string dest;  // in the quarantine directory of its data root
    bool moved = false;
    std::string outcome;  // what the last revert did, for Status()
  };
  const std::vector<Move>& moves() const { return moves_; }

 private:
  // Resolves every path and checks it against the roots, the state
  // directory and its filesystem; fills moves_.
  absl::Status Plan();
  UndoState Undo() const;
  absl::Status MoveBack(size_t done);  // renames moves_[0..done) back
  absl::Status RevertOne(size_t i, Move& m);

  const DataLossParams params_;
  std::vector<Move> moves_;
  bool reverted_ = false;
};

}  // namespace chaos::faults

#endif  // CHAOS_FAULTS_DATA_LOSS_H_
