// Integration test (root): an agent that dies without reverting leaves a
// paused process and a fill file; the next agent on the same state dir
// finds them in its ledger and reverts them through Adopt() + Revert().
#include <dirent.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <unistd.h>

#include "agent/agent.h"
#include "gtest/gtest.h"
#include "tests/faults/real_host.h"

namespace chaos::agent {
namespace {

using faults::testing::ChildReaper;
using faults::testing::FillFiles;
using faults::testing::ScratchMount;
using faults::testing::SpawnSleep;
using faults::testing::WaitState;

TEST(AgentRecoveryReal, NextAgentResumesPausedProcessAndDeletesFillFile) {
  char tmpl[] = "/var/tmp/chaos-agent-state-XXXXXX";  // not on the scratch fs
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string state = tmpl;
  ScratchMount scratch("size=32m");
  ASSERT_TRUE(scratch.ok());
  ChildReaper reaper;
  const pid_t victim = SpawnSleep(8800000 + getpid() % 10000);
  reaper.pids.push_back(victim);

  AgentOptions options;
  options.state_dir = state;
  options.policy.fill_roots = {"/tmp"};  // where the scratch mount lives
  {
    auto agent = Agent::Create(options);
    ASSERT_TRUE(agent.ok()) << agent.status();
    chaos::v1::InjectRequest pause;
    pause.mutable_spec()->set_fault_id("pause-1");
    pause.mutable_spec()->set_experiment_id("exp");
    pause.mutable_spec()->mutable_duration()->set_seconds(600);
    pause.mutable_spec()->mutable_process_pause()->mutable_target()->set_pid(victim);
    pause.mutable_lease()->set_seconds(600);
    auto s = (*agent)->Inject(pause, "test");
    ASSERT_TRUE(s.ok()) << s.status();
    EXPECT_EQ(s->details().at("pids"), absl::StrCat(victim));

    chaos::v1::InjectRequest fill = pause;
    fill.mutable_spec()->set_fault_id("fill-1");
    fill.mutable_spec()->mutable_disk_fill()->set_directory(scratch.dir());
    fill.mutable_spec()->mutable_disk_fill()->set_bytes(8 << 20);
    s = (*agent)->Inject(fill, "test");
    ASSERT_TRUE(s.ok()) << s.status();
    // The agent "crashes": destroyed without reverting anything.
  }
  ASSERT_TRUE(WaitState(victim, 'T'));
  ASSERT_EQ(FillFiles(scratch.dir()), 1);

  auto next = Agent::Create(options);
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ((*next)->Recover(), 2u);
  EXPECT_TRUE(WaitState(victim, 'S'));
  EXPECT_EQ(FillFiles(scratch.dir()), 0);
  next->reset();
  std::system(absl::StrCat("rm -rf ", state).c_str());
}

// Data loss journals its moves before it renames anything, so the agent
// that follows a crash puts the original data back.
TEST(AgentRecoveryReal, NextAgentPutsQuarantinedDataBack) {
  char tmpl[] = "/var/tmp/chaos-agent-state-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string state = tmpl;
  ScratchMount scratch("size=8m");
  ASSERT_TRUE(scratch.ok());
  const std::string data = scratch.dir() + "/pgdata";
  ASSERT_EQ(mkdir(data.c_str(), 0700), 0);
  ASSERT_EQ(std::system(absl::StrCat("echo rows > ", data, "/table").c_str()), 0);

  AgentOptions options;
  options.state_dir = state;
  options.policy.data_roots = {scratch.dir()};
  {
    auto agent = Agent::Create(options);
    ASSERT_TRUE(agent.ok()) << agent.status();
    chaos::v1::InjectRequest loss;
    loss.mutable_spec()->set_fault_id("loss-1");
    loss.mutable_spec()->set_experiment_id("exp");
    loss.mutable_spec()->mutable_duration()->set_seconds(600);
    loss.mutable_spec()->mutable_data_loss()->add_paths(data);
    loss.mutable_lease()->set_seconds(600);
    auto s = (*agent)->Inject(loss, "test");
    ASSERT_TRUE(s.ok()) << s.status();
    EXPECT_EQ(s->details().at("quarantine.0"), scratch.dir() + "/.chaos-quarantine-loss-1/0-pgdata");
  }  // the agent "crashes"
  ASSERT_NE(access(data.c_str(), F_OK), 0);

  auto next = Agent::Create(options);
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ((*next)->Recover(), 1u);
  EXPECT_EQ(access((data + "/table").c_str(), R_OK), 0);
  EXPECT_NE(access((scratch.dir() + "/.chaos-quarantine-loss-1").c_str(), F_OK), 0);
  next->reset();
  std::system(absl::StrCat("rm -rf ", state).c_str());
}

// A record recovery cannot rebuild (undo state the fault cannot adopt):
// its state is unknown, so Revert and RevertExperiment never answer OK, it
// stays listed, and only an explicit abandon ends it.
TEST(AgentRecoveryReal, UnknownStateAfterRestartIsNeverRevertedOk) {
  char tmpl[] = "/var/tmp/chaos-agent-state-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string state = tmpl;
  AgentOptions options;
  options.state_dir = state;
  options.policy.fill_roots = {"/tmp"};
  {
    auto ledger = FaultLedger::Open(state);
    ASSERT_TRUE(ledger.ok()) << ledger.status();
    chaos::v1::LedgerRecord record;
    chaos::v1::FaultStatus* st = record.mutable_status();
    st->mutable_spec()->set_fault_id("odd");
    st->mutable_spec()->set_experiment_id("exp");
    st->mutable_spec()->mutable_duration()->set_seconds(600);
    st->mutable_spec()->mutable_disk_fill()->set_directory("/tmp");
    st->mutable_spec()->mutable_disk_fill()->set_bytes(1 << 20);
    st->set_state(chaos::v1::FAULT_STATE_ACTIVE);
    (*record.mutable_undo())["path"] = "relative/not-a-fill-file";
    ASSERT_TRUE((*ledger)->Put(record).ok());
  }
  auto agent = Agent::Create(options);
  ASSERT_TRUE(agent.ok()) << agent.status();
  EXPECT_EQ((*agent)->Recover(), 0u);

  auto reverted = (*agent)->Revert("odd", "test");
  EXPECT_EQ(reverted.status().code(), absl::StatusCode::kFailedPrecondition) << reverted.status();
  EXPECT_NE(reverted.status().message().find("state unknown"), std::string::npos);
  std::vector<chaos::v1::FaultStatus> outcome;
  EXPECT_EQ((*agent)->RevertExperiment("exp", "test", &outcome).code(),
            absl::StatusCode::kFailedPrecondition);
  const auto listed = (*agent)->List("", false);
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_TRUE(listed[0].state_unknown());
  EXPECT_EQ(listed[0].next_retry_unix_ms(), 0);  // nothing to retry with
  EXPECT_EQ((*agent)->revert_retries_pending(), 0u);

  auto abandoned = (*agent)->Abandon("odd", "test", "checked by hand");
  ASSERT_TRUE(abandoned.ok()) << abandoned.status();
  EXPECT_TRUE(abandoned->abandoned());
  auto again = (*agent)->Revert("odd", "test");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(again->abandoned());
  EXPECT_TRUE((*agent)->List("", false).empty());
  agent->reset();
  std::system(absl::StrCat("rm -rf ", state).c_str());
}

}  // namespace
}  // namespace chaos::agent
