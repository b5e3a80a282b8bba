// Scheduler: starts experiments on cron schedules (see cron.h), each firing
// an ordinary run in the history.
//
// Per firing, in this order: a firing more than the starting deadline late
// (the controller was down) is recorded as "missed" and not started; only
// the latest of several missed firings is considered, the others are
// recorded as one "missed" entry; a firing inside a blackout window is
// recorded as "blackout"; with the FORBID policy (the default) a firing
// while the schedule's previous run is still active is recorded as
// "skipped"; otherwise the run starts ("started", or "failed" with the
// launcher's error). After a start, ended runs beyond history_limit are
// deleted. A paused schedule lets its firings pass without records.
//
// Several controllers on one store (etcd, docs/CONTROLLER.md "High
// availability"): only the leader ticks, and a firing is handled at most
// once across the group. Before doing anything about a firing, a tick
// claims it with a compare-and-swap (HistoryStore::SwapSchedule, fenced on
// etcd) that advances the schedule's considered_until only if it still
// holds what the tick read; a refused claim (another controller got there
// first, or this one no longer leads) does nothing. A start is marked
// claimed until its outcome is recorded. A controller that dies after its
// claim leaves that mark, and the next tick (on the new leader) settles it:
// the run it started, if any (a run of the schedule that started at or
// after the firing), is recorded "started" unless it already is; with none
// (and no failed start recorded), nothing of the firing ran, since a run
// is recorded before it injects and a deposed leader's records are fenced:
// the firing is started now, within its starting deadline, and recorded
// "missed" beyond it. So each firing starts exactly once across a crash or
// a leader change, unless the takeover outlasts its starting deadline.
//
// Time comes from the injected Clock and Tick() does all the work, so tests
// drive it by hand. With metrics, each started firing counts as fired and
// each other one as skipped, by reason: "missed" (each missed firing),
// "blackout", "concurrency" (FORBID) or "failed" (the launcher refused).
// Thread safety: safe for concurrent use.
#ifndef CHAOS_CONTROLLER_SCHEDULER_H_
#define CHAOS_CONTROLLER_SCHEDULER_H_

#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "chaos/v1/controller.pb.h"
#include "controller/server/clock.h"
#include "controller/metrics/metrics.h"
#include "controller/store/history_store.h"

namespace chaos::controller {

// What the scheduler starts runs with (the RunManager, or a test double).
class RunLauncher {
 public:
  virtual ~RunLauncher() = default;
  // What Launch would refuse about the schedule's experiment whatever the
  // agents (it does not parse, the command policy does not allow one of
  // its commands). Called when a schedule is created; Launch checks again
  // at each firing.
  virtual absl::Status Check(const chaos::v1::Schedule& schedule) = 0;
  // Starts a run of the schedule's experiment; returns its id.
  virtual absl::StatusOr<std::string> Launch(const chaos::v1::Schedule& schedule) = 0;
  virtual bool IsActive(const std::string& run_id) = 0;
};

class Scheduler {
 public:
  // `metrics` may be null.
  Scheduler(HistoryStore* history, RunLauncher* launcher, Clock* clock,
            ControllerMetrics* metrics = nullptr);
  ~Scheduler();  // stops the thread if started

  // INVALID_ARGUMENT naming the field (name, cron, time_zone,
  // experiment_yaml, blackouts[i].days/hours); what the launcher's Check
  // refuses (PERMISSION_DENIED for a command the controller's command
  // policy does not allow); ALREADY_EXISTS for a used name;
  // RESOURCE_EXHAUSTED beyond kMaxSchedules (request_limits.h).
  [[nodiscard]] absl::StatusOr<chaos::v1::Schedule> Create(chaos::v1::Schedule schedule);
  [[nodiscard]] absl::StatusOr<std::vector<chaos::v1::Schedule>> List();
  [[nodiscard]] absl::StatusOr<chaos::v1::Schedule> SetPaused(const std::string& name, bool paused);
  [[nodiscard]] absl::Status Delete(const std::string& name);

  // Handles every firing due at clock->Now().
  void Tick();
  // Calls Tick() every `every` on a thread until Stop() or destruction.
  void Start(absl::Duration every);
  void Stop();

 private:
  void TickOne(HistoryStore::StoredSchedule stored, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool SettleClaim(HistoryStore::StoredSchedule& stored, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // `note` ends the "started" record's message.
  void StartClaimed(HistoryStore::StoredSchedule claimed, absl::Time fire, absl::TimeZone tz,
                    absl::Time now, const std::string& note = "")
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // SwapSchedule; false (logged) when refused.
  bool Swap(const HistoryStore::StoredSchedule& read, const HistoryStore::StoredSchedule& next);
  void Record(const std::string& name, absl::Time at, const std::string& kind,
              const std::string& run_id, const std::string& message);
  void CountSkip(SkipReason reason, uint64_t firings = 1);

  HistoryStore* const history_;
  RunLauncher* const launcher_;
  Clock* const clock_;
  ControllerMetrics* const metrics_;
  absl::Mutex mu_;  // serializes ticks and changes
  absl::Mutex stop_mu_;
  bool stop_ ABSL_GUARDED_BY(stop_mu_) = false;
  std::thread thread_;
};

// What ListSchedules answers, read from `history` alone (a standby answers
// it too): every stored schedule, by name, with its next firing after
// `now` and its 20 most recent events.
[[nodiscard]] absl::StatusOr<std::vector<chaos::v1::Schedule>> ListSchedules(
    HistoryStore& history, absl::Time now);

// Whether local time `t` in `schedule`'s zone falls in one of its blackout
// windows. The schedule must have passed validation.
bool InBlackout(const chaos::v1::Schedule& schedule, absl::Time t);

}  // namespace chaos::controller

#endif  // CHAOS_CONTROLLER_SCHEDULER_H_
