// HistoryStore: the controller's durable memory, behind one interface with
// two implementations: SqliteHistoryStore (sqlite_history_store.h), a file
// beside the controller, the embedded default; and EtcdHistoryStore
// (etcd_history_store.h), shared by several controllers through etcd.
//
// It keeps runs with their agents, experiment text, journal events and
// report, and a drill's figures (Run.drill); schedules and what each
// schedule did (started, skipped, missed); the HaltAll flag; and the
// registered agents. Records are the chaos.v1 wire
// messages (Run, RunEvent, Schedule): they are plain data and are what
// every reader wants.
//
// Errors, the same from both: an unknown run or schedule is NOT_FOUND;
// inserting a run id or a schedule name that exists is ALREADY_EXISTS; a
// store that cannot be reached is UNAVAILABLE; anything else the store's
// own error (INTERNAL with SQLite's message, etcd's refusal). Opening is
// each implementation's own (see there).
// Thread safety: safe for concurrent use.
#ifndef CHAOS_CONTROLLER_STORE_HISTORY_STORE_H_
#define CHAOS_CONTROLLER_STORE_HISTORY_STORE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "chaos/v1/controller.pb.h"

namespace chaos::controller {

struct RunFilter {
  std::string experiment;
  chaos::v1::RunState state = chaos::v1::RUN_STATE_UNSPECIFIED;
  std::string schedule;
  int limit = 100;
};

// An agent's record as the stores keep it: last_seen and lost cleared.
inline chaos::v1::AgentInfo WithoutLiveness(chaos::v1::AgentInfo info) {
  info.clear_last_seen_unix_ms();
  info.clear_lost();
  return info;
}

class HistoryStore {
 public:
  virtual ~HistoryStore() = default;

  // Runs. InsertRun records the run (with run.agents) before anything runs;
  // ALREADY_EXISTS for a used id. UpdateRun rewrites everything but the id
  // and the experiment text; NOT_FOUND for an unknown run.
  [[nodiscard]] virtual absl::Status InsertRun(const chaos::v1::Run& run,
                                               const std::string& experiment_yaml) = 0;
  [[nodiscard]] virtual absl::Status UpdateRun(const chaos::v1::Run& run) = 0;
  [[nodiscard]] virtual absl::StatusOr<chaos::v1::Run> GetRun(const std::string& run_id) = 0;
  // The experiment text InsertRun recorded; NOT_FOUND for an unknown run.
  [[nodiscard]] virtual absl::StatusOr<std::string> GetExperimentYaml(
      const std::string& run_id) = 0;
  // Newest first (by start time, then by insertion).
  [[nodiscard]] virtual absl::StatusOr<std::vector<chaos::v1::Run>> ListRuns(
      const RunFilter& filter) = 0;
  // Runs whose state is PENDING or RUNNING: the ones a crash left behind.
  [[nodiscard]] virtual absl::StatusOr<std::vector<chaos::v1::Run>> ListUnfinishedRuns() = 0;
  // How many runs the history holds in each state (states without runs
  // are absent).
  [[nodiscard]] virtual absl::StatusOr<std::map<chaos::v1::RunState, int64_t>>
  CountRunsByState() = 0;
  // Journal events, appended in one write (one transaction: all of them
  // or none), in the order given; at most kMaxEventsPerWrite
  // (INVALID_ARGUMENT beyond: etcd refuses a transaction of more than 128
  // operations by default). JournalWriter (journal_writer.h) gathers the
  // events of many callers into such writes.
  static constexpr size_t kMaxEventsPerWrite = 100;
  [[nodiscard]] virtual absl::Status AppendEvents(
      const std::vector<chaos::v1::RunEvent>& events) = 0;
  [[nodiscard]] absl::Status AppendEvent(const chaos::v1::RunEvent& event) {
    return AppendEvents({event});
  }
  // In journal order (seq): those after `after_seq`, or all.
  [[nodiscard]] virtual absl::StatusOr<std::vector<chaos::v1::RunEvent>> ListEvents(
      const std::string& run_id, int64_t after_seq) = 0;
  [[nodiscard]] absl::StatusOr<std::vector<chaos::v1::RunEvent>> ListEvents(
      const std::string& run_id) {
    return ListEvents(run_id, 0);
  }

