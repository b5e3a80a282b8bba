#include "controller/store/sqlite_history_store.h"

#include <sqlite3.h>
#include <unistd.h>

#include <set>
#include <utility>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "base/status_macros.h"

namespace chaos::controller {
namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS runs (
  run_id TEXT PRIMARY KEY,
  experiment TEXT NOT NULL,
  state INTEGER NOT NULL,
  started_ms INTEGER NOT NULL,
  ended_ms INTEGER NOT NULL,
  seed INTEGER NOT NULL,
  recovery_ms INTEGER NOT NULL,
  reason TEXT NOT NULL,
  report_json TEXT NOT NULL,
  agents TEXT NOT NULL,
  schedule TEXT NOT NULL,
  caller TEXT NOT NULL,
  experiment_yaml TEXT NOT NULL,
  variables BLOB NOT NULL DEFAULT x'',
  drill_rto_ms INTEGER,
  drill_rto_objective_ms INTEGER,
  drill_rpo_ms INTEGER,
  drill_rpo_objective_ms INTEGER,
  drill_integrity TEXT,
  drill_integrity_required INTEGER,
  drill_objectives_met INTEGER,
  lost_agents BLOB NOT NULL DEFAULT x'');
CREATE INDEX IF NOT EXISTS runs_by_start ON runs(started_ms);
CREATE TABLE IF NOT EXISTS events (
  run_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  at_ms INTEGER NOT NULL,
  type TEXT NOT NULL,
  message TEXT NOT NULL,
  step TEXT NOT NULL,
  agent TEXT NOT NULL,
  PRIMARY KEY (run_id, seq));
CREATE TABLE IF NOT EXISTS schedules (
  name TEXT PRIMARY KEY,
  spec BLOB NOT NULL,
  considered_until_ms INTEGER NOT NULL,
  claimed_fire_ms INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS schedule_events (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  schedule TEXT NOT NULL,
  at_ms INTEGER NOT NULL,
  kind TEXT NOT NULL,
  run_id TEXT NOT NULL,
  message TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS schedule_events_by_name ON schedule_events(schedule, id);
CREATE TABLE IF NOT EXISTS halt (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  halted INTEGER NOT NULL,
  caller TEXT NOT NULL,
  reason TEXT NOT NULL,
  at_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS agents (
  address TEXT PRIMARY KEY,
  info BLOB NOT NULL);
)sql";

// Columns added after the first release, with their types: a database
// written by an older controller gains them on open, its runs taking the
// default. The drill's columns are NULL for a run without a drill, and a
// figure's when it was not measured (or no objective was set). A run that
// lost no agent (or was written before lost_agents) has an empty one.
// Columns added to a table after its first release: older files get them.
struct AddedColumn {
  const char* table;
  const char* name;
  const char* type;
};
constexpr AddedColumn kAddedColumns[] = {
    {"runs", "variables", "BLOB NOT NULL DEFAULT x''"},
    {"runs", "drill_rto_ms", "INTEGER"},
    {"runs", "drill_rto_objective_ms", "INTEGER"},
    {"runs", "drill_rpo_ms", "INTEGER"},
    {"runs", "drill_rpo_objective_ms", "INTEGER"},
    {"runs", "drill_integrity", "TEXT"},
    {"runs", "drill_integrity_required", "INTEGER"},
    {"runs", "drill_objectives_met", "INTEGER"},
    {"runs", "lost_agents", "BLOB NOT NULL DEFAULT x''"},
    {"schedules", "claimed_fire_ms", "INTEGER NOT NULL DEFAULT 0"},
};

constexpr const char* kRunColumns =
    "run_id, experiment, state, started_ms, ended_ms, seed, recovery_ms, reason, report_json, "
    "agents, schedule, caller, variables, drill_rto_ms, drill_rto_objective_ms, drill_rpo_ms, "
    "drill_rpo_objective_ms, drill_integrity, drill_integrity_required, drill_objectives_met, "
    "lost_agents";
constexpr int kDrillColumns = 7;

// A run's variables as one column: a Run message holding only them.
std::string EncodeVariables(const chaos::v1::Run& run) {
  chaos::v1::Run only;
  *only.mutable_variables() = run.variables();
  return only.SerializeAsString();
}

// A run's lost agents as one column, the same way.
std::string EncodeLostAgents(const chaos::v1::Run& run) {
  chaos::v1::Run only;
  *only.mutable_lost_agents() = run.lost_agents();
  return only.SerializeAsString();
}

std::string Text(sqlite3_stmt* s, int col) {
  const unsigned char* t = sqlite3_column_text(s, col);
  return t == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(t),
                                                    sqlite3_column_bytes(s, col));
}

void Bind(sqlite3_stmt* s, int i, const std::string& v) {
  sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
}
void Bind(sqlite3_stmt* s, int i, int64_t v) { sqlite3_bind_int64(s, i, v); }
void BindBlob(sqlite3_stmt* s, int i, const std::string& v) {
  sqlite3_bind_blob(s, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
}
std::string Blob(sqlite3_stmt* s, int col) {
  const void* b = sqlite3_column_blob(s, col);
  return b == nullptr ? std::string()
                      : std::string(static_cast<const char*>(b), sqlite3_column_bytes(s, col));
}

// A figure in milliseconds, NULL for -1 (not measured, or no objective).
void BindMillis(sqlite3_stmt* s, int i, int64_t ms) {
  if (ms < 0) {
    sqlite3_bind_null(s, i);
  } else {
    sqlite3_bind_int64(s, i, ms);
  }
}
int64_t Millis(sqlite3_stmt* s, int col) {
  return sqlite3_column_type(s, col) == SQLITE_NULL ? -1 : sqlite3_column_int64(s, col);
}

// The kDrillColumns drill columns from `first` on; all NULL without a drill.
void BindDrill(sqlite3_stmt* s, int first, const chaos::v1::Run& run) {
  if (!run.has_drill()) {
    for (int i = 0; i < kDrillColumns; ++i) sqlite3_bind_null(s, first + i);
    return;
  }
  const chaos::v1::DrillSummary& d = run.drill();
  BindMillis(s, first, d.rto_ms());
  BindMillis(s, first + 1, d.rto_objective_ms());
  BindMillis(s, first + 2, d.rpo_ms());
  BindMillis(s, first + 3, d.rpo_objective_ms());
  Bind(s, first + 4, d.integrity());
  Bind(s, first + 5, int64_t{d.integrity_required()});
  Bind(s, first + 6, int64_t{d.objectives_met()});
}

// The drill read back from columns `first` on; a NULL verdict means none.
void ReadDrill(sqlite3_stmt* s, int first, chaos::v1::Run* run) {
  if (sqlite3_column_type(s, first + 6) == SQLITE_NULL) return;
  chaos::v1::DrillSummary* d = run->mutable_drill();
  d->set_rto_ms(Millis(s, first));
  d->set_rto_objective_ms(Millis(s, first + 1));
  d->set_rpo_ms(Millis(s, first + 2));
  d->set_rpo_objective_ms(Millis(s, first + 3));
  d->set_integrity(Text(s, first + 4));
  d->set_integrity_required(sqlite3_column_int64(s, first + 5) != 0);
  d->set_objectives_met(sqlite3_column_int64(s, first + 6) != 0);
}

// Resets a cached statement when it goes out of scope.
struct Reset {
  sqlite3_stmt* s;
  ~Reset() {
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
  }
};

}  // namespace

absl::StatusOr<std::unique_ptr<SqliteHistoryStore>> SqliteHistoryStore::Open(const std::string& path) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                                                 SQLITE_OPEN_FULLMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close(db);
    return absl::FailedPreconditionError(
        absl::StrCat("history database ", path, ": cannot open: ", msg));
  }
  sqlite3_busy_timeout(db, 5000);
  // SQLite opens a file it may not write read-only, silently.
  if (sqlite3_db_readonly(db, "main") == 1) {
    sqlite3_close(db);
    return absl::FailedPreconditionError(absl::StrCat(
        "history database ", path, ": this user (uid ", getuid(),
        ") may not write it; give the controller's user the file and its directory"));
  }
  std::unique_ptr<SqliteHistoryStore> store(new SqliteHistoryStore(db, path));
  absl::MutexLock lock(&store->mu_);
  // A file that is not a database fails on its first read; a damaged one
  // fails the quick check.
  auto corrupt = [&](const std::string& why) {
    return absl::FailedPreconditionError(absl::StrCat(
        "history database ", path, " is corrupt (", why,
        "); move it aside to start with an empty history"));
  };
  sqlite3_stmt* check = nullptr;
  rc = sqlite3_prepare_v2(db, "PRAGMA quick_check", -1, &check, nullptr);
  if (rc != SQLITE_OK) return corrupt(sqlite3_errmsg(db));
  rc = sqlite3_step(check);
  const std::string verdict = rc == SQLITE_ROW ? Text(check, 0) : sqlite3_errmsg(db);
  sqlite3_finalize(check);
  if (verdict != "ok") return corrupt(verdict);
  {
    sqlite3_stmt* wal = nullptr;
    if (sqlite3_prepare_v2(db, "PRAGMA journal_mode=WAL", -1, &wal, nullptr) != SQLITE_OK) {
      return corrupt(sqlite3_errmsg(db));
    }
    rc = sqlite3_step(wal);
    const std::string mode = rc == SQLITE_ROW ? Text(wal, 0) : "";
    sqlite3_finalize(wal);
    if (mode != "wal") {
      return absl::FailedPreconditionError(absl::StrCat(
          "history database ", path, ": cannot switch to WAL mode: ", sqlite3_errmsg(db)));
    }
  }
  // FULL: a commit is on disk before it returns, power loss included
  // (NORMAL in WAL mode may lose the last commits on power loss).
  RETURN_IF_ERROR(store->Exec("PRAGMA synchronous=FULL"));
  absl::Status s = store->Exec(kSchema);
  if (s.ok()) s = store->AddMissingColumns();
  if (!s.ok()) return corrupt(std::string(s.message()));
  return store;
}

