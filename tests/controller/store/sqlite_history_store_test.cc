// HistoryStore against real SQLite files: a database written by an older
// controller (before runs recorded their variables, drill figures or lost
// agents) opens,
// keeps its runs, and gains the new columns (also a schedule's claim, which
// a schedule written before it reads as none); a drill's figures go in and
// come back, and a run without a drill stores none; a file this user may
// not write is refused, saying so.
#include "controller/store/sqlite_history_store.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <set>
#include <string>

#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"

namespace chaos::controller {
namespace {

// The runs table as the first release created it, with one run in it.
void WriteOldDatabase(const std::string& path) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  const char* sql = R"sql(
CREATE TABLE runs (run_id TEXT PRIMARY KEY, experiment TEXT NOT NULL, state INTEGER NOT NULL,
  started_ms INTEGER NOT NULL, ended_ms INTEGER NOT NULL, seed INTEGER NOT NULL,
  recovery_ms INTEGER NOT NULL, reason TEXT NOT NULL, report_json TEXT NOT NULL,
  agents TEXT NOT NULL, schedule TEXT NOT NULL, caller TEXT NOT NULL,
  experiment_yaml TEXT NOT NULL);
INSERT INTO runs VALUES ('old-run', 'cpu-burn', 3, 1000, 2000, 7, -1, '', '{}',
  '127.0.0.1:7070', '', 'chaosctl', 'name: cpu-burn');
)sql";
  char* err = nullptr;
  ASSERT_EQ(sqlite3_exec(db, sql, nullptr, nullptr, &err), SQLITE_OK) << (err ? err : "");
  sqlite3_close(db);
}

// The names of the runs table's columns.
std::set<std::string> RunColumns(const std::string& path) {
  sqlite3* db = nullptr;
  std::set<std::string> out;
  EXPECT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* s = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, "PRAGMA table_info(runs)", -1, &s, nullptr), SQLITE_OK);
  while (sqlite3_step(s) == SQLITE_ROW) {
    out.insert(reinterpret_cast<const char*>(sqlite3_column_text(s, 1)));
  }
  sqlite3_finalize(s);
  sqlite3_close(db);
  return out;
}

// One SQL value of the history as text ("NULL" for NULL), to see what is
// stored, not what the store makes of it.
std::string Value(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* s = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr), SQLITE_OK) << sql;
  std::string out = "no row";
  if (sqlite3_step(s) == SQLITE_ROW) {
    const unsigned char* t = sqlite3_column_text(s, 0);
    out = t == nullptr ? "NULL" : reinterpret_cast<const char*>(t);
  }
  sqlite3_finalize(s);
  sqlite3_close(db);
  return out;
}

class HistoryStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/history-XXXXXX";
    dir_ = mkdtemp(tmpl);
    path_ = dir_ + "/history.db";
  }
  void TearDown() override { std::system(("rm -rf " + dir_).c_str()); }

  std::string dir_;
  std::string path_;
};

TEST_F(HistoryStoreTest, AnOlderDatabaseKeepsItsRunsAndGainsTheNewColumns) {
  WriteOldDatabase(path_);
  {
    auto store = SqliteHistoryStore::Open(path_);
    ASSERT_TRUE(store.ok()) << store.status();
    auto run = (*store)->GetRun("old-run");
    ASSERT_TRUE(run.ok()) << run.status();
    EXPECT_EQ(run->experiment_name(), "cpu-burn");
    EXPECT_EQ(run->seed(), 7u);
    EXPECT_TRUE(run->variables().empty());
    EXPECT_FALSE(run->has_drill());
    EXPECT_EQ(run->lost_agents_size(), 0);
    (*run->mutable_variables())["TEAM"] = "sre";
    run->add_lost_agents()->set_agent("127.0.0.1:1");
    run->mutable_drill()->set_rto_ms(1500);
    run->mutable_drill()->set_rto_objective_ms(-1);
    run->mutable_drill()->set_rpo_ms(-1);
    run->mutable_drill()->set_rpo_objective_ms(-1);
    run->mutable_drill()->set_integrity("not checked");
    run->mutable_drill()->set_objectives_met(true);
    ASSERT_TRUE((*store)->UpdateRun(*run).ok());
  }
  for (const char* column : {"variables", "drill_rto_ms", "drill_rto_objective_ms",
                             "drill_rpo_ms", "drill_rpo_objective_ms", "drill_integrity",
                             "drill_integrity_required", "drill_objectives_met", "lost_agents"}) {
    EXPECT_EQ(RunColumns(path_).count(column), 1u) << column;
  }
  auto reopened = SqliteHistoryStore::Open(path_);  // the columns are there now
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  auto run = (*reopened)->GetRun("old-run");
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->variables().at("TEAM"), "sre");
  EXPECT_EQ(run->drill().rto_ms(), 1500);
  EXPECT_EQ(run->drill().integrity(), "not checked");
  ASSERT_EQ(run->lost_agents_size(), 1);
  EXPECT_EQ(run->lost_agents(0).agent(), "127.0.0.1:1");
}

