// Integration test (root): an agent that dies without reverting leaves a
// paused process and a fill file; the next agent on the same state dir
// finds them in its ledger and reverts them through Adopt() + Revert().
#include <dirent.h>
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

}  // namespace
}  // namespace chaos::agent