SqliteHistoryStore::~SqliteHistoryStore() {
  absl::MutexLock lock(&mu_);
  for (auto& [sql, stmt] : statements_) sqlite3_finalize(stmt);
  sqlite3_close(db_);
}

absl::Status SqliteHistoryStore::AddMissingColumns() {
  std::set<std::string> present;  // "table.column"
  for (const char* table : {"runs", "schedules"}) {
    sqlite3_stmt* info = nullptr;
    const std::string pragma = absl::StrCat("PRAGMA table_info(", table, ")");
    if (sqlite3_prepare_v2(db_, pragma.c_str(), -1, &info, nullptr) != SQLITE_OK) {
      return Error(absl::StrCat("read the ", table, " table's columns"));
    }
    while (sqlite3_step(info) == SQLITE_ROW) {
      present.insert(absl::StrCat(table, ".", Text(info, 1)));
    }
    sqlite3_finalize(info);
  }
  for (const AddedColumn& c : kAddedColumns) {
    if (present.count(absl::StrCat(c.table, ".", c.name)) != 0) continue;
    RETURN_IF_ERROR(Exec(
        absl::StrCat("ALTER TABLE ", c.table, " ADD COLUMN ", c.name, " ", c.type).c_str()));
  }
  return absl::OkStatus();
}

