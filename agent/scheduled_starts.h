// ScheduledStarts: the injects an agent holds until their start (an
// InjectRequest with starts_in), and how each of them ended when it never
// reached the fault table.
//
//   Add -> pending -TakeDue-> starting -Finish(OK)-> gone (the FaultTable
//                                 |                   holds the fault)
//                                 +-Finish(error)-> ended, FAILED
//          pending -Cancel-> ended, REVERTED ("cancelled before its start")
//
// Memory only: nothing of a pending start has touched the host or the
// ledger, so an agent that dies before the start leaves nothing to revert,
// and the restarted agent does not know the fault (the controller reports
// it as not started). Ended entries beyond `max_ended` are forgotten,
// oldest first.
//
// Thread-safe. Cancel waits for the starts it selects that are starting,
// so that once it returns the fault is either cancelled or in the table.
#ifndef CHAOS_AGENT_SCHEDULED_STARTS_H_
#define CHAOS_AGENT_SCHEDULED_STARTS_H_

#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "chaos/v1/agent.pb.h"

namespace chaos::agent {

class ScheduledStarts {
 public:
  struct Start {
    chaos::v1::InjectRequest request;
    std::string caller;
    absl::Duration lease;  // held again at the start, as on receipt
    absl::Time start_at;
    absl::Time ends_at;
  };
  using SpecPredicate = std::function<bool(const chaos::v1::FaultSpec&)>;

  explicit ScheduledStarts(size_t max_ended) : max_ended_(max_ended) {}

  // Holds `start` until start_at; its SCHEDULED status. ABORTED when the
  // id is already pending or starting (a concurrent twin).
  [[nodiscard]] absl::StatusOr<chaos::v1::FaultStatus> Add(Start start);

  // The status of a pending, starting or ended start with this id: nullopt
  // when there is none; ALREADY_EXISTS when the id names another spec.
  [[nodiscard]] absl::StatusOr<std::optional<chaos::v1::FaultStatus>> Find(
      const chaos::v1::FaultSpec& spec);

  // The pending starts due at `now`, now starting; each must be Finish()ed.
  std::vector<Start> TakeDue(absl::Time now);

  // Ends a start TakeDue returned: OK when the fault table holds it now,
  // else the error is kept as its FAILED status.
  void Finish(const Start& start, const absl::Status& outcome);

  // Cancels the pending starts whose spec `pred` selects, keeping each as
  // REVERTED with `reason`, and waits until none it selects is starting.
  // Returns the statuses of those cancelled.
  std::vector<chaos::v1::FaultStatus> Cancel(const SpecPredicate& pred, const std::string& reason);

  // Pending and starting starts (SCHEDULED: a starting one may already be
  // in the fault table too), then ended ones, whose spec `pred` selects.
  std::vector<chaos::v1::FaultStatus> List(const SpecPredicate& pred, bool include_ended);

  // Pending and starting starts `pred` selects.
  size_t CountPending(const SpecPredicate& pred);

  // The earliest pending start_at; absl::InfiniteFuture() when none.
  absl::Time NextStart();

  // The experiment ids of the pending and starting starts (one per start).
  std::vector<std::string> Experiments();

 private:
  static chaos::v1::FaultStatus Scheduled(const Start& start);
  void KeepEnded(chaos::v1::FaultStatus status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const size_t max_ended_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Start> pending_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, Start> starting_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, chaos::v1::FaultStatus> ended_ ABSL_GUARDED_BY(mu_);
  std::deque<std::string> ended_order_ ABSL_GUARDED_BY(mu_);  // oldest first
};

}  // namespace chaos::agent

#endif  // CHAOS_AGENT_SCHEDULED_STARTS_H_
