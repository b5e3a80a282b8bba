// Integration tests (root): ProcessKill / ProcessPause against real child
// processes, checked through /proc and wait status.
#include <signal.h>
#include <unistd.h>

#include <fstream>

#include "faults/process_signal.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/faults/real_host.h"

namespace chaos::faults {
namespace {

using ::testing::HasSubstr;
using testing::ChildReaper;
using testing::ProcState;
using testing::ReapSignal;
using testing::SpawnSleep;
using testing::WaitState;

UndoRecorder Ignore() {
  return [](const UndoState&) { return absl::OkStatus(); };
}

// A tag no other process on the host has: 9xxxxyy seconds.
long Tag(int i) { return 9000000 + (getpid() % 10000) * 100 + i; }

TEST(ProcessKillReal, KillsChosenCountByRegexAndReportsThem) {
  ChildReaper reaper;
  for (int i = 0; i < 4; ++i) reaper.pids.push_back(SpawnSleep(Tag(10 + i)));
  ProcessKillParams p;
  p.target.cmdline_regex = absl::StrCat("^sleep ", Tag(0) / 100, "1[0-3]$");
  p.target.count = 2;
  p.target.seed = 1234;
  ProcessKill kill(p);
  ASSERT_TRUE(kill.Inject(Ignore()).ok());
  const auto hits = kill.hits();
  ASSERT_EQ(hits.size(), 2u);
  int dead = 0, alive = 0;
  for (pid_t pid : reaper.pids) {
    const bool hit = std::any_of(hits.begin(), hits.end(),
                                 [&](const ProcessHit& h) { return h.id.pid == pid; });
    if (hit) {
      EXPECT_TRUE(WaitState(pid, 'Z')) << pid;  // dead, not yet reaped
      ++dead;
    } else {
      EXPECT_TRUE(WaitState(pid, 'S')) << pid;
      ++alive;
    }
  }
  EXPECT_EQ(dead, 2);
  EXPECT_EQ(alive, 2);
  EXPECT_EQ(hits[0].comm, "sleep");
  EXPECT_THAT(kill.Status().details["processes"], HasSubstr("sleep["));
  EXPECT_TRUE(kill.Revert().ok());
}

TEST(ProcessKillReal, SignalByPidfileAndChoice) {
  ChildReaper reaper;
  const pid_t pid = SpawnSleep(Tag(20));
  reaper.pids.push_back(pid);
  const std::string pidfile = absl::StrCat("/tmp/chaos-test-", getpid(), ".pid");
  std::ofstream(pidfile) << pid << "\n";
  ProcessKillParams p;
  p.target.pidfile = pidfile;
  p.signal = SIGTERM;
  ProcessKill kill(p);
  ASSERT_TRUE(kill.Inject(Ignore()).ok());
  unlink(pidfile.c_str());
  ASSERT_TRUE(WaitState(pid, 'Z'));
  EXPECT_EQ(ReapSignal(pid), SIGTERM);
  reaper.pids.clear();
}

TEST(ProcessKillReal, RepeatsEveryIntervalUntilReverted) {
  ChildReaper reaper;
  for (int i = 0; i < 3; ++i) reaper.pids.push_back(SpawnSleep(Tag(30 + i)));
  ProcessKillParams p;
  p.target.cmdline_regex = absl::StrCat("^sleep ", Tag(0) / 100, "3[0-2]$");
  p.target.count = 1;
  p.interval = absl::Milliseconds(20);
  p.duration = absl::Seconds(60);
  ProcessKill kill(p);
  ASSERT_TRUE(kill.Inject(Ignore()).ok());
  // One per round: all three die in the rounds that follow.
  for (pid_t pid : reaper.pids) EXPECT_TRUE(WaitState(pid, 'Z')) << pid;
  EXPECT_TRUE(kill.Revert().ok());
  EXPECT_EQ(kill.hits().size(), 3u);
  EXPECT_GE(kill.rounds(), 3);
  // After revert no more rounds run.
  const int rounds = kill.rounds();
  const pid_t late = SpawnSleep(Tag(31));
  reaper.pids.push_back(late);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(kill.rounds(), rounds);
  EXPECT_TRUE(WaitState(late, 'S'));
}

TEST(ProcessKillReal, RefusesSelfAncestorsAndPid1) {
  ProcessKillParams p;
  p.target.pid = getpid();
  ProcessKill self(p);
  EXPECT_EQ(self.Inject(Ignore()).code(), absl::StatusCode::kPermissionDenied);
  p.target.pid = getppid();
  ProcessKill parent(p);
  EXPECT_EQ(parent.Inject(Ignore()).code(), absl::StatusCode::kPermissionDenied);
  p.target.pid = 2;  // kthreadd
  ProcessKill kthread(p);
  if (ProcState(2) != 0) {
    EXPECT_EQ(kthread.Inject(Ignore()).code(), absl::StatusCode::kPermissionDenied);
  }
  p.target.pid = 1;
  ProcessKill init(p);
  EXPECT_EQ(init.Inject(Ignore()).code(), absl::StatusCode::kInvalidArgument);
  ProcessKillParams none;
  none.target.cmdline_regex = "^no process is called this 8d7f6e$";
  ProcessKill empty(none);
  EXPECT_EQ(empty.Inject(Ignore()).code(), absl::StatusCode::kNotFound);
}

TEST(ProcessPauseReal, StopsAndResumesExactlyThoseAndAdoptWorks) {
  ChildReaper reaper;
  for (int i = 0; i < 2; ++i) reaper.pids.push_back(SpawnSleep(Tag(40 + i)));
  const pid_t other = SpawnSleep(Tag(49));  // must stay untouched
  reaper.pids.push_back(other);
  ProcessPauseParams p;
  p.target.cmdline_regex = absl::StrCat("^sleep ", Tag(0) / 100, "4[0-1]$");
  UndoState recorded;
  ProcessPause pause(p);
  ASSERT_TRUE(pause.Inject([&](const UndoState& u) {
    recorded = u;
    return absl::OkStatus();
  }).ok());
  EXPECT_TRUE(WaitState(reaper.pids[0], 'T'));
  EXPECT_TRUE(WaitState(reaper.pids[1], 'T'));
  EXPECT_TRUE(WaitState(other, 'S'));
  EXPECT_EQ(pause.stopped().size(), 2u);
  // A second agent process adopts the record and resumes them.
  ProcessPause adopted(p);
  ASSERT_TRUE(adopted.Adopt(recorded).ok());
  ASSERT_TRUE(adopted.Revert().ok());
  EXPECT_TRUE(WaitState(reaper.pids[0], 'S'));
  EXPECT_TRUE(WaitState(reaper.pids[1], 'S'));
  ASSERT_TRUE(pause.Revert().ok());  // idempotent, already running
  EXPECT_EQ(ProcState(reaper.pids[0]), 'S');
}

TEST(ProcessPauseReal, NeverResumesAReusedPid) {
  ChildReaper reaper;
  const pid_t pid = SpawnSleep(Tag(50));
  reaper.pids.push_back(pid);
  ASSERT_EQ(kill(pid, SIGSTOP), 0);
  ASSERT_TRUE(WaitState(pid, 'T'));
  auto info = ReadProcessInfo(pid);
  ASSERT_TRUE(info.ok());
  // The record names the same pid with another start time: a different
  // process that happened to get the pid. It must be left alone.
  ProcessPause pause(ProcessPauseParams{});
  ASSERT_TRUE(pause.Adopt({{"stopped", absl::StrCat(pid, ":", info->id.start_ticks + 1)}}).ok());
  ASSERT_TRUE(pause.Revert().ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(ProcState(pid), 'T');
}

}  // namespace
}  // namespace chaos::faults