absl::Status SqliteHistoryStore::Error(const std::string& what) {
  return absl::InternalError(absl::StrCat("history database ", path_, ": ", what, ": ",
                                          sqlite3_errmsg(db_)));
}

absl::Status SqliteHistoryStore::Exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    return absl::InternalError(absl::StrCat("history database ", path_, ": ", msg));
  }
  return absl::OkStatus();
}

absl::StatusOr<sqlite3_stmt*> SqliteHistoryStore::Prepare(const char* sql) {
  auto it = statements_.find(sql);
  if (it != statements_.end()) return it->second;
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db_, sql, -1, &stmt, nullptr) != SQLITE_OK) {
    return Error(absl::StrCat("prepare ", sql));
  }
  statements_[sql] = stmt;
  return stmt;
}

absl::Status SqliteHistoryStore::InsertRun(const chaos::v1::Run& run, const std::string& yaml) {
  absl::MutexLock lock(&mu_);
  static const std::string sql = absl::StrCat("INSERT INTO runs (", kRunColumns,
                                              ", experiment_yaml) VALUES "
                                              "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
  ASSIGN_OR_RETURN(sqlite3_stmt * s, Prepare(sql.c_str()));
  Reset reset{s};
  Bind(s, 1, run.run_id());
  Bind(s, 2, run.experiment_name());
  Bind(s, 3, static_cast<int64_t>(run.state()));
  Bind(s, 4, run.started_at_unix_ms());
  Bind(s, 5, run.ended_at_unix_ms());
  Bind(s, 6, static_cast<int64_t>(run.seed()));
  Bind(s, 7, run.recovery_ms());
  Bind(s, 8, run.reason());
  Bind(s, 9, run.report_json());
  Bind(s, 10, absl::StrJoin(run.agents(), "\n"));
  Bind(s, 11, run.schedule());
  Bind(s, 12, run.caller());
  BindBlob(s, 13, EncodeVariables(run));
  BindDrill(s, 14, run);
  BindBlob(s, 21, EncodeLostAgents(run));
  Bind(s, 22, yaml);
  const int rc = sqlite3_step(s);
  if (rc == SQLITE_CONSTRAINT) {
    return absl::AlreadyExistsError(absl::StrCat("run_id: run ", run.run_id(), " exists"));
  }
  if (rc != SQLITE_DONE) return Error("insert run");
  return absl::OkStatus();
}

absl::Status SqliteHistoryStore::UpdateRun(const chaos::v1::Run& run) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(sqlite3_stmt * s,
                   Prepare("UPDATE runs SET experiment=?, state=?, started_ms=?, ended_ms=?, "
                           "seed=?, recovery_ms=?, reason=?, report_json=?, agents=?, "
                           "schedule=?, caller=?, variables=?, drill_rto_ms=?, "
                           "drill_rto_objective_ms=?, drill_rpo_ms=?, drill_rpo_objective_ms=?, "
                           "drill_integrity=?, drill_integrity_required=?, "
                           "drill_objectives_met=?, lost_agents=? WHERE run_id=?"));
  Reset reset{s};
  Bind(s, 1, run.experiment_name());
  Bind(s, 2, static_cast<int64_t>(run.state()));
  Bind(s, 3, run.started_at_unix_ms());
  Bind(s, 4, run.ended_at_unix_ms());
  Bind(s, 5, static_cast<int64_t>(run.seed()));
  Bind(s, 6, run.recovery_ms());
  Bind(s, 7, run.reason());
  Bind(s, 8, run.report_json());
  Bind(s, 9, absl::StrJoin(run.agents(), "\n"));
  Bind(s, 10, run.schedule());
  Bind(s, 11, run.caller());
  BindBlob(s, 12, EncodeVariables(run));
  BindDrill(s, 13, run);
  BindBlob(s, 20, EncodeLostAgents(run));
  Bind(s, 21, run.run_id());
  if (sqlite3_step(s) != SQLITE_DONE) return Error("update run");
  if (sqlite3_changes(db_) == 0) {
    return absl::NotFoundError(absl::StrCat("run_id: no run ", run.run_id()));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<chaos::v1::Run>> SqliteHistoryStore::QueryRuns(sqlite3_stmt* s) {
  std::vector<chaos::v1::Run> out;
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    chaos::v1::Run r;
    r.set_run_id(Text(s, 0));
    r.set_experiment_name(Text(s, 1));
    r.set_state(static_cast<chaos::v1::RunState>(sqlite3_column_int(s, 2)));
    r.set_started_at_unix_ms(sqlite3_column_int64(s, 3));
    r.set_ended_at_unix_ms(sqlite3_column_int64(s, 4));
    r.set_seed(static_cast<uint64_t>(sqlite3_column_int64(s, 5)));
    r.set_recovery_ms(sqlite3_column_int64(s, 6));
    r.set_reason(Text(s, 7));
    r.set_report_json(Text(s, 8));
    for (absl::string_view a : absl::StrSplit(Text(s, 9), '\n', absl::SkipEmpty())) {
      r.add_agents(std::string(a));
    }
    r.set_schedule(Text(s, 10));
    r.set_caller(Text(s, 11));
    chaos::v1::Run variables;
    if (!variables.ParseFromString(Blob(s, 12))) return Error("decode a run's variables");
    *r.mutable_variables() = variables.variables();
    ReadDrill(s, 13, &r);
    chaos::v1::Run lost;
    if (!lost.ParseFromString(Blob(s, 20))) return Error("decode a run's lost agents");
    *r.mutable_lost_agents() = lost.lost_agents();
    out.push_back(std::move(r));
  }
  if (rc != SQLITE_DONE) return Error("query runs");
  return out;
}

absl::StatusOr<chaos::v1::Run> SqliteHistoryStore::GetRun(const std::string& run_id) {
  absl::MutexLock lock(&mu_);
  static const std::string sql = absl::StrCat("SELECT ", kRunColumns, " FROM runs WHERE run_id=?");
  ASSIGN_OR_RETURN(sqlite3_stmt * s, Prepare(sql.c_str()));
  Reset reset{s};
  Bind(s, 1, run_id);
  ASSIGN_OR_RETURN(std::vector<chaos::v1::Run> runs, QueryRuns(s));
  if (runs.empty()) return absl::NotFoundError(absl::StrCat("run_id: no run ", run_id));
  return runs.front();
}

absl::StatusOr<std::string> SqliteHistoryStore::GetExperimentYaml(const std::string& run_id) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(sqlite3_stmt * s, Prepare("SELECT experiment_yaml FROM runs WHERE run_id=?"));
  Reset reset{s};
  Bind(s, 1, run_id);
  const int rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) return Text(s, 0);
  if (rc == SQLITE_DONE) return absl::NotFoundError(absl::StrCat("run_id: no run ", run_id));
  return Error("read experiment_yaml");
}

