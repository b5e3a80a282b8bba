// FaultTable: the faults this agent holds, each with its ledger record, and
// the state machine that moves a fault from one state to the next:
//
//   (new) -Inject-> INJECTING -ok-> ACTIVE -Revert-> REVERTING -ok-> REVERTED
//                       |                                |       ^
//                       +-failed, undone-> FAILED        +-failed-> FAILED --Revert (retry)
//                          (final)                          (undo kept, revert_error,
//                                                           next_retry_unix_ms) --Abandon->
//                                                           FAILED, abandoned (final)
//
// A failed revert schedules its retry with capped exponential backoff
// (RetryBackoff: `initial` after the first failure, doubling up to `cap`);
// whoever drives the retries (the agent's timer) selects RetryDue records.
//
// The FaultLedger holds what start-up recovery needs. The INJECTING record
// (the intent) is durable before the fault touches the host, and each undo
// state the fault reports is durable before the step it covers, so a crash
// at any point leaves a record that start-up recovery can revert. ACTIVE
// and REVERTING change the table only: recovery reverts a record with an
// undo state whichever of INJECTING, ACTIVE or REVERTING it says, so
// journaling them would cost two synchronous writes per fault and change
// nothing a crash leaves. Every end (REVERTED, FAILED, abandoned) is
// journaled, with the whole record; REVERTED without waiting for the disk,
// since the host holds nothing by then (FaultLedger::Put, base::Sync::kLazy).
//
// Revert is idempotent: a fault already reverted, one whose inject failed
// and was undone, or one with nothing left to undo answers its final status
// and touches nothing. Ended faults (not active, no undo state) beyond
// `max_ended` are forgotten, oldest first, in the table and the ledger.
//
// Thread-safe. `mu_` guards the map and every record and is held only
// briefly, never across a fault's Inject or Revert. Each fault has its own
// op lock serializing its Inject and Revert, so reverting one fault never
// waits behind another fault's inject.
#ifndef CHAOS_AGENT_FAULT_TABLE_H_
#define CHAOS_AGENT_FAULT_TABLE_H_

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "agent/counters.h"
#include "agent/ledger.h"
#include "chaos/v1/agent.pb.h"
#include "faults/fault.h"

namespace chaos::agent {

// Active, or failed with undo state left (a revert failed, so the fault may
// still be on the host): a record Halt, List and recovery still act on.
bool IsLive(const chaos::v1::LedgerRecord& record);

// Failed with a retry of its revert scheduled at or before `now`.
bool RetryDue(const chaos::v1::LedgerRecord& record, absl::Time now);

struct RetryBackoff {
  absl::Duration initial = absl::Seconds(1);
  absl::Duration cap = absl::Seconds(30);
  // The wait after `failures` failed reverts (>= 1).
  absl::Duration After(uint32_t failures) const;
};

class FaultTable {
 public:
  class Entry;  // one fault: its record, its implementation, its op lock
  using Ref = std::shared_ptr<Entry>;
  using Predicate = std::function<bool(const chaos::v1::LedgerRecord&)>;

  // `ledger` and `counters` must outlive the table.
  FaultTable(FaultLedger* ledger, size_t max_ended, AgentCounters* counters,
             RetryBackoff backoff = {});
  ~FaultTable();

  // Takes a record an earlier run left (see recovery.h) as it is. `fault`
  // is what Revert acts on; null when nothing is left to undo, or when the
  // record has undo state left but could not be rebuilt (state unknown).
  void Restore(chaos::v1::LedgerRecord record, std::unique_ptr<faults::Fault> fault);

  // The fault named spec.fault_id: nullopt when there is none, its status
  // when it has this very spec, ALREADY_EXISTS when the id names another.
  [[nodiscard]] absl::StatusOr<std::optional<chaos::v1::FaultStatus>> Find(const chaos::v1::FaultSpec& spec);

  // Journals the intent (INJECTING), injects `fault` (built from `spec`),
  // and journals the outcome: ACTIVE with injected_at and expires_at
  // (`ends_at` when given, else now + spec.duration), or FAILED with the
  // host left as it was. Errors: ABORTED
  // when the id is already in the table (a concurrent twin); UNAVAILABLE
  // when the intent cannot be journaled (nothing injected, nothing kept);
  // the fault's own error when its inject fails.
  [[nodiscard]] absl::StatusOr<chaos::v1::FaultStatus> Inject(
      const chaos::v1::FaultSpec& spec, std::unique_ptr<faults::Fault> fault,
      const std::string& caller, absl::Duration lease,
      std::optional<absl::Time> ends_at = std::nullopt);

  // Reverts one fault and records `reason`; see the idempotence rule above.
  // A revert that fails leaves the fault FAILED with the error as reason and
  // revert_error, schedules its retry (next_retry_unix_ms), and returns that
  // error. A fault whose state is unknown (see Restore: no fault to act on
  // while undo state is left) is FAILED_PRECONDITION, never OK.
  [[nodiscard]] absl::StatusOr<chaos::v1::FaultStatus> Revert(const Ref& fault,
                                                              const std::string& caller,
                                                              const std::string& reason);

  // Gives up on a fault whose revert failed (or whose state is unknown):
  // FAILED with abandoned set, `reason` recorded, no retry, no undo state
  // kept; audited. OK with the status when already abandoned;
  // FAILED_PRECONDITION for any other fault (revert it instead).
  [[nodiscard]] absl::StatusOr<chaos::v1::FaultStatus> Abandon(const Ref& fault,
                                                               const std::string& caller,
                                                               const std::string& reason);

  // The fault with this id; null when the table does not know it.
  Ref Get(const std::string& fault_id);

  // Faults whose record satisfies `pred`, newest injection first (the order
  // in which to undo them).
  std::vector<Ref> Select(const Predicate& pred);

  // A consistent copy of the fault's record.
  chaos::v1::LedgerRecord RecordOf(const Ref& fault);

  size_t Count(const Predicate& pred);
  // Injects in progress now (Inject calls that have not returned).
  int injecting() const { return injecting_.load(); }

  // Forgets the oldest ended faults beyond `max_ended`.
  void PruneEnded();

 private:
  // Applies `edit` to the record under mu_, then journals a copy.
  absl::Status Persist(Entry& entry, const std::function<void(chaos::v1::LedgerRecord&)>& edit,
                       base::Sync sync = base::Sync::kDurable);
  // Applies `edit` to the record under mu_ only (see the ledger above).
  void Update(Entry& entry, const std::function<void(chaos::v1::LedgerRecord&)>& edit);
  // Inserts the INJECTING entry and journals it; on error nothing is kept.
  absl::Status Admit(const Ref& entry);
  void MarkInjectFailed(Entry& entry, const absl::Status& why);
  void MarkActive(Entry& entry, std::optional<absl::Time> ends_at, absl::Duration duration);
  void MarkRevertFailed(Entry& entry, const absl::Status& why);
  void PruneEndedLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  FaultLedger* const ledger_;
  const size_t max_ended_;
  AgentCounters* const counters_;
  std::atomic<int> injecting_{0};
  const RetryBackoff backoff_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Ref> faults_ ABSL_GUARDED_BY(mu_);
};

}  // namespace chaos::agent

#endif  // CHAOS_AGENT_FAULT_TABLE_H_