  // What other controllers write to the runs, for a standby's WatchRun
  // (controller/server/stored_run_watch.h). From the moment FollowRuns
  // returns, `changed(run_id)` is called for each run whose record or
  // journal is written, in the order of the writes, and `changed("")` when
  // changes may have been missed (every run may have changed). The calls
  // come from a thread of the feed's own until the feed is destroyed; a
  // feed that loses the store follows again from where it stopped.
  // UNIMPLEMENTED for a store that only its own controller writes (SQLite);
  // the store's error when it cannot be read now.
  class RunFeed {
   public:
    virtual ~RunFeed() = default;
  };
  [[nodiscard]] virtual absl::StatusOr<std::unique_ptr<RunFeed>> FollowRuns(
      std::function<void(const std::string& run_id)> changed) = 0;

  // Schedules. The stored form is the whole message but its output-only
  // recent_events (which are kept apart).
  [[nodiscard]] virtual absl::Status InsertSchedule(const chaos::v1::Schedule& schedule,
                                                    int64_t considered_until_ms) = 0;
  [[nodiscard]] virtual absl::Status DeleteSchedule(const std::string& name) = 0;
  struct StoredSchedule {
    chaos::v1::Schedule schedule;
    int64_t considered_until_ms = 0;  // firings up to here are handled
    // A firing (its cron time) that a controller claimed to start and
    // whose outcome is not recorded yet; 0: none.
    int64_t claimed_fire_ms = 0;
  };
  // Compare-and-swap: writes `next` (schedule, considered_until_ms and
  // claimed_fire_ms) only if the stored schedule still holds `read`'s
  // considered_until_ms and claimed_fire_ms, atomically (on etcd one
  // transaction, with the fence). ABORTED when it does not (another
  // controller handled a firing since `read` was read: do nothing);
  // NOT_FOUND for an unknown schedule; the etcd store's fence refuses with
  // FAILED_PRECONDITION "fenced".
  [[nodiscard]] virtual absl::Status SwapSchedule(const StoredSchedule& read,
                                                  const StoredSchedule& next) = 0;
  [[nodiscard]] virtual absl::StatusOr<StoredSchedule> GetSchedule(const std::string& name) = 0;
  // By name.
  [[nodiscard]] virtual absl::StatusOr<std::vector<StoredSchedule>> ListSchedules() = 0;
  [[nodiscard]] virtual absl::Status AppendScheduleEvent(
      const std::string& name, const chaos::v1::ScheduleEvent& event) = 0;
  // Newest first.
  [[nodiscard]] virtual absl::StatusOr<std::vector<chaos::v1::ScheduleEvent>> ListScheduleEvents(
      const std::string& name, int limit) = 0;
  // Deletes the oldest ended runs of a schedule (and their events) beyond
  // the newest `keep`. Returns how many were deleted.
  [[nodiscard]] virtual absl::StatusOr<int> PruneScheduleRuns(const std::string& name,
                                                              int keep) = 0;

  // The HaltAll flag (run_manager.h), kept here so that a restarted
  // controller, or the next leader, refuses runs until someone resumes. A
  // store never halted answers halted = false.
  struct HaltState {
    bool halted = false;
    std::string caller;
    std::string reason;
    int64_t at_unix_ms = 0;
  };
  [[nodiscard]] virtual absl::Status SetHaltState(const HaltState& state) = 0;
  [[nodiscard]] virtual absl::StatusOr<HaltState> GetHaltState() = 0;

  // The agents that registered (registry.h): address, hostname and labels,
  // not their liveness, so that a restarted controller or the next leader
  // knows the fleet (and can halt it) before the agents find it.
  // PutAgent replaces the agent's record; DeleteAgent of an unknown
  // address is OK; ListAgents is sorted by address.
  [[nodiscard]] virtual absl::Status PutAgent(const chaos::v1::AgentInfo& info) = 0;
  [[nodiscard]] virtual absl::Status DeleteAgent(const std::string& address) = 0;
  [[nodiscard]] virtual absl::StatusOr<std::vector<chaos::v1::AgentInfo>> ListAgents() = 0;
};

// SwapSchedule's refusal when the schedule changed since it was read.
inline absl::Status ScheduleChanged(const std::string& name) {
  return absl::AbortedError(absl::StrCat("schedule \"", name,
                                         "\" changed since it was read: another controller "
                                         "handled its firing"));
}

// OK for 0 to HistoryStore::kMaxEventsPerWrite events; INVALID_ARGUMENT
// naming the count beyond. For the stores' AppendEvents.
inline absl::Status CheckEventsPerWrite(size_t events) {
  if (events <= HistoryStore::kMaxEventsPerWrite) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      "events: ", events, " in one write, over its limit of ", HistoryStore::kMaxEventsPerWrite));
}

}  // namespace chaos::controller

#endif  // CHAOS_CONTROLLER_STORE_HISTORY_STORE_H_