absl::StatusOr<std::vector<chaos::v1::Run>> SqliteHistoryStore::ListRuns(const RunFilter& f) {
  absl::MutexLock lock(&mu_);
  static const std::string sql = absl::StrCat(
      "SELECT ", kRunColumns,
      " FROM runs WHERE (?1 = '' OR experiment = ?1) AND (?2 = 0 OR state = ?2) AND "
      "(?3 = '' OR schedule = ?3) ORDER BY started_ms DESC, rowid DESC LIMIT ?4");
  ASSIGN_OR_RETURN(sqlite3_stmt * s, Prepare(sql.c_str()));
  Reset reset{s};
  Bind(s, 1, f.experiment);
  Bind(s, 2, static_cast<int64_t>(f.state));
  Bind(s, 3, f.schedule);
  Bind(s, 4, static_cast<int64_t>(f.limit > 0 ? f.limit : 100));
  return QueryRuns(s);
}

absl::StatusOr<std::vector<chaos::v1::Run>> SqliteHistoryStore::ListUnfinishedRuns() {
  absl::MutexLock lock(&mu_);
  static const std::string sql =
      absl::StrCat("SELECT ", kRunColumns, " FROM runs WHERE state IN (?1, ?2) ORDER BY started_ms");
  ASSIGN_OR_RETURN(sqlite3_stmt * s, Prepare(sql.c_str()));
  Reset reset{s};
  Bind(s, 1, static_cast<int64_t>(chaos::v1::RUN_STATE_PENDING));
  Bind(s, 2, static_cast<int64_t>(chaos::v1::RUN_STATE_RUNNING));
  return QueryRuns(s);
}

