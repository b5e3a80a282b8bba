// chaosctl end to end: the real binary against a real chaos-agent on
// 127.0.0.1. Exit codes: 0 passed, 2 invalid input, 4 agent unreachable,
// 130 interrupted and rolled back.
#include <errno.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "faults/process.h"
#include "gtest/gtest.h"
#include "tests/test_util.h"

namespace chaos::testing {
namespace {

std::string WriteExperiment(const TempDir& dir, const std::string& duration) {
  const std::string path = dir.path() + "/burn.yaml";
  std::ofstream(path) << "name: test burn\n"
                         "method:\n"
                         "  - id: burn\n"
                         "    duration: " << duration << "\n"
                         "    fault:\n"
                         "      cpuBurn: {workers: 1, loadPercent: 20}\n";
  return path;
}

// Pids in the "inject" lines of chaosctl's output: "(pids 123)".
std::vector<faults::ProcessId> InjectedBurners(const std::string& output) {
  std::vector<faults::ProcessId> ids;
  size_t at = 0;
  while ((at = output.find("(pids ", at)) != std::string::npos) {
    at += 6;
    const size_t end = output.find(')', at);
    for (absl::string_view p : absl::StrSplit(output.substr(at, end - at), ", ")) {
      int pid = 0;
      if (!absl::SimpleAtoi(p, &pid)) continue;
      auto info = faults::ReadProcessInfo(pid);
      if (info.ok()) ids.push_back(info->id);
    }
  }
  return ids;
}

TEST(ChaosctlTest, ValidateExitsTwoWithPositions) {
  TempDir dir;
  const std::string path = dir.path() + "/bad.yaml";
  std::ofstream(path) << "name: x\nmethod:\n  - id: a\n    wait: forever\n";
  CommandResult r = RunCommand({ChaosctlBinary(), "validate", path});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find(path + ":4:11: method[0].wait"), std::string::npos) << r.output;

