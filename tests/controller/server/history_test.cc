// HistoryStore against real SQLite files: a database written by an older
// controller (before runs recorded their variables) opens, keeps its runs,
// and gains the new column.
#include "controller/server/history.h"

#include <sqlite3.h>
#include <stdlib.h>

#include <cstdlib>
#include <string>

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

TEST(HistoryStoreTest, AnOlderDatabaseKeepsItsRunsAndGainsTheVariablesColumn) {
  char tmpl[] = "/tmp/history-XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  const std::string path = dir + "/history.db";
  WriteOldDatabase(path);
  {
    auto store = HistoryStore::Open(path);
    ASSERT_TRUE(store.ok()) << store.status();
    auto run = (*store)->GetRun("old-run");
    ASSERT_TRUE(run.ok()) << run.status();
    EXPECT_EQ(run->experiment_name(), "cpu-burn");
    EXPECT_EQ(run->seed(), 7u);
    EXPECT_TRUE(run->variables().empty());
    (*run->mutable_variables())["TEAM"] = "sre";
    ASSERT_TRUE((*store)->UpdateRun(*run).ok());
  }
  auto reopened = HistoryStore::Open(path);  // the column is there now
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  auto run = (*reopened)->GetRun("old-run");
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->variables().at("TEAM"), "sre");
  std::system(("rm -rf " + dir).c_str());
}

}  // namespace
}  // namespace chaos::controller