absl::StatusOr<std::map<chaos::v1::RunState, int64_t>> SqliteHistoryStore::CountRunsByState() {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(sqlite3_stmt * s, Prepare("SELECT state, COUNT(*) FROM runs GROUP BY state"));
  Reset reset{s};
  std::map<chaos::v1::RunState, int64_t> out;
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    out[static_cast<chaos::v1::RunState>(sqlite3_column_int(s, 0))] = sqlite3_column_int64(s, 1);
  }
  if (rc != SQLITE_DONE) return Error("count runs");
  return out;
}

absl::Status SqliteHistoryStore::AppendEvents(const std::vector<chaos::v1::RunEvent>& events) {
  RETURN_IF_ERROR(CheckEventsPerWrite(events.size()));
  if (events.empty()) return absl::OkStatus();
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
  absl::Cleanup rollback = [this]() ABSL_NO_THREAD_SAFETY_ANALYSIS { (void)Exec("ROLLBACK"); };
  ASSIGN_OR_RETURN(sqlite3_stmt * s,
                   Prepare("INSERT INTO events (run_id, seq, at_ms, type, message, step, agent) "
                           "VALUES (?,?,?,?,?,?,?)"));
  for (const chaos::v1::RunEvent& e : events) {
    Reset reset{s};
    Bind(s, 1, e.run_id());
    Bind(s, 2, static_cast<int64_t>(e.seq()));
    Bind(s, 3, e.at_unix_ms());
    Bind(s, 4, e.type());
    Bind(s, 5, e.message());
    auto field = [&](const char* k) {
      auto it = e.fields().find(k);
      return it == e.fields().end() ? std::string() : it->second;
    };
    Bind(s, 6, field("step"));
    Bind(s, 7, field("agent"));
    if (sqlite3_step(s) != SQLITE_DONE) return Error("insert event");
  }
  RETURN_IF_ERROR(Exec("COMMIT"));
  std::move(rollback).Cancel();
  return absl::OkStatus();
}

