// SqliteHistoryStore: the history (history_store.h) in a SQLite file (WAL mode,
// prepared statements): runs with their agents, journal events and report,
// and a drill's figures (Run.drill, in columns of their own, NULL for a run
// without one); schedules and what each schedule did (started, skipped,
// missed). A database written by an older controller gains the newer
// columns on Open(), its runs reading as before.
//
// Errors: Open() on a file that is not a SQLite database or fails its
// integrity check is FAILED_PRECONDITION naming the path; any other SQLite
// failure is INTERNAL with SQLite's message.
// Thread safety: safe for concurrent use (one connection behind a mutex).
#ifndef CHAOS_CONTROLLER_STORE_SQLITE_HISTORY_STORE_H_
#define CHAOS_CONTROLLER_STORE_SQLITE_HISTORY_STORE_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "chaos/v1/controller.pb.h"
#include "controller/store/history_store.h"

struct sqlite3;
struct sqlite3_stmt;

namespace chaos::controller {

class SqliteHistoryStore final : public HistoryStore {
 public:
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<SqliteHistoryStore>> Open(
      const std::string& path);
  ~SqliteHistoryStore() override;

  // HistoryStore
  [[nodiscard]] absl::Status InsertRun(const chaos::v1::Run& run, const std::string& experiment_yaml) override;
  [[nodiscard]] absl::Status UpdateRun(const chaos::v1::Run& run) override;
  [[nodiscard]] absl::StatusOr<chaos::v1::Run> GetRun(const std::string& run_id) override;
  [[nodiscard]] absl::StatusOr<std::string> GetExperimentYaml(const std::string& run_id) override;
  [[nodiscard]] absl::StatusOr<std::vector<chaos::v1::Run>> ListRuns(const RunFilter& filter) override;
  [[nodiscard]] absl::StatusOr<std::vector<chaos::v1::Run>> ListUnfinishedRuns() override;
  [[nodiscard]] absl::StatusOr<std::map<chaos::v1::RunState, int64_t>> CountRunsByState() override;
  [[nodiscard]] absl::Status AppendEvents(
      const std::vector<chaos::v1::RunEvent>& events) override;
  using HistoryStore::ListEvents;
  [[nodiscard]] absl::StatusOr<std::vector<chaos::v1::RunEvent>> ListEvents(
      const std::string& run_id, int64_t after_seq) override;
  [[nodiscard]] absl::StatusOr<std::unique_ptr<RunFeed>> FollowRuns(
      std::function<void(const std::string& run_id)> changed) override;

  [[nodiscard]] absl::Status InsertSchedule(const chaos::v1::Schedule& schedule,
                                            int64_t considered_until_ms) override;
  [[nodiscard]] absl::Status SwapSchedule(const StoredSchedule& read,
                                          const StoredSchedule& next) override;
  [[nodiscard]] absl::Status DeleteSchedule(const std::string& name) override;
  [[nodiscard]] absl::StatusOr<StoredSchedule> GetSchedule(const std::string& name) override;
  [[nodiscard]] absl::StatusOr<std::vector<StoredSchedule>> ListSchedules() override;
  [[nodiscard]] absl::Status AppendScheduleEvent(const std::string& name,
                                                 const chaos::v1::ScheduleEvent& event) override;
  [[nodiscard]] absl::StatusOr<std::vector<chaos::v1::ScheduleEvent>> ListScheduleEvents(
      const std::string& name, int limit) override;
  [[nodiscard]] absl::StatusOr<int> PruneScheduleRuns(const std::string& name, int keep) override;
  [[nodiscard]] absl::Status SetHaltState(const HaltState& state) override;
  [[nodiscard]] absl::StatusOr<HaltState> GetHaltState() override;
  [[nodiscard]] absl::Status PutAgent(const chaos::v1::AgentInfo& info) override;
  [[nodiscard]] absl::Status DeleteAgent(const std::string& address) override;
  [[nodiscard]] absl::StatusOr<std::vector<chaos::v1::AgentInfo>> ListAgents() override;

 private:
  explicit SqliteHistoryStore(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
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

#endif  // CHAOS_CONTROLLER_STORE_SQLITE_HISTORY_STORE_H_
