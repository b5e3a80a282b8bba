// Fault: the contract every fault kind keeps.
//
// A fault is built from a validated parameter struct and then:
// - Inject(record) either fully succeeds or leaves the host as it was and
//   returns the error. Before each side effect it calls `record` with the
//   undo state needed to reverse everything done so far plus the step about
//   to be taken; `record` must make that durable before returning (the
//   agent's write-ahead ledger). If `record` fails, Inject undoes what it did
//   and returns that error.
// - Revert() is idempotent: reverting twice, or reverting a fault whose
//   inject failed, is OK. "Already gone" (a killed burner, a deleted file) is
//   success, not an error.
// - Adopt(undo) restores a fault's handles from a recorded undo state, in
//   another process after a crash, so that Revert() undoes the original.
// - Status() says what the fault actually did.
//
// A Fault is not thread-safe: callers serialize Inject/Revert/Adopt on one
// object. Status() may be called concurrently with nothing else running.
#ifndef CHAOS_FAULTS_FAULT_H_
#define CHAOS_FAULTS_FAULT_H_

#include <functional>
#include <map>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace chaos::faults {

// Everything needed to undo a fault, as flat key/value pairs that a ledger
// can store without knowing the kind. Keys and value formats are the kind's.
using UndoState = std::map<std::string, std::string>;

// The value of `key` in an undo state of fault kind `kind`, for Adopt();
// INVALID_ARGUMENT "<kind> undo state has no "<key>"" when it is missing.
inline absl::StatusOr<std::string> UndoValue(const UndoState& undo, absl::string_view kind,
                                             const std::string& key) {
  auto it = undo.find(key);
  if (it == undo.end()) {
    return absl::InvalidArgumentError(absl::StrCat(kind, " undo state has no \"", key, "\""));
  }
  return it->second;
}

// Makes an undo state durable. See the contract above.
using UndoRecorder = std::function<absl::Status(const UndoState&)>;

// What a fault did, for reports.
struct FaultStatus {
  std::string summary;                         // one line for a person
  std::map<std::string, std::string> details;  // pids, bytes, workers...
};

// One leftover a start-up sweep found and tried to remove (see
// RemoveLeftoverFills, RemoveLeftoverNetem, RemoveLeftoverPartitions): what
// it is, in words an operator recognizes, and how removing it went.
struct Leftover {
  std::string item;
  absl::Status removed;
};

class Fault {
 public:
  virtual ~Fault() = default;

  [[nodiscard]] virtual absl::Status Inject(const UndoRecorder& record) = 0;
  [[nodiscard]] virtual absl::Status Revert() = 0;
  [[nodiscard]] virtual absl::Status Adopt(const UndoState& undo) = 0;
  virtual FaultStatus Status() const = 0;
};

}  // namespace chaos::faults

#endif  // CHAOS_FAULTS_FAULT_H_