absl::StatusOr<std::vector<chaos::v1::RunEvent>> SqliteHistoryStore::ListEvents(
    const std::string& run_id, int64_t after_seq) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(sqlite3_stmt * s,
                   Prepare("SELECT seq, at_ms, type, message, step, agent FROM events "
                           "WHERE run_id=? AND seq>? ORDER BY seq"));
  Reset reset{s};
  Bind(s, 1, run_id);
  Bind(s, 2, after_seq);
  std::vector<chaos::v1::RunEvent> out;
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    chaos::v1::RunEvent e;
    e.set_run_id(run_id);
    e.set_seq(static_cast<uint32_t>(sqlite3_column_int64(s, 0)));
    e.set_at_unix_ms(sqlite3_column_int64(s, 1));
    e.set_type(Text(s, 2));
    e.set_message(Text(s, 3));
    if (!Text(s, 4).empty()) (*e.mutable_fields())["step"] = Text(s, 4);
    if (!Text(s, 5).empty()) (*e.mutable_fields())["agent"] = Text(s, 5);
    out.push_back(std::move(e));
  }
  if (rc != SQLITE_DONE) return Error("query events");
  return out;
}

absl::StatusOr<std::unique_ptr<HistoryStore::RunFeed>> SqliteHistoryStore::FollowRuns(
    std::function<void(const std::string&)>) {
  return absl::UnimplementedError(
      "a SQLite history is written by its own controller alone: it has no feed of others' writes");
}

absl::Status SqliteHistoryStore::InsertSchedule(const chaos::v1::Schedule& schedule, int64_t until) {
  chaos::v1::Schedule stored = schedule;
  stored.clear_recent_events();
  const std::string blob = stored.SerializeAsString();
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(sqlite3_stmt * s,
                   Prepare("INSERT INTO schedules (name, spec, considered_until_ms) VALUES (?,?,?)"));
  Reset reset{s};
  Bind(s, 1, schedule.name());
  sqlite3_bind_blob(s, 2, blob.data(), static_cast<int>(blob.size()), SQLITE_TRANSIENT);
  Bind(s, 3, until);
  const int rc = sqlite3_step(s);
  if (rc == SQLITE_CONSTRAINT) {
    return absl::AlreadyExistsError(
        absl::StrCat("name: a schedule named \"", schedule.name(), "\" exists"));
  }
  if (rc != SQLITE_DONE) return Error("insert schedule");
  return absl::OkStatus();
}

absl::Status SqliteHistoryStore::SwapSchedule(const StoredSchedule& read,
                                              const StoredSchedule& next) {
  chaos::v1::Schedule stored = next.schedule;
  stored.clear_recent_events();
  const std::string blob = stored.SerializeAsString();
  const std::string& name = next.schedule.name();
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(sqlite3_stmt * s,
                   Prepare("UPDATE schedules SET spec=?, considered_until_ms=?, claimed_fire_ms=? "
                           "WHERE name=? AND considered_until_ms=? AND claimed_fire_ms=?"));
  Reset reset{s};
  sqlite3_bind_blob(s, 1, blob.data(), static_cast<int>(blob.size()), SQLITE_TRANSIENT);
  Bind(s, 2, next.considered_until_ms);
  Bind(s, 3, next.claimed_fire_ms);
  Bind(s, 4, name);
  Bind(s, 5, read.considered_until_ms);
  Bind(s, 6, read.claimed_fire_ms);
  if (sqlite3_step(s) != SQLITE_DONE) return Error("swap schedule");
  if (sqlite3_changes(db_) != 0) return absl::OkStatus();
  ASSIGN_OR_RETURN(sqlite3_stmt * q, Prepare("SELECT 1 FROM schedules WHERE name=?"));
  Reset reset_q{q};
  Bind(q, 1, name);
  const int rc = sqlite3_step(q);
  if (rc == SQLITE_DONE) {
    return absl::NotFoundError(absl::StrCat("name: no schedule named \"", name, "\""));
  }
  if (rc != SQLITE_ROW) return Error("query schedule");
  return ScheduleChanged(name);
}

