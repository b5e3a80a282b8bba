// LeaseTable: each experiment's lease on this agent. A lease is a deadline
// and the length by which a renewal moves it. When an experiment's lease
// lapses (its deadline is at or before now) the agent reverts that
// experiment's active faults on its own, whatever the caller does.
//
// Every call takes the current time from its caller, so the table has no
// clock of its own and tests need none. Thread-safe: one internal mutex,
// held only for the call.
#ifndef CHAOS_AGENT_LEASE_TABLE_H_
#define CHAOS_AGENT_LEASE_TABLE_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace chaos::agent {

class LeaseTable {
 public:
  // Starts a lease of `length` from `now`, or, when the experiment already
  // holds one that ends before now + length, moves it to now + length with
  // `length` as its new length. Never shortens a lease. Returns the deadline.
  absl::Time Hold(const std::string& experiment, absl::Duration length, absl::Time now);

  // Renews a lease: its deadline becomes now + length. A `length` > 0
  // replaces the lease's length (so it may also shorten it); 0 keeps it.
  // Returns the new deadline; NOT_FOUND when the experiment holds no lease,
  // FAILED_PRECONDITION when its deadline has passed: a lapsed lease stays
  // lapsed even if the expiry timer has not acted on it yet.
  [[nodiscard]] absl::StatusOr<absl::Time> Renew(const std::string& experiment,
                                                 absl::Duration length, absl::Time now);

  // The experiment's deadline; nullopt when it holds no lease.
  std::optional<absl::Time> Deadline(const std::string& experiment);

  // Experiments whose lease has lapsed at `now`, sorted.
  std::vector<std::string> Lapsed(absl::Time now);

  // Forgets the experiment's lease if it is still lapsed at `now`; a lease
  // held or renewed since (deadline after `now`) is kept. No lease: no-op.
  void DropIfLapsed(const std::string& experiment, absl::Time now);

  size_t size();

 private:
  struct Lease {
    absl::Time deadline;
    absl::Duration length;
  };

  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Lease> leases_ ABSL_GUARDED_BY(mu_);
};

}  // namespace chaos::agent

#endif  // CHAOS_AGENT_LEASE_TABLE_H_