TEST_F(HistoryStoreTest, AnOlderSchedulesTableGainsTheClaimColumn) {
  chaos::v1::Schedule old;
  old.set_name("nightly");
  old.set_cron("0 3 * * *");
  const std::string blob = old.SerializeAsString();
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db,
                           "CREATE TABLE schedules (name TEXT PRIMARY KEY, spec BLOB NOT NULL, "
                           "considered_until_ms INTEGER NOT NULL);",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_stmt* s = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db, "INSERT INTO schedules VALUES ('nightly', ?, 500)", -1, &s,
                                 nullptr),
              SQLITE_OK);
    sqlite3_bind_blob(s, 1, blob.data(), static_cast<int>(blob.size()), SQLITE_TRANSIENT);
    ASSERT_EQ(sqlite3_step(s), SQLITE_DONE);
    sqlite3_finalize(s);
    sqlite3_close(db);
  }
  auto store = SqliteHistoryStore::Open(path_);
  ASSERT_TRUE(store.ok()) << store.status();
  auto read = (*store)->GetSchedule("nightly");
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->considered_until_ms, 500);
  EXPECT_EQ(read->claimed_fire_ms, 0);
  HistoryStore::StoredSchedule claim = *read;
  claim.considered_until_ms = 600;
  claim.claimed_fire_ms = 560;
  ASSERT_TRUE((*store)->SwapSchedule(*read, claim).ok());
  EXPECT_EQ(Value(path_, "SELECT claimed_fire_ms FROM schedules"), "560");
}

// A drill's figures are stored as they are, -1 as NULL; a run without a
// drill stores NULL in every drill column and reads back without one.
// A history another user owns (as when a controller was first run by hand
// as root) is opened read-only by SQLite without a word; the store refuses
// it naming the owner problem, not as corrupt. Checked as uid 65534 in a
// child, since root may write anything.
TEST_F(HistoryStoreTest, AFileThisUserMayNotWriteIsRefusedSayingSo) {
  ASSERT_TRUE(SqliteHistoryStore::Open(path_).ok());
  ASSERT_EQ(chmod(dir_.c_str(), 0755), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    if (setgid(65534) != 0 || setuid(65534) != 0) _exit(2);
    auto store = SqliteHistoryStore::Open(path_);
    const bool refused = absl::IsFailedPrecondition(store.status()) &&
                         store.status().message().find("may not write it") != std::string::npos;
    _exit(refused ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "opened, or refused for another reason";
}

// Only its own controller writes a SQLite history, so nothing is to be
// followed: a standby's watch (stored_run_watch.h) then reads on a timer.
TEST_F(HistoryStoreTest, ItHasNoFeedOfOthersWrites) {
  auto store = SqliteHistoryStore::Open(path_);
  ASSERT_TRUE(store.ok()) << store.status();
  auto feed = (*store)->FollowRuns([](const std::string&) {});
  EXPECT_TRUE(absl::IsUnimplemented(feed.status())) << feed.status();
}

TEST_F(HistoryStoreTest, ADrillsFiguresComeBackAndARunWithoutADrillStoresNone) {
  auto store = SqliteHistoryStore::Open(path_);
  ASSERT_TRUE(store.ok()) << store.status();
  chaos::v1::Run plain;
  plain.set_run_id("plain");
  plain.set_experiment_name("burn");
  plain.set_recovery_ms(-1);
  ASSERT_TRUE((*store)->InsertRun(plain, "name: burn").ok());
  chaos::v1::Run drill = plain;
  drill.set_run_id("drill");
  drill.set_experiment_name("restore");
  ASSERT_TRUE((*store)->InsertRun(drill, "name: restore").ok());
  EXPECT_EQ(Value(path_, "SELECT drill_objectives_met FROM runs WHERE run_id='drill'"), "NULL")
      << "a drill's figures exist only once the run has ended";
  chaos::v1::DrillSummary* d = drill.mutable_drill();
  d->set_rto_ms(4807);
  d->set_rto_objective_ms(1);
  d->set_rpo_ms(0);
  d->set_rpo_objective_ms(-1);
  d->set_integrity("mismatch");
  d->set_integrity_required(true);
  d->set_objectives_met(false);
  drill.set_state(chaos::v1::RUN_STATE_FAILED);
  ASSERT_TRUE((*store)->UpdateRun(drill).ok());
  plain.set_state(chaos::v1::RUN_STATE_PASSED);
  ASSERT_TRUE((*store)->UpdateRun(plain).ok());

  auto got = (*store)->GetRun("drill");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(got->drill(), drill.drill()))
      << got->drill().DebugString();
  auto listed = (*store)->ListRuns(RunFilter{});
  ASSERT_TRUE(listed.ok()) << listed.status();
  ASSERT_EQ(listed->size(), 2u);
  for (const chaos::v1::Run& r : *listed) EXPECT_EQ(r.has_drill(), r.run_id() == "drill");
  EXPECT_EQ(Value(path_, "SELECT drill_rto_ms FROM runs WHERE run_id='drill'"), "4807");
  EXPECT_EQ(Value(path_, "SELECT drill_rpo_ms FROM runs WHERE run_id='drill'"), "0");
  EXPECT_EQ(Value(path_, "SELECT drill_rpo_objective_ms FROM runs WHERE run_id='drill'"), "NULL");
  EXPECT_EQ(Value(path_, "SELECT drill_integrity_required FROM runs WHERE run_id='drill'"), "1");
  EXPECT_EQ(Value(path_, "SELECT count(*) FROM runs WHERE run_id='plain' AND drill_rto_ms IS NULL "
                         "AND drill_rto_objective_ms IS NULL AND drill_rpo_ms IS NULL AND "
                         "drill_rpo_objective_ms IS NULL AND drill_integrity IS NULL AND "
                         "drill_integrity_required IS NULL AND drill_objectives_met IS NULL"),
            "1");
}

}  // namespace
}  // namespace chaos::controller