absl::Status SqliteHistoryStore::DeleteSchedule(const std::string& name) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(sqlite3_stmt * s, Prepare("DELETE FROM schedules WHERE name=?"));
  Reset reset{s};
  Bind(s, 1, name);
  if (sqlite3_step(s) != SQLITE_DONE) return Error("delete schedule");
  if (sqlite3_changes(db_) == 0) {
    return absl::NotFoundError(absl::StrCat("name: no schedule named \"", name, "\""));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<HistoryStore::StoredSchedule>> SqliteHistoryStore::ListSchedules() {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(sqlite3_stmt * s,
                   Prepare("SELECT spec, considered_until_ms, claimed_fire_ms FROM schedules "
                           "ORDER BY name"));
  Reset reset{s};
  std::vector<StoredSchedule> out;
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    StoredSchedule st;
    const void* blob = sqlite3_column_blob(s, 0);
    if (!st.schedule.ParseFromArray(blob, sqlite3_column_bytes(s, 0))) {
      return absl::DataLossError(absl::StrCat("history database ", path_,
                                              ": a stored schedule does not parse"));
    }
    st.considered_until_ms = sqlite3_column_int64(s, 1);
    st.claimed_fire_ms = sqlite3_column_int64(s, 2);
    out.push_back(std::move(st));
  }
  if (rc != SQLITE_DONE) return Error("query schedules");
  return out;
}

absl::StatusOr<HistoryStore::StoredSchedule> SqliteHistoryStore::GetSchedule(const std::string& name) {
  ASSIGN_OR_RETURN(std::vector<StoredSchedule> all, ListSchedules());
  for (StoredSchedule& s : all) {
    if (s.schedule.name() == name) return std::move(s);
  }
  return absl::NotFoundError(absl::StrCat("name: no schedule named \"", name, "\""));
}

absl::Status SqliteHistoryStore::AppendScheduleEvent(const std::string& name,
                                               const chaos::v1::ScheduleEvent& e) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(sqlite3_stmt * s,
                   Prepare("INSERT INTO schedule_events (schedule, at_ms, kind, run_id, message) "
                           "VALUES (?,?,?,?,?)"));
  Reset reset{s};
  Bind(s, 1, name);
  Bind(s, 2, e.at_unix_ms());
  Bind(s, 3, e.kind());
  Bind(s, 4, e.run_id());
  Bind(s, 5, e.message());
  if (sqlite3_step(s) != SQLITE_DONE) return Error("insert schedule event");
  return absl::OkStatus();
}

absl::StatusOr<std::vector<chaos::v1::ScheduleEvent>> SqliteHistoryStore::ListScheduleEvents(
    const std::string& name, int limit) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(sqlite3_stmt * s,
                   Prepare("SELECT at_ms, kind, run_id, message FROM schedule_events "
                           "WHERE schedule=? ORDER BY id DESC LIMIT ?"));
  Reset reset{s};
  Bind(s, 1, name);
  Bind(s, 2, static_cast<int64_t>(limit));
  std::vector<chaos::v1::ScheduleEvent> out;
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    chaos::v1::ScheduleEvent e;
    e.set_at_unix_ms(sqlite3_column_int64(s, 0));
    e.set_kind(Text(s, 1));
    e.set_run_id(Text(s, 2));
    e.set_message(Text(s, 3));
    out.push_back(std::move(e));
  }
  if (rc != SQLITE_DONE) return Error("query schedule events");
  return out;
}