  r = RunCommand({ChaosctlBinary(), "validate", WriteExperiment(dir, "1s")});
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

TEST(ChaosctlTest, RunPassesAndLeavesNothingInjected) {
  TempDir dir;
  AgentProcess agent(dir.path());
  CommandResult r = RunCommand(
      {ChaosctlBinary(), "run", WriteExperiment(dir, "1s"), "--agent", agent.address()});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("passed"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("reverted after"), std::string::npos) << r.output;
  // Burners seen injected are gone now (checked through /proc).
  CommandResult list = RunCommand({ChaosctlBinary(), "faults", "--agent", agent.address()});
  EXPECT_EQ(list.exit_code, 0);
  EXPECT_NE(list.output.find("no active faults"), std::string::npos) << list.output;
}

TEST(ChaosctlTest, InvalidFileAndUnknownKindExitTwoBeforeContactingAnyAgent) {
  TempDir dir;
  const std::string path = dir.path() + "/kind.yaml";
  std::ofstream(path) << "name: x\nmethod:\n  - id: a\n    duration: 1s\n    fault:\n"
                         "      meltdown: {}\n";
  CommandResult r = RunCommand({ChaosctlBinary(), "run", path, "--agent", "127.0.0.1:1"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find(path + ":6:7: method[0].fault: unknown fault kind \"meltdown\""),
            std::string::npos)
      << r.output;
  r = RunCommand({ChaosctlBinary(), "run", dir.path() + "/missing.yaml", "--agent", "127.0.0.1:1"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("cannot read experiment file"), std::string::npos) << r.output;
}

TEST(ChaosctlTest, UnreachableAgentExitsFourWithOneClearLine) {
  TempDir dir;
  CommandResult r =
      RunCommand({ChaosctlBinary(), "run", WriteExperiment(dir, "1s"), "--agent", "127.0.0.1:1"});
  EXPECT_EQ(r.exit_code, 4) << r.output;
  EXPECT_NE(r.output.find("cannot reach agent 127.0.0.1:1"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("faults: none injected"), std::string::npos) << r.output;
}

void InterruptRunWith(int sig) {
  TempDir dir;
  AgentProcess agent(dir.path());
  const std::string out = dir.path() + "/out";
  Subprocess run({ChaosctlBinary(), "run", WriteExperiment(dir, "60s"), "--agent",
                  agent.address()},
                 out);
  std::vector<faults::ProcessId> burners;
  for (int i = 0; i < 200 && burners.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
    burners = InjectedBurners(ReadFileOrEmpty(out));
  }
  ASSERT_EQ(burners.size(), 1u) << ReadFileOrEmpty(out);
  ASSERT_TRUE(faults::ProcessAlive(burners[0]));
  run.Signal(sig);
  EXPECT_EQ(run.Wait(), 130) << ReadFileOrEmpty(out);
  EXPECT_FALSE(faults::ProcessAlive(burners[0])) << "the burner outlived the interrupted run";
  const std::string text = ReadFileOrEmpty(out);
  EXPECT_NE(text.find("interrupted"), std::string::npos) << text;
  EXPECT_NE(text.find("reverted after"), std::string::npos) << text;
}

TEST(ChaosctlTest, CtrlCRollsBackAndExits130) { InterruptRunWith(SIGINT); }

// Ctrl-C while a 5-minute command step runs beside a fault: the command's
// whole process group (a shell and the sleep it started) is gone and the
// fault is reverted; chaosctl does not wait for the command to end.
TEST(ChaosctlTest, CtrlCKillsARunningCommandStepsProcessGroup) {
  TempDir dir;
  AgentProcess agent(dir.path());
  const std::string pgid_file = dir.path() + "/pgid";
  const std::string path = dir.path() + "/command.yaml";
  std::ofstream(path) << "name: long command\n"
                         "method:\n"
                         "  - {id: burn, duration: 5m, fault: {cpuBurn: {workers: 1, loadPercent: 10}}}\n"
                         "  - id: wait\n"
                         "    command: {run: [/bin/sh, -c, 'echo $$ > "
                      << pgid_file << "; sleep 300 & wait'], timeout: 5m}\n";
  const std::string out = dir.path() + "/out";
  Subprocess run({ChaosctlBinary(), "run", path, "--agent", agent.address()}, out);
  std::vector<faults::ProcessId> burners;
  int pgid = 0;
  for (int i = 0; i < 400 && (burners.empty() || pgid == 0); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
    burners = InjectedBurners(ReadFileOrEmpty(out));
    (void)absl::SimpleAtoi(absl::StripAsciiWhitespace(ReadFileOrEmpty(pgid_file)), &pgid);
  }
  ASSERT_EQ(burners.size(), 1u) << ReadFileOrEmpty(out);
  ASSERT_GT(pgid, 0) << ReadFileOrEmpty(out);
  ASSERT_EQ(kill(-pgid, 0), 0) << "the command's group runs";
  run.Signal(SIGINT);
  EXPECT_EQ(run.Wait(), 130) << ReadFileOrEmpty(out);
  // Killed members may wait a moment as zombies for init to reap them; a
  // member that survived would live for its 300 s.
  bool gone = false;
  for (int i = 0; i < 600 && !gone; ++i) {
    gone = kill(-pgid, 0) != 0 && errno == ESRCH;
    if (!gone) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(gone) << "a process of the command's group outlived the run";
  EXPECT_FALSE(faults::ProcessAlive(burners[0])) << "the burner outlived the interrupted run";
  const std::string text = ReadFileOrEmpty(out);
  EXPECT_NE(text.find("cancelled: the run is stopping"), std::string::npos) << text;
  EXPECT_NE(text.find("reverted after"), std::string::npos) << text;
}
TEST(ChaosctlTest, SigtermRollsBackAndExits130) { InterruptRunWith(SIGTERM); }

// Killed members of a process group may wait a moment as zombies for init
// to reap them; a member that survived would live for its 300 s.
bool GroupGone(int pgid) {
  for (int i = 0; i < 600; ++i) {
    if (kill(-pgid, 0) != 0 && errno == ESRCH) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

// The first Ctrl-C rolls back; a second one while a 5-minute rollback action
// runs kills that action's process group and starts no further action. The
// fault is reverted all the same, and the run ends rollback incomplete with
// both actions listed as manual undo.
TEST(ChaosctlTest, SecondCtrlCCancelsTheRunningRollbackAction) {
  TempDir dir;
  AgentProcess agent(dir.path());
  const std::string pgid_file = dir.path() + "/pgid";
  const std::string marker = dir.path() + "/second-action-ran";
  const std::string path = dir.path() + "/rollback.yaml";
  std::ofstream(path) << "name: long rollback\n"
                         "method:\n"
                         "  - {id: burn, duration: 5m, fault: {cpuBurn: {workers: 1, loadPercent: 10}}}\n"
                         "rollbackActions:\n"
                         "  - {run: [/bin/sh, -c, 'echo $$ > " << pgid_file
                      << "; sleep 300 & wait'], timeout: 5m}\n"
                         "  - {run: [/usr/bin/touch, " << marker << "]}\n";
  const std::string out = dir.path() + "/out";
  Subprocess run({ChaosctlBinary(), "run", path, "--agent", agent.address()}, out);
  std::vector<faults::ProcessId> burners;
  for (int i = 0; i < 400 && burners.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
    burners = InjectedBurners(ReadFileOrEmpty(out));
  }
  ASSERT_EQ(burners.size(), 1u) << ReadFileOrEmpty(out);
  run.Signal(SIGINT);
  int pgid = 0;
  for (int i = 0; i < 800 && pgid == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
    (void)absl::SimpleAtoi(absl::StripAsciiWhitespace(ReadFileOrEmpty(pgid_file)), &pgid);
  }
  ASSERT_GT(pgid, 0) << ReadFileOrEmpty(out);
  EXPECT_FALSE(faults::ProcessAlive(burners[0])) << "faults are reverted before rollback actions";
  run.Signal(SIGINT);
  EXPECT_EQ(run.Wait(), 3) << ReadFileOrEmpty(out);
  EXPECT_TRUE(GroupGone(pgid)) << "a process of the rollback action outlived the run";
  EXPECT_NE(access(marker.c_str(), F_OK), 0) << "the next rollback action ran after the cancel";
  const std::string text = ReadFileOrEmpty(out);
  EXPECT_NE(text.find("cancelling rollback actions"), std::string::npos) << text;
  EXPECT_NE(text.find("rollback action failed: cancelled"), std::string::npos) << text;
  EXPECT_NE(text.find("/usr/bin/touch " + marker +
                      "    # rollback action not run: interrupted again by the operator"),
            std::string::npos)
      << text;
}

}  // namespace
}  // namespace chaos::testing
