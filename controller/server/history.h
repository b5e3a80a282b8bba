// HistoryStore: the controller's durable memory in SQLite (WAL mode,
// prepared statements): runs with their agents, journal events and report,
// and a drill's figures (Run.drill, in columns of their own, NULL for a run
// without one); schedules and what each schedule did (started, skipped,
// missed). A database written by an older controller gains the newer
// columns on Open(), its runs reading as before.
//
// Records are the chaos.v1 wire messages (Run, RunEvent, Schedule): they are
// plain data and are what every reader wants.
//
// Errors: Open() on a file that is not a SQLite database or fails its
// integrity check is FAILED_PRECONDITION naming the path; an unknown run or
// schedule is NOT_FOUND; inserting a schedule name that exists is
// ALREADY_EXISTS; any other SQLite failure is INTERNAL with SQLite's message.
// Thread safety: safe for concurrent use (one connection behind a mutex).
#ifndef CHAOS_CONTROLLER_HISTORY_H_
#define CHAOS_CONTROLLER_HISTORY_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "chaos/v1/controller.pb.h"

struct sqlite3;
struct sqlite3_stmt;

namespace chaos::controller {

struct RunFilter {
  std::string experiment;
  chaos::v1::RunState state = chaos::v1::RUN_STATE_UNSPECIFIED;
  std::string schedule;
  int limit = 100;
};

class HistoryStore {
 public:
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<HistoryStore>> Open(const std::string& path);
  ~HistoryStore();

  // Runs. InsertRun records the run (with run.agents) before anything runs;
  // ALREADY_EXISTS for a used id. UpdateRun rewrites every column but the id.
  [[nodiscard]] absl::Status InsertRun(const chaos::v1::Run& run, const std::string& experiment_yaml);
  [[nodiscard]] absl::Status UpdateRun(const chaos::v1::Run& run);
  [[nodiscard]] absl::StatusOr<chaos::v1::Run> GetRun(const std::string& run_id);
  // The experiment text InsertRun recorded; NOT_FOUND for an unknown run.
  [[nodiscard]] absl::StatusOr<std::string> GetExperimentYaml(const std::string& run_id);
  // Newest first.
  [[nodiscard]] absl::StatusOr<std::vector<chaos::v1::Run>> ListRuns(const RunFilter& filter);
  // Runs whose state is PENDING or RUNNING: the ones a crash left behind.
  [[nodiscard]] absl::StatusOr<std::vector<chaos::v1::Run>> ListUnfinishedRuns();
  // How many runs the history holds in each state (states without runs
  // are absent).
  [[nodiscard]] absl::StatusOr<std::map<chaos::v1::RunState, int64_t>> CountRunsByState();
  [[nodiscard]] absl::Status AppendEvent(const chaos::v1::RunEvent& event);
  [[nodiscard]] absl::StatusOr<std::vector<chaos::v1::RunEvent>> ListEvents(const std::string& run_id);

  // Schedules. The stored form is the whole message but its output-only
  // recent_events (which live in their own table).
  [[nodiscard]] absl::Status InsertSchedule(const chaos::v1::Schedule& schedule,
                                            int64_t considered_until_ms);
  [[nodiscard]] absl::Status UpdateSchedule(const chaos::v1::Schedule& schedule,
                                            int64_t considered_until_ms);
  [[nodiscard]] absl::Status DeleteSchedule(const std::string& name);
  struct StoredSchedule {
    chaos::v1::Schedule schedule;
    int64_t considered_until_ms = 0;  // firings up to here are handled
  };
  [[nodiscard]] absl::StatusOr<StoredSchedule> GetSchedule(const std::string& name);
  [[nodiscard]] absl::StatusOr<std::vector<StoredSchedule>> ListSchedules();
  [[nodiscard]] absl::Status AppendScheduleEvent(const std::string& name,
                                                 const chaos::v1::ScheduleEvent& event);
  // Newest first.
  [[nodiscard]] absl::StatusOr<std::vector<chaos::v1::ScheduleEvent>> ListScheduleEvents(
      const std::string& name, int limit);
  // Deletes the oldest ended runs of a schedule (and their events) beyond
  // the newest `keep`. Returns how many were deleted.
  [[nodiscard]] absl::StatusOr<int> PruneScheduleRuns(const std::string& name, int keep);

 private:
  explicit HistoryStore(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  absl::Status Exec(const char* sql) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status AddMissingColumns() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<sqlite3_stmt*> Prepare(const char* sql) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status Error(const std::string& what) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<std::vector<chaos::v1::Run>> QueryRuns(sqlite3_stmt* stmt)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  absl::Mutex mu_;
  sqlite3* const db_;
  const std::string path_;
  std::map<const char*, sqlite3_stmt*> statements_ ABSL_GUARDED_BY(mu_);
};

}  // namespace chaos::controller

#endif  // CHAOS_CONTROLLER_HISTORY_H_