absl::StatusOr<int> SqliteHistoryStore::PruneScheduleRuns(const std::string& name, int keep) {
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
  absl::Cleanup rollback = [this]() ABSL_NO_THREAD_SAFETY_ANALYSIS { (void)Exec("ROLLBACK"); };
  const char* victims =
      "SELECT run_id FROM runs WHERE schedule=?1 AND state NOT IN (1, 2) "
      "ORDER BY started_ms DESC, rowid DESC LIMIT -1 OFFSET ?2";
  ASSIGN_OR_RETURN(sqlite3_stmt * ev,
                   Prepare("DELETE FROM events WHERE run_id IN (SELECT run_id FROM runs WHERE "
                           "schedule=?1 AND state NOT IN (1, 2) ORDER BY started_ms DESC, rowid "
                           "DESC LIMIT -1 OFFSET ?2)"));
  {
    Reset reset{ev};
    Bind(ev, 1, name);
    Bind(ev, 2, static_cast<int64_t>(keep));
    if (sqlite3_step(ev) != SQLITE_DONE) return Error("prune events");
  }
  static const std::string sql = absl::StrCat("DELETE FROM runs WHERE run_id IN (", victims, ")");
  ASSIGN_OR_RETURN(sqlite3_stmt * rs, Prepare(sql.c_str()));
  int deleted;
  {
    Reset reset{rs};
    Bind(rs, 1, name);
    Bind(rs, 2, static_cast<int64_t>(keep));
    if (sqlite3_step(rs) != SQLITE_DONE) return Error("prune runs");
    deleted = sqlite3_changes(db_);
  }
  RETURN_IF_ERROR(Exec("COMMIT"));
  std::move(rollback).Cancel();
  return deleted;
}

absl::Status SqliteHistoryStore::SetHaltState(const HaltState& state) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(sqlite3_stmt * s,
                   Prepare("INSERT OR REPLACE INTO halt (id, halted, caller, reason, at_ms) "
                           "VALUES (1,?,?,?,?)"));
  Reset reset{s};
  Bind(s, 1, static_cast<int64_t>(state.halted));
  Bind(s, 2, state.caller);
  Bind(s, 3, state.reason);
  Bind(s, 4, state.at_unix_ms);
  if (sqlite3_step(s) != SQLITE_DONE) return Error("write the halt flag");
  return absl::OkStatus();
}

absl::StatusOr<HistoryStore::HaltState> SqliteHistoryStore::GetHaltState() {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(sqlite3_stmt * s,
                   Prepare("SELECT halted, caller, reason, at_ms FROM halt WHERE id=1"));
  Reset reset{s};
  HaltState state;
  const int rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) {
    state.halted = sqlite3_column_int64(s, 0) != 0;
    state.caller = Text(s, 1);
    state.reason = Text(s, 2);
    state.at_unix_ms = sqlite3_column_int64(s, 3);
  } else if (rc != SQLITE_DONE) {
    return Error("read the halt flag");
  }
  return state;
}

absl::Status SqliteHistoryStore::PutAgent(const chaos::v1::AgentInfo& info) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(sqlite3_stmt * s,
                   Prepare("INSERT OR REPLACE INTO agents (address, info) VALUES (?,?)"));
  Reset reset{s};
  Bind(s, 1, info.address());
  BindBlob(s, 2, WithoutLiveness(info).SerializeAsString());
  if (sqlite3_step(s) != SQLITE_DONE) return Error("write agent");
  return absl::OkStatus();
}

absl::Status SqliteHistoryStore::DeleteAgent(const std::string& address) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(sqlite3_stmt * s, Prepare("DELETE FROM agents WHERE address=?"));
  Reset reset{s};
  Bind(s, 1, address);
  if (sqlite3_step(s) != SQLITE_DONE) return Error("delete agent");
  return absl::OkStatus();
}

absl::StatusOr<std::vector<chaos::v1::AgentInfo>> SqliteHistoryStore::ListAgents() {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(sqlite3_stmt * s, Prepare("SELECT address, info FROM agents ORDER BY address"));
  Reset reset{s};
  std::vector<chaos::v1::AgentInfo> out;
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    chaos::v1::AgentInfo info;
    if (!info.ParseFromString(Blob(s, 1))) {
      return absl::DataLossError(
          absl::StrCat("agents: the record of ", Text(s, 0), " does not parse"));
    }
    out.push_back(std::move(info));
  }
  if (rc != SQLITE_DONE) return Error("list agents");
  return out;
}

}  // namespace chaos::controller
