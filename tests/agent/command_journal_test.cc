// CommandJournal and RecoverCommands: records survive a reopen, damaged
// ones are dropped, and at start-up exactly the processes a command left in
// its process group are killed (a fake process table: nothing real is
// signalled).
#include "agent/command_journal.h"

#include <signal.h>

#include <fstream>
#include <map>

#include "agent/recovery.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/test_util.h"

namespace chaos::agent {
namespace {

chaos::v1::CommandRecord Record(const std::string& id, int64_t group, uint64_t start_ticks) {
  chaos::v1::CommandRecord r;
  r.set_command_id(id);
  r.set_experiment_id("run-1");
  r.set_caller("test");
  r.add_argv("/bin/sh");
  r.set_process_group(group);
  r.set_leader_start_ticks(start_ticks);
  return r;
}

TEST(CommandJournalTest, RecordsSurviveAReopenAndDamagedOnesAreDropped) {
  chaos::testing::TempDir dir;
  {
    auto journal = CommandJournal::Open(dir.path());
    ASSERT_TRUE(journal.ok()) << journal.status();
    ASSERT_TRUE((*journal)->Put(Record("a", 0, 0)).ok());
    ASSERT_TRUE((*journal)->Put(Record("a", 4242, 99)).ok());  // replaced
    ASSERT_TRUE((*journal)->Put(Record("b", 7, 1)).ok());
    ASSERT_TRUE((*journal)->Remove("b").ok());
    ASSERT_TRUE((*journal)->Remove("never-there").ok());
    EXPECT_EQ((*journal)->Put(Record("../x", 1, 1)).code(), absl::StatusCode::kInvalidArgument);
  }
  std::ofstream(dir.path() + "/commands/c.cmd") << "CHAOSLG1 garbage";
  auto journal = CommandJournal::Open(dir.path());
  ASSERT_TRUE(journal.ok());
  auto loaded = (*journal)->Load();
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  ASSERT_EQ(loaded->records.size(), 1u);
  EXPECT_EQ(loaded->records[0].command_id(), "a");
  EXPECT_EQ(loaded->records[0].process_group(), 4242);
  EXPECT_EQ(loaded->records[0].leader_start_ticks(), 99u);
  ASSERT_EQ(loaded->dropped.size(), 1u);
  EXPECT_THAT(loaded->dropped[0], ::testing::HasSubstr("c.cmd: "));
  EXPECT_TRUE((*journal)->Load()->dropped.empty()) << "a dropped record stays";
}

// A process table to recover against, recording what is signalled.
class FakeProcesses : public faults::ProcessOs {
 public:
  void Add(pid_t pid, pid_t group, uint64_t start, char state = 'S') {
    faults::ProcessInfo info;
    info.id = {pid, start};
    info.pgrp = group;
    info.state = state;
    table_[pid] = info;
  }
  absl::StatusOr<std::vector<pid_t>> ListPids() override {
    std::vector<pid_t> pids;
    for (const auto& [pid, info] : table_) pids.push_back(pid);
    return pids;
  }
  absl::StatusOr<faults::ProcessInfo> ReadInfo(pid_t pid) override {
    auto it = table_.find(pid);
    if (it == table_.end()) return absl::NotFoundError("gone");
    return it->second;
  }
  absl::Status Signal(const faults::ProcessId& id, int sig) override {
    signalled.push_back({id.pid, sig});
    return absl::OkStatus();
  }
  absl::StatusOr<std::string> ReadSmallFile(const std::string&) override {
    return absl::NotFoundError("none");
  }
  pid_t SelfPid() override { return 1; }

  std::vector<std::pair<pid_t, int>> signalled;

 private:
  std::map<pid_t, faults::ProcessInfo> table_;
};

TEST(CommandJournalTest, RecoveryKillsWhatACommandLeftInItsGroupAndNothingElse) {
  chaos::testing::TempDir dir;
  auto journal = CommandJournal::Open(dir.path());
  ASSERT_TRUE(journal.ok());
  ASSERT_TRUE((*journal)->Put(Record("started", 100, 50)).ok());
  ASSERT_TRUE((*journal)->Put(Record("not-started", 0, 0)).ok());
  FakeProcesses os;
  os.Add(101, 100, 60);       // started by the command: killed
  os.Add(102, 100, 70);       // likewise
  os.Add(103, 100, 40);       // in the group, but older than the command: not its own
  os.Add(104, 7, 80);         // another group
  os.Add(105, 100, 90, 'Z');  // a zombie: nothing to kill
  EXPECT_EQ(RecoverCommands(**journal, os), 2u);
  EXPECT_THAT(os.signalled,
              ::testing::ElementsAre(std::pair<pid_t, int>{101, SIGKILL},
                                     std::pair<pid_t, int>{102, SIGKILL}));
  auto loaded = (*journal)->Load();
  ASSERT_TRUE(loaded.ok());
  EXPECT_TRUE(loaded->records.empty()) << "recovered records are removed";
}

}  // namespace
}  // namespace chaos::agent
